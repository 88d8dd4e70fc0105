"""web-api's devices (issue 14 items 4 and 5) through the REST API of a real
eqms-web-api on PostgreSQL and Redis: the device settings of a node with the
inheritance shown, set and cleared (idle text refused naming idle_text when
the device screen cannot show it); devices registered into a branch's stock,
assigned, replaced in one audited action and taken off their window, with the
registry snapshot reaching the bus within a second; a branch's devices with
their live state; the events rating-ingest rejected. Objects outside the
caller's subtree answer 404, bad input names the member and changes nothing,
every change is audited with before and after."""
import datetime
import json
import time
import uuid

from conftest import BusClient
from webapi import WebApi, audit_of, members, problem


def bus_api(demo_db, start_bin, servers, bus):
    """web-api publishing on the test's bus, and a listener of registry snapshots."""
    from conftest import _run
    api = WebApi(start_bin, _run, demo_db, servers.redis.url(13),
                 EQMS_BUS_PUB=bus.xsub, EQMS_BUS_SUB=bus.xpub)
    listener = BusClient(bus, "registry.snapshot.")
    time.sleep(0.5)                        # the subscription reaches the forwarder
    return api, listener


def snapshots(listener, within=1.0):
    """The registry snapshots published within `within` s of now, by topic (the
    last of each), after the first arrived."""
    got = {}
    started = time.monotonic()
    while (m := listener.receive(timeout=within)) is not None:
        got[m[0]] = m[1]["data"]
        if time.monotonic() - started > 5:
            break
    return got


def device_id(db, serial):
    with db.cursor() as cur:
        cur.execute("SELECT id FROM device WHERE serial = %s", (serial,))
        return cur.fetchone()[0]


# --- settings ----------------------------------------------------------------------------

def test_settings_show_inheritance_and_are_set_and_cleared(webapi):
    devs = webapi.make_user("dev-r01", "hq.r01", ["manage_devices"])
    b1 = webapi.node_id("hq.r01.b0001")
    r = devs.get(f"/nodes/{b1}/settings")
    assert r.status_code == 200, r.text
    was = r.json()
    # the demo: 20 s at b0001 itself, the rest from hq (std4 is hq's too)
    assert was["node"] == "hq.r01.b0001" and was["node_id"] == b1
    assert was["rating_timeout_s"] == {"value": 20, "effective": 20, "from": "hq.r01.b0001"}
    assert was["repeat_press_s"] == {"value": None, "effective": 10, "from": "hq"}
    assert was["rating_scale"] == {"value": None, "effective": "std4", "from": "hq"}
    assert was["idle_text"] == {"value": None, "effective": "欢迎光临，竭诚为您服务",
                                "from": "hq"}
    # set some, clear one (null: inherit again), keep the others
    r = devs.patch(f"/nodes/{b1}/settings", {"idle_text": "浦东支行欢迎您", "repeat_press_s": 15,
                                             "rating_timeout_s": None, "rating_scale": "std6"})
    assert r.status_code == 200, r.text
    now = r.json()
    assert now["idle_text"] == {"value": "浦东支行欢迎您", "effective": "浦东支行欢迎您",
                                "from": "hq.r01.b0001"}
    assert now["repeat_press_s"] == {"value": 15, "effective": 15, "from": "hq.r01.b0001"}
    assert now["rating_timeout_s"] == {"value": None, "effective": 30, "from": "hq"}
    assert now["rating_scale"] == {"value": "std6", "effective": "std6", "from": "hq.r01.b0001"}
    assert devs.get(f"/nodes/{b1}/settings").json() == now
    row = audit_of(webapi, "node_settings.update", b1)[0]
    assert row["detail"] == {"before": was, "after": now}
    assert row["actor"]["name"] == "dev-r01" and row["address"] == "127.0.0.1"
    assert row["node"] == "hq.r01.b0001"
    # what the device screen cannot show: 422 naming idle_text
    for bad in ("一二三四五六七八" * 4 + "九",          # 33: more than 4 lines of 8
                "第一行\n第二行", "emoji 😀", ""):
        body = problem(devs.patch(f"/nodes/{b1}/settings", {"idle_text": bad}), 422)
        assert members(body) == ["idle_text"], (bad, body)
        assert "GB2312" in body["errors"][0]["reason"]
    assert members(problem(devs.patch(f"/nodes/{b1}/settings", {"rating_scale": "std9"}),
                           422)) == ["rating_scale"]
    assert members(problem(devs.patch(f"/nodes/{b1}/settings", {"rating_timeout_s": 4}),
                           400)) == ["rating_timeout_s"]
    assert members(problem(devs.patch(f"/nodes/{b1}/settings", {"repeat_press_s": "10"}),
                           400)) == ["repeat_press_s"]
    assert members(problem(devs.patch(f"/nodes/{b1}/settings", {"timeout": 10}),
                           400)) == ["timeout"]
    problem(devs.patch(f"/nodes/{b1}/settings", {}), 400)
    assert devs.get(f"/nodes/{b1}/settings").json() == now
    assert len(audit_of(webapi, "node_settings.update", b1)) == 1
    # 32 characters fit (4 lines of 8)
    r = devs.patch(f"/nodes/{b1}/settings", {"idle_text": "一二三四五六七八" * 4})
    assert r.status_code == 200, r.text
    # another subtree: 404, the same as no such node, and untouched
    b3 = webapi.node_id("hq.r02.b0003")
    before = webapi.admin.get(f"/nodes/{b3}/settings")
    assert before.status_code == 200, before.text
    assert "no such" in problem(devs.get(f"/nodes/{b3}/settings"), 404)["detail"]
    problem(devs.patch(f"/nodes/{b3}/settings", {"idle_text": "接管"}), 404)
    assert webapi.admin.get(f"/nodes/{b3}/settings").json() == before.json()
    # manage_configuration is not manage_devices
    cfg = webapi.make_user("dev-cfg", "hq", ["manage_configuration"])
    assert "manage_devices" in problem(cfg.get(f"/nodes/{b1}/settings"), 403)["detail"]


def test_a_settings_change_reaches_the_registry_snapshots_below(demo_db, start_bin, servers,
                                                                bus):
    api, listener = bus_api(demo_db, start_bin, servers, bus)
    r01 = api.node_id("hq.r01")
    started = time.monotonic()
    r = api.admin.patch(f"/nodes/{r01}/settings",
                        {"idle_text": "新年快乐", "rating_timeout_s": 45})
    assert r.status_code == 200, r.text
    first = listener.receive(timeout=1.0)
    assert first is not None, "no registry snapshot within a second"
    assert time.monotonic() - started < 1.5
    got = {first[0]: first[1]["data"], **snapshots(listener)}
    assert set(got) == {"registry.snapshot.hq.r01.b0001", "registry.snapshot.hq.r01.b0002"}
    b2 = got["registry.snapshot.hq.r01.b0002"]["devices"]
    assert b2 and all(d["idle_text"] == ["新年快乐"] and d["rating_timeout_s"] == 45 for d in b2)
    # b0001 keeps its own timeout, and takes the idle text
    b1 = got["registry.snapshot.hq.r01.b0001"]["devices"]
    assert b1 and all(d["idle_text"] == ["新年快乐"] and d["rating_timeout_s"] == 20 for d in b1)


# --- devices -----------------------------------------------------------------------------

def test_devices_registered_assigned_replaced_unassigned(demo_db, start_bin, servers, bus):
    api, listener = bus_api(demo_db, start_bin, servers, bus)
    devs = api.make_user("dev-mgr", "hq.r01", ["manage_devices"])
    r = devs.post("/devices", {"node": "hq.r01.b0002", "serial": "EQ-NEW-0001",
                               "model": "EQR-4K"})
    assert r.status_code == 201, r.text
    new = r.json()
    assert r.headers["Location"] == f"/api/v1/devices/{new['id']}"
    assert (new["serial"], new["node"], new["window"], new["live"]) == (
        "EQ-NEW-0001", "hq.r01.b0002", None, None)
    assert new["registered"] and new["firmware_version"] is None
    assert devs.get(f"/devices/{new['id']}").json() == new
    assert audit_of(api, "device.create", new["id"])[0]["detail"]["after"] == new
    # refused, naming the member
    r = devs.post("/devices", {"node": "hq.r01.b0002", "serial": "EQ-NEW-0001", "model": "x"})
    assert members(problem(r, 409)) == ["serial"]
    r = devs.post("/devices", {"node": "hq.r01.b0002", "serial": "EQ NEW", "model": "x"})
    assert members(problem(r, 422)) == ["serial"]
    r = devs.post("/devices", {"node": "hq.r02.b0003", "serial": "EQ-NEW-0009", "model": "x"})
    assert members(problem(r, 422)) == ["node"]
    r = devs.post("/devices", {"node": "hq.r01.b0002", "serial": "EQ-NEW-0009"})
    assert members(problem(r, 400)) == ["model"]
    # the stock: this one, not the head office's spare (outside hq.r01)
    stock = devs.get("/devices", params={"unassigned": "true", "limit": "200"}).json()["items"]
    assert [d["serial"] for d in stock] == ["EQ-NEW-0001"]
    spare = [d for d in api.admin.get("/devices", params={"unassigned": "true"}).json()["items"]
             if d["serial"] == "EQ-SPARE-0001"]
    assert spare and spare[0]["node"] == "hq"
    problem(devs.get("/devices", params={"unassigned": "yes"}), 400)
    # a window of its own, assigned: the branch's snapshot serves it
    r = api.admin.post("/windows", {"branch": "hq.r01.b0002", "number": 77, "name": "新窗口"})
    assert r.status_code == 201, r.text
    window = r.json()
    while listener.receive(timeout=0.5) is not None:
        pass
    started = time.monotonic()
    r = devs.post(f"/devices/{new['id']}/assign", {"window": window["id"]})
    assert r.status_code == 200, r.text
    assigned = r.json()
    assert assigned["window"] == {"id": window["id"], "number": 77, "code": window["code"],
                                  "path": window["path"]}
    first = listener.receive(timeout=1.0)
    assert first is not None and time.monotonic() - started < 1.5, "no snapshot in 1 s"
    assert first[0] == "registry.snapshot.hq.r01.b0002"
    served = {d["serial"]: d["window"]["id"] for d in first[1]["data"]["devices"]}
    assert served["EQ-NEW-0001"] == window["id"]
    row = audit_of(api, "device.assign", new["id"])[0]
    assert row["detail"] == {"before": new, "after": assigned}
    # the window is taken: 409 naming it and the device there
    other = devs.post("/devices", {"node": "hq.r01.b0002", "serial": "EQ-NEW-0002",
                                   "model": "EQR-4K"}).json()
    body = problem(devs.post(f"/devices/{other['id']}/assign", {"window": window["id"]}), 409)
    assert members(body) == ["window"] and "EQ-NEW-0001" in body["errors"][0]["reason"]
    outside = api.admin.get("/windows", params={"branch": "hq.r02.b0003"}).json()["items"][0]
    r = devs.post(f"/devices/{other['id']}/assign", {"window": outside["id"]})
    assert members(problem(r, 422)) == ["window"]
    problem(devs.post(f"/devices/{other['id']}/assign", {"window": "1"}), 400)
    assert devs.get(f"/devices/{other['id']}").json()["window"] is None
    # replaced by a device not yet registered: it takes the window, in one action
    while listener.receive(timeout=0.3) is not None:
        pass
    r = devs.post(f"/devices/{new['id']}/replace", {"serial": "EQ-NEW-0003"})
    assert r.status_code == 200, r.text
    installed = r.json()
    assert installed["serial"] == "EQ-NEW-0003" and installed["model"] == "EQR-4K"
    assert installed["window"] == assigned["window"]
    removed = devs.get(f"/devices/{new['id']}").json()
    assert removed["window"] is None and removed["node"] == "hq.r01.b0002"
    rows = audit_of(api, "device.replace", new["id"])
    assert len(rows) == 1 and rows[0]["detail"] == {
        "before": {"removed": assigned, "installed": None},
        "after": {"removed": removed, "installed": installed}}
    assert audit_of(api, "device.create", installed["id"]) == []
    got = listener.receive(timeout=1.0)
    assert got is not None and got[0] == "registry.snapshot.hq.r01.b0002"
    served = {d["serial"] for d in got[1]["data"]["devices"]}
    assert "EQ-NEW-0003" in served and "EQ-NEW-0001" not in served
    # by a device at another window, or by itself: refused, nothing changed
    body = problem(devs.post(f"/devices/{installed['id']}/replace",
                             {"serial": "EQ-B0002-W01"}), 409)
    assert members(body) == ["serial"]
    body = problem(devs.post(f"/devices/{installed['id']}/replace",
                             {"serial": "EQ-NEW-0003"}), 422)
    assert members(body) == ["serial"]
    assert problem(devs.post(f"/devices/{new['id']}/replace", {"serial": "EQ-NEW-0004"}),
                   409)["detail"]
    assert devs.get(f"/devices/{installed['id']}").json() == installed
    # by a spare of the stock
    r = devs.post(f"/devices/{installed['id']}/replace", {"serial": "EQ-NEW-0002"})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == other["id"] and r.json()["window"]["id"] == window["id"]
    # taken off: the branch's stock keeps it
    r = devs.post(f"/devices/{other['id']}/unassign")
    assert r.status_code == 200, r.text
    off = r.json()
    assert off["window"] is None and off["node"] == "hq.r01.b0002"
    row = audit_of(api, "device.unassign", other["id"])[0]
    assert row["detail"]["after"] == off and row["detail"]["before"]["window"]["id"] == window["id"]
    problem(devs.post(f"/devices/{other['id']}/unassign"), 409)


def test_devices_of_another_subtree_answer_404_and_stay(webapi):
    devs = webapi.make_user("dev-r01b", "hq.r01", ["manage_devices"])
    theirs = device_id(webapi.db, "EQ-B0003-W01")
    before = webapi.admin.get(f"/devices/{theirs}").json()
    assert before["node"] == "hq.r02.b0003" and before["window"]
    assert "no such" in problem(devs.get(f"/devices/{theirs}"), 404)["detail"]
    mine = [w["id"] for w in webapi.admin.get(
        "/windows", params={"branch": "hq.r01.b0002"}).json()["items"]]
    problem(devs.post(f"/devices/{theirs}/assign", {"window": mine[0]}), 404)
    problem(devs.post(f"/devices/{theirs}/unassign"), 404)
    problem(devs.post(f"/devices/{theirs}/replace", {"serial": "EQ-TAKE-0001"}), 404)
    assert webapi.admin.get(f"/devices/{theirs}").json() == before
    listed = devs.get("/devices", params={"limit": "200"}).json()["items"]
    assert listed and all(d["node"].startswith("hq.r01") for d in listed)
    # pages in serial order, each serial once
    seen, cursor = [], None
    while True:
        page = devs.get("/devices", params={"limit": "7", **({"cursor": cursor}
                                                             if cursor else {})}).json()
        seen += [d["serial"] for d in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == [d["serial"] for d in listed] == sorted(seen)
    # a node of the subtree: the devices it and the nodes below it hold
    b1 = devs.get("/devices", params={"node": "hq.r01.b0001", "limit": "200"}).json()["items"]
    assert b1 and {d["node"] for d in b1} == {"hq.r01.b0001"}
    assert [d["serial"] for d in b1] == [d["serial"] for d in listed
                                         if d["node"] == "hq.r01.b0001"]
    stock = devs.get("/devices", params={"node": "hq.r01.b0001", "unassigned": "false",
                                         "limit": "200"}).json()["items"]
    assert stock and all(d["window"] for d in stock)
    assert devs.get("/devices", params={"node": "hq.r01", "limit": "200"}).json()["items"] \
        == listed
    # a node outside it, or none such, is not found
    problem(devs.get("/devices", params={"node": "hq.r02.b0003"}), 404)
    problem(devs.get("/devices", params={"node": "hq.r01.nope"}), 404)


def test_a_branch_devices_with_their_live_state(webapi):
    db = webapi.db
    with db.cursor() as cur:
        # as rating-ingest records what the gateways report
        cur.execute("""INSERT INTO device_status (serial, status, window_id, branch_path, gateway,
                                                  since)
                       SELECT d.serial, 'online', d.window_id, 'hq.r01.b0001', 'gw-b0001',
                              '2026-12-01T08:00:00Z' FROM device d
                       WHERE d.serial = 'EQ-B0001-W01'""")
        cur.execute("""INSERT INTO device_status (serial, status, window_id, branch_path, gateway,
                                                  since)
                       VALUES ('EQ-STRANGER-1', 'unassigned', NULL, 'hq.r01.b0001', 'gw-b0001',
                               '2026-12-01T08:05:00Z')""")
    db.commit()
    hall = webapi.make_user("hall-r01", "hq.r01", ["view_live_hall"])
    r = hall.get("/branches/hq.r01.b0001/devices")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["branch"] == "hq.r01.b0001"
    by_serial = {d["serial"]: d for d in got["devices"]}
    w01 = by_serial["EQ-B0001-W01"]
    assert w01["live"] == {"status": "online", "since": "2026-12-01T08:00:00.000Z",
                           "gateway": "gw-b0001", "branch": "hq.r01.b0001"}
    assert w01["window"]["number"] == 1 and w01["registered"]
    stranger = by_serial["EQ-STRANGER-1"]
    assert not stranger["registered"] and stranger["id"] is None
    assert stranger["live"]["status"] == "unassigned" and stranger["window"] is None
    # in window order, the unassigned last
    assert got["devices"][-1]["serial"] == "EQ-STRANGER-1"
    numbers = [d["window"]["number"] for d in got["devices"] if d["window"]]
    assert numbers == sorted(numbers)
    # an unregistered serial a gateway reported is in the stock list
    devs = webapi.make_user("dev-live", "hq.r01", ["manage_devices"])
    stock = devs.get("/devices", params={"unassigned": "true"}).json()["items"]
    assert "EQ-STRANGER-1" in [d["serial"] for d in stock]
    assigned = devs.get("/devices", params={"unassigned": "false", "limit": "200"}).json()
    assert "EQ-STRANGER-1" not in [d["serial"] for d in assigned["items"]]
    # another region's hall: 404
    r02 = webapi.make_user("hall-r02", "hq.r02", ["view_live_hall"])
    problem(r02.get("/branches/hq.r01.b0001/devices"), 404)
    stock = webapi.make_user("dev-r02", "hq.r02", ["manage_devices"]).get(
        "/devices", params={"unassigned": "true"}).json()["items"]
    assert "EQ-STRANGER-1" not in [d["serial"] for d in stock]


# --- rejected events ---------------------------------------------------------------------

def reject(db, gateway, incarnation, seq, at, reason):
    with db.cursor() as cur:
        cur.execute("""INSERT INTO rejected_event (id, gateway, gateway_seq, type, topic, reason,
                                                   data, rejected_at, gateway_incarnation)
                       VALUES (%s, %s, %s, 'rating.submitted', NULL, %s, %s::jsonb, %s, %s)""",
                    (str(uuid.uuid4()), gateway, seq, reason, json.dumps({"option": 7}), at,
                     incarnation))
    db.commit()


def test_rejected_events_newest_first_in_the_subtree(webapi):
    db = webapi.db
    inc = str(uuid.uuid4())
    with db.cursor() as cur:
        for gw, branch in (("gw-b0001", "hq.r01.b0001"), ("gw-b0003", "hq.r02.b0003")):
            cur.execute("INSERT INTO gateway_cursor (gateway, incarnation, branch, upto)"
                        " VALUES (%s, %s, %s, 10)", (gw, inc, branch))
    db.commit()
    t0 = datetime.datetime(2026, 12, 1, 8, 0, tzinfo=datetime.timezone.utc)
    for i in range(5):
        reject(db, "gw-b0001", inc, i + 1, t0 + datetime.timedelta(minutes=i),
               f"repeat press: {i}")
    reject(db, "gw-b0003", inc, 1, t0, "option 7 not in the window's scale")
    hall = webapi.make_user("rej-hall", "hq.r01", ["view_live_hall"])
    items = hall.get("/rejected-events").json()["items"]
    assert [e["reason"] for e in items] == [f"repeat press: {i}" for i in (4, 3, 2, 1, 0)]
    assert items[0]["branch"] == "hq.r01.b0001" and items[0]["data"] == {"option": 7}
    assert items[0]["rejected_at"] == "2026-12-01T08:04:00.000Z"
    # pages of 2
    page = hall.get("/rejected-events", params={"limit": "2"}).json()
    more = hall.get("/rejected-events", params={"limit": "2",
                                               "cursor": page["next_cursor"]}).json()
    assert [e["id"] for e in page["items"] + more["items"]] == [e["id"] for e in items[:4]]
    # a time range
    r = hall.get("/rejected-events", params={"from": "2026-12-01T08:01:00Z",
                                             "to": "2026-12-01T08:03:00Z"})
    assert [e["reason"] for e in r.json()["items"]] == ["repeat press: 2", "repeat press: 1"]
    problem(hall.get("/rejected-events", params={"from": "yesterday"}), 400)
    problem(hall.get("/rejected-events", params={"branch": "hq.r02.b0003"}), 404)
    # manage_devices is enough; neither: 403 naming both
    devs = webapi.make_user("rej-dev", "hq", ["manage_devices"])
    items = devs.get("/rejected-events", params={"branch": "hq.r02.b0003"}).json()["items"]
    assert [e["reason"] for e in items] == ["option 7 not in the window's scale"]
    stats = webapi.make_user("rej-stats", "hq", ["view_statistics"])
    detail = problem(stats.get("/rejected-events"), 403)["detail"]
    assert "view_live_hall" in detail and "manage_devices" in detail


def test_the_device_shows_what_web_api_set_through_the_real_gateway(demo_db, bus, start_bin,
                                                                    servers, tmp_path):
    """Registered, given the idle text of its branch and assigned through the
    API: the emulated device, served by a real device gateway from the
    registry snapshot web-api publishes, shows the text on its idle screen
    once a teller logs in, and a new text at once."""
    from conftest import wait_for
    from test_gateway import BRANCH, Devsim, Listener, start_gateway
    api, _ = bus_api(demo_db, start_bin, servers, bus)
    listener = Listener(bus)
    try:
        sim = Devsim(start_bin, tmp_path, 1, ["EQ-E2E-0001"])
        state = tmp_path / "state"
        state.mkdir()
        start_gateway(start_bin, bus, sim, state)
        listener.wait("device.unassigned", serial="EQ-E2E-0001", timeout=30)
        admin = api.admin
        r = admin.post("/devices", {"node": BRANCH, "serial": "EQ-E2E-0001", "model": "EQR-4K"})
        assert r.status_code == 201, r.text
        device = r.json()
        r = admin.post("/windows", {"branch": BRANCH, "number": 88, "name": "E2E"})
        assert r.status_code == 201, r.text
        window = r.json()
        b1 = api.node_id(BRANCH)
        r = admin.patch(f"/nodes/{b1}/settings", {"idle_text": "理财产品火热发售中"})
        assert r.status_code == 200, r.text
        r = admin.post(f"/devices/{device['id']}/assign", {"window": window["id"]})
        assert r.status_code == 200, r.text

        def screen():
            return [(line["text"] or "").strip() for line in sim(op="state", device=0)["lcd"]]

        # the idle screen is the one of a teller waiting for a customer
        with demo_db.cursor() as cur:
            cur.execute("""SELECT s.employee_no FROM staff s JOIN org_node n ON n.id = s.node_id
                           WHERE n.path = %s AND s.active ORDER BY s.employee_no LIMIT 1""",
                        (BRANCH,))
            employee = cur.fetchone()[0]
        wait_for(lambda: listener.of("device.assigned", serial="EQ-E2E-0001"), timeout=20)
        sim(op="login", device=0, employee=employee)
        listener.wait("staff.login", serial="EQ-E2E-0001", timeout=20)
        wait_for(lambda: screen()[:2] == ["理财产品火热发售", "中"], timeout=20)
        r = admin.patch(f"/nodes/{b1}/settings", {"idle_text": "新春快乐"})
        assert r.status_code == 200, r.text
        wait_for(lambda: screen()[0] == "新春快乐", timeout=20)
    finally:
        listener.close()
