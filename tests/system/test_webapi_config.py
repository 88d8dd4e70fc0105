"""web-api's configuration API (issue 14 item 4) through the REST API of a real
eqms-web-api on PostgreSQL and Redis: the organisation tree, windows and their
work profiles, staff, queues and services; values refused with the member
named (422, 409 for a taken code), objects outside the caller's subtree
answering 404, every change audited with before and after, ETags,
pagination, and a change reaching the device gateways as a registry snapshot
on the bus."""
import time

from conftest import BusClient
from webapi import WebApi, audit_of, members, next_snapshot, problem


# --- organisation tree ---------------------------------------------------------------

def test_nodes_add_rename_move_time_zone(webapi):
    admin = webapi.admin
    r = admin.post("/nodes", {"parent": "hq.r01", "code": "b0009", "name": "苏州园区支行",
                              "kind": "branch"})
    assert r.status_code == 201, r.text
    node = r.json()
    assert node["path"] == "hq.r01.b0009" and node["parent"] == "hq.r01"
    with webapi.db.cursor() as cur:
        cur.execute("SELECT time_zone FROM org_node WHERE path = 'hq.r01'")
        assert node["time_zone"] == cur.fetchone()[0]    # the parent's
    assert r.headers["Location"] == f"/api/v1/nodes/{node['id']}"
    # the same code under the same parent: 409 naming the member
    r = admin.post("/nodes", {"parent": "hq.r01", "code": "b0009", "name": "x",
                              "kind": "branch"})
    assert members(problem(r, 409)) == ["code"]
    # a bad time zone, a bad code: 422 naming each
    r = admin.post("/nodes", {"parent": "hq.r01", "code": "b0010", "name": "x",
                              "kind": "branch", "time_zone": "CST"})
    body = problem(r, 422)
    assert members(body) == ["time_zone"] and "IANA" in body["detail"]
    r = admin.post("/nodes", {"parent": "hq.r01", "code": "B-10", "name": "x",
                              "kind": "branch"})
    assert members(problem(r, 422)) == ["code"]
    # a wrong type is the decoder's 400
    r = admin.post("/nodes", {"parent": "hq.r01", "code": "b0010", "name": 5,
                              "kind": "branch"})
    assert members(problem(r, 400)) == ["name"]
    # rename, time zone, move to r02
    nid = node["id"]
    r = admin.patch(f"/nodes/{nid}", {"name": "苏州工业园区支行", "time_zone": "Asia/Urumqi"})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "苏州工业园区支行" and r.json()["time_zone"] == "Asia/Urumqi"
    r = admin.patch(f"/nodes/{nid}", {"time_zone": "Mars/Olympus"})
    assert members(problem(r, 422)) == ["time_zone"]
    r = admin.patch(f"/nodes/{nid}", {"parent": "hq.r02"})
    assert r.status_code == 200 and r.json()["path"] == "hq.r02.b0009", r.text
    # a node under its own subtree: 422 on parent
    r = admin.patch(f"/nodes/{webapi.node_id('hq.r02')}", {"parent": "hq.r02.b0009"})
    assert members(problem(r, 422)) == ["parent"]
    # audited with before and after
    rows = audit_of(webapi, "node.update", nid)
    assert rows[0]["detail"]["before"]["path"] == "hq.r01.b0009"
    assert rows[0]["detail"]["after"]["path"] == "hq.r02.b0009"
    assert audit_of(webapi, "node.create", nid)[0]["detail"]["after"]["code"] == "b0009"


def test_nodes_scoped_to_the_subtree(webapi):
    r01 = webapi.make_user("cfg-r01", "hq.r01", ["manage_configuration"])
    nodes = r01.get("/nodes", params={"limit": "200"}).json()["items"]
    assert {n["path"] for n in nodes} == {"hq.r01", "hq.r01.b0001", "hq.r01.b0002"}
    tree = r01.get("/nodes/tree").json()
    assert tree["path"] == "hq.r01"
    assert [c["path"] for c in tree["children"]] == ["hq.r01.b0001", "hq.r01.b0002"]
    outside = webapi.node_id("hq.r02.b0003")
    assert "no such" in problem(r01.get(f"/nodes/{outside}"), 404)["detail"]
    r = r01.patch(f"/nodes/{outside}", {"name": "taken over"})
    problem(r, 404)
    # a parent outside: 422, the same answer as a parent that does not exist
    r = r01.post("/nodes", {"parent": "hq.r02", "code": "x1", "name": "x", "kind": "branch"})
    assert members(problem(r, 422)) == ["parent"]
    r = r01.patch(f"/nodes/{webapi.node_id('hq.r01.b0002')}", {"parent": "hq.r02"})
    assert members(problem(r, 422)) == ["parent"]
    # their own root cannot be moved away
    r = r01.patch(f"/nodes/{webapi.node_id('hq.r01')}", {"parent": "hq.r01.b0001"})
    problem(r, 403)
    with webapi.db.cursor() as cur:
        cur.execute("SELECT name FROM org_node WHERE path = 'hq.r02.b0003'")
        assert cur.fetchone()[0] != "taken over"


def test_nodes_paginate_and_etag(webapi):
    admin = webapi.admin
    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = admin.get("/nodes", params=params).json()
        seen += [n["path"] for n in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7
    r = admin.get("/nodes", params={"under": "hq.r02"})
    assert {n["path"] for n in r.json()["items"]} == {"hq.r02", "hq.r02.b0003", "hq.r02.b0004"}
    nid = webapi.node_id("hq.r01.b0001")
    r = admin.get(f"/nodes/{nid}")
    again = admin.get(f"/nodes/{nid}", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    admin.patch(f"/nodes/{nid}", {"name": "浦东支行"})
    changed = admin.get(f"/nodes/{nid}", headers={"If-None-Match": r.headers["ETag"]})
    assert changed.status_code == 200 and changed.json()["name"] == "浦东支行"


# --- windows and work profiles -----------------------------------------------------

def test_windows_added_at_run_time_with_profiles(webapi):
    admin = webapi.admin
    r = admin.post("/windows", {"branch": "hq.r01.b0002", "number": 9, "name": "9号窗口"})
    assert r.status_code == 201, r.text
    win = r.json()
    assert win["code"] == "w09" and win["path"] == "hq.r01.b0002.w09" and win["active"]
    assert win["profile"] is None
    # the number taken: 409 naming it; a region is no branch: 422
    r = admin.post("/windows", {"branch": "hq.r01.b0002", "number": 9, "name": "x",
                                "code": "w99"})
    assert members(problem(r, 409)) == ["number"]
    r = admin.post("/windows", {"branch": "hq.r01", "number": 1, "name": "x"})
    assert members(problem(r, 422)) == ["branch"]
    r = admin.post("/windows", {"branch": "hq.r01.b0002", "number": 105, "name": "105"})
    assert r.status_code == 201 and r.json()["code"] == "w105", r.text
    r = admin.patch(f"/windows/{win['id']}", {"name": "贵宾窗口", "active": False})
    assert r.status_code == 200 and r.json()["name"] == "贵宾窗口" and not r.json()["active"]
    with webapi.db.cursor() as cur:
        cur.execute("SELECT s.id FROM service s JOIN org_node n ON n.id = s.node_id"
                    " WHERE s.active AND n.path @> 'hq.r01.b0002' ORDER BY s.id LIMIT 2")
        services = [row[0] for row in cur.fetchall()]
        cur.execute("SELECT max(id) + 1000 FROM service")
        unknown = cur.fetchone()[0]
    good = f"weighted;vip=2;ordinary=1;services={services[1]},{services[0]}"
    r = admin.request("PUT", f"/windows/{win['id']}/profile", json={"profile": good})
    assert r.status_code == 200 and r.json()["profile"] == good, r.text
    # what queue-manager's parser refuses, and a service the branch does not have
    for bad in ("fastest;vip=2;ordinary=1;services=1",
                f"strict;vip=2;ordinary=1;services={services[0]},{services[0]}",
                "strict;vip=0;ordinary=1;services=1"):
        r = admin.request("PUT", f"/windows/{win['id']}/profile", json={"profile": bad})
        assert members(problem(r, 422)) == ["profile"], bad
    r = admin.request("PUT", f"/windows/{win['id']}/profile",
                      json={"profile": f"strict;vip=1;ordinary=1;services={unknown}"})
    assert str(unknown) in problem(r, 422)["detail"]
    row = audit_of(webapi, "window.profile", win["id"])[0]
    assert row["detail"]["before"]["profile"] is None and row["detail"]["after"]["profile"] == good
    # manage_queues sets profiles; manage_configuration alone may not
    cfg = webapi.make_user("cfg-only", "hq.r01", ["manage_configuration"])
    r = cfg.request("PUT", f"/windows/{win['id']}/profile", json={"profile": good})
    assert "manage_queues" in problem(r, 403)["detail"]
    # outside the subtree
    other = cfg.get("/windows", params={"branch": "hq.r02.b0003"}).json()["items"]
    assert other == []
    with webapi.db.cursor() as cur:
        cur.execute("SELECT w.id FROM service_window w JOIN org_node n ON n.id = w.node_id"
                    " WHERE n.path = 'hq.r02.b0003' LIMIT 1")
        outside = cur.fetchone()[0]
    problem(cfg.patch(f"/windows/{outside}", {"name": "x"}), 404)
    page = cfg.get("/windows", params={"limit": "5"}).json()
    assert len(page["items"]) == 5 and page["next_cursor"]
    rest = cfg.get("/windows", params={"limit": "200", "cursor": page["next_cursor"]}).json()
    ids = [w["id"] for w in page["items"] + rest["items"]]
    assert len(ids) == len(set(ids)) == 12 + 10


# --- staff ------------------------------------------------------------------------------

def test_staff(webapi):
    admin = webapi.admin
    r = admin.post("/staff", {"employee_no": "900001", "name": "新员工", "node": "hq.r01.b0001",
                              "phone": "+8613912345678"})
    assert r.status_code == 201, r.text
    st = r.json()
    assert st["active"] and st["node"] == "hq.r01.b0001"
    r = admin.post("/staff", {"employee_no": "900001", "name": "x", "node": "hq.r01.b0001"})
    assert members(problem(r, 409)) == ["employee_no"]
    r = admin.post("/staff", {"employee_no": "90A", "name": "x", "node": "hq.r01.b0001"})
    assert members(problem(r, 422)) == ["employee_no"]
    r = admin.post("/staff", {"employee_no": "900002", "name": "x", "node": "hq.r01.b0001",
                              "phone": "13912345678"})
    assert members(problem(r, 422)) == ["phone"]
    r = admin.patch(f"/staff/{st['id']}", {"phone": None, "node": "hq.r01.b0002",
                                           "active": False})
    assert r.status_code == 200, r.text
    assert r.json()["phone"] is None and r.json()["node"] == "hq.r01.b0002"
    row = audit_of(webapi, "staff.update", st["id"])[0]
    assert row["detail"]["before"]["phone"] == "+8613912345678"
    assert row["detail"]["after"]["active"] is False
    r02 = webapi.make_user("cfg-r02", "hq.r02", ["manage_configuration"])
    problem(r02.get(f"/staff/{st['id']}"), 404)
    r = r02.patch(f"/staff/{st['id']}", {"name": "x"})
    problem(r, 404)
    r = admin.patch(f"/staff/{st['id']}", {"node": "hq.r09"})
    assert members(problem(r, 422)) == ["node"]


# --- queues and services -------------------------------------------------------------

def test_queues_and_services(webapi):
    admin = webapi.admin
    r = admin.post("/queues", {"node": "hq.r02.b0003", "prefix": "C", "name": "理财",
                               "target_wait_s": 600})
    assert r.status_code == 201, r.text
    q = r.json()
    # A is the whole bank's (hq): a clash on the line from the root
    r = admin.post("/queues", {"node": "hq.r02.b0003", "prefix": "A", "name": "x"})
    assert members(problem(r, 409)) == ["prefix"]
    r = admin.post("/queues", {"node": "hq.r02.b0003", "prefix": "c1", "name": "x"})
    assert members(problem(r, 422)) == ["prefix"]
    r = admin.patch(f"/queues/{q['id']}", {"target_wait_s": 480})
    assert r.status_code == 200 and r.json()["target_wait_s"] == 480
    r = admin.post("/services", {"node": "hq.r02.b0003", "code": "wealth", "name": "理财签约",
                                 "queue": q["id"], "standard_s": 900})
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["prefix"] == "C" and s["standard_s"] == 900
    # a queue of another branch is not in scope
    r = admin.post("/services", {"node": "hq.r01.b0001", "code": "wealth", "name": "x",
                                 "queue": q["id"]})
    assert members(problem(r, 422)) == ["queue"]
    r = admin.post("/services", {"node": "hq.r02.b0003", "code": "wealth", "name": "x",
                                 "queue": q["id"]})
    assert members(problem(r, 409)) == ["code"]
    r = admin.post("/services", {"node": "hq.r02.b0003", "code": "w2", "name": "x",
                                 "queue": q["id"], "standard_s": 30})
    assert members(problem(r, 400)) == ["standard_s"]
    r = admin.patch(f"/services/{s['id']}", {"standard_s": None, "active": False})
    assert r.status_code == 200 and r.json()["standard_s"] is None and not r.json()["active"]
    assert audit_of(webapi, "service.update", s["id"])[0]["detail"]["before"]["standard_s"] == 900
    r01 = webapi.make_user("q-r01", "hq.r01", ["manage_queues"])
    problem(r01.get(f"/services/{s['id']}"), 404)
    problem(r01.patch(f"/queues/{q['id']}", {"name": "x"}), 404)
    assert all(x["node"].startswith("hq.r01") for x in r01.get("/queues").json()["items"])


# --- changes reach the running services ------------------------------------------------

def test_a_change_publishes_the_branch_registry_snapshot(demo_db, start_bin, servers, bus):
    from conftest import _run
    api = WebApi(start_bin, _run, demo_db, servers.redis.url(13),
                 EQMS_BUS_PUB=bus.xsub, EQMS_BUS_SUB=bus.xpub)
    listener = BusClient(bus, "registry.snapshot.")
    time.sleep(0.5)                        # the subscription reaches the forwarder
    admin = api.admin
    started = time.monotonic()
    r = admin.post("/staff", {"employee_no": "900077", "name": "新柜员", "node": "hq.r01.b0002"})
    assert r.status_code == 201, r.text
    topic, envelope = next_snapshot(listener, started)
    assert topic == "registry.snapshot.hq.r01.b0002"
    staff = {s["employee_no"]: s for s in envelope["data"]["staff"]}
    assert staff["900077"] == {"employee_no": "900077", "name": "新柜员", "active": True}
    # a region's change reaches each of its branches
    admin.patch(f"/nodes/{api.node_id('hq.r02')}", {"name": "华南区域"})
    topics = set()
    while (got := listener.receive(timeout=1.0)) is not None:
        topics.add(got[0])
    assert topics == {"registry.snapshot.hq.r02.b0003", "registry.snapshot.hq.r02.b0004"}
