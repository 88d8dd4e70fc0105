"""web-api keeps the principals it read (a session's user and roles, an API
token's node) in memory between changes (services/web-api/wa_princache.h):
every change of a user, a role, a node or a token made through the API is in
force for the very next request, even with the keeping time set to a minute;
a change made around web-api, in SQL, is seen after the keeping time. The
keeping is shown to have been used (its hits, logged at stop), so the first
test cannot pass by reading the database every time."""
import hashlib
import re
import time

import redis

from conftest import _run, wait_for
from webapi import USER_PASSWORD, WebApi, problem


def kept_hits(api):
    api.proc.stop()
    found = re.search(r"principals_kept_hits=(\d+) misses=(\d+)", api.proc.log())
    assert found, "web-api logged no principals_kept counts at stop"
    return int(found.group(1)), int(found.group(2))


def test_changes_through_the_api_are_in_force_at_once(demo_db, start_bin, servers):
    api = WebApi(start_bin, _run, demo_db, servers.redis.url(13),
                 EQMS_WEBAPI_PRINCIPAL_CACHE_MS="60000")
    admin = api.admin
    role = api.make_role("keeper", "hq.r01", ["view_statistics", "view_live_hall"])
    made = admin.post("/users", {"login": "kate", "display_name": "Kate", "node": "hq.r01",
                                 "password": USER_PASSWORD, "roles": [role["id"]]})
    assert made.status_code == 201, made.text
    uid = made.json()["id"]
    kate = api.login("kate", USER_PASSWORD)
    for _ in range(5):                               # read once, then kept
        assert kate.get("/me").json()["permissions"] == ["view_statistics", "view_live_hall"]

    # a role's permission taken away: refused on the next request
    assert admin.patch(f"/roles/{role['id']}", {"permissions": ["view_live_hall"]}).status_code == 200
    assert kate.get("/me").json()["permissions"] == ["view_live_hall"]
    problem(kate.get("/stats/figures", params={"node": "hq.r01"}), 403)

    # her node moved: her subtree follows at once
    assert admin.patch(f"/users/{uid}", {"node": "hq.r02", "roles": []}).status_code == 200
    me = kate.get("/me").json()
    assert me["node"] == "hq.r02" and me["permissions"] == []

    # a node moved under another: the path of everyone bound to it changes at once
    r03 = admin.post("/nodes", {"parent": "hq", "code": "r03", "name": "Region 3",
                                "kind": "region", "time_zone": "Asia/Shanghai"})
    assert r03.status_code == 201, r03.text
    assert admin.patch(f"/users/{uid}", {"node": "hq.r03"}).status_code == 200
    assert kate.get("/me").json()["node"] == "hq.r03"
    assert admin.patch(f"/nodes/{r03.json()['id']}", {"parent": "hq.r01"}).status_code == 200
    assert kate.get("/me").json()["node"] == "hq.r01.r03"

    # an API token kept, then its node moved and the token revoked
    tok = admin.post("/tokens", {"name": "kept", "scopes": ["view_statistics"],
                                 "node": "hq.r01.r03", "expires_in_days": 1}).json()
    machine = api.client(tok["token"])
    for _ in range(5):
        assert machine.get("/me").json()["node"] == "hq.r01.r03"
    # its row was read once and its lookup cached in Redis (docs/security.md)
    cached = redis.Redis.from_url(servers.redis.url(13))
    assert cached.exists("eqms:session:" + hashlib.sha256(tok["token"].encode()).hexdigest())
    assert admin.patch(f"/nodes/{r03.json()['id']}", {"parent": "hq.r02"}).status_code == 200
    assert machine.get("/me").json()["node"] == "hq.r02.r03"
    assert admin.delete(f"/tokens/{tok['id']}").status_code == 204
    problem(machine.get("/me"), 401)

    hits, misses = kept_hits(api)
    assert hits >= 8, (hits, misses)                 # the repeated reads were kept


def test_a_change_in_sql_is_seen_after_the_keeping_time(demo_db, start_bin, servers):
    api = WebApi(start_bin, _run, demo_db, servers.redis.url(13),
                 EQMS_WEBAPI_PRINCIPAL_CACHE_MS="1000")
    role = api.make_role("sqlrole", "hq.r01", ["view_statistics", "export"])
    user = api.make_user("sam", "hq.r01", ["view_live_hall"])
    assert user.get("/me").json()["permissions"] == ["view_live_hall"]
    with api.db.cursor() as cur:
        cur.execute("INSERT INTO user_role (user_id, role_id) VALUES (%s, %s)",
                    (user.user["id"], role["id"]))
    started = time.monotonic()
    want = ["view_statistics", "view_live_hall", "export"]
    seen = None
    while time.monotonic() - started < 5 and seen != want:
        seen = user.get("/me").json()["permissions"]
        time.sleep(0.05)
    with api.db.cursor() as cur:
        cur.execute("SELECT role_id FROM user_role WHERE user_id = %s", (user.user["id"],))
        roles = cur.fetchall()
    assert seen == want, (seen, roles, role, user.user, api.proc.log()[-3000:])
    assert time.monotonic() - started < 3           # the keeping time plus a margin
    hits, _ = kept_hits(api)
    assert hits >= 1
