"""Real PostgreSQL and Redis servers in temporary directories, on free ports.

Used by the pytest fixtures (conftest.py) and by tests/run.py, which runs the
unit tests that need a server under them. Everything is removed on stop, and
stop runs at exit too, so an interrupted run leaves no server behind.

PostgreSQL refuses to run as root, so as root the cluster belongs to the
`postgres` user that Debian's package creates.
"""
import atexit
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

PG_BIN = "/usr/lib/postgresql/15/bin"


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


class Postgres:
    """A throwaway PostgreSQL cluster; superuser `postgres`, trust auth on loopback."""

    def __init__(self, root):
        self.dir = os.path.join(root, "pg")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.as_user = []
        os.makedirs(self.dir)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            os.chmod(root, 0o755)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args):
        subprocess.run(self.as_user + list(args), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)

    def start(self):
        self._run(f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200")
        self._run(f"{PG_BIN}/pg_ctl", "-D", self.data, "-o", opts, "-w", "-t", "60",
                  "-l", os.path.join(self.dir, "log"), "start")
        return self

    def stop(self, mode="immediate"):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run(self.as_user + [f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", mode,
                                           "-w", "stop"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)

    def conninfo(self, dbname="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name):
        import psycopg2
        conn = psycopg2.connect(self.conninfo())
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.conninfo(name)


class Redis:
    def __init__(self, root):
        self.dir = os.path.join(root, "redis")
        self.port = free_port()
        self.proc = None
        os.makedirs(self.dir)

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.dir, "--save", "", "--appendonly", "no"],
            stdout=open(os.path.join(self.dir, "log"), "w"), stderr=subprocess.STDOUT)
        wait_port(self.port, proc=self.proc)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"


class Servers:
    """PostgreSQL and Redis together, under one temporary directory."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="eqms-test-")
        self.pg = Postgres(self.root)
        self.redis = Redis(self.root)
        self._stopped = False
        atexit.register(self.stop)

    def start(self):
        try:
            self.pg.start()
            self.redis.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        if self._stopped:
            return
        self._stopped = True
        self.redis.stop()
        self.pg.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def env(self):
        """What tests that need a server read from the environment."""
        return {"EQMS_TEST_PG_CONNINFO": self.pg.conninfo(),
                "EQMS_TEST_REDIS_URL": self.redis.url()}
