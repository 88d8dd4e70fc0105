"""Purges of data actually older than their cut (issue 14 item 8;
docs/backup.md, docs/statistics.md "After a purge") against a real
eqms-web-api and a real stats-aggregator on PostgreSQL: tickets, ratings,
device services, staff sessions and alerts of days 400, 40 and 10 days ago
written the way their owners write them (tests/system/stats_traffic.py; the
old rows land in the tables' DEFAULT partitions, which a purge cuts by the
partition key like any other), placed by the aggregator; a backup, then
purges of a year, a month and a year again: what goes, what stays, the
rollups and the figures of the old days identical, the lists that read raw
data saying where it starts. And the progress of a backup and of a purge of
a larger data set moving while they run."""
import datetime
import random
import time
import uuid
import zoneinfo

import pytest

import stats_traffic as tr
from conftest import wait_for
from test_stats import start_stats
from test_webapi_backup import backup, finished
from test_webapi_stats import rows
from webapi import WebApi

pytestmark = pytest.mark.real_zones     # the days are Shanghai's (ZONE)

B1 = "hq.r01.b0001"               # purged
B2 = "hq.r01.b0002"               # the larger data set of the progress test
OTHER = "hq.r02.b0003"            # another region: never touched
AGES = {"y": 400, "m": 40, "new": 10}
ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")

# The raw rows of a branch by age: 'y' (about 400 days old), 'm' (about 40),
# 'new', and 'open' (no time a purge reads: open sessions, unresolved alerts).
RAW = {
    "ticket_event": "SELECT e.at FROM ticket_event e JOIN org_node n ON n.id = e.branch_id"
                    " WHERE n.path = %s::ltree",
    "ticket": "SELECT t.issued_at FROM ticket t JOIN org_node n ON n.id = t.branch_id"
              " WHERE n.path = %s::ltree",
    "rating": "SELECT event_time FROM rating WHERE branch_path = %s::ltree",
    "service_record": "SELECT r.ended_at FROM service_record r JOIN service_window w"
                      " ON w.id = r.window_id JOIN org_node n ON n.id = w.node_id"
                      " WHERE n.path = %s::ltree",
    "staff_session": "SELECT s.logout_at FROM staff_session s JOIN service_window w"
                     " ON w.id = s.window_id JOIN org_node n ON n.id = w.node_id"
                     " WHERE n.path = %s::ltree",
    "alert": "SELECT CASE WHEN a.state = 'resolved' THEN a.opened_at END FROM alert a"
             " JOIN org_node n ON n.id = a.branch_id WHERE n.path = %s::ltree",
    "alert_event": "SELECT CASE WHEN a.state = 'resolved' THEN e.at END FROM alert_event e"
                   " JOIN alert a ON a.id = e.alert_id JOIN org_node n ON n.id = a.branch_id"
                   " WHERE n.path = %s::ltree",
}


def raw(db, path):
    """{table: {age: rows}} of the branch at `path`."""
    out = {}
    for table, sql in RAW.items():
        got = rows(db, f"""SELECT CASE WHEN t IS NULL THEN 'open'
                                       WHEN t < now() - interval '300 days' THEN 'y'
                                       WHEN t < now() - interval '20 days' THEN 'm'
                                       ELSE 'new' END AS age, count(*) AS n
                           FROM ({sql}) s(t) GROUP BY 1""", path)
        out[table] = {r["age"]: r["n"] for r in got}
    db.commit()
    return out


def day_of(age):
    return datetime.datetime.now(ZONE).date() - datetime.timedelta(days=AGES[age])


def old_alert(db, path, days, state):
    """An alert of `days` ago as sms-notifier leaves one, with its events."""
    aid = str(uuid.uuid4())
    at = datetime.datetime.now(tr.UTC) - datetime.timedelta(days=days)
    with db.cursor() as cur:
        cur.execute("""INSERT INTO alert (id, kind, branch_id, fact, opened_at, state, facts)
                       SELECT %s, 'unsatisfied_rating', id, %s, %s, %s, '{}'::jsonb
                       FROM org_node WHERE path = %s::ltree""", (aid, aid, at, state, path))
        cur.execute("INSERT INTO alert_event (alert_id, at, kind, actor)"
                    " VALUES (%s, %s, 'opened', 'sms-notifier')", (aid, at))
        if state == "resolved":
            cur.execute("INSERT INTO alert_event (alert_id, at, kind, actor)"
                        " VALUES (%s, %s, 'resolved', 'sms-notifier')",
                        (aid, at + datetime.timedelta(minutes=5)))
    db.commit()


@pytest.fixture
def aged(demo_db, bus, start_bin, run_bin, servers, tmp_path):
    """Traffic of days 400, 40 and 10 days ago at B1 and OTHER, placed by a
    running stats-aggregator, behind a web-api keeping backups in tmp_path."""
    rng = random.Random(20261206)
    for path in (B1, OTHER):
        b = tr.Branch(demo_db, path)
        for age in AGES:
            d = day_of(age)
            start = datetime.datetime(d.year, d.month, d.day, 10, tzinfo=ZONE)
            tr.write_ticket_events(demo_db, b, tr.ticket_events(rng, b, start, 4, 16))
            tr.device_facts(rng, demo_db, b, start, 4, 12, 8, 3, False)
            old_alert(demo_db, path, AGES[age], "resolved")
        old_alert(demo_db, path, AGES["y"], "open")      # never resolved: kept
    start_stats(start_bin, demo_db, bus)
    wait_for(lambda: tr.caught_up(demo_db), 60)
    # ratings bound to tickets (a device that knew the ticket): the service
    # list shows them on the legs
    for age in AGES:
        with demo_db.cursor() as cur:
            cur.execute("""WITH l AS (SELECT l.ticket_id, row_number() OVER () AS k
                                      FROM stats_leg l JOIN org_node n ON n.id = l.branch_id
                                      WHERE n.path = %s::ltree AND l.outcome = 1
                                        AND l.start_at::date = %s),
                                r AS (SELECT id, row_number() OVER () AS k FROM rating
                                      WHERE branch_path = %s::ltree
                                        AND event_time::date = %s)
                           UPDATE rating SET ticket_id = l.ticket_id FROM l, r
                           WHERE rating.id = r.id AND l.k = r.k AND l.k <= 4""",
                        (B1, day_of(age), B1, day_of(age)))
            assert cur.rowcount > 0, age
        demo_db.commit()
    api = WebApi(start_bin, run_bin, demo_db, servers.redis.url(11),
                 EQMS_WEBAPI_BACKUP_DIR=str(tmp_path / "backups"))
    return api


def old_figures(client):
    """What the statistics show of the old days, for B1, OTHER and the region."""
    out = {}
    for age in AGES:
        d = day_of(age)
        for node, group in ((B1, "none"), (B1, "teller"), (B1, "hour"), (OTHER, "none"),
                            ("hq.r01", "child")):
            r = client.get("/stats/figures", params={
                "node": node, "from": d.isoformat(),
                "to": (d + datetime.timedelta(days=1)).isoformat(), "group": group})
            assert r.status_code == 200, r.text
            out[age, node, group] = r.json()["rows"]
        r = client.get("/stats/rank", params={
            "node": B1, "from": d.isoformat(), "to": (d + datetime.timedelta(days=1)).isoformat(),
            "group": "window", "measure": "served", "min_sample": 0})
        assert r.status_code == 200, r.text
        out[age, "rank"] = r.json()["items"]
    r = client.get("/stats/compare", params={"node": "hq.r01", "from": day_of("y").isoformat(),
                                              "to": day_of("new").isoformat()})
    assert r.status_code == 200, r.text
    out["compare"] = {k: v for k, v in r.json().items() if k != "as_of"}  # not the instant
    r = client.get("/stats/stars", params={"node": B1})
    assert r.status_code == 200, r.text
    out["stars"] = r.json()
    return out


def legs(client, age):
    """The service list of B1 on the day of `age`: (items, purged_before)."""
    d = day_of(age)
    r = client.get("/stats/services", params={"node": B1, "from": d.isoformat(),
                                               "to": (d + datetime.timedelta(days=1)).isoformat(),
                                               "limit": "200"})
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    return r.json()["items"], r.json()["purged_before"]


def rollups(db):
    """A digest of every rollup row."""
    got = {}
    for table in ("stats_cell", "stats_leg", "stats_star_grade", "stats_node_version"):
        got[table] = rows(db, f"SELECT count(*) AS n, md5(string_agg(t::text, '|' ORDER BY"
                              f" t::text)) AS digest FROM {table} t")[0]
    db.commit()
    return got


def purge(client, node, older_than):
    r = client.post("/purges", {"node": node, "older_than": older_than, "confirm": node})
    assert r.status_code == 202, r.text
    job = finished(client, f"/purges/{r.json()['id']}")
    assert job["state"] == "completed", job
    return job


def test_purges_of_a_year_and_a_month_delete_what_is_older_and_keep_the_figures(aged, demo_db):
    api = aged
    purger = api.make_user("old-purger", "hq", ["purge_data", "view_statistics", "backup"])
    teller = rows(demo_db, """SELECT s.staff_id FROM staff_session s JOIN service_window w
                              ON w.id = s.window_id JOIN org_node n ON n.id = w.node_id
                              WHERE n.path = %s::ltree AND s.logout_at < now() - interval
                              '300 days' LIMIT 1""", B1)[0]["staff_id"]
    before = {B1: raw(demo_db, B1), OTHER: raw(demo_db, OTHER)}
    for table in RAW:             # every table has rows of every age
        for age in ("y", "m", "new"):
            assert before[B1][table].get(age, 0) > 0, (table, age, before[B1][table])
    assert before[B1]["alert"]["open"] == 1
    figures0, rollups0 = old_figures(purger), rollups(demo_db)
    assert figures0["y", B1, "none"][0]["issued"] > 0      # the old days were placed
    assert figures0["m", B1, "none"][0]["served"] > 0
    assert figures0["y", B1, "none"][0]["wait_p90_s"] is not None   # exact, from stats_leg
    legs0, purged0 = legs(purger, "y")
    assert purged0 is None and legs0
    assert all(x["number"] and x["queue"] for x in legs0)
    assert any(x["rating"] for x in legs0)
    sessions0 = purger.get(f"/staff/{teller}/sessions", params={"limit": "200"}).json()
    assert sessions0["purged_before"] is None

    backup(purger, "hq.r01")
    # a year: the 400-day-old rows of B1 go, nothing else
    year = purge(purger, B1, "year")
    after = {B1: raw(demo_db, B1), OTHER: raw(demo_db, OTHER)}
    for table in RAW:
        assert after[B1][table].get("y", 0) == 0, (table, after[B1][table])
        for age in ("m", "new", "open"):
            assert after[B1][table].get(age) == before[B1][table].get(age), (table, age)
    assert after[OTHER] == before[OTHER]
    for table in ("ticket_event", "ticket", "rating", "service_record", "staff_session",
                  "alert"):
        assert year["deleted"][table] == before[B1][table]["y"], (table, year["deleted"])
    assert year["progress"]["rows_deleted"] == sum(year["deleted"].values())
    assert year["progress"]["tables_done"] == year["progress"]["tables_total"]
    # the rollups and every figure of the old days as they were
    assert rollups(demo_db) == rollups0
    assert old_figures(purger) == figures0
    # the lists that read raw data say where it starts
    legs1, purged1 = legs(purger, "y")
    assert purged1 == year["cut"]
    strip = ("number", "queue", "rating")
    assert [{k: v for k, v in x.items() if k not in strip} for x in legs1] == \
           [{k: v for k, v in x.items() if k not in strip} for x in legs0]
    assert all(x["number"] is None and x["queue"] is None and x["rating"] is None
               for x in legs1)
    assert legs(purger, "m")[0][0]["number"]          # a month ago: whole
    sessions1 = purger.get(f"/staff/{teller}/sessions", params={"limit": "200"}).json()
    assert sessions1["purged_before"] == year["cut"]
    gone = [s for s in sessions0["items"] if s["logout_at"] and s["logout_at"] < year["cut"]]
    assert gone and sessions1["items"] == [s for s in sessions0["items"] if s not in gone]

    # a month: the 40-day-old rows go too; the last 10 days stay
    month = purge(purger, B1, "month")
    assert month["cut"] > year["cut"]
    after = {B1: raw(demo_db, B1), OTHER: raw(demo_db, OTHER)}
    for table in RAW:
        assert after[B1][table].get("m", 0) == 0, (table, after[B1][table])
        for age in ("new", "open"):
            assert after[B1][table].get(age) == before[B1][table].get(age), (table, age)
    assert month["deleted"]["ticket_event"] == before[B1]["ticket_event"]["m"]
    assert after[OTHER] == before[OTHER]
    assert rollups(demo_db) == rollups0
    assert old_figures(purger) == figures0
    assert legs(purger, "m")[0][0]["number"] is None
    assert legs(purger, "new")[1] == month["cut"]
    assert legs(purger, "new")[0][0]["number"]

    # a year again, after the month: nothing left to delete, the mark stays
    again = purge(purger, B1, "year")
    assert again["progress"]["rows_deleted"] == 0, again
    assert raw(demo_db, B1) == after[B1]
    assert legs(purger, "y")[1] == month["cut"]
    # the region above says so too; the other region was never purged
    r = purger.get("/stats/services", params={"node": "hq.r01", "limit": "1"})
    assert r.json()["purged_before"] == month["cut"]
    other = api.make_user("old-other", "hq.r02", ["view_statistics"])
    r = other.get("/stats/services", params={"node": OTHER, "limit": "1"})
    assert r.json()["purged_before"] is None


@pytest.fixture
def large(demo_db, start_bin, run_bin, servers, tmp_path):
    """400,000 ticket events and 400,000 ratings of B2, 400 days old."""
    n = 400_000
    b = tr.Branch(demo_db, B2)
    at = datetime.datetime.now(tr.UTC) - datetime.timedelta(days=400)
    with demo_db.cursor() as cur:
        cur.execute("""INSERT INTO ticket_event (branch_id, seq, at, day, kind, actor, number)
                       SELECT %s, g, %s + g * interval '10 ms', 20251101, 'issued', 'bulk',
                              'A' || g FROM generate_series(1, %s) g""", (b.id, at, n))
        cur.execute("""INSERT INTO ticket_branch_head (branch_id, seq) VALUES (%s, %s)
                       ON CONFLICT (branch_id) DO UPDATE SET seq = EXCLUDED.seq""",
                    (b.id, n))
        cur.execute("""INSERT INTO rating (id, event_time, gateway, gateway_seq, window_id,
                           staff_id, branch_path, device_serial, device_boot, device_seq,
                           option_code, score, satisfied, unsatisfied, received_at,
                           gateway_incarnation)
                       SELECT gen_random_uuid(), %s + g * interval '10 ms', %s, g, %s, %s,
                              %s::ltree, 'EQ-TEST-0002', 1, g, 1, 5.0, true, false, now(), %s
                       FROM generate_series(1, %s) g""",
                    (at, b.gateway, b.windows[0][0], b.staff[0], B2, b.incarnation, n))
    demo_db.commit()
    return WebApi(start_bin, run_bin, demo_db, servers.redis.url(10),
                  EQMS_WEBAPI_BACKUP_DIR=str(tmp_path / "backups")), n


def readings(client, path, timeout=300):
    """Every distinct (state, progress) read at `path` until the job ends."""
    seen = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = client.get(path)
        assert r.status_code == 200, r.text
        job = r.json()
        reading = (job["state"], job["progress"])
        if not seen or seen[-1] != reading:
            seen.append(reading)
        if job["state"] in ("completed", "failed"):
            return job, seen
        time.sleep(0.02)
    raise AssertionError(f"{path} did not finish: {seen[-3:]}")


def test_progress_of_a_large_backup_and_purge_moves_while_they_run(large):
    api, n = large
    keeper = api.make_user("big-keeper", "hq.r01", ["backup", "purge_data"])
    r = keeper.post("/backups", {"node": "hq.r01"})
    assert r.status_code == 202, r.text
    job, seen = readings(keeper, f"/backups/{r.json()['id']}")
    assert job["state"] == "completed", job
    total = job["progress"]["rows_total"]
    assert total >= 2 * n and job["progress"]["rows_done"] == total
    running = [p for state, p in seen if state == "running"]
    # rows counted first, then written: readings in between, never moving back
    assert any(p["rows_total"] == total and 0 < p["rows_done"] < total for p in running), seen
    assert len(running) >= 2, seen
    done = [p["rows_done"] for p in running]
    assert done == sorted(done), seen

    r = keeper.post("/purges", {"node": B2, "older_than": "year", "confirm": B2})
    assert r.status_code == 202, r.text
    job, seen = readings(keeper, f"/purges/{r.json()['id']}")
    assert job["state"] == "completed", job
    assert job["deleted"]["ticket_event"] == n and job["deleted"]["rating"] == n
    running = [p for state, p in seen if state == "running"]
    # table by table: a reading between the first and the last table
    assert any(0 < p["tables_done"] < p["tables_total"] and p["rows_deleted"] >= n
               for p in running), seen
    assert len(running) >= 2, seen
