"""The Debian package `make package` builds (debian/, scripts/package), checked with dpkg-deb and lintian.

- It is named notes_<VERSION>_amd64.deb, VERSION being Sources/NotesVersion/VERSION, which both executables
  in it report with --version.
- It holds the binaries in /usr/sbin, the units (whose Exec lines name those very binaries), the sysusers.d
  entry for the user notes, /etc/notes/notes.env (mode 0600), the nginx site in sites-available only, the
  /docs files, a man page for each executable that names every option of its --help, the bash completion,
  the changelog and copyright.
- Its conffiles are the environment file and the nginx site; Depends comes from dpkg-shlibdeps (libfcgi,
  libpq), Recommends nginx and postgresql.
- Its maintainer scripts create the user, hand the environment file to it, enable and start nothing, stop
  the service on removal but not on upgrade, reload a running service on upgrade (migrate, then HUP) and
  remove what systemd made for it on purge.
- lintian reports no error, and every warning it reports is named in docs/OPERATIONS.md.

The package is built once per session by scripts/package (what `make package` runs after install-deps),
unless NOTES_DEB names a .deb already built from this checkout. Installing it under a real systemd is
`make package-test`'s part, not this file's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.processes import REPO_ROOT

VERSION = (REPO_ROOT / "Sources" / "NotesVersion" / "VERSION").read_text().strip()
OPERATIONS = REPO_ROOT / "docs" / "OPERATIONS.md"
EXECUTABLES = ("notes-supervisor", "notes-worker")

pytestmark = [
    pytest.mark.skipif(
        shutil.which("dpkg-deb") is None or shutil.which("dh") is None or shutil.which("lintian") is None,
        reason="dpkg-deb, debhelper or lintian missing: run scripts/install-deps",
    ),
    # The package holds the release build whatever NOTES_BIN_DIR says; one check per `make test` is enough.
    pytest.mark.skipif(bool(os.environ.get("ASAN_OPTIONS")), reason="scripts/asan-test: the package is not the ASan build"),
]


def run(*args: str | Path, cwd: Path = REPO_ROOT) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def deb() -> Path:
    if os.environ.get("NOTES_DEB"):
        return Path(os.environ["NOTES_DEB"])
    run(REPO_ROOT / "scripts" / "package")
    return REPO_ROOT / "dist" / f"notes_{VERSION}_amd64.deb"


@pytest.fixture(scope="module")
def field(deb):
    return lambda name: run("dpkg-deb", "--field", deb, name).strip()


@pytest.fixture(scope="module")
def contents(deb) -> dict[str, tuple[str, str]]:
    """Path (no leading ./) -> (mode string, owner/group) of every entry of the data archive."""
    entries = {}
    for line in run("dpkg-deb", "--contents", deb).splitlines():
        mode, owner, _size, _date, _time, path, *rest = line.split()
        entries[path.removeprefix("./").rstrip("/")] = (mode, owner)
    return entries


@pytest.fixture(scope="module")
def unpacked(deb, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("deb")
    run("dpkg-deb", "--extract", deb, root / "data")
    run("dpkg-deb", "--control", deb, root / "control")
    return root


def test_named_and_versioned_from_version_file(deb, field, unpacked):
    assert deb.name == f"notes_{VERSION}_amd64.deb" and deb.is_file()
    assert field("Package") == "notes"
    assert field("Version") == VERSION
    assert field("Architecture") == "amd64"
    for name in EXECUTABLES:
        assert run(unpacked / "data" / "usr" / "sbin" / name, "--version").strip() == VERSION


def test_installs_the_debian_way(contents):
    expected = {
        "usr/sbin/notes-supervisor": "-rwxr-xr-x",
        "usr/sbin/notes-worker": "-rwxr-xr-x",
        "lib/systemd/system/notes.service": "-rw-r--r--",
        "lib/systemd/system/notes.socket": "-rw-r--r--",
        "usr/lib/sysusers.d/notes.conf": "-rw-r--r--",
        "etc/notes/notes.env": "-rw-------",
        "etc/nginx/sites-available/notes": "-rw-r--r--",
        "usr/share/notes/docs/index.html": "-rw-r--r--",
        "usr/share/notes/docs/swagger-ui-bundle.js": "-rw-r--r--",
        "usr/share/notes/docs/swagger-ui.css": "-rw-r--r--",
        "usr/share/man/man8/notes-supervisor.8.gz": "-rw-r--r--",
        "usr/share/man/man8/notes-worker.8.gz": "-rw-r--r--",
        "usr/share/bash-completion/completions/notes-supervisor": "-rw-r--r--",
        "usr/share/doc/notes/copyright": "-rw-r--r--",
        "usr/share/doc/notes/changelog.gz": "-rw-r--r--",
    }
    for path, mode in expected.items():
        assert path in contents, f"{path} missing from the package"
        assert contents[path] == (mode, "root/root"), path
    # Enabling the site is the admin's decision.
    assert not any(path.startswith("etc/nginx/sites-enabled") for path in contents)
    assert not any(path.startswith("usr/local") for path in contents)


def test_units_name_the_packaged_paths(unpacked, contents):
    service = (unpacked / "data" / "lib" / "systemd" / "system" / "notes.service").read_text()
    assert service == (REPO_ROOT / "systemd" / "notes.service").read_text()
    commands = re.findall(r"^Exec\w+=(\S+)", service, re.MULTILINE)
    assert commands, "no Exec lines"
    for command in commands:
        if command != "/bin/kill":
            assert command.removeprefix("/") in contents, f"{command} is not in the package"
    assert "EnvironmentFile=/etc/notes/notes.env" in service
    assert "etc/notes/notes.env" in contents
    sysusers = (unpacked / "data" / "usr" / "lib" / "sysusers.d" / "notes.conf").read_text()
    assert re.search(r"^u notes ", sysusers, re.MULTILINE)
    assert re.search(r"^User=notes$", service, re.MULTILINE)
    site = (unpacked / "data" / "etc" / "nginx" / "sites-available" / "notes").read_text()
    assert site == (REPO_ROOT / "nginx" / "notes.conf").read_text()
    assert "root /usr/share/notes;" in site


def test_conffiles(unpacked):
    conffiles = (unpacked / "control" / "conffiles").read_text().split()
    assert sorted(conffiles) == ["/etc/nginx/sites-available/notes", "/etc/notes/notes.env"]


def test_depends_from_shlibdeps_recommends_nginx_and_postgresql(field):
    depends = field("Depends")
    for library in ("libc6", "libfcgi0ldbl", "libpq5"):
        assert re.search(rf"\b{library} \(>= ", depends), depends
    # notes.service's ExecReload= runs /bin/kill.
    assert re.search(r"(^|, )procps(,|$)", depends), depends
    recommends = field("Recommends")
    assert recommends.startswith("nginx") and "postgresql" in recommends, recommends


def test_maintainer_scripts(unpacked):
    control = unpacked / "control"
    postinst = (control / "postinst").read_text()
    prerm = (control / "prerm").read_text()
    postrm = (control / "postrm").read_text()
    # The user first (dh_installsysusers), then the environment file is handed to it.
    assert postinst.index("systemd-sysusers") < postinst.index("chown notes:notes /etc/notes/notes.env")
    # Nothing is enabled or started behind the admin's back: the database must be configured first.
    # (dh_installsystemd re-enables a unit on upgrade only when the admin had enabled it.)
    assert not re.search(r"deb-systemd-invoke (start|restart)|systemctl (start|enable|restart)", postinst)
    enables = re.findall(r"deb-systemd-helper enable '([^']+)'", postinst)
    kept = re.findall(r"was-enabled '([^']+)'; then\s+# Create new symlinks, if any.\s+deb-systemd-helper enable '([^']+)'", postinst)
    assert sorted(enables) == ["notes.service", "notes.socket"] and sorted(a for a, b in kept if a == b) == sorted(enables)
    # An upgrade over a running service reloads it (migrate, then HUP) instead of restarting it.
    assert "deb-systemd-invoke reload notes.service" in postinst
    assert "restart" not in postinst
    # `apt remove` stops it, an upgrade does not.
    assert re.search(r'if \[ "\$1" = remove \] && \[ -d /run/systemd/system \]; then\s+deb-systemd-invoke stop notes.socket notes.service', prerm), prerm
    assert "upgrade" not in re.sub(r"^#.*$", "", prerm, flags=re.MULTILINE)
    # purge: the units' state and what systemd made for the service.
    assert "deb-systemd-helper purge" in postrm
    assert "rm -rf /var/log/notes /run/notes" in postrm
    assert "rm -f /etc/nginx/sites-enabled/notes" in postrm
    for script in ("postinst", "prerm", "postrm"):
        run("sh", "-n", control / script)


@pytest.mark.parametrize("name", EXECUTABLES)
def test_man_page_names_every_option(name, unpacked):
    import gzip

    page = gzip.decompress((unpacked / "data" / "usr" / "share" / "man" / "man8" / f"{name}.8.gz").read_bytes()).decode()
    assert re.search(rf'^\.TH {name.upper()} "8" .* "{name} {re.escape(VERSION)}"', page, re.MULTILINE), page[:400]
    helped = run(unpacked / "data" / "usr" / "sbin" / name, "--help")
    options = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", helped))
    assert len(options) > 5
    # groff escapes each - as \-.
    for option in options:
        assert option.replace("-", r"\-") in page, f"{option} is not in the man page of {name}"


def test_lintian_no_error_and_every_warning_explained(deb):
    done = subprocess.run(["lintian", "--tag-display-limit", "0", str(deb)], capture_output=True, text=True)
    tags = re.findall(r"^([EW]): notes[^:]*: (\S+)", done.stdout, re.MULTILINE)
    assert not [tag for level, tag in tags if level == "E"], done.stdout
    documented = OPERATIONS.read_text()
    for tag in {tag for level, tag in tags if level == "W"}:
        assert f"`{tag}`" in documented, f"lintian warning {tag} is not explained in docs/OPERATIONS.md"
