"""web-api's identity and access (issue 14 item 3), through the REST API of a
real eqms-web-api on PostgreSQL and Redis: logins and lockout, forced password
changes, sessions ended, API tokens, subtree scoping and delegated
administration."""
import datetime
import hashlib
import time

import redis

from conftest import _run
from webapi import ADMIN_PASSWORD, USER_PASSWORD, WebApi, problem


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_login_me_logout(webapi):
    r = webapi.client().post("/sessions", {"login": "ADMIN", "password": ADMIN_PASSWORD})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["token"].startswith("eqs_") and len(body["token"]) == 47
    assert body["token_type"] == "Bearer" and body["must_change_password"] is False
    assert body["user"]["login"] == "admin"
    assert parse_time(body["expires_at"]) > datetime.datetime.now(datetime.timezone.utc)
    me = webapi.client(body["token"])
    r = me.get("/me")
    assert r.status_code == 200
    assert r.json()["kind"] == "session" and r.json()["node"] == "hq"
    assert "manage_users" in r.json()["permissions"]
    assert me.delete("/sessions/current").status_code == 204
    problem(me.get("/me"), 401)
    # unknown logins and wrong passwords answer alike
    a = problem(webapi.client().post("/sessions", {"login": "nobody", "password": "x"}), 401)
    b = problem(webapi.client().post("/sessions", {"login": "admin", "password": "x"}), 401)
    assert a["detail"] == b["detail"] == "the login or the password is wrong"
    # no token, a malformed one, a made-up one
    r = webapi.client().get("/me")
    problem(r, 401)
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    problem(webapi.client("nonsense").get("/me"), 401)
    problem(webapi.client("eqs_" + "A" * 43).get("/me"), 401)


def test_lockout_with_its_unlock_time_then_unlocked(demo_db, start_bin, servers):
    api = WebApi(start_bin, _run, demo_db, servers.redis.url(13),
                 EQMS_WEBAPI_LOCKOUT_FAILURES="5", EQMS_WEBAPI_LOCKOUT_S="3")
    api.make_user("bob", "hq.r01.b0001", ["view_statistics"])
    for _ in range(4):
        problem(api.client().post("/sessions", {"login": "bob", "password": "wrong"}), 401)
    before = datetime.datetime.now(datetime.timezone.utc)
    r = api.client().post("/sessions", {"login": "bob", "password": "wrong"})
    locked = problem(r, 429)
    assert locked["type"] == "urn:eqms:problem:account-locked"
    until = parse_time(locked["locked_until"])
    assert before + datetime.timedelta(seconds=2) <= until <= before + datetime.timedelta(seconds=5)
    assert locked["locked_until"] in locked["detail"]
    assert 1 <= int(r.headers["Retry-After"]) <= 3
    # locked: even the right password is refused, with the same time
    again = problem(api.client().post("/sessions", {"login": "bob", "password": USER_PASSWORD}), 429)
    assert again["locked_until"] == locked["locked_until"]
    # the administrator sees the lock
    users = api.admin.get("/users").json()["items"]
    assert [u["locked_until"] for u in users if u["login"] == "bob"] == [locked["locked_until"]]
    time.sleep(max(0.0, (until - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) + 0.2)
    api.login("bob", USER_PASSWORD)
    actions = [a["action"] for a in api.admin.get("/audit", params={"object_type": "user"}).json()["items"]]
    assert "user.lock" in actions and actions.count("session.login_failed") >= 4


def test_admin_reset_forces_a_change_which_ends_other_sessions(webapi):
    carol = webapi.make_user("carol", "hq.r01", ["view_statistics"])
    other = webapi.login("carol", "User-Pass-2024!")
    uid = carol.user["id"]
    assert webapi.admin.post(f"/users/{uid}/password-reset",
                             {"temporary_password": "Temp-Pass-9999"}).status_code == 204
    # the reset ended every session of hers
    problem(carol.get("/me"), 401)
    problem(other.get("/me"), 401)
    problem(webapi.client().post("/sessions", {"login": "carol", "password": USER_PASSWORD}), 401)
    r = webapi.client().post("/sessions", {"login": "carol", "password": "Temp-Pass-9999"})
    assert r.status_code == 201 and r.json()["must_change_password"] is True
    forced = webapi.client(r.json()["token"])
    second = webapi.login("carol", "Temp-Pass-9999")
    # only /me and the change itself until the password is changed
    assert forced.get("/me").json()["must_change_password"] is True
    p = problem(forced.get("/permissions"), 403)
    assert p["type"] == "urn:eqms:problem:password-change-required"
    p = problem(forced.post("/me/password", {"current_password": "Temp-Pass-9999",
                                             "new_password": "short"}), 400)
    assert p["errors"][0]["member"] == "new_password"
    p = problem(forced.post("/me/password", {"current_password": "wrong-one",
                                             "new_password": "Carol-New-2024!"}), 400)
    assert p["errors"][0]["member"] == "current_password"
    assert forced.post("/me/password", {"current_password": "Temp-Pass-9999",
                                        "new_password": "Carol-New-2024!"}).status_code == 204
    # this session goes on, fully; the other one ended
    assert forced.get("/permissions").status_code == 200
    assert forced.get("/me").json()["must_change_password"] is False
    problem(second.get("/me"), 401)
    webapi.login("carol", "Carol-New-2024!")


def test_disable_ends_sessions_enable_and_delete(webapi):
    dave = webapi.make_user("dave", "hq.r02.b0003", ["view_statistics"])
    uid = dave.user["id"]
    r = webapi.admin.post(f"/users/{uid}/disable")
    assert r.status_code == 200 and r.json()["disabled"] is True
    problem(dave.get("/me"), 401)
    p = problem(webapi.client().post("/sessions", {"login": "dave", "password": USER_PASSWORD}), 403)
    assert "disabled" in p["detail"]
    assert webapi.admin.post(f"/users/{uid}/enable").json()["disabled"] is False
    dave = webapi.login("dave", USER_PASSWORD)
    # one cannot disable or delete oneself
    problem(webapi.admin.post(f"/users/{webapi.admin.get('/me').json()['user']['id']}/disable"), 403)
    assert webapi.admin.delete(f"/users/{uid}").status_code == 204
    problem(dave.get("/me"), 401)
    problem(webapi.admin.get(f"/users/{uid}"), 404)
    # kept, disabled and marked, the login still taken
    with webapi.db.cursor() as cur:
        cur.execute("SELECT disabled, deleted_at IS NOT NULL FROM app_user WHERE id = %s", (uid,))
        assert cur.fetchone() == (True, True)
    r = webapi.admin.post("/users", {"login": "dave", "display_name": "Dave 2",
                                     "node": "hq.r02", "password": USER_PASSWORD})
    assert problem(r, 409)["detail"].startswith("this login is taken")


def test_api_token_shown_once_stored_hashed_scoped_and_revoked(webapi, servers):
    admin = webapi.admin
    r = admin.post("/tokens", {"name": "hr-export", "scopes": ["view_statistics", "export"],
                               "node": "hq.r01", "expires_in_days": 30})
    assert r.status_code == 201, r.text
    made = r.json()
    token = made["token"]
    assert token.startswith("eqt_") and made["scopes"] == ["view_statistics", "export"]
    assert r.headers["Location"] == f"/api/v1/tokens/{made['id']}"
    # never shown again
    assert "token" not in admin.get(f"/tokens/{made['id']}").json()
    assert all("token" not in t for t in admin.get("/tokens").json()["items"])
    with webapi.db.cursor() as cur:
        cur.execute("SELECT encode(token_hash, 'hex'), last_used_at FROM api_token WHERE id = %s",
                    (made["id"],))
        stored, used = cur.fetchone()
        cur.execute("SELECT count(*) FROM audit_log WHERE detail::text LIKE %s", (f"%{token}%",))
        assert cur.fetchone()[0] == 0
    assert stored == hashlib.sha256(token.encode()).hexdigest() and used is None
    # it works within its scopes and node; its use is recorded
    machine = webapi.client(token)
    me = machine.get("/me").json()
    assert me["kind"] == "api_token" and me["node"] == "hq.r01"
    assert me["permissions"] == ["view_statistics", "export"]
    problem(machine.get("/users"), 403)
    assert admin.get(f"/tokens/{made['id']}").json()["last_used_at"] is not None
    # Redis holds no usable token either
    r_ = redis.Redis.from_url(servers.redis.url(13))
    assert not any(token.encode() in (r_.dump(k) or b"") for k in r_.keys("*"))
    # revoked: refused at once, the row kept
    assert admin.delete(f"/tokens/{made['id']}").status_code == 204
    problem(machine.get("/me"), 401)
    assert admin.get(f"/tokens/{made['id']}").json()["revoked_at"] is not None
    # scopes beyond the maker's own are refused
    eve = webapi.make_user("eve", "hq.r01", ["manage_api_tokens", "view_statistics"])
    p = problem(eve.post("/tokens", {"name": "x", "scopes": ["view_statistics", "purge_data"],
                                     "expires_in_days": 1}), 403)
    assert "purge_data" in p["detail"]
    p = problem(eve.post("/tokens", {"name": "x", "scopes": ["view_statistics"], "node": "hq.r02",
                                     "expires_in_days": 1}), 403)
    assert "outside your subtree" in p["detail"]
    assert eve.post("/tokens", {"name": "x", "scopes": ["view_statistics"], "node": "hq.r01.b0002",
                                "expires_in_days": 1}).status_code == 201
    # eve sees the tokens of her subtree only: not the head office's
    names = [t["name"] for t in eve.get("/tokens").json()["items"]]
    assert names == ["hr-export", "x"]


def test_subtree_scoping_answers_404_outside(webapi):
    admin = webapi.admin
    r01 = webapi.make_user("frank", "hq.r01", ["manage_users", "read_audit_log"])
    webapi.make_user("gina", "hq.r02.b0003", ["view_statistics"])
    inside = webapi.make_user("hank", "hq.r01.b0002", ["view_statistics"])
    gina_id = [u for u in admin.get("/users").json()["items"] if u["login"] == "gina"][0]["id"]
    role_r02 = [r for r in admin.get("/roles").json()["items"] if r["name"] == "role-gina"][0]
    logins = [u["login"] for u in r01.get("/users").json()["items"]]
    assert logins == ["frank", "hank"]
    assert r01.get(f"/users/{inside.user['id']}").status_code == 200
    for method, path, body in [("GET", f"/users/{gina_id}", None),
                               ("PATCH", f"/users/{gina_id}", {"display_name": "X"}),
                               ("DELETE", f"/users/{gina_id}", None),
                               ("POST", f"/users/{gina_id}/disable", None),
                               ("POST", f"/users/{gina_id}/password-reset",
                                {"temporary_password": "Temp-Pass-9999"}),
                               ("GET", f"/roles/{role_r02['id']}", None),
                               ("DELETE", f"/roles/{role_r02['id']}", None),
                               ("GET", "/users/999999", None)]:
        p = problem(r01.request(method, path, json=body), 404)
        assert "no such" in p["detail"]
    # nothing changed
    assert admin.get(f"/users/{gina_id}").json()["display_name"] == "Gina"
    # the audit log of r01 shows r01's changes only
    nodes = {a["node"] for a in r01.get("/audit", params={"limit": "200"}).json()["items"]}
    assert nodes and all(n.startswith("hq.r01") for n in nodes)


def test_delegated_administration(webapi):
    admin = webapi.admin
    ivan = webapi.make_user("ivan", "hq.r01", ["manage_users", "view_statistics"])
    # roles only inside his subtree, with permissions he holds
    p = problem(ivan.post("/roles", {"name": "x", "node": "hq.r02",
                                     "permissions": ["view_statistics"]}), 403)
    assert "outside your subtree hq.r01" in p["detail"]
    p = problem(ivan.post("/roles", {"name": "x", "node": "hq.r01.b0001",
                                     "permissions": ["view_statistics", "purge_data"]}), 403)
    assert "purge_data" in p["detail"] and "hold" in p["detail"]
    teller = ivan.post("/roles", {"name": "teller", "node": "hq.r01.b0001",
                                  "permissions": ["view_statistics"]})
    assert teller.status_code == 201, teller.text
    teller = teller.json()
    # users only inside his subtree, with roles he may give
    body = {"login": "judy", "display_name": "Judy", "password": USER_PASSWORD,
            "node": "hq.r02.b0003", "roles": []}
    p = problem(ivan.post("/users", body), 403)
    assert "outside your subtree" in p["detail"]
    strong = webapi.make_role("auditor", "hq.r01", ["read_audit_log"])
    p = problem(ivan.post("/users", dict(body, node="hq.r01.b0001", roles=[strong["id"]])), 403)
    assert "read_audit_log" in p["detail"]
    hq_role = webapi.make_role("hq-viewer", "hq", ["view_statistics"])
    p = problem(ivan.post("/users", dict(body, node="hq.r01.b0001", roles=[hq_role["id"]])), 400)
    assert p["errors"][0]["member"] == "roles[0]" and "in your subtree" in p["errors"][0]["reason"]
    p = problem(ivan.post("/users", dict(body, node="hq.r01", roles=[teller["id"]])), 400)
    assert "not the user's node hq.r01 or above it" in p["errors"][0]["reason"]
    r = ivan.post("/users", dict(body, node="hq.r01.b0001", roles=[teller["id"]]))
    assert r.status_code == 201, r.text
    assert r.json()["permissions"] == ["view_statistics"]
    # a user holding more than he does is not his to change; nor a role granting it
    stronger = webapi.make_user("kate", "hq.r01.b0002", ["read_audit_log"])
    p = problem(ivan.post(f"/users/{stronger.user['id']}/disable"), 403)
    assert "read_audit_log" in p["detail"]
    p = problem(ivan.patch(f"/roles/{strong['id']}", {"name": "renamed"}), 403)
    assert "read_audit_log" in p["detail"]
    # the head office administrator may
    assert admin.post(f"/users/{stronger.user['id']}/disable").status_code == 200
    # the audit log names who did what, where
    with webapi.db.cursor() as cur:
        cur.execute("""SELECT a.actor, a.action, n.path::text, a.address::text FROM audit_log a
                       JOIN org_node n ON n.id = a.node_id
                       WHERE a.action IN ('role.create', 'user.create') AND a.actor = 'ivan'
                       ORDER BY a.id""")
        assert cur.fetchall() == [("ivan", "role.create", "hq.r01.b0001", "127.0.0.1/32"),
                                  ("ivan", "user.create", "hq.r01.b0001", "127.0.0.1/32")]


def test_update_user_roles_and_node(webapi):
    admin = webapi.admin
    lena = webapi.make_user("lena", "hq.r01.b0001", ["view_statistics"])
    uid = lena.user["id"]
    r01_role = webapi.make_role("r01-viewer", "hq.r01", ["view_live_hall"])
    r = admin.patch(f"/users/{uid}", {"display_name": "Lena L", "roles": [r01_role["id"]]})
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "Lena L" and r.json()["permissions"] == ["view_live_hall"]
    assert lena.get("/me").json()["permissions"] == ["view_live_hall"]
    # moved under r02: her r01 role does not fit there
    p = problem(admin.patch(f"/users/{uid}", {"node": "hq.r02"}), 400)
    assert p["errors"][0]["member"] == "roles"
    r = admin.patch(f"/users/{uid}", {"node": "hq.r02", "roles": []})
    assert r.status_code == 200 and r.json()["node"] == "hq.r02" and r.json()["roles"] == []
    assert lena.get("/me").json()["node"] == "hq.r02"
    problem(admin.patch(f"/users/{uid}", {}), 400)
    with webapi.db.cursor() as cur:
        cur.execute("""SELECT detail->'before'->>'node', detail->'after'->>'node' FROM audit_log
                       WHERE action = 'user.update' AND object_id = %s ORDER BY id DESC LIMIT 1""",
                    (str(uid),))
        assert cur.fetchone() == ("hq.r01.b0001", "hq.r02")


def test_roles_lifecycle(webapi):
    admin = webapi.admin
    r = admin.get("/permissions").json()["permissions"]
    assert len(r) == 15 and r[0] == "view_statistics"
    role = webapi.make_role("clerk", "hq.r01", ["view_statistics"])
    r = admin.patch(f"/roles/{role['id']}", {"permissions": ["export", "view_statistics", "export"]})
    assert r.status_code == 200 and r.json()["permissions"] == ["view_statistics", "export"]
    problem(admin.post("/roles", {"name": "clerk", "node": "hq.r01", "permissions": []}), 409)
    user = admin.post("/users", {"login": "mia", "display_name": "Mia", "node": "hq.r01",
                                 "password": USER_PASSWORD, "roles": [role["id"]]}).json()
    p = problem(admin.delete(f"/roles/{role['id']}"), 409)
    assert "1 user holds" in p["detail"]
    admin.patch(f"/users/{user['id']}", {"roles": []})
    assert admin.delete(f"/roles/{role['id']}").status_code == 204
    problem(admin.get(f"/roles/{role['id']}"), 404)


def test_strict_decoding_names_the_member(webapi):
    admin = webapi.admin
    good = {"login": "nina", "display_name": "Nina", "node": "hq.r01", "password": USER_PASSWORD}
    cases = [
        (dict(good, nickname="n"), "nickname", "unknown"),
        (dict(good, display_name=7), "display_name", "string"),
        (dict(good, roles=[1.0]), "roles[0]", "integer"),
        ({k: v for k, v in good.items() if k != "node"}, "node", "required"),
    ]
    for body, member, word in cases:
        p = problem(admin.post("/users", body), 400)
        assert any(e.get("member") == member and word in e["reason"] for e in p["errors"]), p
    dup = b'{"login":"nina","login":"nino","display_name":"N","node":"hq","password":"x"}'
    p = problem(admin.request("POST", "/users", data=dup), 400)
    assert "login" in p["detail"] and "duplicate" in p["detail"]
    bad_utf8 = b'{"login":"nina","display_name":"\xff\xfe","node":"hq","password":"x"}'
    p = problem(admin.request("POST", "/users", data=bad_utf8), 400)
    assert "unable to decode byte 0xff" in p["detail"] and "errors" in p
    p = problem(admin.request("POST", "/users", data=b'[1]'), 400)
    assert "object" in p["detail"]
    p = problem(admin.post("/roles", {"name": "r", "permissions": ["fly"]}), 400)
    assert p["errors"][0]["member"] == "permissions[0]"
    # login too: with the member named
    p = problem(webapi.client().post("/sessions", {"login": "admin", "password": 5}), 400)
    assert p["errors"][0]["member"] == "password"
    # query arguments are strict too
    problem(admin.get("/users", params={"limit": "0"}), 400)
    problem(admin.get("/users", params={"sort": "login"}), 400)
    problem(admin.get("/users", params={"cursor": "bm9wZQ"}), 400)
    # oversized bodies
    problem(admin.request("POST", "/users", data=b'{"login":"' + b"x" * 70000 + b'"}'), 413)
    # nothing was made
    assert [u["login"] for u in admin.get("/users").json()["items"]] == ["admin"]


def test_pagination_is_stable_and_complete(webapi):
    admin = webapi.admin
    role = webapi.make_role("viewer", "hq", ["view_statistics"])
    for i in range(7):
        assert admin.post("/users", {"login": f"p{i}", "display_name": f"P {i}", "node": "hq.r01",
                                     "password": USER_PASSWORD, "roles": [role["id"]]}).status_code == 201
    page1 = admin.get("/users", params={"limit": "3"}).json()
    assert len(page1["items"]) == 3 and page1["next_cursor"]
    # a user made meanwhile, and one deleted, do not shift the pages
    admin.delete(f"/users/{page1['items'][0]['id']}")
    admin.post("/users", {"login": "p-late", "display_name": "Late", "node": "hq.r01",
                          "password": USER_PASSWORD})
    seen = [u["login"] for u in page1["items"]]
    cursor = page1["next_cursor"]
    while cursor:
        page = admin.get("/users", params={"limit": "3", "cursor": cursor}).json()
        seen += [u["login"] for u in page["items"]]
        cursor = page["next_cursor"]
    assert seen == ["admin", "p0", "p1", "p2", "p3", "p4", "p5", "p6", "p-late"]
    # the same cursor gives the same page again; another list's cursor is refused
    again = admin.get("/users", params={"limit": "3", "cursor": page1["next_cursor"]}).json()
    assert [u["login"] for u in again["items"]] == ["p2", "p3", "p4"]
    problem(admin.get("/roles", params={"cursor": page1["next_cursor"]}), 400)
    # the audit log pages newest first, without overlap
    a1 = admin.get("/audit", params={"limit": "5"}).json()
    a2 = admin.get("/audit", params={"limit": "5", "cursor": a1["next_cursor"]}).json()
    ids = [a["id"] for a in a1["items"] + a2["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 10


def test_etag_answers_304_until_a_change(webapi):
    admin = webapi.admin
    r = admin.get("/roles")
    etag = r.headers["ETag"]
    assert r.headers["Cache-Control"] == "private, no-cache"
    r = admin.get("/roles", headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b"" and r.headers["ETag"] == etag
    webapi.make_role("new-one", "hq", ["export"])
    r = admin.get("/roles", headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.headers["ETag"] != etag
    # writes carry no ETag and are not cached
    r = admin.post("/roles", {"name": "other", "permissions": []})
    assert "ETag" not in r.headers and r.headers["Cache-Control"] == "no-store"
    for h in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options"):
        assert h in r.headers


def test_health_port_still_answers(webapi):
    import requests
    assert requests.get(f"http://127.0.0.1:{webapi.http_port}/health", timeout=5).status_code == 200
