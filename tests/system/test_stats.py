"""stats-aggregator end to end: real PostgreSQL, forwarder, queue-manager
and the aggregator; figures read back from its tables and functions
(docs/statistics.md)."""
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from conftest import BusClient, wait_for
from qm_client import BRANCH, Client, start_qm
from servers import free_port, wait_port


def q(db, sql, *args):
    with db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def start_stats(start_bin, db, bus, **extra):
    port = free_port()
    env = {"EQMS_PG_CONNINFO": db.conninfo, "EQMS_BUS_SUB": bus.xpub, "EQMS_BUS_PUB": bus.xsub,
           "EQMS_HTTP_ADDRESS": "127.0.0.1", "EQMS_HTTP_PORT": str(port),
           "EQMS_STATS_POLL_MS": "200"}
    env.update({k: str(v) for k, v in extra.items()})
    proc = start_bin("stats-aggregator", env)
    wait_port(port, proc=proc.proc)
    proc.http_port = port
    return proc


@pytest.fixture
def qm(demo_db, bus, start_bin):
    proc, endpoint, http = start_qm(start_bin, demo_db, bus)
    client = Client(endpoint)
    yield client
    client.close()


def ok(reply):
    assert reply["ok"], reply
    return reply


def test_a_served_ticket_reaches_every_level(qm, demo_db, bus, start_bin):
    window = q(demo_db, """SELECT w.id FROM service_window w JOIN org_node n ON n.id = w.node_id
                           WHERE n.path = %s::ltree ORDER BY w.number LIMIT 1""", BRANCH)[0][0]
    staff = q(demo_db, """SELECT s.id FROM staff s JOIN org_node n ON n.id = s.node_id
                          WHERE n.path = %s::ltree AND s.active ORDER BY s.id LIMIT 1""",
              BRANCH)[0][0]
    service = q(demo_db, "SELECT id FROM service WHERE code = 'cash'")[0][0]
    ok(qm.call("window.open", window=window))
    ok(qm.call("window.login", window=window, staff=staff))
    ok(qm.call("ticket.issue", service=service))
    ok(qm.call("window.call_next", window=window))
    ok(qm.call("window.start", window=window))
    ok(qm.call("window.finish", window=window))
    stats = start_stats(start_bin, demo_db, bus)
    rows = wait_for(lambda: q(demo_db, """SELECT n.path::text, c.issued, c.served
        FROM stats_cell c JOIN org_node n ON n.id = c.node_id
        WHERE c.period = 1 AND c.dim = 0 AND c.served > 0 ORDER BY nlevel(n.path)"""), 20)
    assert [r[0] for r in rows] == ["hq", "hq.r01", "hq.r01.b0001"]
    assert all(r[1] == 1 and r[2] == 1 for r in rows)
    assert "level=error" not in stats.log()
    day = q(demo_db, "SELECT start_day::text FROM stats_cell WHERE period = 1 LIMIT 1")[0][0]
    for path in ("hq", "hq.r01", BRANCH):
        f = figures(demo_db, path, day, "2099-01-01")
        assert len(f) == 1 and f[0]["issued"] == 1 and f[0]["served"] == 1, f
        assert f[0]["pct_served"] == 1 and f[0]["wait_p90_s"] is not None
    by_day = figures(demo_db, BRANCH, day, "2099-01-01", "day")
    assert [r["grp"] for r in by_day] == [day]
    children = figures(demo_db, "hq", day, "2099-01-01", "child")
    assert [r["grp"] for r in children if r["served"]] == ["hq.r01"]


def figures(db, node_path, day_from, day_to, group="none"):
    with db.cursor() as cur:
        cur.execute("""SELECT f.* FROM org_node n, stats_figures(n.id, %s::date, %s::date, %s) f
                       WHERE n.path = %s::ltree""", (day_from, day_to, group, node_path))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def today_range(db, path):
    """[yesterday, tomorrow) in the node's zone: covers what the test did
    even across a local midnight."""
    (day,), = q(db, """SELECT ((now() AT TIME ZONE time_zone)::date)::text FROM org_node
                       WHERE path = %s::ltree""", path)
    (lo, hi), = q(db, "SELECT (%s::date - 1)::text, (%s::date + 1)::text", day, day)
    return lo, hi


def rate(gw, window, teller, codes, start_ms):
    """A login at start_ms, then one rating per code, 20 s apart (past the
    repeat-press guard); waits until rating-ingest acknowledged them all."""
    gw.event("staff.login", window, teller, ms=start_ms)
    first = gw.seq
    gw.wait_ack(first, resend=[first])
    for i, code in enumerate(codes):
        gw.event("rating.submitted", window, teller, ms=start_ms + 20000 * (i + 1),
                 option_code=code)
    gw.wait_ack(gw.seq, resend=list(range(first + 1, gw.seq + 1)))


def test_rankings_need_a_sample_and_rank_proportions_by_their_bound(demo_db, bus, start_bin):
    """Teller A: 3 ratings, all satisfied; teller B: 40, 38 satisfied. By
    raw satisfaction A (100 %) would top B (95 %); ranked by Wilson's lower
    bound B comes first, and with the default minimum sample of 30 A is not
    ranked at all. The comparison gives the same current figures as
    stats_figures and the period before."""
    import time
    from test_rating_ingest import Gateway, Window, employee, start_ingest
    start_ingest(start_bin, demo_db, bus)
    start_stats(start_bin, demo_db, bus)
    w1, w2 = Window(demo_db, "w01"), Window(demo_db, "w02")
    a, b = employee(demo_db, 1, 1), employee(demo_db, 1, 2)
    now = int(time.time() * 1000)
    gw = Gateway(bus)
    rate(gw, w1, a, [1, 2, 1], now - 900000)
    rate(gw, w2, b, [1] * 20 + [2] * 18 + [4, 4], now - 900000)
    lo, hi = today_range(demo_db, BRANCH)
    (branch,), = q(demo_db, "SELECT id FROM org_node WHERE path = %s::ltree", BRANCH)
    staff = dict(q(demo_db, "SELECT employee_no, id FROM staff WHERE employee_no IN (%s, %s)",
                   a, b))
    wait_for(lambda: q(demo_db, "SELECT 1 FROM stats_figures(%s, %s, %s) WHERE rated = 43",
                       branch, lo, hi), 20)
    by_teller = {r["member"]: r for r in figures(demo_db, BRANCH, lo, hi, "teller")}
    assert by_teller[staff[a]]["satisfaction"] == 1
    assert by_teller[staff[b]]["satisfaction"] == Decimal("0.95")
    ranked = q(demo_db, """SELECT rank, member, value, sample FROM stats_rank(
                               %s, %s, %s, 'teller', 'satisfaction', 10, 0)""", branch, lo, hi)
    assert [(r[0], r[1]) for r in ranked] == [(1, staff[b]), (2, staff[a])]
    assert ranked[1][2:] == (1, 3)
    assert [r[0] for r in q(demo_db, """SELECT member FROM stats_rank(
                %s, %s, %s, 'teller', 'satisfaction')""", branch, lo, hi)] == [staff[b]]
    worst = q(demo_db, """SELECT member, value FROM stats_rank(
                  %s, %s, %s, 'teller', 'unsatisfied', 1, 0)""", branch, lo, hi)
    assert worst == [(staff[b], 2)]
    with pytest.raises(Exception, match="unknown measure"):
        q(demo_db, "SELECT * FROM stats_rank(%s, %s, %s, 'teller', 'nonsense')",
          branch, lo, hi)
    demo_db.rollback()
    compared = q(demo_db, """SELECT period, from_day::text, to_day::text, (figures).rated
                             FROM stats_compare(%s, %s, %s)""", branch, lo, hi)
    (prev_lo,), = q(demo_db, "SELECT (%s::date - 2)::text", lo)
    (year_lo,), = q(demo_db, "SELECT (%s::date - interval '1 year')::date::text", lo)
    assert [c[:2] for c in compared] == [("current", lo), ("previous", prev_lo),
                                          ("year_before", year_lo)]
    assert compared[0][3] == 43 and compared[1][3] in (None, 0)


LEAN_MEASURES = ["satisfaction", "unsatisfied_ratio", "issued", "walk_ins", "served", "no_show",
                 "abandoned", "transferred", "rated", "satisfied", "unsatisfied", "services"]


def ranked_from_figures(db, node, lo, hi, group, measure, n, min_sample, top):
    """stats_rank's rows as schema 10 made them for every measure: the
    ranking of stats_figures' rows (the reference of the lean path)."""
    key = {("satisfaction", True): "stats_wilson_lower(f.satisfied, f.rated)",
           ("satisfaction", False): "1 - stats_wilson_lower(f.rated - f.satisfied, f.rated)",
           ("unsatisfied_ratio", True): "stats_wilson_lower(f.unsatisfied, f.rated)",
           ("unsatisfied_ratio", False):
               "1 - stats_wilson_lower(f.rated - f.unsatisfied, f.rated)"}.get(
        (measure, top), f"f.{measure}::numeric")
    (sample,), = q(db, "SELECT stats_sample_of(%s)", measure)
    return q(db, f"""SELECT (row_number() OVER (ORDER BY k {'DESC' if top else 'ASC'},
                                                 f.grp))::int,
                            f.grp, f.member, f.{measure}::numeric, f.{sample}, k
                     FROM stats_figures(%s, %s, %s, %s, false) f
                     CROSS JOIN LATERAL (SELECT {key} AS k) r
                     WHERE f.{sample} >= %s AND k IS NOT NULL ORDER BY 1 LIMIT %s""",
             node, lo, hi, group, min_sample, n)


def test_a_ranking_by_a_count_or_a_rating_proportion_is_the_ranking_of_the_figures(
        demo_db, bus, start_bin):
    """Schema 36: stats_rank ranks satisfaction, the unsatisfied ratio and
    the counts from the cells' sums alone (no stats_figures). Its rows are
    those of the ranking of stats_figures' rows, for each such measure, every
    grouping a manager ranks by, both ends and two minimum samples, over four
    branches of random traffic on four days."""
    import datetime
    import random
    import stats_traffic as tr
    rng = random.Random(36)
    for day, path in enumerate(("hq.r01.b0001", "hq.r01.b0002", "hq.r02.b0003",
                                "hq.r02.b0004")):
        b = tr.Branch(demo_db, path)
        start = datetime.datetime(2026, 11, 10 + day, 9, 0, tzinfo=ZoneInfo(b.zone))
        tr.write_ticket_events(demo_db, b, tr.ticket_events(rng, b, start, 8, 120))
        tr.device_facts(rng, demo_db, b, start, 8, 160, 60, 3, False)
    start_stats(start_bin, demo_db, bus)
    wait_for(lambda: tr.caught_up(demo_db), 30)
    nodes = dict(q(demo_db, "SELECT path::text, id FROM org_node WHERE kind <> 'branch'"))
    longest = {}
    for path, group in (("hq", "child"), ("hq.r01", "teller"), ("hq.r02", "window"),
                        ("hq", "service"), ("hq", "class"), ("hq.r01", "hour_of_day"),
                        ("hq", "day"), ("hq.r02", "option")):
        longest[group] = 0
        for measure in LEAN_MEASURES:
            for top in (True, False):
                for min_sample in (0, 12):
                    got = q(demo_db, "SELECT * FROM stats_rank(%s, '2026-11-01', "
                                     "'2026-12-01', %s, %s, 1000, %s, %s)",
                            nodes[path], group, measure, min_sample, top)
                    want = ranked_from_figures(demo_db, nodes[path], "2026-11-01",
                                               "2026-12-01", group, measure, 1000,
                                               min_sample, top)
                    assert got == want, (path, group, measure, top, min_sample)
                    longest[group] = max(longest[group], len(got))
    # every grouping ranked several members (its order was compared)
    assert min(longest.values()) >= 2 and longest["teller"] >= 8, longest


def next_message(client, topic, timeout=20.0):
    """The data of the next message on `topic` (exactly), skipping others."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = client.receive(max(0.1, deadline - time.monotonic()))
        if got and got[0] == topic:
            return got[1]["data"]
    raise AssertionError(f"nothing on {topic} within {timeout}s")


def test_star_grade_follows_the_ratings_to_the_device(demo_db, bus, start_bin):
    """The branch's rule: daily grades from 3 ratings. Two satisfied ratings
    give no grade yet (0 stars), a third gives 5, an unsatisfied fourth
    (3 of 4) gives 2: each change is published as star.grade and as a
    `stars` command to the window's device, and a device that comes online
    again is sent its grade (from device_status, not from the bus)."""
    import time
    from test_rating_ingest import Gateway, Window, employee, start_ingest
    (branch,), = q(demo_db, "SELECT id FROM org_node WHERE path = %s::ltree", BRANCH)
    q(demo_db, "INSERT INTO star_rule (node_id, period, min_rated) VALUES (%s, 'day', 3) "
               "RETURNING node_id", branch)
    demo_db.commit()
    w1 = Window(demo_db, "w01")
    watch = BusClient(bus, f"star.grade.{w1.path}", f"cmd.device.{w1.path}")
    start_ingest(start_bin, demo_db, bus)
    start_stats(start_bin, demo_db, bus)
    teller = employee(demo_db, 1, 1)
    gw = Gateway(bus)
    now = int(time.time() * 1000)
    grade = f"star.grade.{w1.path}"
    command = f"cmd.device.{w1.path}"
    rate(gw, w1, teller, [1, 2], now - 300000)
    assert next_message(watch, grade)["grade"] == 0
    gw.event("rating.submitted", w1, teller, ms=now - 200000, option_code=1)
    gw.wait_ack(gw.seq, resend=[gw.seq])
    got = next_message(watch, grade)
    assert (got["grade"], got["rated"], got["satisfied"], got["period"]) == (5, 3, 3, "day")
    assert got["window"] == w1.id
    assert next_message(watch, command) == {"serial": w1.serial, "command": "stars",
                                            "stars": 5}
    gw.event("rating.submitted", w1, teller, ms=now - 180000, option_code=4)
    gw.wait_ack(gw.seq, resend=[gw.seq])
    assert next_message(watch, grade)["grade"] == 2
    assert next_message(watch, command)["stars"] == 2
    assert q(demo_db, """SELECT grade, rated, satisfied FROM stats_star_grade
                         WHERE subject = 'window' AND member = %s""", w1.id) == [(2, 4, 3)]
    assert len(q(demo_db, """SELECT 1 FROM stats_star_grade WHERE subject = 'teller'
                             AND grade = 2""")) == 1
    # the device comes online again: its grade is sent again
    q(demo_db, """INSERT INTO device_status (serial, status, window_id, branch_path, gateway,
                                             since)
                  VALUES (%s, 'online', %s, %s::ltree, 'test', now())
                  ON CONFLICT (serial) DO UPDATE SET status = 'online', since = now()
                  RETURNING serial""", w1.serial, w1.id, BRANCH)
    demo_db.commit()
    assert next_message(watch, command) == {"serial": w1.serial, "command": "stars",
                                            "stars": 2}


def verify(db, *args):
    import subprocess
    from conftest import bin_path
    return subprocess.run([bin_path("stats"), "verify", *args],
                          env={"EQMS_PG_CONNINFO": db.conninfo, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.real_zones
def test_verify_finds_no_difference_after_randomised_traffic(demo_db, bus, start_bin):
    """Two branches in two zones (Shanghai, Urumqi), tickets of every flow,
    ratings, device services and staff sessions from 21:00 on 30 November
    to 05:00 on 1 December Shanghai time (a local midnight and a month end
    in both zones); the aggregator is killed and restarted halfway, every
    bus message is lost (the facts are only in the tables), and a device
    delivers the first evening's ratings late. eqms-stats verify recomputes
    every figure from the raw facts and finds no difference; a corrupted
    cell is found."""
    import datetime
    import random
    import stats_traffic as tr
    rng = random.Random(20261205)
    start = datetime.datetime(2026, 11, 30, 13, 0, tzinfo=tr.UTC)    # 21:00 Shanghai
    branches = [tr.Branch(demo_db, "hq.r01.b0001"), tr.Branch(demo_db, "hq.r02.b0004")]
    assert branches[1].zone == "Asia/Urumqi"
    for b in branches:
        tr.write_ticket_events(demo_db, b, tr.ticket_events(rng, b, start, 4, 60))
        tr.device_facts(rng, demo_db, b, start, 4, 50, 30, 5, False)
    stats = start_stats(start_bin, demo_db, bus, EQMS_STATS_BATCH=100)
    wait_for(lambda: tr.caught_up(demo_db), 30)
    stats.proc.kill()
    stats.proc.wait()
    later = start + datetime.timedelta(hours=4)
    for b in branches:
        tr.write_ticket_events(demo_db, b, tr.ticket_events(rng, b, later, 4, 60))
        tr.device_facts(rng, demo_db, b, later, 4, 50, 30, 5, True)
        # the late device: ratings of the first evening, delivered now
        tr.device_facts(rng, demo_db, b, start, 1, 20, 0, 0, False)
    start_stats(start_bin, demo_db, bus, EQMS_STATS_BATCH=100)
    wait_for(lambda: tr.caught_up(demo_db), 30)
    got = verify(demo_db, "--from", "2026-11-29", "--to", "2026-12-03")
    assert got.returncode == 0, got.stdout + got.stderr
    assert "verify: 7 nodes, 4 branches x 4 days, 0 differences" in got.stdout, got.stdout
    # a range that starts between the two zones' midnights: head office sums
    # the Urumqi branch by Shanghai days (its 22:00-24:00 on 30 November is
    # 1 December at head office)
    got = verify(demo_db, "--from", "2026-12-01", "--to", "2026-12-02")
    assert "verify: 7 nodes, 4 branches x 1 days, 0 differences" in got.stdout, got.stdout
    (issued,), = q(demo_db, """SELECT sum(issued) FROM stats_cell
                               WHERE node_id = %s AND period = 1 AND dim = 0""",
                   branches[0].id)
    assert issued > 60      # the traffic was counted (walk-ins are not issued)
    # one corrupted day cell of one branch: found, named
    q(demo_db, """UPDATE stats_cell SET served = served + 1 WHERE node_id = %s AND period = 1
                  AND dim = 0 AND start_day = '2026-12-01' RETURNING node_id""",
      branches[1].id)
    demo_db.commit()
    got = verify(demo_db, "--from", "2026-11-29", "--to", "2026-12-03", "--node", "hq.r02")
    assert got.returncode == 1, got.stdout + got.stderr
    lines = [l for l in got.stdout.splitlines() if l.startswith("difference")]
    assert "difference node=hq.r02.b0004 day=2026-12-01 measure=served" in lines[0], lines
    # the branch's range reads the same day cell; the region's own cells are intact
    assert len(lines) == 2, lines
    assert lines[1].startswith("difference node=hq.r02.b0004 range=2026-11-29..2026-12-03 "
                               "measure=served "), lines
    fields = dict(f.split("=", 1) for f in lines[1].split()[1:])
    assert float(fields["figures"]) == float(fields["expected"]) + 1
    # one corrupted histogram of the region instead: its day's waits all
    # moved to the last bucket (12 h and more), as running counts
    q(demo_db, """UPDATE stats_cell SET served = served - 1 WHERE node_id = %s AND period = 1
                  AND dim = 0 AND start_day = '2026-12-01' RETURNING node_id""",
      branches[1].id)
    (moved,), = q(demo_db, """UPDATE stats_cell
                              SET wait_hist = array_fill(0, ARRAY[98]) || wait_hist[cardinality(wait_hist)]
                              WHERE node_id = (SELECT id FROM org_node WHERE path = 'hq.r02')
                                AND period = 1 AND dim = 0 AND start_day = '2026-12-01'
                              RETURNING wait_hist[99]""")
    demo_db.commit()
    assert moved > 0
    got = verify(demo_db, "--from", "2026-11-29", "--to", "2026-12-03", "--node", "hq.r02")
    assert got.returncode == 1, got.stdout + got.stderr
    lines = [l for l in got.stdout.splitlines() if l.startswith("difference")]
    assert all(l.startswith("difference node=hq.r02 range=2026-11-29..2026-12-03 ")
               for l in lines), lines
    wrong = {dict(f.split("=", 1) for f in l.split()[1:])["measure"]: l for l in lines}
    assert "wait_15_plus" in wrong and "wait_p90_s" in wrong, lines
    assert wrong["wait_p90_s"].endswith("figures=43200.0000"), lines
    assert not {"served", "svc_p90_s", "svc_15_plus"} & set(wrong), lines
    # bad arguments are refused with a reason
    bad = verify(demo_db, "--from", "2026-12-03", "--to", "2026-11-29")
    assert bad.returncode == 2 and "from before to" in bad.stderr


def test_reports_keep_what_they_showed_and_say_when_late_facts_changed(demo_db, bus,
                                                                      start_bin):
    """Yesterday's facts are in; the aggregator makes yesterday's report for
    every node once the day closed (delay 0 here). A device then delivers
    yesterday's ratings late: the live figures change, the report does not,
    and reading it says so and gives the recomputed figures."""
    import datetime
    import random
    import stats_traffic as tr
    rng = random.Random(7)
    b = tr.Branch(demo_db, "hq.r01.b0001")
    yesterday, start = yesterday_at_nine(demo_db, b)
    tr.write_ticket_events(demo_db, b, tr.ticket_events(rng, b, start, 6, 20))
    tr.device_facts(rng, demo_db, b, start, 6, 30, 10, 2, False)
    start_stats(start_bin, demo_db, bus, EQMS_STATS_REPORT_DELAY_S=0)
    day = yesterday.isoformat()

    def report():
        return q(demo_db, """SELECT r.changed, r.figures, r.now FROM stats_report_read(
                                 %s, 'day', %s::date) r""", b.id, day)
    got = wait_for(report, 30)
    changed, figures, now = got[0]
    assert changed is False and now is None
    (none,) = figures["none"]
    assert none["rated"] == 30 and none["issued"] > 0
    assert {r["grp"] for r in figures["hour_of_day"]} <= {str(h) for h in range(24)}
    # every node whose zone has closed that day has its report of it (the
    # demo's zones differ: the day may still be open in one), and every node
    # its report of last month
    # (made one at a time: the others may follow the branch's)
    (closed,), = q(demo_db, """SELECT count(*) FROM org_node
                               WHERE (now() AT TIME ZONE time_zone)::date > %s::date""", day)
    (nodes,), = q(demo_db, "SELECT count(*) FROM org_node")
    wait_for(lambda: q(demo_db, "SELECT count(DISTINCT node_id) FROM stats_report "
                                "WHERE kind = 'month'") == [(nodes,)], 30)
    assert q(demo_db, "SELECT count(*) FROM stats_report WHERE kind = 'day' "
                      "AND start_day = %s::date", day) == [(closed,)]
    # late ratings of yesterday
    tr.device_facts(rng, demo_db, b, start, 6, 5, 0, 0, False)
    wait_for(lambda: tr.caught_up(demo_db), 30)
    changed, figures, now = report()[0]
    assert changed is True
    assert figures["none"][0]["rated"] == 30
    assert now["none"][0]["rated"] == 35
    assert q(demo_db, "SELECT count(*) FROM stats_report WHERE node_id = %s "
                      "AND kind = 'day' AND start_day = %s::date", b.id, day) == [(1,)]


def yesterday_at_nine(db, branch):
    """Yesterday in the branch's zone, and 09:00 of it there."""
    import datetime
    (yesterday,), = q(db, "SELECT (now() AT TIME ZONE %s)::date - 1", branch.zone)
    return yesterday, datetime.datetime.combine(yesterday, datetime.time(9, 0),
                                                tzinfo=ZoneInfo(branch.zone))


def blocked_report(db):
    """The aggregator's report statement while it waits for a lock, if any."""
    rows = q(db, """SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock'
                    AND query LIKE 'SELECT stats_make_report(%%'""")
    db.commit()
    return rows


def reports_with_a_slow_one(demo_db, bus, start_bin, **extra):
    """Yesterday's facts at one branch; head office's report of yesterday made
    slow for real: a second session holds, uncommitted, a row with that
    report's key, so the aggregator's INSERT of the report waits for it (as
    behind any lock, or a slow statement). Returns what the tests need."""
    import datetime
    import random
    import psycopg2
    import stats_traffic as tr
    rng = random.Random(5)
    b = tr.Branch(demo_db, "hq.r01.b0001")
    (hq,), = q(demo_db, "SELECT id FROM org_node WHERE path = 'hq'")
    yesterday, start = yesterday_at_nine(demo_db, b)
    tr.write_ticket_events(demo_db, b, tr.ticket_events(rng, b, start, 6, 20))
    blocker = psycopg2.connect(demo_db.conninfo)
    with blocker.cursor() as cur:
        cur.execute("""INSERT INTO stats_report (node_id, kind, start_day, figures)
                       VALUES (%s, 'day', %s, '{}')""", (hq, yesterday))
    stats = start_stats(start_bin, demo_db, bus, EQMS_STATS_REPORT_DELAY_S=0,
                        EQMS_STATS_REPORT_EVERY_S=1, **extra)
    return tr, rng, b, hq, yesterday, blocker, stats


def test_reports_are_made_one_at_a_time_while_facts_keep_being_placed(demo_db, bus,
                                                                      start_bin):
    """Each report is its own statement and transaction on the reports' own
    connection: while head office's report of yesterday waits, the branch's
    and the regions' reports are already committed, and new ticket events
    are placed (their cursor reaches the head) while that report is still
    being made. Once it can go on, it is made, with real figures."""
    import datetime
    tr, rng, b, hq, yesterday, blocker, stats = reports_with_a_slow_one(demo_db, bus,
                                                                         start_bin)
    try:
        wait_for(lambda: blocked_report(demo_db), 30)
        made = dict(q(demo_db, """SELECT n.path::text, count(*) FROM stats_report r
                                  JOIN org_node n ON n.id = r.node_id
                                  WHERE r.kind = 'day' AND r.start_day = %s
                                  GROUP BY n.path""", yesterday))
        assert made.get("hq.r01.b0001") == 1 and made.get("hq.r01") == 1, made
        assert "hq" not in made
        # new facts while the report waits: placed all the same
        now = datetime.datetime.now(datetime.timezone.utc)
        tr.write_ticket_events(demo_db, b, tr.ticket_events(
            rng, b, now - datetime.timedelta(hours=2), 1, 15))
        assert not tr.caught_up(demo_db)
        wait_for(lambda: tr.caught_up(demo_db), 20)
        (served,), = q(demo_db, """SELECT sum(served) FROM stats_cell WHERE node_id = %s
                                   AND period = 1 AND dim = 0
                                   AND start_day >= %s::date + 1""", b.id, yesterday)
        assert served and served > 0
        assert blocked_report(demo_db), "the report was still being made"
    finally:
        blocker.rollback()
        blocker.close()
    got = wait_for(lambda: q(demo_db, """SELECT figures FROM stats_report WHERE node_id = %s
                                         AND kind = 'day' AND start_day = %s""",
                             hq, yesterday), 30)
    assert got[0][0]["none"][0]["issued"] > 0
    assert "stats_report_failed" not in stats.log()


def test_a_report_over_its_timeout_is_counted_and_tried_again(demo_db, bus, start_bin):
    """EQMS_STATS_REPORT_TIMEOUT_S bounds one report: head office's report,
    held up longer than 1 s, fails by its statement timeout, is logged and
    counted (report_failures_total) and tried again a round later (here
    every second, EQMS_STATS_REPORT_EVERY_S); the other reports are made;
    once nothing holds it up, it is made."""
    import time
    import urllib.request
    tr, rng, b, hq, yesterday, blocker, stats = reports_with_a_slow_one(
        demo_db, bus, start_bin, EQMS_STATS_REPORT_TIMEOUT_S=1)

    def failures():
        with urllib.request.urlopen(f"http://127.0.0.1:{stats.http_port}/metrics") as r:
            text = r.read().decode()
        return [int(float(l.split()[-1])) for l in text.splitlines()
                if "report_failures_total" in l and not l.startswith("#")]
    try:
        wait_for(lambda: stats.log().count("stats_report_failed") >= 2, 30)
        assert "sqlstate=57014" in stats.log()         # query_canceled: the timeout
        assert failures()[0] >= 2
        (made,), = q(demo_db, """SELECT count(*) FROM stats_report WHERE kind = 'day'
                                 AND start_day = %s AND node_id <> %s""", yesterday, hq)
        assert made > 0
    finally:
        blocker.rollback()
        blocker.close()
    wait_for(lambda: q(demo_db, """SELECT 1 FROM stats_report WHERE node_id = %s
                                   AND kind = 'day' AND start_day = %s""", hq, yesterday), 30)
    time.sleep(0.2)
    assert "level=error" not in stats.log()


def erlang_level(n, per_hour, aht, target):
    """Reference: the textbook Erlang C with factorials (small n only)."""
    import math
    a = per_hour * aht / 3600
    if n <= a:
        return 0.0
    top = a ** n / math.factorial(n) * n / (n - a)
    c = top / (sum(a ** k / math.factorial(k) for k in range(n)) + top)
    return 1 - c * math.exp(-(n - a) * target / aht)


def test_staffing_advice_follows_erlang_c(demo_db, bus, start_bin):
    """The SQL Erlang C (through Erlang B's recursion) agrees with the
    textbook formula; stats_staffing gives, per weekday and hour with
    arrivals, the fewest windows that reach the level, and the windows open."""
    for per_hour, aht, target in [(200, 180, 20), (30, 300, 600), (12, 420, 300),
                                  (90, 240, 120)]:
        (needed, level), = q(demo_db, """SELECT stats_windows_needed(%s, %s, %s, 0.8),
                                                stats_erlang_level(stats_windows_needed(
                                                    %s, %s, %s, 0.8), %s, %s, %s)""",
                             per_hour, aht, target, per_hour, aht, target, per_hour, aht,
                             target)
        assert abs(level - erlang_level(needed, per_hour, aht, target)) < 1e-9
        assert erlang_level(needed, per_hour, aht, target) >= 0.8
        assert needed == 1 or erlang_level(needed - 1, per_hour, aht, target) < 0.8
    # the textbook case: 10 Erlangs, 20 s target, 80 %: 13 agents give 79.6 %,
    # 14 give 88.8 % (probability of waiting 17.4 %)
    assert q(demo_db, "SELECT stats_windows_needed(200, 180, 20, 0.8), "
                      "round(stats_erlang_c(14, 10)::numeric, 4)") == [(14, Decimal("0.1741"))]
    import datetime
    import random
    import stats_traffic as tr
    rng = random.Random(11)
    b = tr.Branch(demo_db, "hq.r01.b0001")
    start = datetime.datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo(b.zone))
    tr.write_ticket_events(demo_db, b, tr.ticket_events(rng, b, start, 3, 80))
    tr.device_facts(rng, demo_db, b, start, 3, 0, 0, 4, False)
    start_stats(start_bin, demo_db, bus)
    wait_for(lambda: tr.caught_up(demo_db), 30)
    rows = q(demo_db, """SELECT weekday, hour, days, arrivals_per_hour, aht_s, windows_needed,
                                level_with_needed, windows_open
                         FROM stats_staffing(%s, '2026-11-23', '2026-11-30', 600, 0.8)""",
             b.id)
    assert rows and {r[0] for r in rows} == {3}     # 25 November 2026 is a Wednesday
    assert sum(r[3] for r in rows) >= 80          # every arrival (and transfers in)
    for weekday, hour, days, per_hour, aht, needed, level, open_ in rows:
        assert days == 1 and 9 <= hour <= 23
        if per_hour > 0:
            assert needed >= 1 and level >= Decimal("0.8")
            assert abs(float(level) - erlang_level(needed, float(per_hour), float(aht), 600)) \
                < 1e-3
    assert any(r[7] > 0 for r in rows)            # tellers were on duty


def test_the_estimate_told_at_issue_is_measured_against_the_wait(demo_db, bus, start_bin):
    """Issue 12, item 8: every ticket told an estimated wait at issue
    (ticket.est_wait_s, written by queue-manager) is compared with the wait
    that followed (its first leg's call); stats_estimate_error gives the mean
    absolute and signed error per child and local hour of issue, and
    yesterday's report holds them."""
    import datetime
    import random
    import stats_traffic as tr
    rng = random.Random(11)
    b = tr.Branch(demo_db, "hq.r01.b0001")
    yesterday, start = yesterday_at_nine(demo_db, b)
    tr.write_ticket_events(demo_db, b, tr.ticket_events(rng, b, start, 6, 40))
    # what queue-manager would have told: any wait, some tickets told none
    with demo_db.cursor() as cur:
        cur.execute("""UPDATE ticket SET est_position = 1, est_wait_s = (random() * 1200)::int
                       WHERE NOT walk_in AND random() < 0.8""")
    start_stats(start_bin, demo_db, bus, EQMS_STATS_REPORT_DELAY_S=0)
    day = yesterday.isoformat()
    got = wait_for(lambda: q(demo_db, """SELECT r.figures FROM stats_report_read(
                                             %s, 'day', %s::date) r""", b.id, day), 30)
    estimate = got[0][0]["estimate"]
    # the same, computed here from the tickets and their first legs
    rows = q(demo_db, """SELECT extract(hour FROM t.issued_at AT TIME ZONE %s),
                                t.est_wait_s, extract(epoch FROM l.call_at - l.start_at)
                         FROM ticket t JOIN stats_leg l ON l.ticket_id = t.id AND l.leg = 0
                         WHERE t.est_wait_s IS NOT NULL AND l.call_at IS NOT NULL""",
             b.zone)
    assert len(rows) >= 10
    by_hour = {}
    for hour, told, waited in rows:
        by_hour.setdefault(int(hour), []).append(float(waited) - told)

    def mae(errors):
        return round(sum(abs(e) for e in errors) / len(errors), 1)
    (none,) = estimate["none"]
    assert none["tickets"] == len(rows)
    assert none["mae_s"] == pytest.approx(mae([e for es in by_hour.values() for e in es]),
                                          abs=0.051)
    assert {r["member"]: (r["tickets"], r["mae_s"]) for r in estimate["hour_of_day"]} == {
        h: (len(es), pytest.approx(mae(es), abs=0.051)) for h, es in by_hour.items()}
    # a region: its branch is its child
    (region,), = q(demo_db, "SELECT id FROM org_node WHERE path = 'hq.r01'")
    child = q(demo_db, "SELECT member, tickets FROM stats_estimate_error(%s, %s::date, "
                       "%s::date + 1, 'child')", region, day, day)
    assert child == [(b.id, len(rows))]
    assert estimate["child"] == []      # a branch has no child nodes
    # a day without tickets: nothing
    assert q(demo_db, "SELECT count(*) FROM stats_estimate_error(%s, %s::date - 1, "
                      "%s::date, 'none')", b.id, day, day) == [(0,)]
