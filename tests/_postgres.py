"""A PostgreSQL server for the tests, and a fresh database for each test that asks for one.

`PCVIZ_TEST_POSTGRES=postgresql://user:password@host:port/db` uses that server (its user
must be allowed to create databases, else each test gets a fresh schema). Otherwise the
first test that needs PostgreSQL starts a throw-away server from Debian's binaries
(`/usr/lib/postgresql/<version>/bin`): `initdb` into a temporary folder, `pg_ctl start` on a
free port of 127.0.0.1 with its unix socket in that folder, password authentication over TCP.
As root (CI), the folder belongs to the `postgres` user and the binaries run as that user
(`runuser -u postgres --`), since PostgreSQL refuses to run as root. The server is stopped and
its folder removed when the test session ends.

Tests that use it are marked `needs_postgres`; without the binaries they skip with the
reason (CI, with `PCVIZ_REQUIRE_RESOURCES=1`, turns that skip into a failure).
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

PASSWORD = "pg-test-5ecret"
USER = "pcviz"
_INSTALL = "needs Debian's postgresql: apt-get install postgresql"


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def binaries() -> Path | None:
    """The newest `/usr/lib/postgresql/<version>/bin` holding `initdb` and `pg_ctl`."""
    found = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")
             if (Path(p) / "initdb").exists() and (Path(p) / "pg_ctl").exists()]
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
               default=None)


class ThrowAwayServer:
    """A PostgreSQL server in a temporary folder; `url` is its superuser's URL."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="pcviz-pg-"))
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(self.root)
                pytest.skip(f"{_INSTALL} (running as root, it needs the postgres user)")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.url = ""

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.prefix, *args], cwd=self.root, capture_output=True,
                              text=True, timeout=120, check=False)
        if done.returncode:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:1])} failed ({done.returncode}):\n"
                               f"{done.stdout[-2000:]}{done.stderr[-2000:]}{log}")

    def start(self) -> None:
        """`initdb`, then `pg_ctl start` (on another port if the first one was taken)."""
        password_file = self.root / "password"
        password_file.write_text(PASSWORD + "\n")
        if self.prefix:
            shutil.chown(password_file, "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", USER,
                  f"--pwfile={password_file}", "--auth-host=scram-sha-256",
                  "--auth-local=trust", "-E", "UTF8", "--locale=C", "--no-sync")
        for attempt in range(3):
            self.port = free_port()
            options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
            try:
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                          "-w", "-t", "60", "-o", options, "start")
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        self.url = f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        if self.data.exists():
            subprocess.run([*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.data),
                            "-m", "immediate", "-w", "stop"], cwd=self.root,
                           capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


_lock = threading.Lock()
_server: dict[str, object] = {}


def server_url() -> str:
    """The URL of the tests' PostgreSQL server (an administrator's, database `postgres` or
    the one named), starting the throw-away server on first use. Skips without PostgreSQL."""
    given = os.environ.get("PCVIZ_TEST_POSTGRES", "").strip()
    if given:
        return given
    pytest.importorskip("psycopg", reason="needs psycopg (pip install 'psycopg[binary]')")
    with _lock:
        if "url" not in _server:
            if "skip" in _server:
                pytest.skip(str(_server["skip"]))
            bin_dir = binaries()
            if bin_dir is None:
                _server["skip"] = _INSTALL
                pytest.skip(_INSTALL)
            server = ThrowAwayServer(bin_dir)
            atexit.register(server.stop)
            server.start()
            _server["url"] = server.url
        return str(_server["url"])


def _with_database(url: str, database: str, **query: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).update_query_dict(query) \
        .render_as_string(hide_password=False)


def fresh_database() -> tuple[str, object]:
    """A new, empty database (or, without the right to create one, a new schema) on the
    tests' server: `(url, drop)`, where `drop()` removes it."""
    import psycopg
    from psycopg import sql

    admin = server_url()
    name = f"pcviz_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        try:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            url, drop = _with_database(admin, name), sql.SQL(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        except psycopg.errors.InsufficientPrivilege:
            connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
            url = _with_database(admin, str(psycopg.conninfo.conninfo_to_dict(admin)
                                            .get("dbname", "postgres")),
                                 options=f"-csearch_path={name}")
            drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))

    def _drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(drop)

    return url, _drop


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database for one test (its URL, password included)."""
    url, drop = fresh_database()
    yield url
    drop()
