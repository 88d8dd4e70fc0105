"""web-api's operations against the real eqms-web-api with a real queue-manager,
PostgreSQL and Redis: tickets, window actions and the live hall through
queue-manager, and sms-notifier's alerts."""

import pytest

from conftest import wait_for
from qm_client import start_qm
from servers import free_port
from webapi import WebApi, make_alert, problem

B1 = "hq.r01.b0001"      # inside hq.r01
B3 = "hq.r02.b0003"      # outside it
OPS = ["issue_tickets", "operate_windows", "view_live_hall"]


def q(db, sql, *args):
    with db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None


def window(db, branch, n=0):
    return q(db, """SELECT w.id FROM service_window w JOIN org_node n ON n.id = w.node_id
                    WHERE n.path = %s::ltree ORDER BY w.number""", branch)[n][0]


def teller(db, branch):
    return q(db, """SELECT s.id FROM staff s JOIN org_node n ON n.id = s.node_id
                    WHERE n.path = %s::ltree AND s.active ORDER BY s.id""", branch)[0][0]


@pytest.fixture
def api(demo_db, bus, start_bin, run_bin, servers):
    _, endpoint, _ = start_qm(start_bin, demo_db, bus)
    return WebApi(start_bin, run_bin, demo_db, servers.redis.url(13),
                  EQMS_QM_ENDPOINT=endpoint)


def test_a_ticket_issued_and_called_through_the_api_is_in_the_branch_state(api, demo_db):
    user = api.make_user("teller1", "hq.r01", OPS)
    r = user.post(f"/branches/{B1}/tickets", {"service_code": "cash", "class": "vip"})
    assert r.status_code == 201, r.text
    ticket = r.json()["ticket"]
    assert r.headers["Location"] == f"/api/v1/branches/{B1}/tickets/{ticket['id']}"
    assert ticket["state"] == "waiting" and r.json()["position"] == 0
    w = window(demo_db, B1)
    assert user.post(f"/windows/{w}/open").status_code == 200
    r = user.post(f"/windows/{w}/login", {"staff": teller(demo_db, B1)})
    assert r.status_code == 200, r.text
    r = user.post(f"/windows/{w}/call-next")
    assert r.status_code == 200, r.text
    assert r.json()["ticket"]["number"] == ticket["number"]
    assert r.json()["window"]["current"] == ticket["number"]
    state = user.get(f"/branches/{B1}/state")
    assert state.status_code == 200 and state.headers["ETag"]
    mine = [x for x in state.json()["windows"] if x["id"] == w][0]
    assert mine["current"] == ticket["number"] and mine["state"] == "open"
    assert state.json()["display"][0]["number"] == ticket["number"]
    # named for screens without configuration permissions: the teller, the
    # window's device with its live state, the queues
    (name,), = q(demo_db, "SELECT name FROM staff WHERE id = %s", teller(demo_db, B1))
    assert mine["staff_name"] == name
    serial = q(demo_db, "SELECT serial FROM device WHERE window_id = %s", w)
    assert mine["device"] == ({"serial": serial[0][0], "status": "unknown", "since": None}
                              if serial else None)
    names = dict(q(demo_db, "SELECT id, name FROM queue"))
    assert all(x["name"] == names[x["id"]] for x in state.json()["queues"])
    got = user.get(f"/branches/{B1}/tickets/{ticket['number']}")
    assert got.status_code == 200 and got.json()["ticket"]["state"] == "called"
    assert got.json()["ticket"]["id"] == ticket["id"]
    # pause needs a reason; then the window refuses calls (409 with the code)
    problem(user.post(f"/windows/{w}/pause", {}), 400)
    assert user.post(f"/windows/{w}/start").status_code == 200
    assert user.post(f"/windows/{w}/finish").status_code == 200
    assert user.post(f"/windows/{w}/pause", {"reason": "午休"}).json()["window"]["state"] == "paused"
    body = problem(user.post(f"/windows/{w}/call-next"), 409)
    assert body["error"] == "window_paused" and body["type"] == "urn:eqms:problem:queue-manager-refused"
    # every action is in the audit log, with who did it
    audit = api.admin.get("/audit", params={"object_type": "window", "object_id": str(w)})
    actions = [a["action"] for a in audit.json()["items"]]
    for a in ("window.open", "window.login", "window.call_next", "window.finish",
              "window.pause"):
        assert a in actions, actions
    issued = api.admin.get("/audit", params={"action": "ticket.issue"}).json()["items"]
    assert issued[0]["object_id"] == ticket["id"] and issued[0]["actor"]["name"] == "teller1"


def test_an_unknown_ticket_is_404_and_refusals_are_mapped(api, demo_db):
    user = api.make_user("teller2", "hq.r01", OPS)
    body = problem(user.get(f"/branches/{B1}/tickets/Z999"), 404)
    assert body["error"] == "unknown_ticket"
    problem(user.get(f"/branches/{B1}/tickets/not-a-ticket"), 404)
    body = problem(user.post(f"/branches/{B1}/tickets", {"service_code": "nosuch"}), 422)
    assert body["error"] == "unknown_service"
    problem(user.post(f"/branches/{B1}/tickets", {"service_code": "cash", "service": 1}), 400)
    problem(user.post(f"/branches/{B1}/tickets", {"service_code": "cash", "x": 1}), 400)
    w = window(demo_db, B1, 1)
    assert problem(user.post(f"/windows/{w}/call-next"), 409)["error"] == "window_closed"
    problem(user.post(f"/windows/{w}/transfer", {"to": "nowhere", "target": 1}), 400)
    problem(user.post("/windows/99999/open"), 404)
    problem(user.get("/branches/hq.r01/state"), 404)          # a region, not a branch


def test_outside_the_subtree_is_404_and_changes_nothing(api, demo_db):
    user = api.make_user("teller3", "hq.r01", OPS)
    w = window(demo_db, B3)
    before = api.admin.get(f"/branches/{B3}/state").json()
    assert "no such window" in problem(user.post(f"/windows/{w}/open"), 404)["detail"]
    assert "no such branch" in problem(user.get(f"/branches/{B3}/state"), 404)["detail"]
    problem(user.post(f"/branches/{B3}/tickets", {"service_code": "cash"}), 404)
    after = api.admin.get(f"/branches/{B3}/state").json()
    assert [x["state"] for x in after["windows"]] == [x["state"] for x in before["windows"]]
    assert after["queues"] == before["queues"]
    assert api.admin.get("/audit", params={"object_type": "window",
                                            "object_id": str(w)}).json()["items"] == []


def test_no_answer_from_queue_manager_is_an_unknown_outcome(demo_db, start_bin, run_bin, servers):
    api = WebApi(start_bin, run_bin, demo_db, servers.redis.url(13),
                 EQMS_QM_ENDPOINT=f"tcp://127.0.0.1:{free_port()}",
                 EQMS_WEBAPI_QM_TIMEOUT_MS="300")
    user = api.make_user("teller4", "hq.r01", OPS)
    w = window(demo_db, B1)
    body = problem(user.post(f"/windows/{w}/call-next"), 504)
    assert body["type"] == "urn:eqms:problem:outcome-unknown"
    assert body["check"] == f"GET /api/v1/branches/{B1}/state"
    assert "not repeat it blindly" in body["detail"]
    # a read changes nothing: plain 504, try again
    body = problem(user.get(f"/branches/{B1}/state"), 504)
    assert body["type"] == "about:blank" and "nothing was changed" in body["detail"]
    audit = api.admin.get("/audit", params={"action": "window.call_next"}).json()["items"]
    assert audit[0]["detail"]["outcome"] == "unknown"


# --- configuration reaching the running queue-manager ------------------------------


def service_id(db, branch, code):
    return q(db, """SELECT s.id FROM service s JOIN org_node n ON n.id = s.node_id
                    WHERE s.code = %s AND n.path @> %s::ltree""", code, branch)[0][0]


def test_a_new_window_and_a_new_profile_reach_queue_manager_at_once(demo_db, bus, start_bin,
                                                                     run_bin, servers):
    """Issue 14 item 4: queue-manager reads windows from the database only
    every EQMS_QM_REFRESH_S (3600 here); a window added through the API, and
    the work profile set on it, are used a moment later because web-api's
    registry snapshot of the branch tells queue-manager to read them."""
    _, endpoint, _ = start_qm(start_bin, demo_db, bus, EQMS_QM_REFRESH_S=3600)
    api = WebApi(start_bin, run_bin, demo_db, servers.redis.url(13), EQMS_QM_ENDPOINT=endpoint,
                 EQMS_BUS_PUB=bus.xsub, EQMS_BUS_SUB=bus.xpub)
    user = api.make_user("teller9", "hq.r01", OPS + ["manage_configuration", "manage_queues"])
    r = user.post("/windows", {"branch": B1, "number": 31, "name": "31号窗口"})
    assert r.status_code == 201, r.text
    w = r.json()["id"]
    wait_for(lambda: user.post(f"/windows/{w}/open").status_code == 200, timeout=5)
    assert user.post(f"/windows/{w}/login", {"staff": teller(demo_db, B1)}).status_code == 200
    # the new window serves every service; a profile limits it to one
    cash, other = service_id(demo_db, B1, "cash"), q(
        demo_db, """SELECT s.id FROM service s JOIN org_node n ON n.id = s.node_id
                    WHERE s.code <> 'cash' AND s.active AND n.path @> %s::ltree
                    ORDER BY s.id LIMIT 1""", B1)[0][0]
    r = user.request("PUT", f"/windows/{w}/profile",
                     json={"profile": f"strict;vip=1;ordinary=1;services={other}"})
    assert r.status_code == 200, r.text
    # the window's own profile_set (made with it) came first: wait for the new one
    wait_for(lambda: q(demo_db, """SELECT count(*) FROM ticket_event
                                   WHERE window_id = %s AND kind = 'profile_set'
                                     AND detail LIKE %s""", w, f"%services={other}")[0][0],
             timeout=5)
    first = user.post(f"/branches/{B1}/tickets", {"service": cash}).json()["ticket"]
    second = user.post(f"/branches/{B1}/tickets", {"service": other}).json()["ticket"]
    r = user.post(f"/windows/{w}/call-next")
    assert r.status_code == 200, r.text
    assert r.json()["ticket"]["number"] == second["number"] != first["number"]
    # a change of another window sets that one only (it is renamed at once)
    mine = "SELECT count(*) FROM ticket_event WHERE window_id = %s"
    before = q(demo_db, mine, w)[0][0]
    other_w = window(demo_db, B1)
    assert user.patch(f"/windows/{other_w}", {"name": "综合窗口"}).status_code == 200
    wait_for(lambda: q(demo_db, """SELECT count(*) FROM ticket_event WHERE window_id = %s
                                   AND kind = 'window_set'""", other_w)[0][0], timeout=5)
    assert q(demo_db, mine, w)[0][0] == before


# --- alerts -------------------------------------------------------------------------


def test_alerts_listed_acknowledged_resolved_with_events(api, demo_db):
    inside, outside = make_alert(demo_db, B1), make_alert(demo_db, B3)
    sup = api.make_user("sup1", "hq.r01", ["view_live_hall", "manage_alerts"])
    items = sup.get("/alerts").json()["items"]
    assert [a["id"] for a in items] == [inside]
    assert items[0]["facts"]["option"] == "不满意"           # no view_complaints
    assert sup.get(f"/alerts/{inside}").json()["events"][0]["kind"] == "opened"
    problem(sup.get(f"/alerts/{outside}"), 404)
    problem(sup.post(f"/alerts/{outside}/acknowledge", {"note": "x"}), 404)
    assert q(demo_db, "SELECT state FROM alert WHERE id = %s", outside)[0][0] == "open"
    r = sup.post(f"/alerts/{inside}/acknowledge", {"note": "在处理"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "acknowledged" and r.json()["acknowledged_by"] == "sup1"
    assert r.json()["events"][-1] == dict(r.json()["events"][-1], kind="acknowledged",
                                          actor="sup1", note="在处理")
    problem(sup.post(f"/alerts/{inside}/resolve", {"root_cause": "   "}), 400)
    r = sup.post(f"/alerts/{inside}/resolve", {"root_cause": "柜员已培训"})
    assert r.json()["state"] == "resolved" and r.json()["events"][-1]["note"] == "柜员已培训"
    assert problem(sup.post(f"/alerts/{inside}/acknowledge", {}), 409)
    assert [a["id"] for a in sup.get("/alerts", params={"state": "resolved"}).json()["items"]] == [inside]
    assert sup.get("/alerts", params={"state": "open"}).json()["items"] == []
    problem(sup.get("/alerts", params={"state": "gone"}), 400)
    problem(sup.get("/alerts", params={"from": "2026-13-40"}), 400)
    problem(sup.get("/alerts", params={"node": "hq.r02"}), 404)
    audit = api.admin.get("/audit", params={"object_type": "alert", "object_id": inside})
    assert [a["action"] for a in audit.json()["items"]] == ["alert.resolve", "alert.acknowledge"]
    # reading only: acknowledging needs manage_alerts
    viewer = api.make_user("viewer1", "hq.r01", ["view_live_hall"])
    assert "manage_alerts" in problem(viewer.post(f"/alerts/{inside}/acknowledge", {}), 403)["detail"]


def test_complaint_detail_only_with_view_complaints(api, demo_db):
    aid = make_alert(demo_db, B1, option="业务不熟")
    plain = api.make_user("plain1", "hq.r01", ["view_live_hall"])
    full = api.make_user("full1", "hq.r01", ["view_live_hall", "view_complaints"])
    assert plain.get(f"/alerts/{aid}").json()["facts"]["option"] == "不满意"
    assert plain.get("/alerts").json()["items"][0]["facts"]["option"] == "不满意"
    assert full.get(f"/alerts/{aid}").json()["facts"]["option"] == "业务不熟"
    assert full.get("/alerts").json()["items"][0]["facts"]["teller"] == "张三"


def test_alert_pages_follow_the_cursor(api, demo_db):
    ids = {make_alert(demo_db, B1) for _ in range(5)}
    user = api.make_user("pager1", "hq.r01", ["view_live_hall"])
    seen, cursor = [], None
    while True:
        page = user.get("/alerts", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 5 and set(seen) == ids


def test_a_branch_services_are_those_usable_there_for_its_kiosk(api, demo_db):
    """GET /branches/{branch}/services: the active services of the branch and
    the nodes above it, for a kiosk's token (issue_tickets alone)."""
    kiosk = api.make_user("kiosk1", B1, ["issue_tickets"])
    r = kiosk.get(f"/branches/{B1}/services")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["branch"] == B1
    codes = [s["code"] for s in body["services"]]
    # the bank's services and 华东区's foreign exchange, by id
    assert "cash" in codes and "fx_exchange" in codes, codes
    assert [s["id"] for s in body["services"]] == sorted(s["id"] for s in body["services"])
    cash = next(s for s in body["services"] if s["code"] == "cash")
    assert cash["name"] == "个人存取款" and cash["prefix"] == "A" and cash["active"]
    # an inactive service is not offered
    q(demo_db, "UPDATE service SET active = false WHERE code = 'card'")
    codes = [s["code"] for s in kiosk.get(f"/branches/{B1}/services").json()["services"]]
    assert "card" not in codes and "cash" in codes
    # 华南区's branch sees no 华东区 service; outside the subtree is 404
    other = api.make_user("kiosk3", B3, ["view_live_hall"])
    codes = [s["code"] for s in other.get(f"/branches/{B3}/services").json()["services"]]
    assert "fx_exchange" not in codes and "cash" in codes
    problem(kiosk.get(f"/branches/{B3}/services"), 404)
    problem(api.make_user("cfg1", B1, ["manage_queues"]).get(f"/branches/{B1}/services"), 403)
