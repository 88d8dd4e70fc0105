"""docs/openapi.yaml against the real eqms-web-api: the same routes, and every
documented example request answered as documented."""
import subprocess

import openapi
from conftest import bin_path, wait_for
from webapi import CONFIG_KINDS, USER_PASSWORD, config_make, make_alert


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


# What each window action needs before it: the steps that bring a fresh window
# (closed, nobody logged in) to a state that allows it.
CALLED = ["open", "login", "issue", "call-next"]
WINDOW_STEPS = {
    "open": [], "close": ["open"], "pause": ["open"], "resume": ["open", "pause"],
    "login": ["open"], "logout": ["open", "login"], "walk-in": ["open", "login"],
    "call-next": ["open", "login", "issue"], "call-ticket": ["open", "login", "issue"],
    "recall": CALLED, "start": CALLED, "no-show": CALLED, "transfer": CALLED, "park": CALLED,
    "finish": CALLED + ["start"], "call-back": CALLED + ["park"],
}


class Hall:
    """Windows of the demo branches hq.r01.b0001 (11 windows, then hq.r01.b0002),
    each with a teller of its own, brought by real actions through web-api and
    queue-manager to the state a window action's example needs."""

    def __init__(self, admin, db):
        self.admin = admin
        self.free = []
        with db.cursor() as cur:
            for branch, n in (("hq.r01.b0001", 11), ("hq.r01.b0002", 8)):
                cur.execute("""SELECT w.id FROM service_window w JOIN org_node n ON n.id = w.node_id
                               WHERE n.path = %s::ltree AND w.active ORDER BY w.number""",
                            (branch,))
                windows = [r[0] for r in cur.fetchall()]
                cur.execute("""SELECT s.id FROM staff s JOIN org_node n ON n.id = s.node_id
                               WHERE n.path = %s::ltree AND s.active ORDER BY s.id""", (branch,))
                tellers = [r[0] for r in cur.fetchall()]
                self.free += [(branch, w, t) for w, t in list(zip(windows, tellers))[:n]]

    def issue(self, branch):
        r = self.admin.post(f"/branches/{branch}/tickets", {"service_code": "cash"})
        assert r.status_code == 201, r.text
        return r.json()["ticket"]["number"]

    def prepare(self, action):
        """A window ready for `action`: (window id, its teller, the ticket issued
        for it or None)."""
        branch, window, teller = self.free.pop(0)
        ticket = None
        for step in WINDOW_STEPS[action]:
            if step == "issue":
                ticket = self.issue(branch)
                continue
            body = {"login": {"staff": teller}, "pause": {"reason": "prepare"}}.get(step)
            r = self.admin.post(f"/windows/{window}/{step}", body)
            assert r.status_code == 200, f"{action}: {step}: {r.text}"
        return window, teller, ticket


def test_every_example_request_is_answered_as_documented(webapi_qm, demo_db):
    webapi = webapi_qm
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
    hall = Hall(admin, demo_db)
    with demo_db.cursor() as cur:
        cur.execute("""SELECT s.id FROM staff s JOIN org_node n ON n.id = s.node_id
                       WHERE n.path = 'hq.r01.b0001' ORDER BY s.id LIMIT 1""")
        teller = cur.fetchone()[0]
    targets = {"users": admin.post("/users", {"login": "target", "display_name": "T",
                                              "node": "hq.r01.b0001",
                                              "password": USER_PASSWORD}).json()["id"],
               "roles": role["id"],
               "tokens": admin.post("/tokens", {"name": "t", "scopes": ["export"],
                                                "expires_in_days": 1}).json()["id"],
               "alerts": make_alert(demo_db, "hq.r01.b0001")}
    # configuration: an object of each kind in hq.r01.b0001
    for kind in CONFIG_KINDS:
        targets[kind] = config_make(admin, kind, "hq.r01.b0001", 500 + len(targets))
    ticket = hall.issue("hq.r01.b0001")
    # a completed backup of the branch (its archive; a purge it covers) and a purge
    targets["backups"] = admin.post("/backups", {"node": "hq.r01.b0001"}).json()["id"]
    wait_for(lambda: admin.get(f"/backups/{targets['backups']}").json()["state"] == "completed",
             timeout=30)
    targets["purges"] = admin.post("/purges", {"node": "hq.r01.b0001", "older_than": "month",
                                               "confirm": "hq.r01.b0001"}).json()["id"]
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
            if op.kind == "windows" and op.path.count("/") == 5 and not op.path.endswith(
                    "/profile"):
                # a window action: a window of its own, in the state the
                # action needs, and its teller and ticket in place of the
                # example's
                window, staff, issued = hall.prepare(op.path.split("/")[-1])
                targets["windows"] = window
                if isinstance(body, dict) and "staff" in body:
                    body = dict(body, staff=staff)
                if isinstance(body, dict) and "ticket" in body:
                    body = dict(body, ticket=issued)
            if op.kind == "devices" and isinstance(body, dict) and "window" in body:
                # a free window of its own in place of the example's
                body = dict(body, window=config_make(admin, "windows", "hq.r01.b0001",
                                                     600 + checked))
            path = (op.path.replace("/api/v1", "").replace("{id}", str(targets.get(op.kind, 0)))
                    .replace("{branch}", "hq.r01.b0001").replace("{ticket}", ticket))
            caller = someone if op.permission == "any" else admin
            query = op.example_query()
            if op.path.endswith("/announcements/audio"):
                # the voice of a call made: a ticket called to a window of its own
                window, _, _ = hall.prepare("recall")
                at = next(w for w in admin.get("/branches/hq.r01.b0001/state").json()["windows"]
                          if w["id"] == window)
                query = dict(query, ticket=at["current"], window=str(at["number"]))
            r = caller.request(op.method, path, json=body, params=query)
            op.check(r)
            assert r.status_code < 400, f"{op} {body}: {r.status_code} {r.text}"
            checked += 1
            if op.path.endswith("/devices/{id}/replace"):
                # the device now at the window is the one the next examples use
                targets["devices"] = r.json()["id"]
            if op.streamed:
                # a streamed body has no ETag: nothing to revalidate
                assert "ETag" not in r.headers and 304 not in op.statuses, op
            elif (op.method == "GET" and r.status_code == 200
                    and not r.headers["Content-Type"].startswith("text/event-stream")):
                again = caller.request("GET", path, params=query,
                                       headers={"If-None-Match": r.headers["ETag"]})
                if again.status_code == 200:
                    # the resource changed in between (a branch's live state
                    # moves with every bus event): then it has a new tag
                    assert again.headers["ETag"] != r.headers["ETag"], f"{op}: same tag, 200"
                    assert again.content != r.content, f"{op}: same body, 200"
                else:
                    assert again.status_code == 304, f"{op}: {again.status_code}"
                op.check(again)
    assert checked >= len(ops)
