"""The real eqms-bus forwarder, driven from outside with ZeroMQ clients."""
import json
import time
import urllib.error
import urllib.request

import zmq

from conftest import wait_for
from servers import free_port

ENVELOPE = {"v": 1, "id": "0193a2b4-1c2d-7e3f-8a4b-5c6d7e8f9a0b", "type": "rating.submitted",
            "ts": "2026-11-22T13:09:00.123Z", "src": "system-test", "seq": 1,
            "data": {"option": 1, "label": "非常满意"}}


def sockets(bus, *prefixes):
    ctx = zmq.Context.instance()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.connect(bus.xsub)
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(bus.xpub)
    for p in prefixes:
        sub.setsockopt(zmq.SUBSCRIBE, p.encode())
    return pub, sub


def publish_until_received(pub, sub, topic, body, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pub.send_multipart([topic, body])
        if sub.poll(100):
            return sub.recv_multipart()
    raise AssertionError("nothing arrived through the forwarder")


def http_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(port, name):
    _, text = http_get(port, "/metrics")
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics:\n{text}")


def test_message_reaches_prefix_subscriber_unchanged(bus):
    pub, sub = sockets(bus, "rating.submitted.hq.r01")
    body = json.dumps(ENVELOPE, ensure_ascii=False).encode()
    frames = publish_until_received(pub, sub, b"rating.submitted.hq.r01.b0001", body)
    assert frames == [b"rating.submitted.hq.r01.b0001", body]
    # Other branches of the tree and other types are not delivered.
    while sub.poll(200):
        sub.recv_multipart()
    pub.send_multipart([b"rating.submitted.hq.r02.b0003", body])
    pub.send_multipart([b"device.online.hq.r01.b0001", body])
    pub.send_multipart([b"rating.submitted.hq.r01.b0002", body])
    assert sub.recv_multipart()[0] == b"rating.submitted.hq.r01.b0002"
    assert not sub.poll(300)


def test_health_and_metrics_count_forwarded_messages(bus):
    status, body = http_get(bus.http_port, "/health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    pub, sub = sockets(bus, "probe.")
    publish_until_received(pub, sub, b"probe.x.hq", b"{}")
    before = metric(bus.http_port, "eqms_bus_forwarded_messages_total")
    for _ in range(100):
        pub.send_multipart([b"probe.x.hq", b"{}"])
    for _ in range(100):
        assert sub.poll(5000)
        sub.recv_multipart()
    wait_for(lambda: metric(bus.http_port, "eqms_bus_forwarded_messages_total") >= before + 100)
    assert http_get(bus.http_port, "/nothing")[0] == 404


def test_subscriber_survives_forwarder_restart(start_bin):
    """ZeroMQ reconnects both sides by itself; subscriptions are re-sent."""
    ports = [free_port() for _ in range(3)]
    env = {"EQMS_BUS_XSUB_BIND": f"tcp://127.0.0.1:{ports[0]}",
           "EQMS_BUS_XPUB_BIND": f"tcp://127.0.0.1:{ports[1]}",
           "EQMS_HTTP_ADDRESS": "127.0.0.1", "EQMS_HTTP_PORT": str(ports[2])}

    class B:
        xsub = env["EQMS_BUS_XSUB_BIND"]
        xpub = env["EQMS_BUS_XPUB_BIND"]

    first = start_bin("bus", env)
    pub, sub = sockets(B, "probe.")
    publish_until_received(pub, sub, b"probe.a.hq", b"{}")
    assert first.stop() == 0
    start_bin("bus", env)
    frames = publish_until_received(pub, sub, b"probe.b.hq", b"{}", timeout=20)
    assert frames[0] in (b"probe.a.hq", b"probe.b.hq")


def test_bad_configuration_stops_with_reason(start_bin):
    bad = start_bin("bus", {"EQMS_HTTP_PORT": "99999"})
    assert bad.proc.wait(10) == 2
    assert "EQMS_HTTP_PORT: 99999 is out of range (allowed 0..65535)" in bad.log()
    bad = start_bin("bus", {"EQMS_BUS_XSUB_BIND": "127.0.0.1:5550"})
    assert bad.proc.wait(10) == 2
    assert "EQMS_BUS_XSUB_BIND" in bad.log()


def test_port_in_use_fails_with_reason(bus, start_bin):
    clash = start_bin("bus", {"EQMS_BUS_XSUB_BIND": bus.xsub,
                              "EQMS_BUS_XPUB_BIND": f"tcp://127.0.0.1:{free_port()}",
                              "EQMS_HTTP_PORT": str(free_port())})
    assert clash.proc.wait(10) != 0
    assert "level=error" in clash.log()


def test_sigterm_stops_cleanly(bus):
    assert bus.proc.stop() == 0
    assert "level=error" not in bus.proc.log()
