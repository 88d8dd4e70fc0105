"""Authorisation of every route of docs/openapi.yaml (so that a new route cannot
escape it): each operation called by a set of principals, on objects inside and
outside their subtree, and each answer checked against what the principal may
do and against the document."""
import openapi
from webapi import CONFIG_KINDS, USER_PASSWORD, config_make, config_unique, problem

PERMS = ["view_statistics", "view_complaints", "view_live_hall", "operate_windows",
         "issue_tickets", "manage_queues", "manage_configuration", "manage_devices",
         "manage_users", "manage_alerts", "export", "purge_data", "backup",
         "manage_api_tokens", "read_audit_log"]


class Objects:
    """Fresh objects to aim at, inside hq.r01 or outside it (hq.r02)."""

    def __init__(self, webapi):
        self.webapi = webapi
        self.n = 0

    def make(self, kind, inside):
        admin = self.webapi.admin
        self.n += 1
        node = "hq.r01.b0001" if inside else "hq.r02.b0003"
        if kind in CONFIG_KINDS:
            return config_make(admin, kind, node, self.n)
        if kind == "users":
            r = admin.post("/users", {"login": f"obj{self.n}", "display_name": "Obj",
                                      "node": node, "password": USER_PASSWORD})
        elif kind == "roles":
            r = admin.post("/roles", {"name": f"obj{self.n}", "node": node,
                                      "permissions": ["view_statistics"]})
        else:
            r = admin.post("/tokens", {"name": f"obj{self.n}", "node": node,
                                       "scopes": ["view_statistics"], "expires_in_days": 1})
        assert r.status_code == 201, r.text
        return r.json()["id"]


def call(op, client, objects, inside, role_id):
    """Calls `op` as `client` on a fresh object; returns (answer, object path)."""
    path = op.path.replace("/api/v1", "")
    target = None
    if "{id}" in path:
        oid = objects.make(op.kind, inside)
        path = path.replace("{id}", str(oid))
        target = f"/{op.kind}/{oid}"
    body = op.examples()[0]
    if isinstance(body, dict) and "roles" in body:
        body = dict(body, roles=[role_id])
    if isinstance(body, dict) and "login" in body and op.kind == "users":
        objects.n += 1
        body = dict(body, login=f"made{objects.n}")
    if isinstance(body, dict) and "name" in body and op.kind == "roles":
        objects.n += 1
        body = dict(body, name=f"made{objects.n}")
    if op.method == "POST" and op.kind in CONFIG_KINDS:
        objects.n += 1
        body = config_unique(op.kind, body, objects.n)
    return client.request(op.method, path, json=body), target


def test_every_route_for_every_kind_of_principal(webapi):
    ops = [op for op in openapi.operations()
           if op.path not in ("/api/v1/sessions", "/api/v1/sessions/current",
                              "/api/v1/me/password")]
    assert len(ops) >= 19
    admin = webapi.admin
    objects = Objects(webapi)
    role_in = webapi.make_role("grantable", "hq.r01.b0001", ["view_statistics"])["id"]
    # an administrator of r01 with every permission, and an API token like it
    r01 = webapi.make_user("r01admin", "hq.r01", PERMS)
    token = admin.post("/tokens", {"name": "r01-all", "node": "hq.r01", "scopes": PERMS,
                                   "expires_in_days": 1}).json()["token"]
    holders = {"r01 user": r01, "r01 token": webapi.client(token)}
    # for each permission a route needs: a user with all the others
    lacking = {p: webapi.make_user(f"no-{p.replace('_', '-')}", "hq.r01",
                                   [q for q in PERMS if q != p])
               for p in {op.permission for op in ops} if p not in ("any", "public")}
    forced = webapi.make_user("forced", "hq.r01", PERMS)
    admin.post(f"/users/{forced.user['id']}/password-reset",
               {"temporary_password": "Temp-Pass-9999"})
    forced = webapi.login("forced", "Temp-Pass-9999")
    anonymous = webapi.client()
    walked = 0
    for op in ops:
        # nobody
        r, _ = call(op, anonymous, objects, True, role_in)
        op.check(r)
        problem(r, 401)
        # a password still to change
        r, _ = call(op, forced, objects, True, role_in)
        op.check(r)
        if not op.during_change:
            assert problem(r, 403)["type"] == "urn:eqms:problem:password-change-required", op
        # the permission missing
        if op.permission in lacking:
            r, _ = call(op, lacking[op.permission], objects, True, role_in)
            op.check(r)
            assert op.permission in problem(r, 403)["detail"], op
        for who, client in holders.items():
            # inside the subtree: allowed
            r, target = call(op, client, objects, True, role_in)
            op.check(r)
            assert r.status_code < 400, f"{op} as {who} inside: {r.status_code} {r.text}"
            # outside: as if it did not exist, and untouched
            if target:
                r, target = call(op, client, objects, False, role_in)
                op.check(r)
                assert "no such" in problem(r, 404)["detail"], op
                after = admin.get(target)
                assert after.status_code == 200
                if "updated_at" in after.json():
                    assert after.json()["updated_at"] == after.json()["created_at"], (op, after.text)
                if op.kind == "tokens":
                    assert after.json()["revoked_at"] is None
            walked += 1
    assert walked == 2 * len(ops)
