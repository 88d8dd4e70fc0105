"""web-api's REST API under test: a started eqms-web-api with an administrator
at the head office (made by `eqms-web-api --create-admin`), and a small client.

    api = WebApi(start_bin, run_bin, demo_db, redis_url)
    admin = api.login("admin", ADMIN_PASSWORD)         # a Client with its token
    r = admin.get("/users")                             # requests.Response
    alice = api.make_user("alice", "hq.r01", ["manage_users"])   # a Client
"""
import json
import tempfile
import time
import uuid

import requests

from servers import free_port, wait_port

ADMIN_PASSWORD = "Admin-Pass-2024!"
USER_PASSWORD = "User-Pass-2024!"
API = "/api/v1"


class Client:
    """Requests to the API with one bearer token (or none)."""

    def __init__(self, base, token=None):
        self.base = base
        self.token = token
        self.http = requests.Session()

    def request(self, method, path, json=None, data=None, headers=None, params=None,
                stream=False):
        """The answer. A live stream (text/event-stream) never ends: unless
        `stream` is asked for, only its status and headers are read and the
        connection is closed (its r.content is empty)."""
        h = dict(headers or {})
        if self.token:
            h.setdefault("Authorization", f"Bearer {self.token}")
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        url = path if path.startswith("http") else self.base + API + path
        r = self.http.request(method, url, json=json, data=data, headers=h, params=params,
                              timeout=20, stream=True)
        if stream:
            return r
        if r.headers.get("Content-Type", "").startswith("text/event-stream"):
            r.close()
            r._content, r._content_consumed = b"", True
        else:
            r.content  # read it all, as without stream
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


class WebApi:
    def __init__(self, start_bin, run_bin, db, redis_url, **env):
        self.db = db
        self.port = free_port()
        self.http_port = free_port()
        self.env = {"EQMS_PG_CONNINFO": db.conninfo, "EQMS_REDIS_URL": redis_url,
                    "EQMS_BUS_PUB": f"tcp://127.0.0.1:{free_port()}",
                    "EQMS_BUS_SUB": f"tcp://127.0.0.1:{free_port()}",
                    "EQMS_HTTP_ADDRESS": "127.0.0.1", "EQMS_HTTP_PORT": str(self.http_port),
                    "EQMS_WEBAPI_ADDRESS": "127.0.0.1", "EQMS_WEBAPI_PORT": str(self.port),
                    "EQMS_WEBAPI_THREADS": "2",
                    "EQMS_WEBAPI_BACKUP_DIR": tempfile.mkdtemp(prefix="eqms-backups-")}
        self.env.update(env)
        res = run_bin("web-api", ["--create-admin", "admin", "hq"],
                      env=dict(self.env, EQMS_ADMIN_PASSWORD=ADMIN_PASSWORD))
        assert res.returncode == 0, res.stderr
        self.proc = start_bin("web-api", self.env)
        wait_port(self.port, proc=self.proc.proc)
        self.base = f"http://127.0.0.1:{self.port}"
        self._admin = None

    def client(self, token=None):
        return Client(self.base, token)

    def login(self, login, password, expect=201):
        r = self.client().post("/sessions", {"login": login, "password": password})
        assert r.status_code == expect, r.text
        return self.client(r.json()["token"]) if expect == 201 else r

    @property
    def admin(self):
        if self._admin is None:
            self._admin = self.login("admin", ADMIN_PASSWORD)
        return self._admin

    def node_id(self, path):
        with self.db.cursor() as cur:
            cur.execute("SELECT id FROM org_node WHERE path = %s::ltree", (path,))
            return cur.fetchone()[0]

    def make_role(self, name, node, permissions, by=None):
        r = (by or self.admin).post("/roles", {"name": name, "node": node,
                                               "permissions": permissions})
        assert r.status_code == 201, r.text
        return r.json()

    def make_user(self, login, node, permissions, by=None, must_change=False):
        """A user at `node` holding a role (made at that node) with `permissions`,
        logged in: a Client."""
        role = self.make_role(f"role-{login}", node, permissions, by)
        r = (by or self.admin).post("/users", {"login": login, "display_name": login.title(),
                                               "node": node, "password": USER_PASSWORD,
                                               "roles": [role["id"]],
                                               "must_change_password": must_change})
        assert r.status_code == 201, r.text
        client = self.login(login, USER_PASSWORD)
        client.user = r.json()
        return client


def audit_of(api, action, object_id):
    """The audit rows of `action` on object `object_id`, newest first."""
    r = api.admin.get("/audit", params={"action": action, "object_id": str(object_id),
                                        "limit": "200"})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def members(body):
    """The members a Problem Details body names, in order."""
    return [e.get("member") for e in body["errors"]]


def next_snapshot(listener, started):
    """The registry snapshot a change made at `started` (time.monotonic())
    published, seen by `listener` (a conftest.BusClient) within a second:
    (topic, envelope)."""
    got = listener.receive(timeout=1.0)
    assert got is not None, "no registry snapshot within a second"
    assert time.monotonic() - started < 1.5
    return got


def problem(r, status):
    """The Problem Details body of a refusal, checked for its form."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"] == "application/problem+json", r.headers
    body = r.json()
    assert body["status"] == status and body["type"] and body["title"]
    return body


# --- configuration objects (issue 14 item 4), for the tests that walk every route ---

CONFIG_KINDS = ("nodes", "windows", "staff", "queues", "services", "alert-recipients",
                "rating-scales", "alert-rules", "devices")
SCALE_OPTIONS = [{"code": 1, "label": "非常满意", "satisfied": True, "score": 5},
                 {"code": 2, "label": "满意", "satisfied": True, "score": 4},
                 {"code": 3, "label": "一般", "score": 3},
                 {"code": 4, "label": "不满意", "unsatisfied": True, "score": 1}]


def config_prefix(n):
    """A two-letter queue prefix of its own for each n (the demo's are one letter)."""
    return chr(65 + (n // 26) % 26) + chr(65 + n % 26)


def config_phone(n):
    """A mobile number of its own for each n (E.164)."""
    return f"+86137{n:08d}"


def config_unique(kind, body, n):
    """An example body of a configuration route made unique with the number n."""
    if not isinstance(body, dict):
        return body
    field = {"nodes": ("code", f"n{n}"), "windows": ("number", 100 + n),
             "staff": ("employee_no", f"3{n:05d}"), "queues": ("prefix", config_prefix(n)),
             "services": ("code", f"svc{n}"),
             "alert-recipients": ("phone", config_phone(n)),
             "rating-scales": ("code", f"s{n}"),
             "devices": ("serial", f"EQ-OBJ-{n:05d}")}.get(kind)
    return dict(body, **{field[0]: field[1]}) if field and field[0] in body else body


def config_make(admin, kind, node, n):
    """A new configuration object of `kind` at the branch `node`: its id (a
    device: registered there and assigned to a window of its own)."""
    if kind == "devices":
        r = admin.post("/devices", {"node": node, "serial": f"EQ-OBJ-{n:05d}",
                                    "model": "EQR-4K"})
        assert r.status_code == 201, r.text
        device = r.json()["id"]
        r = admin.post(f"/devices/{device}/assign",
                       {"window": config_make(admin, "windows", node, n)})
        assert r.status_code == 200, r.text
        return device
    if kind == "nodes":
        r = admin.post("/nodes", {"parent": node, "code": f"d{n}", "name": "Obj",
                                  "kind": "department"})
    elif kind == "windows":
        r = admin.post("/windows", {"branch": node, "number": 100 + n, "name": "Obj"})
    elif kind == "staff":
        r = admin.post("/staff", {"employee_no": f"3{n:05d}", "name": "Obj", "node": node})
    elif kind == "queues":
        r = admin.post("/queues", {"node": node, "prefix": config_prefix(n), "name": "Obj"})
    elif kind == "alert-recipients":
        r = admin.post("/alert-recipients", {"node": node, "name": "Obj", "phone": config_phone(n)})
    elif kind == "rating-scales":
        r = admin.post("/rating-scales", {"code": f"s{n}", "name": "Obj", "node": node,
                                          "options": SCALE_OPTIONS})
    elif kind == "alert-rules":
        # a node's rule of a kind is set, not made: the same one again is 200
        r = admin.post("/alert-rules", {"node": node, "kind": "unsatisfied_share",
                                        "template": "{branch} 不满意率 {share}%",
                                        "params": {"share_pct": 20}})
        assert r.status_code in (200, 201), r.text
        return r.json()["id"]
    else:
        queue = [q["id"] for q in admin.get("/queues", params={"limit": "200"}).json()["items"]
                 if q["prefix"] == "A" and q["node"] == "hq"][0]
        r = admin.post("/services", {"node": node, "code": f"svc{n}", "name": "Obj",
                                     "queue": queue})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def make_alert(db, branch, option="态度差", kind="unsatisfied_rating"):
    """An open alert at `branch` written as sms-notifier writes one (the alert
    and its "opened" event); its id."""
    aid = str(uuid.uuid4())
    with db.cursor() as cur:
        cur.execute("""INSERT INTO alert (id, kind, branch_id, fact, opened_at, facts)
                       SELECT %s, %s, n.id, %s, now(), %s::jsonb FROM org_node n
                       WHERE n.path = %s::ltree""",
                    (aid, kind, aid, json.dumps({"option": option, "teller": "张三",
                                                 "window": "1"}), branch))
        assert cur.rowcount == 1, branch
        cur.execute("INSERT INTO alert_event (alert_id, kind, actor)"
                    " VALUES (%s, 'opened', 'sms-notifier')", (aid,))
    db.commit()
    return aid
