"""docs/openapi.yaml against the real eqms-web-api: the same routes, and every
documented example request answered as documented."""
import subprocess

import openapi
from conftest import bin_path
from webapi import CONFIG_KINDS, USER_PASSWORD, config_make


def server_routes():
    out = subprocess.run([bin_path("web-api"), "--routes"], check=True, text=True,
                         stdout=subprocess.PIPE).stdout
    return {(m, p): access for m, p, access in (line.split() for line in out.splitlines())}


def test_the_document_and_the_server_have_the_same_routes():
    routes = server_routes()
    ops = openapi.operations()
    documented = {(op.method, op.path): op.permission for op in ops}
    assert set(routes) - set(documented) == set(), "routes the document lacks"
    assert set(documented) - set(routes) == set(), "documented routes the server lacks"
    assert routes == documented, "the permissions differ"
    for op in ops:
        assert op.op.get("operationId"), op
        assert any(400 <= s < 500 for s in op.statuses), op
        if op.permission != "public":
            assert {401, 503} <= op.statuses, op
        if op.permission not in ("public", "any"):
            assert 403 in op.statuses, op
        if "{id}" in op.path:
            assert 404 in op.statuses, op
        if op.method in ("POST", "PATCH", "PUT") and op.op.get("requestBody"):
            assert 400 in op.statuses and 413 in op.statuses, op


def test_every_example_request_is_answered_as_documented(webapi):
    doc = openapi.load()
    ops = openapi.operations(doc)
    admin = webapi.admin
    # what the examples refer to: a role (for "roles"), and a user of their own
    # whose password is the one the password-change example gives
    role = webapi.make_role("example-role", "hq.r01.b0001", ["view_statistics"])
    change = [op for op in ops if op.path == "/api/v1/me/password"][0].examples()[0]
    r = admin.post("/users", {"login": "example", "display_name": "Example", "node": "hq.r01",
                              "password": change["current_password"],
                              "must_change_password": False})
    assert r.status_code == 201, r.text
    someone = webapi.login("example", change["current_password"])
    targets = {"users": admin.post("/users", {"login": "target", "display_name": "T",
                                              "node": "hq.r01.b0001",
                                              "password": USER_PASSWORD}).json()["id"],
               "roles": role["id"],
               "tokens": admin.post("/tokens", {"name": "t", "scopes": ["export"],
                                                "expires_in_days": 1}).json()["id"]}
    # configuration: an object of each kind in hq.r01.b0001
    for kind in CONFIG_KINDS:
        targets[kind] = config_make(admin, kind, "hq.r01.b0001", 500 + len(targets))
    # deletions and logouts last, so that the others find their objects
    ops.sort(key=lambda op: (op.method == "DELETE", op.path))
    checked = 0
    for op in ops:
        for body in op.examples():
            if isinstance(body, dict) and "roles" in body:
                body = dict(body, roles=[role["id"] for _ in body["roles"]])
            if isinstance(body, dict) and body.get("login") == "admin":
                body = dict(body, password="Admin-Pass-2024!")
            if op.method == "DELETE" and op.kind == "roles":
                # a role nobody holds (the examples gave the other one away)
                targets["roles"] = webapi.make_role("unheld", "hq.r01", [])["id"]
            path = op.path.replace("/api/v1", "").replace("{id}", str(targets.get(op.kind, 0)))
            caller = someone if op.permission == "any" else admin
            r = caller.request(op.method, path, json=body)
            op.check(r)
            assert r.status_code < 400, f"{op} {body}: {r.status_code} {r.text}"
            checked += 1
            if op.method == "GET" and r.status_code == 200:
                again = caller.request("GET", path, headers={"If-None-Match": r.headers["ETag"]})
                assert again.status_code == 304
                op.check(again)
    assert checked >= len(ops)
