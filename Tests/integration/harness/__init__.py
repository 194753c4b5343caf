"""The integration tests' harness: small modules, each with one job (Tests/integration/README.md lists them).

Tests import what they use from the module that holds it (``from harness.http import Client``). For scripts
outside the tests (bench/leak-check: ``import harness as stack``), the names they use are also here.
"""

from harness.fastcgi_client import FastCGIConnection, fastcgi_request
from harness.postgres import Cluster, Database, migrate
from harness.processes import make_dir, process_alive, remove_tree, wait_until
from harness.supervisor import Supervisor, SupervisorOptions

__all__ = ["Cluster", "Database", "FastCGIConnection", "Supervisor", "SupervisorOptions", "fastcgi_request",
           "make_dir", "migrate", "process_alive", "remove_tree", "wait_until"]
