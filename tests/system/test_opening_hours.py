"""Opening hours, the issue cut-off and the kiosk's service documents (issue
15 item 3; docs/protocol.md "ticket.issue", docs/openapi.yaml "Opening
hours"): the hours in force inherited down the tree by the schema;
queue-manager refusing ticket.issue outside them and past the cut-off with
the time issuing resumes, and following a change at once; web-api's routes
(strict, audited, in the caller's subtree); the kiosk's services with their
documents and whether a ticket can be taken now."""
import datetime

import psycopg2
import pytest

from conftest import BusClient, wait_for
from openinghours import (CLOSED_WEEK, DAYS, HALL, SH, in_force, next_monday, node,
                          past_midnight_edge, q, set_week, stopped_week, utc)
from qm_client import BRANCH, Client, start_qm
from webapi import WebApi, audit_of, members, problem

# the weeks and the times here are Shanghai's (openinghours.SH): the demo's own zones
pytestmark = pytest.mark.real_zones


# --- the schema ------------------------------------------------------------------------


def test_the_hours_in_force_are_inherited_down_the_tree(demo_db):
    db = demo_db
    # nothing set anywhere: no week (always open), the default cut-off
    assert in_force(db, BRANCH) == {"week": None, "week_from": None, "issue_cutoff_min": 30,
                                    "cutoff_from": None, "dates": []}
    # the region's week and the head office's cut-off reach the branch
    set_week(db, "hq.r01", HALL)
    q(db, "INSERT INTO opening_hours (node_id, issue_cutoff_min) VALUES (%s, 20)", node(db, "hq"))
    f = in_force(db, BRANCH)
    assert f["week"] == HALL and f["week_from"] == "hq.r01"
    assert f["issue_cutoff_min"] == 20 and f["cutoff_from"] == "hq"
    assert in_force(db, "hq.r02.b0003")["week"] is None       # another region
    # the branch's own week replaces the region's whole; its cut-off wins
    set_week(db, BRANCH, dict(CLOSED_WEEK, sun=[{"opens": "10:00", "closes": "24:00"}]), cutoff=0)
    f = in_force(db, BRANCH)
    assert f["week"]["sun"] == [{"opens": "10:00", "closes": "24:00"}]
    assert f["week"]["mon"] == [] and f["week_from"] == BRANCH
    assert (f["issue_cutoff_min"], f["cutoff_from"]) == (0, BRANCH)
    # giving it up (own_week false) inherits the region's again
    q(db, "UPDATE opening_hours SET own_week = false WHERE node_id = %s", node(db, BRANCH))
    assert in_force(db, BRANCH)["week_from"] == "hq.r01"
    # special dates: the nearest node naming a date decides; the days ahead only
    (today,), = q(db, "SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date")
    day = datetime.timedelta(days=1)
    for n, d, hours_of, note in (("hq", today + day, None, "国庆节"), ("hq", today + 2 * day, None, ""),
                                 ("hq", today + 60 * day, None, "far"),
                                 (BRANCH, today + 2 * day, 5, "调休")):
        q(db, "INSERT INTO opening_date VALUES (%s, %s, %s, %s)", node(db, n), d, hours_of, note)
    assert in_force(db, BRANCH)["dates"] == [
        {"date": str(today + day), "hours_of": None, "note": "国庆节", "from": "hq"},
        {"date": str(today + 2 * day), "hours_of": "fri", "note": "调休", "from": BRANCH}]
    assert [d["hours_of"] for d in in_force(db, "hq.r01.b0002")["dates"]] == [None, None]
    assert q(db, "SELECT opening_hours_in_force(-1)") == [(None,)]


@pytest.mark.parametrize("sql, constraint", [
    ("INSERT INTO opening_session VALUES (%(n)s, 1, '11:00', '13:00')", "opening_session_overlap"),
    ("INSERT INTO opening_session VALUES (%(n)s, 1, '13:00', '12:30')", "opening_session_order"),
    ("INSERT INTO opening_session VALUES (%(n)s, 7, '13:00:30', '14:00')",
     "opening_session_whole_minutes"),
    ("INSERT INTO opening_session VALUES (%(n)s, 8, '13:00', '14:00')",
     "opening_session_weekday_range"),
    ("INSERT INTO opening_session SELECT %(n)s, 7, t, t + interval '30 minutes'"
     " FROM unnest(ARRAY['08:00', '09:00', '10:00', '11:00', '12:00']::time[]) t",
     "opening_session_count"),
    ("UPDATE opening_hours SET issue_cutoff_min = 241 WHERE node_id = %(n)s",
     "opening_hours_cutoff_range"),
    ("INSERT INTO opening_date VALUES (%(n)s, '2026-10-01', 8, '')", "opening_date_hours_of_range"),
    ("INSERT INTO opening_date VALUES (%(n)s, '2026-10-01', NULL, repeat('节', 33))",
     "opening_date_note_length"),
    ("UPDATE service SET documents = ARRAY['身份证原件', ' '] WHERE code = 'cash'",
     "service_documents_valid"),
    ("UPDATE service SET documents = ARRAY['身份证原件', repeat('证', 41)] WHERE code = 'cash'",
     "service_documents_valid"),
    ("UPDATE service SET documents = array_fill('证'::text, ARRAY[13]) WHERE code = 'cash'",
     "service_documents_valid"),
    ("UPDATE service SET documents = ARRAY[E'身份证\\n原件'] WHERE code = 'cash'",
     "service_documents_valid"),
])
def test_the_database_refuses_what_no_writer_may_keep(demo_db, sql, constraint):
    set_week(demo_db, BRANCH, HALL)
    with pytest.raises(psycopg2.errors.CheckViolation) as e:
        with demo_db.cursor() as cur:
            cur.execute(sql, {"n": node(demo_db, BRANCH)})
    assert e.value.diag.constraint_name == constraint


def test_documents_keep_their_order(demo_db):
    q(demo_db, "UPDATE service SET documents = ARRAY['身份证原件', '户口簿', '结婚证'] WHERE code = 'cash'")
    assert q(demo_db, "SELECT documents FROM service WHERE code = 'cash'") == [
        (["身份证原件", "户口簿", "结婚证"],)]


# --- queue-manager ---------------------------------------------------------------------


def test_queue_manager_issues_only_within_the_hours_and_before_the_cut_off(demo_db, bus,
                                                                          start_bin):
    """queue-manager's clock is set to 11:40 on a Monday in the branch's
    zone; the hall's hours are changed in the database and a registry
    snapshot on the bus has it read them again (the periodic reading is an
    hour away)."""
    db = demo_db
    set_week(db, "hq.r01", HALL)                  # cut-off: the default 30 minutes
    monday = next_monday(11, 40)
    offset = int((monday - datetime.datetime.now(SH)).total_seconds() * 1000)
    _, endpoint, _ = start_qm(start_bin, db, bus, EQMS_CLOCK_OFFSET_MS=offset,
                              EQMS_QM_REFRESH_S=3600)
    c = Client(endpoint)
    notify = BusClient(bus)

    def issue():
        return c.call("ticket.issue", service_code="cash")

    def after_change(error, resumes=None):
        """Publishes the branch's registry snapshot until queue-manager
        answers a ticket.issue with `error` and `resumes` (error None:
        issues it)."""
        def seen():
            notify.publish("registry.snapshot", BRANCH, {"branch": BRANCH})
            r = issue()
            if r["ok"]:
                return r if error is None else None
            return r if (r["error"], r["resumes"]) == (error, resumes) else None
        return wait_for(seen, timeout=10, interval=0.2)

    # 11:40, 20 minutes before the morning closes: stopped until 13:30 today
    r = issue()
    assert not r["ok"] and r["error"] == "issuing_stopped", r
    assert r["resumes"] == utc(monday.replace(hour=13, minute=30)), r
    assert "12:00" in r["reason"] and "13:30" in r["reason"], r
    assert set(r) == {"v", "id", "ok", "error", "reason", "resumes"}
    # only the afternoon on Mondays: closed (lunch), resumes 13:30 all the same
    set_week(db, "hq.r01", dict(HALL, mon=HALL["mon"][1:]))
    r = after_change("closed", utc(monday.replace(hour=13, minute=30)))
    assert "13:30" in r["reason"], r
    # today a holiday: closed, resumes Tuesday 08:30
    q(db, "INSERT INTO opening_date VALUES (%s, %s, NULL, '')", node(db, "hq"), monday.date())
    after_change("closed", utc((monday + datetime.timedelta(days=1)).replace(hour=8, minute=30)))
    # every day closed: nothing in sight
    q(db, "DELETE FROM opening_date")
    set_week(db, "hq.r01", CLOSED_WEEK)
    r = after_change("closed", None)
    assert "not within" in r["reason"], r
    # no ticket was issued, nothing was stored
    assert q(db, "SELECT count(*) FROM ticket") == [(0,)]
    # the hall's hours with a 10-minute cut-off at the branch: issued
    set_week(db, "hq.r01", HALL)
    q(db, "INSERT INTO opening_hours (node_id, issue_cutoff_min) VALUES (%s, 10)", node(db, BRANCH))
    r = after_change(None)
    assert r["ok"] and r["ticket"]["number"] == "A001", r
    # no hours anywhere: always open, as before
    q(db, "DELETE FROM opening_hours")
    r = after_change(None)
    assert r["ticket"]["number"] == "A002", r


# --- web-api -------------------------------------------------------------------------


@pytest.fixture
def hall(demo_db, bus, start_bin, run_bin, servers):
    """queue-manager and web-api on the bus (a change reaches queue-manager
    through the registry snapshot), both on the real clock."""
    _, endpoint, _ = start_qm(start_bin, demo_db, bus, EQMS_QM_REFRESH_S=3600)
    return WebApi(start_bin, run_bin, demo_db, servers.redis.url(13), EQMS_QM_ENDPOINT=endpoint,
                  EQMS_BUS_PUB=bus.xsub, EQMS_BUS_SUB=bus.xpub)


def test_the_opening_hours_of_a_node_in_force_and_where_from(hall, demo_db):
    api, db = hall, demo_db
    region, branch = node(db, "hq.r01"), node(db, BRANCH)
    manager = api.make_user("hours1", "hq.r01", ["manage_queues"])
    r = manager.get(f"/nodes/{branch}/opening-hours")
    assert r.status_code == 200, r.text
    h = r.json()
    assert h["node"] == BRANCH and h["time_zone"] == "Asia/Shanghai"
    assert h["week"] == {"value": None, "effective": None, "from": None}
    assert h["issue_cutoff_min"] == {"value": None, "effective": 30, "from": None}
    assert h["dates"] == [] and h["dates_in_force"] == [] and h["updated_at"] is None
    assert h["issuing"] == {"state": "open", "until": None, "closes_at": None,
                            "resumes_at": None}
    # the region's week, cut-off and a holiday
    holiday = str(datetime.datetime.now(SH).date() + datetime.timedelta(days=3))
    r = manager.patch(f"/nodes/{region}/opening-hours",
                      {"week": HALL, "issue_cutoff_min": 15,
                       "dates": [{"date": holiday, "hours_of": None, "note": "国庆节"}]})
    assert r.status_code == 200, r.text
    assert r.json()["week"]["value"] == HALL and r.json()["issue_cutoff_min"]["value"] == 15
    assert r.json()["issuing"]["state"] in ("open", "closed", "issuing_stopped")
    h = manager.get(f"/nodes/{branch}/opening-hours").json()
    assert h["week"] == {"value": None, "effective": HALL, "from": "hq.r01"}
    assert h["issue_cutoff_min"] == {"value": None, "effective": 15, "from": "hq.r01"}
    assert h["dates"] == []
    assert h["dates_in_force"] == [{"date": holiday, "hours_of": None, "note": "国庆节",
                                    "from": "hq.r01"}]
    # the branch's own cut-off; then null gives it up again; absent keeps
    r = manager.patch(f"/nodes/{branch}/opening-hours", {"issue_cutoff_min": 0})
    assert r.json()["issue_cutoff_min"] == {"value": 0, "effective": 0, "from": BRANCH}
    assert r.json()["week"]["from"] == "hq.r01" and r.json()["updated_at"]
    r = manager.patch(f"/nodes/{branch}/opening-hours", {"issue_cutoff_min": None})
    assert r.json()["issue_cutoff_min"]["from"] == "hq.r01"
    # a make-up day of its own (a Sunday open with Friday's sessions)
    r = manager.patch(f"/nodes/{branch}/opening-hours",
                      {"dates": [{"date": holiday, "hours_of": "fri"}]})
    assert r.json()["dates"] == [{"date": holiday, "hours_of": "fri", "note": ""}]
    assert r.json()["dates_in_force"][0]["from"] == BRANCH
    # every change is audited with what was before and after
    rows = audit_of(api, "opening_hours.update", branch)
    assert len(rows) == 3
    assert rows[0]["detail"]["before"]["dates"] == []
    assert rows[0]["detail"]["after"]["dates"][0]["hours_of"] == "fri"
    # the week given up: the region's again
    r = manager.patch(f"/nodes/{region}/opening-hours", {"week": None})
    assert r.json()["week"] == {"value": None, "effective": None, "from": None}
    assert r.json()["issuing"]["state"] == "open"


@pytest.mark.parametrize("body, status, member", [
    ({}, 400, None),
    ({"week": HALL, "extra": 1}, 400, "extra"),
    ({"week": dict(HALL, mon=None)}, 400, "week.mon"),
    ({"week": {d: HALL[d] for d in DAYS[:6]}}, 400, "week.sun"),
    ({"week": dict(HALL, mon=[{"opens": "08:30"}])}, 400, "week.mon[0].closes"),
    ({"week": dict(HALL, mon=[{"opens": "08:30", "closes": "12:00", "x": 1}])}, 400,
     "week.mon[0].x"),
    ({"week": dict(HALL, mon=[{"opens": "08:30", "closes": "12:00"}] * 5)}, 400, "week.mon"),
    ({"week": dict(HALL, mon=[{"opens": "8:30!", "closes": "12:00"}])}, 422, "week.mon[0].opens"),
    ({"week": dict(HALL, tue=[{"opens": "13:00", "closes": "12:00"}])}, 422, "week.tue[0].closes"),
    ({"week": dict(HALL, wed=[{"opens": "08:00", "closes": "12:00"},
                              {"opens": "11:00", "closes": "14:00"}])}, 422, "week.wed[1].opens"),
    ({"week": dict(HALL, thu=[{"opens": "24:00", "closes": "24:00"}])}, 422, "week.thu[0].opens"),
    ({"issue_cutoff_min": 241}, 400, "issue_cutoff_min"),
    ({"issue_cutoff_min": -1}, 400, "issue_cutoff_min"),
    ({"issue_cutoff_min": "30"}, 400, "issue_cutoff_min"),
    ({"dates": [{"date": "2026-02-30", "hours_of": None}]}, 422, "dates[0].date"),
    ({"dates": [{"date": "2026-10-01", "hours_of": None},
                {"date": "2026-10-01", "hours_of": "mon"}]}, 422, "dates[1].date"),
    ({"dates": [{"date": "2026-10-01"}]}, 400, "dates[0].hours_of"),
    ({"dates": [{"date": "2026-10-01", "hours_of": "holiday"}]}, 400, "dates[0].hours_of"),
    ({"dates": [{"date": "2026-10-01", "hours_of": None, "note": "节" * 33}]}, 400,
     "dates[0].note"),
    ({"dates": None}, 400, "dates"),
])
def test_bad_opening_hours_are_refused_naming_the_member(hall, demo_db, body, status, member):
    branch = node(demo_db, BRANCH)
    before = hall.admin.get(f"/nodes/{branch}/opening-hours").json()
    r = hall.admin.patch(f"/nodes/{branch}/opening-hours", body)
    p = problem(r, status)
    if member:
        assert member in members(p), p
    after = hall.admin.get(f"/nodes/{branch}/opening-hours").json()
    assert after == before
    assert audit_of(hall, "opening_hours.update", branch) == []


def test_the_hours_of_a_node_are_its_subtree_s_and_its_permission_s(hall, demo_db):
    other = node(demo_db, "hq.r02.b0003")
    manager = hall.make_user("hours2", "hq.r01", ["manage_queues"])
    problem(manager.get(f"/nodes/{other}/opening-hours"), 404)
    problem(manager.patch(f"/nodes/{other}/opening-hours", {"issue_cutoff_min": 5}), 404)
    problem(manager.get("/nodes/999999/opening-hours"), 404)
    problem(manager.get("/nodes/abc/opening-hours"), 404)
    config = hall.make_user("hours3", "hq.r01", ["manage_configuration"])
    problem(config.get(f"/nodes/{node(demo_db, BRANCH)}/opening-hours"), 403)
    assert q(demo_db, "SELECT count(*) FROM opening_hours") == [(0,)]


def service_of(body, code):
    return next(s for s in body["services"] if s["code"] == code)


def test_the_kiosk_reads_each_service_with_its_documents_and_whether_it_is_available(hall,
                                                                                    demo_db):
    api, db = hall, demo_db
    branch = node(db, BRANCH)
    kiosk = api.make_user("kiosk9", BRANCH, ["issue_tickets"])
    cash = q(db, "SELECT id FROM service WHERE code = 'cash'")[0][0]
    # the documents a customer brings, in order, on the service routes
    docs = ["居民身份证原件", "银行卡或存折"]
    r = api.admin.patch(f"/services/{cash}", {"documents": docs})
    assert r.status_code == 200 and r.json()["documents"] == docs, r.text
    assert api.admin.get(f"/services/{cash}").json()["documents"] == docs
    problem(api.admin.patch(f"/services/{cash}", {"documents": ["身份证", ""]}), 400)
    problem(api.admin.patch(f"/services/{cash}", {"documents": ["a"] * 13}), 400)
    problem(api.admin.patch(f"/services/{cash}", {"documents": ["证" * 41]}), 400)
    assert members(problem(api.admin.patch(f"/services/{cash}", {"documents": ["  "]}),
                           422)) == ["documents"]
    assert api.admin.get(f"/services/{cash}").json()["documents"] == docs
    # open: no window open yet, so nothing can be taken yet
    body = kiosk.get(f"/branches/{BRANCH}/services").json()
    assert body["issuing"] == {"state": "open", "until": None, "closes_at": None,
                               "resumes_at": None}
    s = service_of(body, "cash")
    assert s["documents"] == docs and service_of(body, "loan")["documents"] == []
    assert (s["available"], s["reason"], s["resumes_at"]) == (False, "no_window", None)
    # a window opens (its default profile serves every service)
    (window,), = q(db, """SELECT w.id FROM service_window w WHERE w.node_id = %s
                          ORDER BY w.number LIMIT 1""", branch)
    assert api.admin.post(f"/windows/{window}/open").status_code == 200
    s = service_of(kiosk.get(f"/branches/{BRANCH}/services").json(), "cash")
    assert (s["available"], s["reason"], s["resumes_at"]) == (True, None, None)
    # past the cut-off: every service unavailable until tomorrow 08:00
    now = past_midnight_edge()
    week, resumes = stopped_week(now)
    r = api.admin.patch(f"/nodes/{branch}/opening-hours", {"week": week})
    assert r.status_code == 200, r.text
    assert r.json()["issuing"]["state"] == "issuing_stopped"
    assert r.json()["issuing"]["resumes_at"] == resumes
    body = kiosk.get(f"/branches/{BRANCH}/services").json()
    assert body["issuing"]["state"] == "issuing_stopped" and body["issuing"]["resumes_at"] == resumes
    for s in body["services"]:
        assert (s["available"], s["reason"], s["resumes_at"]) == (False, "issuing_stopped",
                                                                  resumes), s
    # ... and queue-manager refuses the ticket the same way (told by the snapshot)
    def refused():
        r = kiosk.post(f"/branches/{BRANCH}/tickets", {"service": cash})
        assert r.status_code in (201, 409), r.text
        return r.json() if r.status_code == 409 else None     # (a 409 Response is false)
    p = wait_for(refused, timeout=10)
    assert p["error"] == "issuing_stopped" and p["resumes_at"] == resumes, p
    assert p["type"] == "urn:eqms:problem:queue-manager-refused"
    # a holiday today: closed
    r = api.admin.patch(f"/nodes/{node(db, 'hq')}/opening-hours",
                        {"dates": [{"date": str(now.date()), "hours_of": None, "note": "休"}]})
    assert r.status_code == 200, r.text
    s = service_of(kiosk.get(f"/branches/{BRANCH}/services").json(), "cash")
    assert (s["available"], s["reason"], s["resumes_at"]) == (False, "closed", resumes)
    p = wait_for(lambda: kiosk.post(f"/branches/{BRANCH}/tickets", {"service": cash}).json()
                 .get("error") == "closed", timeout=10)
    # the week given up: available again, and issued
    assert api.admin.patch(f"/nodes/{branch}/opening-hours", {"week": None}).status_code == 200
    assert service_of(kiosk.get(f"/branches/{BRANCH}/services").json(), "cash")["available"]
    r = wait_for(lambda: (lambda r: r.json() if r.status_code == 201 else None)(
        kiosk.post(f"/branches/{BRANCH}/tickets", {"service": cash})), timeout=10)
    assert r["ticket"]["number"].startswith("A")
