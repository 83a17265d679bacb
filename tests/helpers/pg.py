"""A throwaway PostgreSQL server for tests: ``with postgres_server() as url: ...``.

Uses the server binaries of Debian's ``postgresql`` package (``/usr/lib/postgresql/*/bin``, or
``initdb`` on PATH; ``.ci/postgres.sh`` installs them).  The cluster lives in a fresh temporary
folder, listens on 127.0.0.1 on a free port with a socket in that folder, trusts local
connections, runs with fsync off (it is thrown away), and is stopped and deleted on exit.
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user (created
by the package).  ``find_binaries()`` returns None when the binaries are missing, so tests can
skip with the reason.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

SUPERUSER = "autorec"


def find_binaries() -> Path | None:
    """The folder with ``initdb`` and ``pg_ctl`` (newest version first), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def why_unavailable() -> str | None:
    """A reason the server cannot be started here, or None if it can."""
    if find_binaries() is None:
        return "PostgreSQL server binaries not found (run .ci/postgres.sh to install them)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root and 'runuser' is missing"
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "psycopg2 is not installed"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server; yields a SQLAlchemy URL to its ``postgres`` database."""
    reason = why_unavailable()
    if reason is not None:
        raise RuntimeError(reason)
    bindir = find_binaries()
    assert bindir is not None
    prefix: list[str] = []
    owner = None
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="autorec-pg-"))
    data = root / "data"
    try:
        if owner is not None:
            os.chown(root, owner.pw_uid, owner.pw_gid)

        def run(*args: str) -> None:
            proc = subprocess.run(prefix + list(args), capture_output=True, text=True, cwd=root)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(args[:2])} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")

        run(str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync")
        last_error = None
        for _ in range(3):  # the free port can be taken between finding it and binding it
            port = _free_port()
            opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
            try:
                run(str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "server.log"), "-w", "-t", "30", "start")
                break
            except RuntimeError as e:
                last_error = e
        else:
            log = (root / "server.log").read_text(errors="replace") if (root / "server.log").exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {last_error}\n{log}")
        try:
            yield f"postgresql+psycopg2://{SUPERUSER}@127.0.0.1:{port}/postgres"
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
