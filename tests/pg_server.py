"""A throwaway PostgreSQL + PostGIS server for the tests: initdb in a temp folder, a free port on
loopback, trust authentication, removed afterwards. Or an existing server: GEO_TEST_POSTGRES
holds a superuser URL, and the tests make their own databases there.

Each test gets a fresh database cloned from a template that already holds the postgis
extension (a clone takes ~0.1 s; creating the extension takes seconds).
"""
from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

TEMPLATE = "geo_ws_template"


class Unavailable(Exception):
    """No PostgreSQL with PostGIS can be started here; str() says why."""


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    if shutil.which("initdb"):
        return Path(shutil.which("initdb")).parent
    raise Unavailable("PostgreSQL is not installed (no initdb); apt-get install postgresql postgis")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self):
        self.folder = None
        self.proc_user = None
        self.admin_url = os.environ.get("GEO_TEST_POSTGRES")
        self.count = itertools.count(1)
        if not self.admin_url:
            self._start()
        self._template()

    def _as_owner(self, *cmd, **kw):
        """Run a server command; as root, as the postgres user (initdb refuses to run as root)."""
        prefix = ["runuser", "-u", self.proc_user, "--"] if self.proc_user else []
        return subprocess.run(prefix + [str(c) for c in cmd], capture_output=True, text=True, timeout=120, **kw)

    def _start(self):
        bindir = pg_bin()
        self.folder = Path(tempfile.mkdtemp(prefix="geo-pg-"))
        if os.geteuid() == 0:
            self.proc_user = "postgres"
            shutil.chown(self.folder, user="postgres")
        data = self.folder / "data"
        done = self._as_owner(bindir / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                              "--no-instructions")
        if done.returncode:
            raise Unavailable(f"initdb failed: {done.stderr.strip()[-300:]}")
        self.port = free_port()
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.folder} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        done = self._as_owner(bindir / "pg_ctl", "-D", data, "-l", self.folder / "log", "-o", opts, "-w", "-t", "60",
                              "start")
        if done.returncode:
            log = (self.folder / "log").read_text() if (self.folder / "log").exists() else ""
            raise Unavailable(f"the server did not start: {(done.stderr + log).strip()[-400:]}")
        self.bindir = bindir
        self.data = data
        self.options = opts
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _template(self):
        import psycopg
        try:
            with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as con:
                con.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
                con.execute(f"CREATE DATABASE {TEMPLATE}")
            with psycopg.connect(self.url_for(TEMPLATE), autocommit=True) as con:
                con.execute("CREATE EXTENSION postgis")
        except psycopg.Error as err:
            self.stop()
            raise Unavailable(f"cannot prepare a PostGIS database: {' '.join(str(err).split())}") from None

    def url_for(self, dbname: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + "/" + dbname

    def new_database(self) -> str:
        """A fresh, empty database with PostGIS; returns its URL."""
        import psycopg
        name = f"geo_ws_{os.getpid()}_{next(self.count)}"
        with psycopg.connect(self.admin_url, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name}")
            con.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url_for(name)

    def pause(self):
        """Stop the server as an outage would (every connection dropped), keeping its data."""
        done = self._as_owner(self.bindir / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop")
        if done.returncode:
            raise RuntimeError(f"pg_ctl stop failed: {done.stderr.strip()[-300:]}")

    def resume(self):
        """Start a paused server again on the same port, with the same data."""
        done = self._as_owner(self.bindir / "pg_ctl", "-D", self.data, "-l", self.folder / "log", "-o", self.options,
                              "-w", "-t", "60", "start")
        if done.returncode:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()[-300:]}")

    def stop(self):
        if self.folder is None:
            return
        if getattr(self, "data", None):
            self._as_owner(self.bindir / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None
