"""A throwaway PostgreSQL cluster for tests that need to stop, kill or restart the server.

``PgCluster`` runs ``initdb`` into a temporary directory, listens on 127.0.0.1 only (a free port
picked at start, the unix socket inside the temporary directory), trusts every local connection
and, by default, trades durability for speed (``fsync=off``): a cluster lives for one test module
and is removed afterwards. It never touches the system cluster.

PostgreSQL refuses to run as root, so when the tests run as root every server binary runs as the
``postgres`` OS user and the temporary directory is handed to that user.

Reuse. ``extra_conf`` lines are appended to ``postgresql.conf`` (and ``append_conf`` adds more
later, before a restart), ``hba_lines`` to ``pg_hba.conf``, and ``initialise=False`` leaves the
data directory empty for a caller that fills it itself (``pg_basebackup`` for a streaming
standby: see ``run``). The standby itself is not built here.

When the binaries (or, as root, the ``postgres`` user) are missing, ``require_binaries`` skips
the calling test loudly rather than passing it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_BIN_ENV = "JIAOLONG_PG_BIN"
PG_BIN_DEFAULT = "/usr/lib/postgresql/15/bin"
RUN_AS_USER = "postgres"
BINARIES = ("initdb", "pg_ctl", "postgres")
START_TIMEOUT_SECONDS = 30
KILL_TIMEOUT_SECONDS = 10
START_ATTEMPTS_MAX = 3
SUPERUSER = "postgres"
PASSWORD = "s3cret-pw"
"""Sent in ``StoppablePostgres.url`` and ignored by the cluster (trust auth): a secret that
must never surface in an error message."""

FAST_CONF = (
    "fsync = off",
    "synchronous_commit = off",
    "full_page_writes = off",
)


def find_bin_dir() -> Path | None:
    """``$JIAOLONG_PG_BIN``, else PostgreSQL 15's Debian location, else ``initdb`` on PATH."""
    candidates = [os.environ.get(PG_BIN_ENV), PG_BIN_DEFAULT]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        if candidate and all((Path(candidate) / name).is_file() for name in BINARIES):
            return Path(candidate)
    return None


def require_binaries() -> Path:
    """The PostgreSQL bin directory, or skip the test with a reason nobody can miss."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip(
            f"PostgreSQL server binaries ({', '.join(BINARIES)}) NOT FOUND in ${PG_BIN_ENV}, "
            f"{PG_BIN_DEFAULT} or PATH: private-cluster tests SKIPPED"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS_USER)
        except KeyError:
            pytest.skip(
                f"running as root and there is NO {RUN_AS_USER!r} OS user to run PostgreSQL "
                "as: private-cluster tests SKIPPED"
            )
    return bin_dir


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now (start retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PgClusterError(RuntimeError):
    """A cluster command failed; the message carries its output and the server log's tail."""


class PgCluster:
    """One private PostgreSQL cluster in a temporary directory (see the module docstring)."""

    def __init__(
        self,
        *,
        bin_dir: Path | None = None,
        extra_conf: Iterable[str] = (),
        hba_lines: Iterable[str] = (),
        fast: bool = True,
        initialise: bool = True,
        name: str = "pg",
    ) -> None:
        self.bin_dir = bin_dir or require_binaries()
        self.as_root = os.geteuid() == 0
        self.base_dir = Path(tempfile.mkdtemp(prefix=f"jiaolong-{name}-"))
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir / "socket"
        self.log_file = self.base_dir / "server.log"
        self.port = free_port()
        self.host = "127.0.0.1"
        self._extra_conf = [*(FAST_CONF if fast else ()), *extra_conf]
        self._hba_lines = list(hba_lines)
        self._own(self.base_dir)
        self.socket_dir.mkdir()
        self._own(self.socket_dir)
        if initialise:
            try:
                self.initialise()
            except BaseException:
                shutil.rmtree(self.base_dir, ignore_errors=True)
                raise

    # -- running commands ----------------------------------------------------------------

    def run(self, binary: str, *arguments: str, check: bool = True) -> str:
        """Run a PostgreSQL binary (as ``postgres`` when we are root); returns its output."""
        command = [str(self.bin_dir / binary), *arguments]
        if self.as_root:
            command = ["runuser", "-u", RUN_AS_USER, "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, cwd=self.base_dir
        )
        output = result.stdout + result.stderr
        if check and result.returncode != 0:
            raise PgClusterError(
                f"{binary} {' '.join(arguments)} exited {result.returncode}:\n{output}\n"
                f"--- server log tail ---\n{self.log_tail()}"
            )
        return output

    def _own(self, path: Path) -> None:
        if self.as_root:
            user = pwd.getpwnam(RUN_AS_USER)
            os.chown(path, user.pw_uid, user.pw_gid)

    # -- set-up --------------------------------------------------------------------------

    def initialise(self) -> None:
        """``initdb`` with trust auth, then the cluster's own configuration."""
        self.run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        self.configure()

    def configure(self) -> None:
        """(Re)write the settings this class owns; call after filling ``data_dir`` yourself."""
        self.append_conf(
            [
                "listen_addresses = '127.0.0.1'",
                f"port = {self.port}",
                f"unix_socket_directories = '{self.socket_dir}'",
                *self._extra_conf,
            ]
        )
        if self._hba_lines:
            self._append(self.data_dir / "pg_hba.conf", self._hba_lines)

    def append_conf(self, lines: Sequence[str]) -> None:
        """Append to ``postgresql.conf``; the last setting wins, effective at the next start."""
        self._append(self.data_dir / "postgresql.conf", lines)

    def _append(self, path: Path, lines: Sequence[str]) -> None:
        # The file belongs to the postgres user; root may append to it, ownership stays.
        with path.open("a", encoding="utf-8") as handle:
            handle.write("\n# jiaolong tests\n" + "".join(f"{line}\n" for line in lines))

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start and wait until it accepts connections; a port lost to a race is re-picked."""
        for attempt in range(1, START_ATTEMPTS_MAX + 1):
            try:
                self.run(
                    "pg_ctl",
                    "start",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    str(START_TIMEOUT_SECONDS),
                )
                return
            except PgClusterError:
                if attempt == START_ATTEMPTS_MAX or "could not bind" not in self.log_tail():
                    raise
                self.port = free_port()
                self.append_conf([f"port = {self.port}"])

    def stop(self, mode: str = "immediate") -> None:
        """``pg_ctl stop -m mode`` (smart, fast or immediate) and wait for it."""
        self.run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w")

    def kill(self) -> None:
        """SIGKILL the postmaster and then its children, as a crashed machine would leave it.

        The children go too (PostgreSQL's own backends would notice the dead postmaster only
        at their next wake-up, holding the shared memory a restart needs)."""
        postmaster = self.postmaster_pid()
        if postmaster is None:
            return
        children = _children_of(postmaster)
        for pid in (postmaster, *children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + KILL_TIMEOUT_SECONDS
        while any(_alive(pid) for pid in (postmaster, *children)):
            if time.monotonic() > deadline:
                raise PgClusterError(f"postmaster {postmaster} or its children outlived SIGKILL")
            time.sleep(0.02)
        # Nothing of the server is left, but its lock files name its pid, which may linger as
        # an unreaped zombie (pid 1 of a container need not reap) and would stop the next start.
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        for stale in self.socket_dir.glob(".s.PGSQL.*"):
            stale.unlink(missing_ok=True)

    def restart(self, mode: str = "immediate") -> None:
        self.stop(mode)
        self.start()

    def is_running(self) -> bool:
        pid = self.postmaster_pid()
        return pid is not None and _alive(pid)

    def postmaster_pid(self) -> int | None:
        """The postmaster's pid from ``postmaster.pid``, or None when there is none."""
        try:
            first_line = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
        except (FileNotFoundError, IndexError):
            return None
        return int(first_line)

    def cleanup(self) -> None:
        """Stop the server if it runs (immediate) and remove the whole temporary directory."""
        if self.is_running():
            try:
                self.stop("immediate")
            except PgClusterError:
                self.kill()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.cleanup()

    # -- connecting ----------------------------------------------------------------------

    def url(
        self,
        database: str = "postgres",
        *,
        user: str = SUPERUSER,
        password: str | None = None,
        driver: str = "postgresql+psycopg",
    ) -> str:
        """A SQLAlchemy URL over TCP; a password is sent but ignored (trust auth)."""
        credentials = user if password is None else f"{user}:{password}"
        return f"{driver}://{credentials}@{self.host}:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> list[tuple[object, ...]]:
        """Run one statement in autocommit (CREATE/DROP DATABASE allowed); returns its rows."""
        import psycopg

        conninfo = f"host={self.host} port={self.port} user={SUPERUSER} dbname={database}"
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as connection:
            cursor = connection.execute(sql.encode())
            return cursor.fetchall() if cursor.description else []

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no server log yet)"


@dataclass
class StoppablePostgres:
    """A database of a test's own on a server the test may stop, kill and start again."""

    cluster: PgCluster
    database: str
    password: str = PASSWORD

    @property
    def url(self) -> str:
        """``postgresql+psycopg://postgres:<password>@127.0.0.1:<port>/<database>``."""
        return self.cluster.url(self.database, password=self.password)

    def stop(self, mode: str = "immediate") -> None:
        self.cluster.stop(mode)

    def kill(self) -> None:
        self.cluster.kill()

    def start(self) -> None:
        self.cluster.start()

    def is_running(self) -> bool:
        return self.cluster.is_running()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie is dead; only its parent's wait() is missing


def _children_of(parent: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent_pid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, IndexError, ValueError, ProcessLookupError):
            continue
        if parent_pid == parent:
            children.append(int(entry.name))
    return children
