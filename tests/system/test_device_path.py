"""The device path end to end with real parts only: demo database, web-api (the
registry responder), rating-ingest, the device gateway and an emulated device
(eqms-devsim: the real firmware core behind umockdev USB). What a bank would
see: every key press the device held becomes a fact in PostgreSQL, or a
recorded rejection, never silently nothing."""
import shutil
import urllib.request

import pytest

from conftest import wait_for
from servers import free_port, wait_port
from test_gateway import BRANCH, Devsim, Listener, now_rfc3339, scale, start_gateway


def q(db, sql, *args):
    with db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def metric(port, name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(f"eqms_device_gateway_{name} "):
            return int(float(line.split()[1]))
    raise AssertionError(f"no metric {name}")


class Site:
    """One branch: web-api answering registry requests, rating-ingest, one
    emulated device (the demo device of window w01) and a gateway."""

    def __init__(self, db, bus, start_bin, tmp_path, redis_url="", devsim_env=None,
                 web_api=True):
        self.db, self.bus, self.start_bin, self.tmp = db, bus, start_bin, tmp_path
        (self.serial, self.window_id, self.number, self.code), = q(db, """
            SELECT d.serial, w.id, w.number, w.code FROM device d
            JOIN service_window w ON w.id = d.window_id JOIN org_node n ON n.id = w.node_id
            WHERE n.path = %s::ltree AND w.code = 'w01'""", BRANCH)
        (self.employee,), = q(db, """SELECT s.employee_no FROM staff s JOIN org_node n
                                     ON n.id = s.node_id WHERE n.path = %s::ltree AND s.active
                                     ORDER BY s.employee_no LIMIT 1""", BRANCH)
        # every press counts (the device gets the same from the registry)
        q(db, """UPDATE node_settings SET repeat_press_s = 0 WHERE node_id =
                 (SELECT id FROM org_node WHERE path = %s::ltree) RETURNING node_id""", BRANCH)
        if web_api:
            start_bin("web-api", {"EQMS_PG_CONNINFO": db.conninfo, "EQMS_BUS_PUB": bus.xsub,
                                  "EQMS_BUS_SUB": bus.xpub, "EQMS_HTTP_PORT": str(free_port()),
                                  "EQMS_WEBAPI_PORT": "0"})   # the registry only
        port = free_port()
        self.ingest = start_bin("rating-ingest", {
            "EQMS_PG_CONNINFO": db.conninfo, "EQMS_BUS_PUB": bus.xsub,
            "EQMS_BUS_SUB": bus.xpub, "EQMS_HTTP_ADDRESS": "127.0.0.1",
            "EQMS_HTTP_PORT": str(port), "EQMS_REDIS_URL": redis_url})
        wait_port(port, proc=self.ingest.proc)
        self.listener = Listener(bus)
        self.sim = Devsim(start_bin, tmp_path, 1, [self.serial], env=devsim_env)
        self.state = tmp_path / "state"
        self.state.mkdir()
        self.http = free_port()
        self.gw = None

    def start_gateway(self, registry=True):
        self.gw = start_gateway(self.start_bin, self.bus, self.sim, self.state, self.http)
        if registry:
            wait_for(lambda: (self.state / "registry.json").exists(), timeout=30)
        return self.gw

    def ratings(self):
        return q(self.db, "SELECT option_code FROM rating WHERE device_serial = %s "
                          "ORDER BY device_seq", self.serial)

    def login(self):
        self.sim(op="login", device=0, employee=self.employee)
        wait_for(lambda: q(self.db, "SELECT count(*) FROM staff_session "
                                    "WHERE logout_at IS NULL AND window_id = %s",
                           self.window_id)[0][0] == 1, timeout=20)

    def serve(self, rate):
        wait_for(lambda: self.sim(op="state", device=0)["state"] == "idle", timeout=20)
        self.sim(op="service", device=0, rate=rate, service_ms=200, rate_after_ms=100)

    def close(self):
        self.listener.close()


@pytest.fixture
def site(demo_db, bus, start_bin, tmp_path):
    s = Site(demo_db, bus, start_bin, tmp_path)
    yield s
    s.close()


def test_wiped_gateway_state_loses_nothing_buffered(site):
    """Item 3: the gateway's state dir is lost while rating-ingest keeps its
    cursor. The new journal numbers from 1 again; what the device buffered
    meanwhile and everything after must be stored, not taken for repeats of
    the old journal's seqs and acknowledged away."""
    site.start_gateway()
    site.login()
    site.serve(rate=1)
    wait_for(lambda: site.ratings() == [(1,)], timeout=20)
    wait_for(lambda: metric(site.http, "outbox_depth") == 0, timeout=20)
    wait_for(lambda: site.sim(op="state", device=0)["ring_used"] == 0)
    (cursor,), = q(site.db, "SELECT max(upto) FROM gateway_cursor")
    assert cursor >= 4

    # the PC is replaced: device unplugged, gateway gone, its state dir with it
    site.sim(op="unplug", device=0)
    assert site.gw.stop() == 0
    shutil.rmtree(site.state)
    site.state.mkdir()
    # the teller goes on: one customer served and rated on the device alone
    site.serve(rate=2)
    wait_for(lambda: site.sim(op="state", device=0)["ring_used"] == 3, timeout=20)

    site.start_gateway()
    site.sim(op="plug", device=0)
    # the buffered service and its rating arrive under seqs the old journal used
    wait_for(lambda: site.ratings() == [(1,), (2,)], timeout=20)
    site.serve(rate=3)
    wait_for(lambda: site.ratings() == [(1,), (2,), (3,)], timeout=20)
    wait_for(lambda: site.sim(op="state", device=0)["ring_used"] == 0)
    # the new journal is acknowledged to its end, under its own incarnation
    wait_for(lambda: metric(site.http, "outbox_depth") == 0, timeout=20)
    assert q(site.db, "SELECT count(*) FROM gateway_cursor") == [(2,)]
    assert q(site.db, "SELECT count(*), count(DISTINCT id) FROM rating") == [(3, 3)]


def test_undecodable_report_is_kept_and_recorded(site):
    """Item 2: a stored event the gateway cannot decode (an event type of a
    newer firmware) is kept as device.report_rejected with its 64 bytes and
    recorded by rating-ingest in rejected_event; the cumulative ACK that
    follows removes nothing without a trace, and what follows is stored."""
    site.start_gateway()
    site.login()
    site.sim(op="mutate", device=0, match=0x20, type=0x50)
    site.sim(op="press", device=0, key="call")
    site.serve(rate=2)
    wait_for(lambda: site.ratings() == [(2,)], timeout=20)
    rows = wait_for(lambda: q(site.db, """SELECT reason, data FROM rejected_event
                                          WHERE type = 'device.report_rejected'"""))
    assert len(rows) == 1, rows
    reason, data = rows[0]
    assert reason.startswith("undecodable report: "), reason
    assert data["serial"] == site.serial and data["device_seq"] >= 2
    report = bytes.fromhex(data["report"])
    assert len(report) == 64 and report[0] == 1 and report[1] == 0x50
    assert int.from_bytes(report[2:6], "little") == data["device_seq"]
    # acknowledged in sequence: the device's ring and the gateway's outbox empty
    wait_for(lambda: site.sim(op="state", device=0)["ring_used"] == 0, timeout=20)
    wait_for(lambda: metric(site.http, "outbox_depth") == 0, timeout=20)


def test_device_status_follows_the_registry(demo_db, bus, start_bin, tmp_path, servers):
    """Item 5: a device online before the gateway's first registry snapshot
    is unassigned; when the snapshot assigns it, device_status and the live
    state in Redis show its window; when a later one drops it, unassigned
    again. The registry here is the test's (no web-api), so that it comes
    when the test says."""
    import redis
    r = redis.Redis.from_url(servers.redis.url(12))
    r.flushdb()
    site = Site(demo_db, bus, start_bin, tmp_path, redis_url=servers.redis.url(12),
                web_api=False)
    try:
        site.start_gateway(registry=False)

        def status():
            rows = q(site.db, "SELECT status, window_id FROM device_status WHERE serial = %s",
                     site.serial)
            live = {k.decode(): v.decode() for k, v in
                    r.hgetall(f"eqms:live:device:{site.serial}").items()}
            return rows[0] if rows else None, (live.get("status"), live.get("window_id"))

        wait_for(lambda: status() == (("unassigned", None), ("unassigned", "")), timeout=20)

        def snapshot(window):
            device = {"serial": site.serial, "window": None, "scale": scale(),
                      "rating_timeout_s": 30, "repeat_press_s": 0, "idle_text": []}
            if window:
                device["window"] = {"id": site.window_id, "number": site.number,
                                    "code": site.code, "path": f"{BRANCH}.{site.code}"}
            return {"branch": BRANCH, "generated": now_rfc3339(), "devices": [device]}
        site.listener.wait("registry.request")
        site.listener.publish("registry.snapshot", BRANCH, snapshot(True))
        try:
            wait_for(lambda: status() == (("online", site.window_id),
                                          ("online", str(site.window_id))), timeout=20)
        except AssertionError:
            raise AssertionError(f"after the assigning snapshot: {status()}")
        _, assigned = site.listener.wait("device.assigned", serial=site.serial)[0]
        assert assigned["data"]["window"]["id"] == site.window_id

        site.listener.publish("registry.snapshot", BRANCH, snapshot(False))
        wait_for(lambda: status() == (("unassigned", None), ("unassigned", "")), timeout=20)
    finally:
        site.close()
