"""web-api's configuration API (issue 14 item 4) through the REST API of a real
eqms-web-api on PostgreSQL and Redis: the organisation tree, windows and their
work profiles, staff, queues and services; values refused with the member
named (422, 409 for a taken code), objects outside the caller's subtree
answering 404, every change audited with before and after, ETags,
pagination, and a change reaching the device gateways as a registry snapshot
on the bus."""
import time

from conftest import BusClient
from webapi import WebApi, problem


def audit_of(api, action, object_id):
    """The audit rows of `action` on object `object_id`, newest first."""
    r = api.admin.get("/audit", params={"action": action, "object_id": str(object_id),
                                        "limit": "200"})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def members(body):
    return [e.get("member") for e in body["errors"]]


# --- organisation tree ---------------------------------------------------------------

def test_nodes_add_rename_move_time_zone(webapi):
    admin = webapi.admin
    r = admin.post("/nodes", {"parent": "hq.r01", "code": "b0009", "name": "苏州园区支行",
                              "kind": "branch"})
    assert r.status_code == 201, r.text
    node = r.json()
    assert node["path"] == "hq.r01.b0009" and node["parent"] == "hq.r01"
    assert node["time_zone"] == "Asia/Shanghai"        # the parent's
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
