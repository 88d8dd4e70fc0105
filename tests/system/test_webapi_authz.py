"""Authorisation of every route of docs/openapi.yaml (so that a new route cannot
escape it): each operation called by a set of principals, on objects inside and
outside their subtree, and each answer checked against what the principal may
do and against the document."""
import openapi
from conftest import wait_for
from webapi import CONFIG_KINDS, USER_PASSWORD, config_make, config_unique, make_alert, problem

PERMS = ["view_statistics", "view_complaints", "view_live_hall", "operate_windows",
         "issue_tickets", "manage_queues", "manage_configuration", "manage_devices",
         "manage_users", "manage_alerts", "export", "purge_data", "backup",
         "manage_api_tokens", "read_audit_log"]


INSIDE, OUTSIDE = "hq.r01.b0001", "hq.r02.b0003"
REFUSED = "urn:eqms:problem:queue-manager-refused"


class Objects:
    """Objects to aim at, inside hq.r01 or outside it (hq.r02): users, roles,
    tokens and alerts made fresh, tickets issued fresh, windows and tellers of
    the demo branches."""

    def __init__(self, webapi):
        self.webapi = webapi
        self.n = 0
        self.calls = {}

    def _first(self, sql, branch):
        with self.webapi.db.cursor() as cur:
            cur.execute(sql, (branch,))
            return cur.fetchone()[0]

    def window(self, inside):
        return self._first("""SELECT w.id FROM service_window w JOIN org_node n ON n.id = w.node_id
                              WHERE n.path = %s::ltree AND w.active ORDER BY w.number LIMIT 1""",
                           INSIDE if inside else OUTSIDE)

    def teller(self, inside):
        return self._first("""SELECT s.id FROM staff s JOIN org_node n ON n.id = s.node_id
                              WHERE n.path = %s::ltree AND s.active ORDER BY s.id LIMIT 1""",
                           INSIDE if inside else OUTSIDE)

    def ticket(self, inside):
        r = self.webapi.admin.post(f"/branches/{INSIDE if inside else OUTSIDE}/tickets",
                                   {"service_code": "cash"})
        assert r.status_code == 201, r.text
        return r.json()["ticket"]["number"]

    def called(self, inside):
        """(number, window number) of a ticket called in the branch, at its
        second window by its second teller (the window actions use the first)."""
        branch = INSIDE if inside else OUTSIDE
        if branch not in self.calls:
            admin = self.webapi.admin
            window = self._first("""SELECT w.id FROM service_window w JOIN org_node n
                                    ON n.id = w.node_id WHERE n.path = %s::ltree AND w.active
                                    ORDER BY w.number LIMIT 1 OFFSET 1""", branch)
            teller = self._first("""SELECT s.id FROM staff s JOIN org_node n ON n.id = s.node_id
                                    WHERE n.path = %s::ltree AND s.active
                                    ORDER BY s.id LIMIT 1 OFFSET 1""", branch)
            self.ticket(inside)
            for step, body in (("open", None), ("login", {"staff": teller}),
                               ("call-next", None)):
                r = admin.post(f"/windows/{window}/{step}", body)
                assert r.status_code == 200, r.text
            at = next(w for w in admin.get(f"/branches/{branch}/state").json()["windows"]
                      if w["id"] == window)
            self.calls[branch] = (at["current"], at["number"])
        return self.calls[branch]

    def make(self, kind, inside):
        admin = self.webapi.admin
        self.n += 1
        node = INSIDE if inside else OUTSIDE
        if kind == "windows":
            return self.window(inside)
        if kind == "staff":
            return self.teller(inside)
        if kind == "alerts":
            return make_alert(self.webapi.db, node)
        if kind in CONFIG_KINDS:
            return config_make(admin, kind, node, self.n)
        if kind in ("backups", "purges"):
            r = admin.post("/backups", {"node": node})
            assert r.status_code == 202, r.text
            backup = r.json()["id"]
            wait_for(lambda: admin.get(f"/backups/{backup}").json()["state"] == "completed",
                     timeout=30)
            if kind == "backups":
                return backup
            r = admin.post("/purges", {"node": node, "older_than": "month", "confirm": node})
            assert r.status_code == 202, r.text
            purge = r.json()["id"]
            wait_for(lambda: admin.get(f"/purges/{purge}").json()["state"] == "completed",
                     timeout=30)
            return purge
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


def state(admin, op, path):
    """What an outside call must leave as it was: the object as the
    administrator reads it, or for operations the branch's live state and the
    audit log of what was aimed at."""
    if op.kind == "windows":
        window = int(path.split("/")[2])
        live = admin.get(f"/branches/{OUTSIDE}/state").json()
        audit = admin.get("/audit", params={"object_type": "window", "object_id": str(window)})
        return ([w for w in live["windows"] if w["id"] == window], audit.json()["items"],
                admin.get(f"/windows/{window}").json())
    if op.kind in ("branches", "live"):
        live = admin.get(f"/branches/{OUTSIDE}/state").json()
        return live["queues"], admin.get("/audit", params={"action": "ticket.issue"}).json()
    if op.kind in ("alerts", "users", "roles", "tokens", "backups", "purges") \
            or op.kind in CONFIG_KINDS:
        # a node's device settings are an object of their own
        tail = "/settings" if op.path.endswith("/settings") else ""
        r = admin.get("/" + "/".join(path.split("/")[1:3]) + tail)
        assert r.status_code == 200, r.text
        return r.json()
    return None


def call(op, client, objects, inside, role_id):
    """Calls `op` as `client` on a fresh object; returns the answer and the
    path called."""
    path = op.path.replace("/api/v1", "")
    if "{id}" in path:
        path = path.replace("{id}", str(objects.make(op.kind, inside)))
    if "{ticket}" in path:
        path = path.replace("{ticket}", objects.ticket(inside))
    path = path.replace("{branch}", INSIDE if inside else OUTSIDE)
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
    if isinstance(body, dict) and "window" in body and op.kind == "devices":
        # a window of its own, free, in the caller's subtree
        objects.n += 1
        body = dict(body, window=config_make(objects.webapi.admin, "windows", INSIDE, objects.n))
    if isinstance(body, dict) and "staff" in body and op.kind == "windows":
        body = dict(body, staff=objects.teller(inside))
    query = op.example_query()
    if path.endswith("/announcements/audio"):
        # the voice of a call the branch made
        number, window_no = objects.called(inside)
        query = dict(query, ticket=number, window=str(window_no))
    return client.request(op.method, path, json=body, params=query), path


def allowed(op, r):
    """Whether `r` got past the permission and subtree checks: a success, or for
    a window action queue-manager's refusal of the window's state (409) or of a
    value (422), which it could only give once web-api had sent the action."""
    if r.status_code < 400:
        return True
    return (op.kind == "windows" and r.status_code in (409, 422)
            and r.json().get("type") == REFUSED and r.json().get("error"))


def test_every_route_for_every_kind_of_principal(webapi_qm):
    webapi = webapi_qm
    ops = [op for op in openapi.operations()
           if op.path not in ("/api/v1/sessions", "/api/v1/sessions/current",
                              "/api/v1/me/password")]
    assert len(ops) >= 19
    admin = webapi.admin
    objects = Objects(webapi)
    for inside in (True, False):
        objects.called(inside)   # before any state is compared
    role_in = webapi.make_role("grantable", "hq.r01.b0001", ["view_statistics"])["id"]
    # an administrator of r01 with every permission, and an API token like it
    r01 = webapi.make_user("r01admin", "hq.r01", PERMS)
    token = admin.post("/tokens", {"name": "r01-all", "node": "hq.r01", "scopes": PERMS,
                                   "expires_in_days": 1}).json()["token"]
    holders = {"r01 user": r01, "r01 token": webapi.client(token)}
    # for each permission a route needs (or each set of which one is enough,
    # "a|b"): a user with all the others
    lacking = {p: webapi.make_user(f"no-{p.replace('_', '-').replace('|', '.')}", "hq.r01",
                                   [q for q in PERMS if q not in p.split("|")])
               for p in {op.permission for op in ops} if p not in ("any", "public")}
    forced = webapi.make_user("forced", "hq.r01", PERMS)
    admin.post(f"/users/{forced.user['id']}/password-reset",
               {"temporary_password": "Temp-Pass-9999"})
    forced = webapi.login("forced", "Temp-Pass-9999")
    anonymous = webapi.client()
    walked = past_qm = 0
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
            detail = problem(r, 403)["detail"]
            assert all(p in detail for p in op.permission.split("|")), op
        for who, client in holders.items():
            # inside the subtree: allowed
            r, _ = call(op, client, objects, True, role_in)
            op.check(r)
            assert allowed(op, r), f"{op} as {who} inside: {r.status_code} {r.text}"
            past_qm += r.status_code in (409, 422)
            # outside: as if it did not exist, and untouched
            if "{" in op.path:
                before = {}
                r, path = call(op, client, Before(objects, admin, op, before), False, role_in)
                op.check(r)
                assert "no such" in problem(r, 404)["detail"], op
                assert before.get("state") is not None or op.kind == "staff", op
                after = state(admin, op, path)
                assert after == before["state"], (op, who, before["state"], after)
                if op.kind in ("users", "roles") and "updated_at" in after:
                    assert after["updated_at"] == after["created_at"], (op, after)
                if op.kind == "tokens":
                    assert after["revoked_at"] is None
            walked += 1
    assert walked == 2 * len(ops)
    # the window actions that queue-manager refused were sent to it: some are
    # (a closed window cannot call), so the walk did reach queue-manager
    assert past_qm > 0


class Before:
    """Objects whose state is read (into `into["state"]`) as soon as the
    object is chosen, before the call that must not change it."""

    def __init__(self, objects, admin, op, into):
        self.objects, self.admin, self.op, self.into = objects, admin, op, into
        if "{" not in op.path.replace("{branch}", ""):
            self._keep(op.path.replace("/api/v1", ""))

    @property
    def n(self):
        return self.objects.n

    @n.setter
    def n(self, value):
        self.objects.n = value

    def _keep(self, path):
        self.into["state"] = state(self.admin, self.op, path)

    def make(self, kind, inside):
        oid = self.objects.make(kind, inside)
        self._keep(f"/{kind}/{oid}")
        return oid

    def ticket(self, inside):
        number = self.objects.ticket(inside)
        self._keep(f"/branches/{OUTSIDE}")
        return number

    def teller(self, inside):
        return self.objects.teller(inside)

    def __getattr__(self, name):
        return getattr(self.objects, name)
