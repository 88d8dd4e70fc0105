"""Fixtures for the system tests: real servers and real EQMS binaries.

servers   one PostgreSQL and one Redis for the whole session (servers.py)
fresh_db  conninfo of a new, empty database
db        psycopg2 connection (autocommit) to a new database with every
          migration applied by the real eqms-migrate
demo_db   like db, with docker/local/demo.sql loaded as `make run` loads it,
          its zones moved so that head office's local time is 13:00-14:00
          whenever the test runs (a test marked real_zones keeps Asia/Shanghai
          and Asia/Urumqi)
bus       a running eqms-bus on free ports: .xsub, .xpub, .http_port
netns     a network namespace on a veth link whose traffic a test can drop
run_bin   runs an EQMS binary to completion: run_bin("migrate", env={...})
start_bin starts a long-running EQMS binary; stopped with SIGTERM at teardown
kannel    a running Kannel (bearerbox, smsbox, fakesmsc) for this test, logs
          in its tmp dir (servers.Kannel); kannel_factory(inbound_url=...,
          max_messages=...) starts one with the notifier's inbound URL
webapi    a running eqms-web-api (REST API) on demo_db with an administrator
          at hq (tests/system/webapi.py)
webapi_qm the same with a real eqms-queue-manager behind it (tickets, windows)
http_recorder  an HTTP server that records the requests it gets
          (httprecorder.py): Kannel's delivery reports and inbound messages
"""
import datetime
import itertools
import os
import signal
import subprocess
import sys
import time

import psycopg2
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers as srvmod  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("EQMS_BUILD", os.path.join(ROOT, "build", "debug"))
_db_counter = itertools.count(1)


def bin_path(name):
    """A service from <build>/bin, or a test-only binary from <build>/testbin."""
    for sub in ("bin", "testbin"):
        path = os.path.join(BUILD, sub, f"eqms-{name}")
        if os.path.exists(path):
            return path
    raise RuntimeError(f"eqms-{name} is not built in {BUILD} (make test builds it)")


@pytest.fixture(scope="session")
def servers():
    s = srvmod.Servers().start()
    yield s
    s.stop()


@pytest.fixture
def fresh_db(servers):
    return servers.pg.create_database(f"t{os.getpid()}_{next(_db_counter)}")


def _run(name, args=(), env=None, timeout=60):
    full_env = dict(os.environ, EQMS_LOG_LEVEL="info")
    full_env.update(env or {})
    return subprocess.run([bin_path(name), *args], env=full_env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, text=True)


@pytest.fixture
def run_bin():
    return _run


class Connection(psycopg2.extensions.connection):
    """A psycopg2 connection that also tells its conninfo, for starting binaries."""

    @property
    def conninfo(self):
        return self._eqms_conninfo


def _connect(conninfo):
    conn = psycopg2.connect(conninfo, connection_factory=Connection)
    conn._eqms_conninfo = conninfo
    conn.autocommit = True
    return conn


def _migrated(conninfo):
    res = _run("migrate", env={"EQMS_PG_CONNINFO": conninfo})
    assert res.returncode == 0, res.stderr
    return _connect(conninfo)


@pytest.fixture
def db(fresh_db):
    conn = _migrated(fresh_db)
    yield conn
    conn.close()


@pytest.fixture
def pg_proxy(fresh_db):
    """A TcpProxy (tcpproxy.py) in front of the test's database."""
    from tcpproxy import TcpProxy
    proxy = TcpProxy(fresh_db)
    yield proxy
    proxy.close()


@pytest.fixture
def netns():
    """A network namespace joined to this host by a veth pair (netns.py)."""
    from netns import NetNs
    ns = NetNs()
    yield ns
    ns.close()


@pytest.fixture
def kannel_factory(tmp_path):
    started = []

    def start(inbound_url=None, **kwargs):
        """A started servers.Kannel under <tmp_path>/kannel (then k1/kannel, ...)."""
        root = tmp_path / f"k{len(started)}" if started else tmp_path
        k = srvmod.Kannel(str(root), inbound_url, **kwargs)
        started.append(k)
        return k.start()

    yield start
    for k in reversed(started):
        k.stop()


@pytest.fixture
def kannel(kannel_factory):
    return kannel_factory()


@pytest.fixture
def http_recorder():
    from httprecorder import HttpRecorder
    recorder = HttpRecorder()
    yield recorder
    recorder.close()


def pytest_configure(config):
    config.addinivalue_line("markers", "real_zones: demo_db keeps the demo's own zones "
                                       "(Asia/Shanghai, Asia/Urumqi)")


def _zones_at_midday(conn):
    """Gives every node of the demo a fixed-offset zone (Etc/GMT-K, an IANA
    zone) so that head office's local time is now between 13:00 and 14:00,
    the other zones keeping their distance to it (Urumqi 2 hours behind).
    "Today" then holds the minutes before and after any test, whatever the
    hour the suite runs at: a test that puts facts a few minutes or hours
    ago into today's figures does not see them fall into yesterday at a
    local midnight."""
    from zoneinfo import ZoneInfo
    now = datetime.datetime.now(datetime.timezone.utc)
    with conn.cursor() as cur:
        cur.execute("SELECT time_zone FROM org_node WHERE path = 'hq'")
        (hq,), = cur.fetchall()
        cur.execute("SELECT DISTINCT time_zone FROM org_node WHERE time_zone IS NOT NULL")
        for (zone,) in cur.fetchall():
            apart = ZoneInfo(zone).utcoffset(now) - ZoneInfo(hq).utcoffset(now)
            hours = 13 - now.hour + round(apart.total_seconds() / 3600)
            fixed = f"Etc/GMT{-hours:+d}" if hours else "Etc/GMT"   # POSIX signs: GMT-8 is UTC+8
            cur.execute("UPDATE org_node SET time_zone = %s WHERE time_zone = %s", (fixed, zone))


@pytest.fixture
def demo_db(fresh_db, request):
    conn = _migrated(fresh_db)
    with open(os.path.join(ROOT, "docker", "local", "demo.sql"), encoding="utf-8") as f:
        with conn.cursor() as cur:
            cur.execute(f.read())
    if request.node.get_closest_marker("real_zones") is None:
        _zones_at_midday(conn)
    yield conn
    conn.close()


@pytest.fixture
def webapi(demo_db, start_bin, servers):
    """A running eqms-web-api on the demo organisation with an administrator at
    hq (webapi.WebApi: .admin, .login(), .make_user(), .client())."""
    from webapi import WebApi
    return WebApi(start_bin, _run, demo_db, servers.redis.url(13))


@pytest.fixture
def webapi_qm(demo_db, bus, start_bin, servers):
    """webapi with a real eqms-queue-manager on the same demo database behind
    it (EQMS_QM_ENDPOINT), for the routes of tickets and windows."""
    from qm_client import start_qm
    from webapi import WebApi
    _, endpoint, _ = start_qm(start_bin, demo_db, bus)
    return WebApi(start_bin, _run, demo_db, servers.redis.url(13), EQMS_QM_ENDPOINT=endpoint)


class Proc:
    """A long-running binary with its stderr kept in a file for assertions."""

    def __init__(self, name, env, log_path, wrap=()):
        self.name = name
        self.log_path = log_path
        self.proc = subprocess.Popen([*wrap, bin_path(name)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=open(log_path, "w"))

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def start_bin(tmp_path):
    procs = []

    def start(name, env, wrap=()):
        """`wrap`: a command prefix, e.g. a netns.NetNs's `prefix`."""
        full_env = dict(os.environ, EQMS_LOG_LEVEL="debug")
        full_env.update(env)
        p = Proc(name, full_env, str(tmp_path / f"{name}-{len(procs)}.log"), wrap)
        procs.append(p)
        return p

    yield start
    for p in reversed(procs):
        p.stop()


class Bus:
    def __init__(self, proc, xsub_port, xpub_port, http_port):
        self.proc = proc
        self.xsub = f"tcp://127.0.0.1:{xsub_port}"
        self.xpub = f"tcp://127.0.0.1:{xpub_port}"
        self.http_port = http_port


@pytest.fixture
def bus(start_bin):
    # A free port can be taken by another process before the bus binds it
    # (seen once in a full run): the bus then exits, and is started again
    # on other ports.
    for attempt in range(3):
        ports = [srvmod.free_port() for _ in range(3)]
        proc = start_bin("bus", {"EQMS_BUS_XSUB_BIND": f"tcp://127.0.0.1:{ports[0]}",
                                 "EQMS_BUS_XPUB_BIND": f"tcp://127.0.0.1:{ports[1]}",
                                 "EQMS_HTTP_ADDRESS": "127.0.0.1",
                                 "EQMS_HTTP_PORT": str(ports[2])})
        try:
            srvmod.wait_port(ports[2], proc=proc.proc)
            return Bus(proc, *ports)
        except RuntimeError:
            if attempt == 2 or proc.proc.poll() is None:
                raise


def wait_for(predicate, timeout=10.0, interval=0.05):
    """Polls predicate until it returns a true value; returns it or fails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def make_envelope(type_, data, src="system-test", seq=1):
    """A valid bus envelope (docs/protocol.md) as bytes, with a UUIDv7 id."""
    import datetime
    import json
    import secrets
    import uuid
    ms = int(time.time() * 1000)
    value = (ms << 80) | (0x7 << 76) | (secrets.randbits(12) << 64) | (0b10 << 62) \
        | secrets.randbits(62)
    ts = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return json.dumps({"v": 1, "id": str(uuid.UUID(int=value)), "type": type_,
                       "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z",
                       "src": src, "seq": seq, "data": data},
                      ensure_ascii=False).encode()


class BusClient:
    """A PUB and a SUB connected to a running forwarder, for system tests."""

    def __init__(self, bus, *prefixes):
        import zmq
        ctx = zmq.Context.instance()
        self.pub = ctx.socket(zmq.PUB)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.connect(bus.xsub)
        self.sub = ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.connect(bus.xpub)
        for p in prefixes:
            self.sub.setsockopt(zmq.SUBSCRIBE, p.encode())
        self.seq = 0

    def publish(self, type_, org_path, data):
        self.seq += 1
        self.pub.send_multipart([f"{type_}.{org_path}".encode(),
                                 make_envelope(type_, data, seq=self.seq)])

    def receive(self, timeout=5.0):
        """The next (topic, envelope dict), or None after timeout seconds."""
        import json
        if not self.sub.poll(int(timeout * 1000)):
            return None
        topic, body = self.sub.recv_multipart()
        return topic.decode(), json.loads(body)

    def request(self, type_, org_path, data, expect_prefix, timeout=10.0):
        """Publishes until something under expect_prefix arrives (joins are
        asynchronous); returns (topic, envelope)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.publish(type_, org_path, data)
            got = self.receive(0.3)
            while got is not None:
                if got[0].startswith(expect_prefix):
                    return got
                got = self.receive(0.1)
        raise AssertionError(f"no {expect_prefix} within {timeout}s")
