"""web-api's statistics against the real eqms-web-api: traffic through a real
queue-manager, placed by a real stats-aggregator, read through the API and
compared with the SQL functions called directly (docs/statistics.md)."""
import datetime
from decimal import Decimal

import psycopg2.extras
import pytest

from conftest import wait_for
from qm_client import Client, start_qm
from test_stats import start_stats
from webapi import WebApi, problem

B1 = "hq.r01.b0001"


def rows(db, sql, *args):
    with db.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(sql, args)
        return [dict(r) for r in cur.fetchall()]


def as_json(value):
    """A value as the API's JSON gives it (numbers read as Decimal)."""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


@pytest.fixture
def traffic(demo_db, bus, start_bin, run_bin, servers):
    _, endpoint, _ = start_qm(start_bin, demo_db, bus)
    start_stats(start_bin, demo_db, bus)
    qm = Client(endpoint)
    w = rows(demo_db, """SELECT w.id FROM service_window w JOIN org_node n ON n.id = w.node_id
                         WHERE n.path = %s::ltree ORDER BY w.number LIMIT 1""", B1)[0]["id"]
    s = rows(demo_db, """SELECT s.id FROM staff s JOIN org_node n ON n.id = s.node_id
                         WHERE n.path = %s::ltree AND s.active ORDER BY s.id LIMIT 1""", B1)[0]["id"]
    for _ in range(3):
        assert qm.call("ticket.issue", service_code="cash")["ok"]
    assert qm.call("window.open", window=w)["ok"]
    assert qm.call("window.login", window=w, staff=s)["ok"]
    for _ in range(2):
        assert qm.call("window.call_next", window=w)["ok"]
        assert qm.call("window.finish", window=w)["ok"]
    node = rows(demo_db, "SELECT id, (now() AT TIME ZONE time_zone)::date AS today FROM org_node"
                         " WHERE path = %s::ltree", B1)[0]
    wait_for(lambda: rows(demo_db, "SELECT served FROM stats_figures(%s, %s, %s)", node["id"],
                          node["today"], node["today"] + datetime.timedelta(days=1))[0]["served"] == 2,
             timeout=30)
    api = WebApi(start_bin, run_bin, demo_db, servers.redis.url(13), EQMS_QM_ENDPOINT=endpoint)
    qm.close()
    return api, node, w, s


def test_figures_compare_and_rank_are_the_sql_s(traffic, demo_db):
    api, node, w, s = traffic
    user = api.make_user("analyst1", "hq.r01", ["view_statistics"])
    today = node["today"].isoformat()
    tomorrow = (node["today"] + datetime.timedelta(days=1)).isoformat()
    for group in ("none", "service", "teller", "window", "hour_of_day"):
        r = user.get("/stats/figures", params={"node": B1, "from": today, "to": tomorrow,
                                                "group": group})
        assert r.status_code == 200, r.text
        got = r.json(parse_float=Decimal)["rows"]
        want = rows(demo_db, "SELECT * FROM stats_figures(%s, %s, %s, %s)", node["id"], today,
                    tomorrow, group)
        assert got == [{k: as_json(v) for k, v in x.items()} for x in want], group
    r = user.get("/stats/figures", params={"node": B1, "from": today, "to": tomorrow})
    figures = r.json()["rows"][0]
    assert figures["issued"] == 3 and figures["served"] == 2
    assert isinstance(figures["wait_avg_s"], (int, float))
    assert figures["satisfaction"] is None                 # nobody rated: a ratio over 0
    # the whole region: the same counts from above
    region = user.get("/stats/figures", params={"from": today, "to": tomorrow}).json()
    assert region["node"] == "hq.r01" and region["rows"][0]["issued"] == 3
    # comparisons
    r = user.get("/stats/compare", params={"node": B1, "from": today, "to": tomorrow})
    periods = r.json(parse_float=Decimal)["periods"]
    assert [p["period"] for p in periods] == ["current", "previous", "year_before"]
    want = rows(demo_db, "SELECT period, from_day, to_day, (figures).* FROM stats_compare(%s, %s, %s)",
                node["id"], today, tomorrow)
    for p in periods:
        w_row = dict([x for x in want if x["period"] == p["period"]][0])
        assert p["from"] == w_row.pop("from_day").isoformat() and p["to"] == w_row.pop("to_day").isoformat()
        w_row.pop("period")
        assert p["rows"] == [w_row]
    # rankings
    r = user.get("/stats/rank", params={"node": B1, "from": today, "to": tomorrow,
                                         "group": "teller", "measure": "served",
                                         "min_sample": 0})
    assert r.status_code == 200, r.text
    want = rows(demo_db, "SELECT * FROM stats_rank(%s, %s, %s, 'teller', 'served', 10, 0)",
                node["id"], today, tomorrow)
    assert r.json(parse_float=Decimal)["items"] == want
    assert r.json()["items"][0]["member"] == s
    problem(user.get("/stats/rank", params={"from": today, "to": tomorrow, "group": "teller",
                                            "measure": "nosuch"}), 400)
    problem(user.get("/stats/figures", params={"from": tomorrow, "to": today}), 400)
    problem(user.get("/stats/figures", params={"from": today}), 400)
    problem(user.get("/stats/figures", params={"from": today, "to": tomorrow,
                                               "node": "hq.r02"}), 404)
    problem(api.make_user("nostats", "hq.r01", ["view_live_hall"]).get(
        "/stats/figures", params={"from": today, "to": tomorrow}), 403)


def test_a_ranking_is_the_figures_ranked_as_the_api_documents(traffic, demo_db):
    """As an integrator reads docs/openapi.yaml, through the API alone: the
    tellers of a region ranked by satisfaction (by its Wilson bound, the
    figures' satisfaction_lower) and, worst first, by unsatisfied ratings,
    among those with 5 ratings or more, ties by the group's key, are
    /stats/figures' rows of the same range ranked so by the client."""
    import random
    import stats_traffic as tr
    api, node, w, s = traffic
    rng = random.Random(12)
    since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2)
    for path in (B1, "hq.r01.b0002"):
        tr.device_facts(rng, demo_db, tr.Branch(demo_db, path), since, 1.5, 150, 0, 0, False)
    wait_for(lambda: tr.caught_up(demo_db), 30)
    user = api.make_user("analyst4", "hq.r01", ["view_statistics"])
    span = {"node": "hq.r01", "from": node["today"].isoformat(),
            "to": (node["today"] + datetime.timedelta(days=1)).isoformat(), "group": "teller"}
    r = user.get("/stats/figures", params=span)
    assert r.status_code == 200, r.text
    figures = r.json(parse_float=Decimal)["rows"]
    assert len([f for f in figures if (f["rated"] or 0) >= 5]) > 5   # more than are kept
    for measure, order, key in (("satisfaction", "top", "satisfaction_lower"),
                                ("unsatisfied", "bottom", "unsatisfied")):
        r = user.get("/stats/rank", params=dict(span, measure=measure, order=order,
                                                 min_sample=5, n=5))
        assert r.status_code == 200, r.text
        got = [(x["rank"], x["member"], x["value"], x["sample"], x["rank_key"])
               for x in r.json(parse_float=Decimal)["items"]]
        ranked = sorted((f for f in figures if (f["rated"] or 0) >= 5 and f[key] is not None),
                        key=lambda f: ((-1 if order == "top" else 1) * f[key], f["grp"]))
        want = [(i + 1, f["member"], f[measure], f["rated"], f[key])
                for i, f in enumerate(ranked[:5])]
        assert got == want, measure


def test_service_details_on_duty_and_a_tellers_sessions(traffic, demo_db):
    api, node, w, s = traffic
    user = api.make_user("analyst2", "hq.r01", ["view_statistics"])
    legs = user.get("/stats/services", params={"node": B1}).json()["items"]
    assert len(legs) == 3
    served = [x for x in legs if x["outcome"] == "served"]
    assert len(served) == 2 and all(x["window"] == w and x["staff"] == s for x in served)
    assert all(x["number"].startswith("A") and x["wait_s"] is not None for x in served)
    page = user.get("/stats/services", params={"limit": 2}).json()
    rest = user.get("/stats/services", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [x["ticket"] for x in page["items"] + rest["items"]] == [x["ticket"] for x in legs]
    assert rest["next_cursor"] is None
    assert len(user.get("/stats/services", params={"outcome": "open"}).json()["items"]) == 1
    assert user.get("/stats/services", params={"window": 99999}).json()["items"] == []
    outsider = api.make_user("analyst3", "hq.r02", ["view_statistics"])
    assert outsider.get("/stats/services").json()["items"] == []
    # on duty and the login history come from rating-ingest's staff sessions
    with demo_db.cursor() as cur:
        cur.execute("""INSERT INTO staff_session (id, staff_id, window_id, login_at, gateway,
                       gateway_incarnation, gateway_seq)
                       VALUES (gen_random_uuid(), %s, %s, now(), 'gw-test', gen_random_uuid(), 1)""",
                    (s, w))
    demo_db.commit()
    duty = user.get("/stats/on-duty", params={"node": B1}).json()["items"]
    assert [(x["staff"], x["window"], x["logout_at"]) for x in duty] == [(s, w, None)]
    assert outsider.get("/stats/on-duty").json()["items"] == []
    sessions = user.get(f"/staff/{s}/sessions").json()["items"]
    assert len(sessions) == 1 and sessions[0]["branch"] == B1
    problem(outsider.get(f"/staff/{s}/sessions"), 404)
    problem(user.get("/staff/99999/sessions"), 404)
    stars = user.get("/stats/stars", params={"node": B1})
    assert stars.status_code == 200 and isinstance(stars.json()["items"], list)


def test_the_tellers_of_a_window(traffic, demo_db):
    """group=teller&window=: the rows of the tellers who served at that window
    in the period, each with all of that teller's figures; the file the same."""
    api, node, w, s = traffic
    (w2,), (s2,) = [tuple(r.values()) for r in rows(
        demo_db, """(SELECT w.id FROM service_window w JOIN org_node n ON n.id = w.node_id
                     WHERE n.path = %s::ltree ORDER BY w.number OFFSET 1 LIMIT 1)
                    UNION ALL
                    (SELECT s.id FROM staff s JOIN org_node n ON n.id = s.node_id
                     WHERE n.path = %s::ltree AND s.active ORDER BY s.id OFFSET 1 LIMIT 1)""",
        B1, B1)]
    # a second teller serves one of the waiting tickets at a second window
    for step, body in (("open", None), ("login", {"staff": s2}), ("call-next", None),
                       ("finish", None)):
        r = api.admin.post(f"/windows/{w2}/{step}", body)
        assert r.status_code == 200, r.text
    today = node["today"].isoformat()
    tomorrow = (node["today"] + datetime.timedelta(days=1)).isoformat()
    query = {"node": B1, "from": today, "to": tomorrow, "group": "teller"}
    user = api.make_user("analyst4", "hq.r01", ["view_statistics", "export"])
    wait_for(lambda: len(user.get("/stats/figures", params=query).json()["rows"]) == 2,
             timeout=30)
    every = user.get("/stats/figures", params=query).json(parse_float=Decimal)["rows"]
    for window, teller in ((w, s), (w2, s2)):
        r = user.get("/stats/figures", params=dict(query, window=window))
        assert r.status_code == 200, r.text
        body = r.json(parse_float=Decimal)
        assert body["window"] == window
        assert body["rows"] == [x for x in every if x["member"] == teller], window
    assert user.get("/stats/figures", params=query).json()["window"] is None
    # the region's tellers of the window: the same teller, from above
    r = user.get("/stats/figures", params=dict(query, node="hq.r01", window=w2))
    assert [x["member"] for x in r.json()["rows"]] == [s2]
    # a period without a service at the window: nobody
    yesterday = (node["today"] - datetime.timedelta(days=1)).isoformat()
    r = user.get("/stats/figures", params=dict(query, window=w, **{"from": yesterday,
                                                                    "to": today}))
    assert r.json()["rows"] == []
    # the file holds the page's rows
    r = user.get("/stats/figures.csv", params=dict(query, window=w))
    assert r.status_code == 200, r.text
    lines = r.content.decode("utf-8-sig").strip().split("\r\n")
    assert len(lines) == 2 and lines[1].split(",")[1] == str(s), lines
    # with another grouping, outside the node, not a window, or no such window
    p = problem(user.get("/stats/figures", params=dict(query, group="window", window=w)), 400)
    assert "group=teller" in p["detail"]
    p = problem(user.get("/stats/figures", params=dict(query, window="x1")), 400)
    assert "window" in p["detail"]
    with demo_db.cursor() as cur:
        cur.execute("""SELECT w.id FROM service_window w JOIN org_node n ON n.id = w.node_id
                       WHERE n.path = 'hq.r01.b0002' LIMIT 1""")
        elsewhere = cur.fetchone()[0]
    problem(user.get("/stats/figures", params=dict(query, window=elsewhere)), 404)
    problem(user.get("/stats/figures", params=dict(query, window=99999999)), 404)
