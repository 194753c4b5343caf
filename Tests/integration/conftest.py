"""Fixtures for the notes integration tests (the harness itself is the package harness/, README.md lists its
modules).

Binaries: $NOTES_BIN_DIR, else `scripts/build --show-bin-path`.
One private PostgreSQL cluster per session; every stack gets its own database.
Set NOTES_KEEP_TMP=1 to keep the temporary directory (logs, sockets, cluster) after the run.
"""

import os
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The harness's own checks (helpers that assert) report their operands as the tests' do.
pytest.register_assert_rewrite("harness")

from harness.postgres import Cluster, Database, migrate  # noqa: E402
from harness.processes import find_bin_dir, make_dir, remove_tree  # noqa: E402
from harness.stack import Launcher  # noqa: E402


@pytest.fixture(scope="session")
def bin_dir() -> Path:
    return find_bin_dir()


@pytest.fixture(scope="session")
def tmp_root():
    # Under /tmp and world-traversable: the cluster runs as postgres and nginx's workers as www-data when root.
    root = make_dir(Path(tempfile.mkdtemp(prefix="notes-it-", dir="/tmp")))
    yield root
    if os.environ.get("NOTES_KEEP_TMP"):
        print(f"\nintegration test files kept in {root}")
    else:
        remove_tree(root)


@pytest.fixture(scope="session")
def cluster(tmp_root):
    c = Cluster(make_dir(tmp_root / "pg"))
    try:
        c.start()
        yield c
    finally:
        c.stop()


def _launcher(bin_dir, cluster, tmp_root):
    """A Launcher that stops everything it started when the fixture ends, even after a failure."""
    launcher = Launcher(bin_dir, cluster, tmp_root)
    try:
        yield launcher
    finally:
        launcher.close()


@pytest.fixture(scope="module")
def module_launcher(bin_dir, cluster, tmp_root):
    yield from _launcher(bin_dir, cluster, tmp_root)


@pytest.fixture
def launcher(bin_dir, cluster, tmp_root):
    yield from _launcher(bin_dir, cluster, tmp_root)


@pytest.fixture
def fresh_db(cluster) -> Database:
    """A new, empty (un-migrated) database in the session cluster."""
    return cluster.create_database()


@pytest.fixture
def migrated_db(bin_dir, cluster) -> Database:
    db = cluster.create_database()
    migrate(bin_dir, db.url)
    return db
