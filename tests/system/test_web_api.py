"""web-api's registry responder: gateways ask for their branch's devices on the bus."""
import urllib.request

from conftest import BusClient, wait_for
from servers import free_port, wait_port


def start_web_api(start_bin, demo_db, bus):
    port = free_port()
    proc = start_bin("web-api", {"EQMS_PG_CONNINFO": demo_db.conninfo,
                                 "EQMS_BUS_PUB": bus.xsub, "EQMS_BUS_SUB": bus.xpub,
                                 "EQMS_HTTP_ADDRESS": "127.0.0.1", "EQMS_HTTP_PORT": str(port),
                                 "EQMS_WEBAPI_PORT": "0"})   # the bus side only
    wait_port(port, proc=proc.proc)
    return proc, port


def test_registry_snapshot_of_a_branch(demo_db, bus, start_bin):
    proc, _ = start_web_api(start_bin, demo_db, bus)
    client = BusClient(bus, "registry.snapshot.")
    topic, env = client.request("registry.request", "hq.r01.b0001",
                                {"gateway": "gw-test", "branch": "hq.r01.b0001",
                                 "cached": False},
                                "registry.snapshot.hq.r01.b0001")
    assert topic == "registry.snapshot.hq.r01.b0001"
    assert env["type"] == "registry.snapshot" and env["src"] == "web-api"
    snap = env["data"]
    with demo_db.cursor() as cur:
        cur.execute("""SELECT d.serial, w.number, p.org_path::text FROM device d
                       JOIN service_window w ON w.id = d.window_id
                       JOIN service_window_path p ON p.window_id = w.id
                       JOIN org_node n ON n.id = w.node_id
                       WHERE n.path = 'hq.r01.b0001' ORDER BY d.serial""")
        expected = cur.fetchall()
        cur.execute("""SELECT rating_timeout_s, repeat_press_s, rating_scale_code
                       FROM effective_settings((SELECT id FROM org_node
                                                WHERE path = 'hq.r01.b0001'))""")
        timeout_s, repeat_s, scale = cur.fetchone()
    assert expected, "the demo branch has devices"
    assert snap["branch"] == "hq.r01.b0001"
    assert [(d["serial"], d["window"]["number"], d["window"]["path"])
            for d in snap["devices"]] == expected
    for d in snap["devices"]:
        assert d["rating_timeout_s"] == timeout_s and d["repeat_press_s"] == repeat_s
        assert d["scale"]["code"] == scale
        assert 1 <= len(d["idle_text"]) <= 4 and all(len(x) <= 8 for x in d["idle_text"])
        assert [o["code"] for o in d["scale"]["options"]] == \
            list(range(1, len(d["scale"]["options"]) + 1))
    assert snap["staff"] and all(s["employee_no"].isdigit() for s in snap["staff"])


def test_unknown_branch_and_malformed_requests_are_refused(demo_db, bus, start_bin):
    proc, port = start_web_api(start_bin, demo_db, bus)
    client = BusClient(bus, "registry.snapshot.")
    # make sure the responder is subscribed, then send what it must refuse
    ok = {"gateway": "gw-x", "branch": "hq.r01.b0001"}
    client.request("registry.request", "hq.r01.b0001", ok, "registry.snapshot.")
    client.publish("registry.request", "hq.r09.b9999", dict(ok, branch="hq.r09.b9999"))
    client.publish("registry.request", "hq.r01.b0001", dict(ok, gateway=7))
    client.publish("registry.request", "hq.r01.b0001", dict(ok, unexpected="member"))
    client.publish("registry.request", "hq.r01.b0001", dict(ok, branch="hq.r01.b0002"))
    got = client.receive(1.5)
    while got is not None:
        assert got[0] != "registry.snapshot.hq.r09.b9999"
        got = client.receive(0.5)

    def refused():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("eqms_web_api_registry_refused_total "):
                    return float(line.split()[1])
        return 0.0
    wait_for(lambda: refused() == 4)
    log = proc.log()
    assert "registry_request_refused branch=hq.r09.b9999" in log
    assert log.count("event=registry_request_rejected") == 3
    assert "branch differs from the topic" in log
