"""Hostile bus traffic: every service that reads the bus drops a malformed
message with a logged reason in logfmt that the message cannot break, counts
it in its /metrics (`eqms_<svc>_bus_rejected_total`) and goes on working."""
import re
import urllib.request

import zmq

from conftest import wait_for
from qm_client import start_qm
from servers import free_port, wait_port
from test_gateway import BRANCH as GW_BRANCH
from test_gateway import Devsim, start_gateway

# A topic every service below subscribes to, with a tail that would forge a
# logfmt field if the log wrote it raw.
FORGED = ' level=error event=forged x="'


def _metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf"^{name} (\d+)$", text, re.M)
    return int(m.group(1)) if m else None


def _send_until_counted(bus, topic, port, svc):
    """Publishes a malformed message (joins are asynchronous) until the
    service counts it; returns the count."""
    pub = zmq.Context.instance().socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.connect(bus.xsub)
    name = f"eqms_{svc}_bus_rejected_total"
    assert _metric(port, name) == 0

    def counted():
        pub.send_multipart([topic.encode(), b'{"v":1,"id":"not json'])
        return _metric(port, name)
    try:
        return wait_for(counted, timeout=15, interval=0.2)
    finally:
        pub.close()


def _assert_logged_safely(log, topic):
    lines = [line for line in log.splitlines() if "event=bus_message_rejected" in line]
    assert lines, log[-2000:]
    for line in lines:
        # the forged field stays inside the quoted topic value
        assert "event=forged" not in line.split('topic="', 1)[0]
        assert line.count("event=") == 1 + line.count("event=forged"), line
        m = re.search(r'topic="((?:[^"\\]|\\.)*)" reason="((?:[^"\\]|\\.)*)"$', line)
        assert m, line
        assert m.group(1).replace('\\"', '"') == topic


def test_web_api(demo_db, bus, start_bin):
    port = free_port()
    proc = start_bin("web-api", {"EQMS_PG_CONNINFO": demo_db.conninfo,
                                 "EQMS_BUS_PUB": bus.xsub, "EQMS_BUS_SUB": bus.xpub,
                                 "EQMS_HTTP_ADDRESS": "127.0.0.1",
                                 "EQMS_HTTP_PORT": str(port), "EQMS_WEBAPI_PORT": "0"})
    wait_port(port, proc=proc.proc)
    topic = "registry.request.hq.r01.b0001" + FORGED
    assert _send_until_counted(bus, topic, port, "web_api") >= 1
    _assert_logged_safely(proc.log(), topic)
    assert proc.proc.poll() is None


def test_rating_ingest(demo_db, bus, start_bin):
    port = free_port()
    proc = start_bin("rating-ingest", {"EQMS_PG_CONNINFO": demo_db.conninfo,
                                       "EQMS_BUS_PUB": bus.xsub, "EQMS_BUS_SUB": bus.xpub,
                                       "EQMS_HTTP_ADDRESS": "127.0.0.1",
                                       "EQMS_HTTP_PORT": str(port), "EQMS_REDIS_URL": ""})
    wait_port(port, proc=proc.proc)
    topic = "rating.submitted.hq.r01.b0001.w01" + FORGED
    assert _send_until_counted(bus, topic, port, "rating_ingest") >= 1
    _assert_logged_safely(proc.log(), topic)
    assert proc.proc.poll() is None


def test_queue_manager(demo_db, bus, start_bin):
    proc, _, http = start_qm(start_bin, demo_db, bus)
    topic = "call.request.hq.r01.b0001.w01" + FORGED
    assert _send_until_counted(bus, topic, http, "queue_manager") >= 1
    _assert_logged_safely(proc.log(), topic)
    assert proc.proc.poll() is None


def test_device_gateway(bus, start_bin, tmp_path):
    sim = Devsim(start_bin, tmp_path, 1, ["EQ-B0001-W01"])
    state = tmp_path / "state"
    state.mkdir()
    http = free_port()
    gw = start_gateway(start_bin, bus, sim, state, http)
    wait_port(http, proc=gw.proc)
    topic = f"cmd.device.{GW_BRANCH}" + FORGED
    assert _send_until_counted(bus, topic, http, "device_gateway") >= 1
    _assert_logged_safely(gw.log(), topic)
    assert gw.proc.poll() is None
