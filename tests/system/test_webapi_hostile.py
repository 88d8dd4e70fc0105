"""Hostile input against a real eqms-web-api (issue 14 item 9): malformed and
mistyped bodies, oversized bodies and headers, slow clients, SQL injection in
every text member of the documented request schemas, missing / forged /
expired / revoked tokens, another subtree's ids, cross-site requests (CSRF),
origins allowed and refused (CORS) and path traversal on the console's
files. Each gets its 4xx, changes nothing (the tables and the audit log are
compared before and after) and the server keeps serving."""
import copy
import json
import socket
import threading
import time

import redis
import requests

import openapi
from webapi import (ADMIN_PASSWORD, CONFIG_KINDS, WebApi, config_make, config_unique,
                    make_alert, problem)

# tables a configuration or identity request could touch
TABLES = ("org_node", "service_window", "staff", "queue", "service", "app_user", "role",
          "role_permission", "user_role", "api_token", "alert_recipient", "alert_rule",
          "work_profile", "alert_event")

INJECTIONS = ("'; DROP TABLE org_node; --", "\" OR 1=1 --", "x' OR '1'='1",
              "1; SELECT pg_sleep(10); --", "$1 $$ %s %n \\x00'", "admin'/*",
              "' UNION SELECT password_hash FROM app_user --", "ltree <@ 'hq'")


def state(db):
    """What a refused request must not change: the rows of each table and the
    audit log's last entry."""
    with db.cursor() as cur:
        counts = {}
        for t in TABLES:
            cur.execute(f"SELECT count(*) FROM {t}")
            counts[t] = cur.fetchone()[0]
        cur.execute("SELECT coalesce(max(id), 0), count(*) FROM audit_log")
        counts["audit_log"] = cur.fetchone()
    db.commit()
    return counts


def serving(api):
    """The server still answers a normal request."""
    r = api.admin.get("/me")
    assert r.status_code == 200, r.text


def raw(port, data, timeout=10):
    """Sends raw bytes and reads the whole answer (Connection: close): the
    status and the text."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        got = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.") else 0
    return status, head.decode("latin-1"), body


# --- malformed bodies --------------------------------------------------------------

MALFORMED = {
    "not JSON": b'{"name": ',
    "trailing text": b'{"name": "x"} {}',
    "not an object": b'["name"]',
    "duplicate key": b'{"name": "a", "name": "b"}',
    "invalid UTF-8": b'{"name": "\xc3\x28\xff"}',
    "NUL escape": b'{"name": "a\\u0000b"}',
    "lone surrogate": b'{"name": "\\ud800"}',
    "huge integer": b'{"number": 123456789012345678901234567890}',
    "deep nesting": b'{"a":' * 3000 + b'1' + b'}' * 3000,
    "empty": b'',
}


def create_operations(doc=None):
    """The documented POST operations without path parameters that take a
    body (the create routes, the login, the password change)."""
    return [op for op in openapi.operations(doc)
            if op.method == "POST" and "{" not in op.path and op.op.get("requestBody")]


def test_malformed_bodies_change_nothing(webapi, demo_db):
    admin = webapi.admin
    before = state(demo_db)
    for op in create_operations():
        path = op.path[len("/api/v1"):]
        for what, body in MALFORMED.items():
            p = problem(admin.request("POST", path, data=body), 400)
            assert p["detail"], (op, what)
        # wrong types for each documented member
        for name, value in (op.examples()[0] or {}).items():
            wrong = 5 if isinstance(value, str) else "five"
            body = dict(op.examples()[0], **{name: wrong})
            p = problem(admin.request("POST", path, json=body), 400)
            assert name in [e.get("member") for e in p["errors"]], (op, name, p)
        # unknown members
        p = problem(admin.post(path, dict(op.examples()[0], sneaky=1)), 400)
        assert "sneaky" in [e.get("member") for e in p["errors"]]
    assert state(demo_db) == before
    serving(webapi)


def test_oversized_bodies_and_headers(webapi, demo_db):
    admin = webapi.admin
    before = state(demo_db)
    big = json.dumps({"parent": "hq.r01", "code": "b0100", "name": "x" * 70000,
                      "kind": "branch"}).encode()
    problem(admin.request("POST", "/nodes", data=big), 413)
    # a Content-Length above the limit is answered before the body is read
    status, head, _ = raw(webapi.port, b"POST /api/v1/nodes HTTP/1.1\r\nHost: x\r\n"
                          b"Authorization: Bearer " + admin.token.encode() + b"\r\n"
                          b"Content-Type: application/json\r\nContent-Length: 99999999\r\n"
                          b"Connection: close\r\n\r\n{")
    assert status == 413, head
    # headers beyond libmicrohttpd's connection memory: 431 (one huge, many small)
    status, head, _ = raw(webapi.port, b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Big: "
                          + b"a" * 64 * 1024 + b"\r\nConnection: close\r\n\r\n")
    assert status == 431, head
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(600))
    status, head, _ = raw(webapi.port, b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n" + many
                          + b"Connection: close\r\n\r\n")
    assert status == 431, head
    # a request line too long for it
    status, head, _ = raw(webapi.port, b"GET /api/v1/" + b"a" * 64 * 1024
                          + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status in (414, 431), head
    assert state(demo_db) == before
    serving(webapi)


# --- slow clients ------------------------------------------------------------------

def test_slow_clients_do_not_stop_others(demo_db, start_bin, run_bin, servers):
    api = WebApi(start_bin, run_bin, demo_db, servers.redis.url(13),
                 EQMS_WEBAPI_TIMEOUT_S="2")
    admin = api.admin
    stop = threading.Event()
    drippers = []
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", api.port), timeout=10)
        s.sendall(b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n")
        drippers.append(s)

    def drip():
        # each connection gets one more header byte every half second
        while not stop.is_set():
            for s in drippers:
                try:
                    s.send(b"X")
                except OSError:
                    pass
            stop.wait(0.5)

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    # each of the normal client's requests on a connection of its own (a kept
    # one idle past the 2 s timeout may be closed as it is reused)
    once = {"Connection": "close"}
    try:
        # a normal client is served meanwhile, every time
        for _ in range(20):
            r = admin.get("/me", headers=once)
            assert r.status_code == 200, r.text
            r = admin.post("/nodes", {"parent": "hq.r01", "code": f"s{_}", "name": "x",
                                      "kind": "branch"}, headers=once)
            assert r.status_code == 201, r.text
    finally:
        stop.set()
        t.join()
    # once they stop sending, the connection timeout drops every one of them
    deadline = time.monotonic() + 20
    for s in drippers:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            while s.recv(4096):
                pass                # an answer, then the close
        except ConnectionResetError:
            pass
        except socket.timeout:
            raise AssertionError("a silent connection was not dropped by the timeout")
        s.close()
    r = admin.get("/me", headers=once)
    assert r.status_code == 200


# --- SQL injection in every text member --------------------------------------------

def resolve(doc, schema):
    """A request schema with $ref and allOf resolved: its properties."""
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
    props = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        props.update(resolve(doc, part))
    return props


def is_text(doc, prop):
    while "$ref" in prop:
        prop = doc["components"]["schemas"][prop["$ref"].split("/")[-1]]
    types = prop.get("type")
    types = types if isinstance(types, list) else [types]
    if "string" in types:
        return True
    return any(is_text(doc, p) for p in prop.get("oneOf", []) + prop.get("anyOf", []))


def text_members(doc, op):
    schema = op.op["requestBody"]["content"]["application/json"]["schema"]
    return sorted(name for name, prop in resolve(doc, schema).items() if is_text(doc, prop))


def tables_intact(db):
    with db.cursor() as cur:
        for t in TABLES + ("audit_log",):
            cur.execute("SELECT to_regclass(%s)", (t,))
            assert cur.fetchone()[0] is not None, f"table {t} is gone"
        cur.execute("SELECT count(*) FROM org_node WHERE path <@ 'hq'")
        assert cur.fetchone()[0] >= 7
    db.commit()


def test_sql_injection_in_every_text_member(webapi, demo_db):
    doc = openapi.load()
    admin = webapi.admin
    targets = []        # (operation, path, base body)
    n = 0
    for op in openapi.operations(doc):
        if op.method not in ("POST", "PATCH", "PUT") or not op.op.get("requestBody"):
            continue
        if op.kind in ("branches", "sessions", "me") or op.permission == "operate_windows":
            continue    # queue-manager's routes (503 here), the login and password below
        path = op.path[len("/api/v1"):]
        if "{id}" in path:
            if op.kind in CONFIG_KINDS:
                path = path.replace("{id}", str(config_make(admin, op.kind, "hq.r01.b0001",
                                                            500 + len(targets))))
            elif op.kind == "alerts":
                path = path.replace("{id}", make_alert(demo_db, "hq.r01.b0001"))
            elif op.kind == "users":
                made = webapi.make_user(f"target{len(targets)}", "hq.r01", ["view_statistics"])
                path = path.replace("{id}", str(made.user["id"]))
            elif op.kind == "roles":
                made = webapi.make_role(f"target-role{len(targets)}", "hq.r01",
                                        ["view_statistics"])
                path = path.replace("{id}", str(made["id"]))
            else:
                continue
        targets.append((op, path, op.examples()[0] or {}))
    assert len(targets) >= 15, targets

    stored = refused = 0
    for op, path, example in targets:
        members = text_members(doc, op)
        for member in members:
            for payload in INJECTIONS:
                n += 1
                body = config_unique(op.kind, copy.deepcopy(example), 200 + n % 600)
                if op.kind == "users" and "login" in body:
                    body["login"] = f"inj{n}"
                if op.kind == "roles" and "name" in body and member != "name":
                    body["name"] = f"inj role {n}"
                body[member] = payload
                r = admin.request(op.method, path, json=body)
                assert r.status_code < 500, (op, member, payload, r.status_code, r.text)
                if r.status_code < 300:
                    got = r.json().get(member) if r.content else None
                    if isinstance(got, str):
                        assert got == payload or (member == "login"
                                                  and got == payload.lower()), \
                            (op, member, payload, got)
                        stored += 1
                else:
                    problem(r, r.status_code)
                    refused += 1
    # the login and the query arguments of every list
    for payload in INJECTIONS:
        r = webapi.client().post("/sessions", {"login": payload, "password": payload})
        assert r.status_code in (400, 401), r.text
    for payload in INJECTIONS[:4]:      # five would lock the account
        r = webapi.client().post("/sessions", {"login": "admin", "password": payload})
        assert r.status_code == 401, r.text
    for op in openapi.operations(doc):
        if op.method != "GET" or "{" in op.path or op.streamed or op.kind == "live":
            continue
        params = op.op.get("parameters", [])
        for param in params:
            while "$ref" in param:
                param = doc["components"]["parameters"][param["$ref"].split("/")[-1]]
            if param["in"] != "query" or not is_text(doc, param["schema"]):
                continue
            for payload in INJECTIONS[:3]:
                query = dict(op.example_query(), **{param["name"]: payload})
                r = admin.get(op.path[len("/api/v1"):], params=query)
                assert r.status_code < 500, (op, param["name"], payload, r.text)
    assert stored >= 40 and refused >= 10, (stored, refused)
    tables_intact(demo_db)
    # stored verbatim, and read back verbatim
    with demo_db.cursor() as cur:
        cur.execute("SELECT count(*) FROM org_node WHERE name = %s", (INJECTIONS[0],))
        assert cur.fetchone()[0] >= 1
    demo_db.commit()
    nodes = admin.get("/nodes", params={"limit": "200"}).json()["items"]
    assert INJECTIONS[0] in [x["name"] for x in nodes]
    serving(webapi)


# --- tokens ---------------------------------------------------------------------------

def test_missing_forged_expired_revoked_tokens(webapi, demo_db, servers):
    admin = webapi.admin
    node = {"parent": "hq.r01", "code": "b0200", "name": "x", "kind": "branch"}
    # an API token, made and then expired in the database
    expired = admin.post("/tokens", {"name": "old", "scopes": ["manage_configuration"],
                                     "node": "hq", "expires_in_days": 1}).json()
    revoked = admin.post("/tokens", {"name": "gone", "scopes": ["manage_configuration"],
                                     "node": "hq", "expires_in_days": 1}).json()
    assert webapi.client(expired["token"]).get("/nodes").status_code == 200
    assert admin.delete(f"/tokens/{revoked['id']}").status_code == 204
    with demo_db.cursor() as cur:
        cur.execute("UPDATE api_token SET created_at = now() - interval '2 days',"
                    " expires_at = now() - interval '1 second' WHERE id = %s", (expired["id"],))
    demo_db.commit()
    # a login session, then expired in Redis (its end in the past), and one logged out
    user = webapi.make_user("victim", "hq", ["manage_configuration"])
    gone = webapi.make_user("leaver", "hq", ["manage_configuration"])
    assert gone.delete("/sessions/current").status_code == 204
    r = redis.Redis.from_url(servers.redis.url(13))
    hashes = r.smembers(f"eqms:session:user:{user.user['id']}")
    assert hashes
    for h in hashes:
        r.hset(b"eqms:session:" + h, "expires", "1")
    before = state(demo_db)

    cases = {
        "missing": None,
        "not bearer": "Basic YWRtaW46eA==",
        "empty": "Bearer ",
        "garbage": "Bearer !!!",
        "forged session": "Bearer eqs_" + "A" * 43,
        "forged api token": "Bearer eqt_" + "B" * 43,
        "expired api token": f"Bearer {expired['token']}",
        "revoked api token": f"Bearer {revoked['token']}",
        "expired session": f"Bearer {user.token}",
        "logged out": f"Bearer {gone.token}",
        "truncated admin": f"Bearer {admin.token[:-2]}",
    }
    for what, header in cases.items():
        c = webapi.client()
        h = {"Authorization": header} if header else {}
        for method, path, body in (("GET", "/me", None), ("POST", "/nodes", node),
                                   ("DELETE", f"/users/{gone.user['id']}", None)):
            try:
                r = c.request(method, path, json=body, headers=h)
            except (requests.exceptions.InvalidHeader, ValueError):
                continue        # the client itself refuses to send it
            p = problem(r, 401)
            assert r.headers["WWW-Authenticate"].startswith("Bearer"), what
            assert p["detail"], what
    assert state(demo_db) == before
    serving(webapi)


# --- another subtree's ids ----------------------------------------------------------

def test_another_subtrees_ids_answer_404(webapi, demo_db):
    admin = webapi.admin
    outside = {kind: config_make(admin, kind, "hq.r02.b0003", 60 + i)
               for i, kind in enumerate(CONFIG_KINDS)}
    r01 = webapi.make_user("r01-admin", "hq.r01",
                           ["manage_configuration", "manage_queues", "manage_alerts",
                            "manage_users", "manage_devices"])
    other = webapi.make_user("r02-user", "hq.r02", ["view_statistics"])
    before = state(demo_db)
    for kind, oid in outside.items():
        problem(r01.get(f"/{kind}/{oid}"), 404)
        if kind == "devices":       # changed by its actions, not by PATCH
            problem(r01.post(f"/devices/{oid}/unassign"), 404)
        else:
            problem(r01.patch(f"/{kind}/{oid}", {"name": "taken over"}), 404)
    problem(r01.get(f"/users/{other.user['id']}"), 404)
    problem(r01.patch(f"/users/{other.user['id']}", {"display_name": "x"}), 404)
    problem(r01.post(f"/users/{other.user['id']}/disable"), 404)
    problem(r01.delete(f"/users/{other.user['id']}"), 404)
    problem(r01.delete(f"/alert-recipients/{outside['alert-recipients']}"), 404)
    # ids that are not ids
    for bad in ("0", "-1", "99999999999999999999", "1e3", "1;DROP TABLE staff", "%2e%2e"):
        r = r01.get(f"/staff/{bad}")
        assert r.status_code in (400, 404), (bad, r.status_code)
    assert state(demo_db) == before
    serving(webapi)


# --- CSRF and CORS -------------------------------------------------------------------

def test_cross_site_requests_are_refused(webapi, demo_db, servers):
    admin = webapi.admin
    own = f"http://127.0.0.1:{webapi.port}"
    node = {"parent": "hq.r01", "code": "b0300", "name": "x", "kind": "branch"}
    login = json.dumps({"login": "admin", "password": ADMIN_PASSWORD})
    victim = webapi.make_user("csrf-victim", "hq.r01", ["view_statistics"])
    r = redis.Redis.from_url(servers.redis.url(13))
    sessions = len(r.keys("eqms:session:*"))
    before = state(demo_db)
    # a form's login (enctype text/plain) and a form post with a stolen token
    for ctype in ("text/plain", "application/x-www-form-urlencoded",
                  "multipart/form-data; boundary=x"):
        p = problem(webapi.client().request("POST", "/sessions", data=login,
                                            headers={"Content-Type": ctype}), 403)
        assert "application/json" in p["detail"]
        p = problem(admin.request("POST", "/nodes", data=json.dumps(node),
                                  headers={"Content-Type": ctype}), 403)
    # another origin, even with JSON and the token
    for origin in ("https://evil.example", "null", f"http://127.0.0.1:{webapi.port + 1}"):
        p = problem(admin.post("/nodes", node, headers={"Origin": origin}), 403)
        assert "origin" in p["detail"]
        problem(webapi.client().post("/sessions", json.loads(login),
                                     headers={"Origin": origin}), 403)
        problem(admin.delete(f"/users/{victim.user['id']}", headers={"Origin": origin}), 403)
    problem(admin.delete("/sessions/current", headers={"Sec-Fetch-Site": "cross-site"}), 403)
    # nothing changed: no node, no session, no audit entry (not even a failed login)
    assert state(demo_db) == before
    assert len(r.keys("eqms:session:*")) == sessions
    assert admin.get("/me").status_code == 200
    # the same origin (the console served by web-api) and machine clients pass
    assert admin.post("/nodes", node, headers={"Origin": own,
                                               "Sec-Fetch-Site": "same-origin"}).status_code == 201
    assert webapi.client().post("/sessions", json.loads(login)).status_code == 201
    # reads are never refused, and get no CORS headers for an unknown origin
    r2 = admin.get("/me", headers={"Origin": "https://evil.example"})
    assert r2.status_code == 200
    assert "Access-Control-Allow-Origin" not in r2.headers
    serving(webapi)


def test_cors_allows_only_configured_origins(demo_db, start_bin, run_bin, servers):
    allowed = "https://console.example.com"
    api = WebApi(start_bin, run_bin, demo_db, servers.redis.url(13),
                 EQMS_WEBAPI_CORS_ORIGINS=f"{allowed}, http://localhost:5173")
    admin = api.admin
    c = api.client()
    # the allowed origin's preflight, its request and its answer's headers
    r = c.request("OPTIONS", "/nodes", headers={
        "Origin": allowed, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status_code == 204, r.text
    assert r.headers["Access-Control-Allow-Origin"] == allowed
    assert set(r.headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "HEAD", "POST"}
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    assert "Content-Type" in r.headers["Access-Control-Allow-Headers"]
    assert r.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in r.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in r.headers
    r = admin.post("/nodes", {"parent": "hq.r01", "code": "b0400", "name": "x",
                              "kind": "branch"}, headers={"Origin": allowed})
    assert r.status_code == 201, r.text
    assert r.headers["Access-Control-Allow-Origin"] == allowed
    assert "ETag" in r.headers["Access-Control-Expose-Headers"]
    r = admin.get("/me", headers={"Origin": "http://localhost:5173"})
    assert r.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    # refused: another origin, a method the path lacks, a header not allowed
    before = state(demo_db)
    for origin, method, headers in (("https://evil.example", "POST", "content-type"),
                                    ("https://console.example.com.evil.example", "GET", ""),
                                    (allowed, "DELETE", ""),
                                    (allowed, "POST", "x-custom")):
        h = {"Origin": origin, "Access-Control-Request-Method": method}
        if headers:
            h["Access-Control-Request-Headers"] = headers
        r = c.request("OPTIONS", "/nodes", headers=h)
        problem(r, 403)
        assert "Access-Control-Allow-Methods" not in r.headers
        assert origin == allowed or "Access-Control-Allow-Origin" not in r.headers
    r = admin.get("/me", headers={"Origin": "https://evil.example"})
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers
    problem(admin.post("/nodes", {"parent": "hq.r01", "code": "b0401", "name": "x",
                                  "kind": "branch"},
                       headers={"Origin": "https://evil.example"}), 403)
    assert state(demo_db) == before
    serving(api)


def test_bad_cors_configuration_is_refused_at_start(demo_db, run_bin, servers):
    for origins in ("*", "https://console.example.com/app", "console.example.com"):
        res = run_bin("web-api", [], env={"EQMS_PG_CONNINFO": demo_db.conninfo,
                                          "EQMS_WEBAPI_CORS_ORIGINS": origins,
                                          "EQMS_REDIS_URL": servers.redis.url(13)}, timeout=30)
        assert res.returncode == 2, res.stderr
        assert "EQMS_WEBAPI_CORS_ORIGINS" in res.stderr and "not an origin" in res.stderr


# --- static files ---------------------------------------------------------------------

def test_static_files_and_traversal(demo_db, start_bin, run_bin, servers, tmp_path):
    www = tmp_path / "www"
    (www / "assets").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("TOP-SECRET")
    (www / "index.html").write_text("<!doctype html><title>EQMS console</title>")
    (www / "assets" / "app.3f9a.js").write_text("console.log('eqms');" * 200)
    (www / "assets" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (www / ".env").write_text("TOP-SECRET")
    (www / "leak").symlink_to(tmp_path / "secret.txt")
    (www / "assets" / "up").symlink_to(tmp_path)
    api = WebApi(start_bin, run_bin, demo_db, servers.redis.url(13),
                 EQMS_WEBAPI_STATIC_DIR=str(www))
    base = api.base
    r = requests.get(base + "/")
    assert r.status_code == 200 and "EQMS console" in r.text
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Cache-Control"] == "no-cache" and r.headers["ETag"]
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert requests.get(base + "/", headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
    r = requests.get(base + "/halls/hq.r01.b0001/monitor")
    assert r.status_code == 200 and "EQMS console" in r.text
    r = requests.get(base + "/assets/app.3f9a.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.text.startswith("console.log")
    assert r.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert r.headers["Content-Encoding"] == "gzip"
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    r = requests.get(base + "/assets/logo.png", headers={"Accept-Encoding": "gzip"})
    assert r.headers["Content-Type"] == "image/png" and "Content-Encoding" not in r.headers
    assert r.content.startswith(b"\x89PNG")
    problem(requests.get(base + "/assets/missing.js"), 404)
    problem(requests.get(base + "/api/v1/nothing"), 404)
    r = requests.head(base + "/")
    assert r.status_code == 200 and r.content == b""
    # the API is still the API
    assert api.admin.get("/me").status_code == 200
    problem(requests.post(base + "/halls/1", json={}), 404)

    for target in (b"/../secret.txt", b"/assets/../../secret.txt", b"/%2e%2e/secret.txt",
                   b"/%2E%2E%2Fsecret.txt", b"/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
                   b"/..%5csecret.txt", b"/assets\\..\\..\\secret.txt", b"/index.html%00",
                   b"/leak", b"/assets/up/secret.txt", b"/.env", b"/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                   b"/....//....//secret.txt", b"/assets/%252e%252e/secret.txt",
                   b"/%c0%ae%c0%ae/secret.txt", b"/assets/up/www/.env", b"/assets/up"):
        status, head, body = raw(api.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n"
                                 b"Connection: close\r\n\r\n")
        assert status in (400, 404), (target, status, head)
        assert b"TOP-SECRET" not in body and b"root:" not in body, target
    # a path of the app is a page, never a file outside
    status, _, body = raw(api.port, b"GET //etc/passwd HTTP/1.1\r\nHost: x\r\n"
                          b"Connection: close\r\n\r\n")
    assert status == 200 and b"EQMS console" in body
    r = requests.get(base + "/")
    assert r.status_code == 200
