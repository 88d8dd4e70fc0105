"""bench_stats: the statistics at the size of a bank (issue 12, item 10).

1. Load: a history of ratings with their tickets, ticket events, service
   records and staff sessions (tests/bench/statsgen.py: one queue simulation
   per branch and local day, facts numbered as queue-manager and
   rating-ingest number them), COPYed into the owners' monthly partitions.
   Prints the load time and the data's size on disk.
2. Build: the real eqms-stats-aggregator started against that database
   reads every stream from its cursor (nothing else writes rollups);
   build_s = its start until every stream's cursor is at its head. Then
   `eqms-stats verify` compares the last days' figures with the raw facts.
3. Queries: ten dashboard queries through the SQL query interface
   (stats_figures, stats_rank, stats_compare, stats_star_grade), each run
   --query-runs times (or until --query-budget-s is spent, at least 3 runs)
   with random parameters, interleaved, the aggregator stopped; p50 / p99 in
   ms per query.
4. Lag: the aggregator running, 2 writers commit ticket events as
   queue-manager does (eqms_ticket_events_insert, one branch per
   transaction) and 2 writers commit ratings and device services as
   rating-ingest does (ingest_event ids, rows, gateway_cursor in one
   transaction), --rate events/s in all; for one transaction in three the
   time from its commit until its stream's stats_cursor passed it (polled
   every 20 ms; the aggregator moves a cursor in the transaction that
   writes the cells, so a query started then sees the fact), and about once
   a second stats_figures(branch, days around today) confirms that the
   figure of one such sample includes it (stats_figures takes ~200 ms, too
   slow to poll). Run twice: as the aggregator is (the headline; with
   --remake-reports the due reports are deleted first, so that it makes
   them during the run, as a kept database has made them already), and once
   more with the due reports already in stats_report (placeholders the bench
   inserts and removes), which shows the placement lag without the reports.
   Each run also says which tables autovacuum worked on, and when.

Scale: --rows ratings (default 100,000,000), --days of history (730) ending
today, --branches (2,000) in regions of up to 100 (at least two, one per
time zone), about --per-day (70) rated customers per branch and day. A
smaller --rows keeps the two years and takes fewer branches (rows / per-day
/ days, at least 20); below 20 branches x 730 days x 70 (about 1 million
ratings) it keeps 20 branches and takes fewer days. A quarter of the regions
(at least one) is in Asia/Urumqi, the others in Asia/Shanghai.

The throwaway PostgreSQL runs with fsync, synchronous_commit and
full_page_writes off (as every bench), shared_buffers 2 GB, max_wal_size
8 GB and pg_stat_statements (the heaviest statements of the build and of the
lag are printed). No Redis, no bus: the aggregator's bus endpoints point at
ports where nothing listens, so it finds new facts by its poll (1 s).

Usage: /usr/bin/python3 tests/bench/bench_stats.py --bin build/release/bin
       [--rows N] [--days 730] [--branches 2000] [--per-day 70]
       [--query-runs 200] [--query-budget-s 120] [--lag-seconds 60]
       [--rate 10000] [--keep DIR [--rebuild]] [--seed 1] [--verify-days 2]
       [--remake-reports] [--no-placeholder-lag]
Last line: BENCH stats rows=<n> query_p99_ms=<worst p99> lag_p99_ms=<n> build_s=<n>
"""
import argparse
import datetime
import io
import json
import math
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zoneinfo

import psycopg2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers as srvmod  # noqa: E402
import statsgen  # noqa: E402
from benchproc import cpu_seconds  # noqa: E402
from stats_traffic import caught_up  # noqa: E402

DB = "bench_stats"
MIN_BRANCHES = 20
PER_REGION = 100
PG_SETTINGS = {"shared_buffers": "2GB", "max_wal_size": "8GB", "checkpoint_timeout": "30min",
               "maintenance_work_mem": "1GB", "effective_cache_size": "12GB",
               "shared_preload_libraries": "pg_stat_statements",
               "pg_stat_statements.track_planning": "on"}
FACT_TABLES = ["ticket", "ticket_event", "rating", "service_record", "staff_session",
               "ingest_event"]
STATS_TABLES = ["stats_cell", "stats_leg", "stats_star_grade", "stats_cursor",
                "stats_node_version", "stats_open_session", "stats_unplaced", "stats_report"]


def say(text):
    print(text, flush=True)


# --- scale -------------------------------------------------------------------------

class Scale:
    """The history's shape for --rows (the rule is in the module's text)."""

    def __init__(self, rows, days, branches, per_day):
        branch_days = rows / per_day
        self.branches = min(branches, max(MIN_BRANCHES, round(branch_days / days)))
        self.days = days
        if self.branches * days > branch_days * 1.5:
            self.days = max(1, round(branch_days / self.branches))
        self.rows = rows
        self.per_day = rows / (self.branches * self.days)
        self.regions = max(2, math.ceil(self.branches / PER_REGION))
        self.urumqi = max(1, self.regions // 4)

    def __str__(self):
        return (f"{self.branches} branches in {self.regions} regions ({self.urumqi} in "
                f"Asia/Urumqi), {self.days} days, {self.per_day:.1f} ratings per branch-day")


# --- PostgreSQL --------------------------------------------------------------------

class Postgres(srvmod.Postgres):
    """servers.Postgres in a directory that may be kept between runs, with the
    bench's settings."""

    def __init__(self, root):
        self.dir = os.path.join(root, "pg")
        self.data = os.path.join(self.dir, "data")
        self.port = srvmod.free_port()
        self.as_user = []
        self.existed = os.path.exists(os.path.join(self.data, "PG_VERSION"))
        os.makedirs(self.dir, exist_ok=True)
        if os.geteuid() == 0:
            import pwd
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            os.chmod(root, 0o755)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def start(self):
        if not self.existed:
            self._run(f"{srvmod.PG_BIN}/initdb", "-D", self.data, "-U", "postgres",
                      "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200 "
                + " ".join(f"-c {k}={v}" for k, v in PG_SETTINGS.items()))
        self._run(f"{srvmod.PG_BIN}/pg_ctl", "-D", self.data, "-o", opts, "-w", "-t", "120",
                  "-l", os.path.join(self.dir, "log"), "start")
        return self

    def stop(self, mode="fast"):
        super().stop(mode)

    def pids(self):
        """The postmaster and its children (every backend and worker)."""
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                master = int(f.readline())
        except OSError:
            return []
        out = [master]
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                            out.append(int(d))
                except OSError:
                    pass
        return out


def q(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None


def q1(conn, sql, *args):
    rows = q(conn, sql, *args)
    return rows[0][0] if rows else None


def connect(conninfo):
    conn = psycopg2.connect(conninfo)
    conn.autocommit = True
    return conn


def table_bytes(conn, tables):
    """Total size (heap, indexes, toast) of each table, partitions summed."""
    out = {}
    for t in tables:
        out[t] = q1(conn, """SELECT CASE WHEN c.relkind = 'p' THEN
                                 (SELECT coalesce(sum(pg_total_relation_size(relid)), 0)
                                  FROM pg_partition_tree(c.oid))
                             ELSE pg_total_relation_size(c.oid) END::bigint
                             FROM pg_class c WHERE c.oid = %s::regclass""", t)
    return out


def gib(n):
    return f"{n / 2**30:.2f} GiB"


def cpu_of(pids):
    return sum(cpu_seconds(p) for p in pids)


def top_statements(conn, n=6):
    """The heaviest statements since the last reset (pg_stat_statements)."""
    rows = q(conn, """SELECT calls, total_exec_time + total_plan_time, total_plan_time,
                             regexp_replace(left(query, 110), '\\s+', ' ', 'g')
                      FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database
                                                             WHERE datname = current_database())
                      ORDER BY 2 DESC LIMIT %s""", n)
    total = q1(conn, """SELECT sum(total_exec_time + total_plan_time) FROM pg_stat_statements
                        WHERE dbid = (SELECT oid FROM pg_database
                                      WHERE datname = current_database())""") or 1
    lines = []
    for calls, ms, plan, text in rows:
        lines.append(f"  {ms / 1000:8.1f} s {100 * ms / total:5.1f} % {calls:9d} calls "
                     f"{ms / max(calls, 1):8.2f} ms/call (plan {plan / max(calls, 1):.2f})  "
                     f"{text}")
    return lines


# --- setup -------------------------------------------------------------------------

def months(first, last):
    """First days of the UTC months from first's to last's."""
    m = first.replace(day=1)
    while m <= last:
        yield m
        m = (m + datetime.timedelta(days=32)).replace(day=1)


def create_partitions(conn, first_day, last_day):
    """The monthly partitions of the fact tables for the history, named and
    bounded as eqms_ensure_partitions makes them (UTC months; ingest_event
    by the UUIDv7 time of its ids)."""
    made = 0
    lo = first_day - datetime.timedelta(days=1)
    for m in months(lo, last_day + datetime.timedelta(days=1)):
        nxt = (m + datetime.timedelta(days=32)).replace(day=1)
        for t in FACT_TABLES:
            if t == "staff_session":
                continue
            name = f"{t}_{m.year:04d}m{m.month:02d}"
            if q1(conn, "SELECT to_regclass(%s) IS NULL", name):
                if t == "ingest_event":
                    q(conn, f"""CREATE TABLE {name} PARTITION OF ingest_event FOR VALUES
                                FROM (eqms_uuid7_floor(%s::timestamptz))
                                TO (eqms_uuid7_floor(%s::timestamptz))""",
                      f"{m} 00:00+00", f"{nxt} 00:00+00")
                else:
                    q(conn, f"""CREATE TABLE {name} PARTITION OF {t} FOR VALUES
                                FROM (%s) TO (%s)""", f"{m} 00:00+00", f"{nxt} 00:00+00")
                made += 1
    return made


def migrate(conninfo, bindir):
    """Brings the database to this build's schema (a kept one too)."""
    env = dict(os.environ, EQMS_PG_CONNINFO=conninfo, EQMS_LOG_LEVEL="warn")
    subprocess.run([os.path.join(bindir, "eqms-migrate")], env=env, check=True)


def setup(conninfo, bindir, scale, seed):
    migrate(conninfo, bindir)
    conn = connect(conninfo)
    q(conn, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    q(conn, statsgen.tree_sql(scale.branches, scale.regions, scale.urumqi))
    q(conn, """CREATE TABLE bench_stats_meta (key text PRIMARY KEY, value text NOT NULL)""")
    return conn


def meta_get(conn):
    if not q1(conn, "SELECT to_regclass('bench_stats_meta') IS NOT NULL"):
        return {}
    return {k: json.loads(v) for k, v in q(conn, "SELECT key, value FROM bench_stats_meta")}


def meta_set(conn, **kv):
    for k, v in kv.items():
        q(conn, """INSERT INTO bench_stats_meta VALUES (%s, %s)
                   ON CONFLICT (key) DO UPDATE SET value = excluded.value""", k, json.dumps(v))


# --- 1. load -------------------------------------------------------------------------

class Copier(threading.Thread):
    """COPYs the generated chunks while the next one is generated."""

    def __init__(self, conninfo):
        super().__init__(daemon=True)
        self.conn = connect(conninfo)
        self.chunks = queue.Queue(maxsize=2)
        self.rows = 0
        self.error = None

    def run(self):
        try:
            while True:
                out = self.chunks.get()
                if out is None:
                    return
                with self.conn.cursor() as cur:
                    for t in statsgen.TABLES:
                        data = out.text(t)
                        if data:
                            cur.copy_expert(f"COPY {t} ({statsgen.COLUMNS[t]}) FROM STDIN",
                                            io.BytesIO(data), size=1 << 20)
                self.rows += out.rows()
        except Exception as e:          # reported by the main thread
            self.error = e


def load(conn, conninfo, tree, scale, seed):
    """Generates and COPYs the history; returns its figures."""
    rng = random.Random(seed)
    cut = int(time.time() * 1000)
    now = datetime.datetime.now(datetime.timezone.utc)
    last = max(now.astimezone(zoneinfo.ZoneInfo(z)).date() for z in tree.zones)
    first = last - datetime.timedelta(days=scale.days - 1)
    made = create_partitions(conn, first, last)
    say(f"load: {made} monthly partitions created for {first} .. {last}")
    copier = Copier(conninfo)
    copier.start()
    ratio = 0.78                      # ratings per ticket, corrected as the days go
    gen = statsgen.History(tree, rng, scale.per_day / ratio, cut)
    out = statsgen.Out()
    totals = dict(ratings=0, tickets=0, events=0, services=0, sessions=0, rows=0)
    t0 = time.monotonic()
    shown = t0
    gen_s = 0.0
    for i in range(scale.days):
        g0 = time.monotonic()
        gen.day(statsgen.Day(first + datetime.timedelta(days=i), i, tree.zones), out)
        gen_s += time.monotonic() - g0
        if out.rows() >= 400000 or i == scale.days - 1:
            for k in ("ratings", "tickets", "events", "services", "sessions"):
                totals[k] += getattr(out, k)
            totals["rows"] += out.rows()
            copier.chunks.put(out)
            if copier.error:
                raise copier.error
            out = statsgen.Out()
            if totals["tickets"]:
                ratio = totals["ratings"] / totals["tickets"]
                left = scale.rows - totals["ratings"]
                days_left = scale.days - i - 1
                if days_left:
                    gen.tickets_per_day = max(1.0, left / (days_left * len(tree.branches))
                                              / ratio)
        if time.monotonic() - shown > 20:
            shown = time.monotonic()
            el = shown - t0
            say(f"load: day {i + 1}/{scale.days}, {totals['ratings']:,} ratings, "
                f"{copier.rows:,} rows copied ({copier.rows / el:,.0f} rows/s), "
                f"about {el / (i + 1) * (scale.days - i - 1):.0f} s to go")
    copier.chunks.put(None)
    copier.join()
    if copier.error:
        raise copier.error
    copy_s = time.monotonic() - t0
    with conn.cursor() as cur:
        for b in tree.branches:
            cur.execute("INSERT INTO ticket_branch_head (branch_id, seq) VALUES (%s, %s)",
                        (b.id, b.seq))
            cur.execute("""INSERT INTO gateway_cursor (gateway, incarnation, upto, branch)
                           VALUES (%s, %s, %s, %s)""", (b.gateway, b.incarnation, b.gw_seq,
                                                         b.path))
    t1 = time.monotonic()
    q(conn, "VACUUM (ANALYZE) " + ", ".join(FACT_TABLES))
    vacuum_s = time.monotonic() - t1
    default_rows = sum(q1(conn, f"SELECT count(*) FROM {t}_default") for t in
                       ("rating", "service_record", "ticket", "ticket_event", "ingest_event"))
    totals.update(copy_s=round(copy_s, 1), vacuum_s=round(vacuum_s, 1),
                  gen_s=round(gen_s, 1), first=str(first), last=str(last), cut_ms=cut,
                  default_rows=default_rows)
    say(f"load: {totals['ratings']:,} ratings, {totals['tickets']:,} tickets, "
        f"{totals['events']:,} ticket events, {totals['services']:,} service records, "
        f"{totals['sessions']:,} staff sessions; {totals['rows']:,} rows in {copy_s:.0f} s "
        f"({totals['rows'] / copy_s:,.0f} rows/s; generating took {gen_s:.0f} s of it, in "
        f"parallel), VACUUM ANALYZE {vacuum_s:.0f} s; {default_rows} rows in default "
        f"partitions")
    return totals


# --- 2. build ------------------------------------------------------------------------

class Aggregator:
    """eqms-stats-aggregator as a child process, without a bus."""

    def __init__(self, bindir, conninfo, logdir, name):
        self.port = srvmod.free_port()
        env = dict(os.environ, EQMS_PG_CONNINFO=conninfo, EQMS_LOG_LEVEL="warn",
                   EQMS_HTTP_ADDRESS="127.0.0.1", EQMS_HTTP_PORT=str(self.port),
                   EQMS_BUS_PUB=f"tcp://127.0.0.1:{srvmod.free_port()}",
                   EQMS_BUS_SUB=f"tcp://127.0.0.1:{srvmod.free_port()}")
        self.log_path = os.path.join(logdir, f"{name}.log")
        self.log = open(self.log_path, "w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen([os.path.join(bindir, "eqms-stats-aggregator")], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        srvmod.wait_port(self.port, timeout=60, proc=self.proc)

    def facts(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics",
                                        timeout=5) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith("eqms_stats_aggregator_facts_total"):
                        return int(float(line.split()[-1]))
        except OSError:
            pass
        return 0

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def failed_reports(self):
        with open(self.log_path) as f:
            return sum(1 for line in f if "event=reports_not_made" in line)

    def stop(self):
        t = time.monotonic()
        self.proc.terminate()
        try:
            self.proc.wait(90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return time.monotonic() - t


def progress(conn):
    """(ticket events read, behind; gateway seqs read, behind)."""
    (te, teh, gw, gwh), = q(conn, """SELECT
        (SELECT coalesce(sum(least(c.position, h.seq)), 0) FROM ticket_branch_head h
         JOIN stats_cursor c ON c.source = 'ticket_event' AND c.stream = h.branch_id::text),
        (SELECT sum(seq) FROM ticket_branch_head),
        (SELECT coalesce(sum(least(c.position, g.upto)), 0) FROM gateway_cursor g
         JOIN stats_cursor c ON c.source = 'gateway'
           AND c.stream = g.gateway || '/' || g.incarnation),
        (SELECT sum(upto) FROM gateway_cursor)""")
    return int(te), int(teh or 0), int(gw), int(gwh or 0)


def is_caught_up(conn):
    conn.autocommit = False
    try:
        return caught_up(conn)
    finally:
        conn.autocommit = True


def build(conn, conninfo, bindir, logdir, pg):
    q(conn, "SELECT pg_stat_statements_reset()")
    pg_cpu0 = cpu_of(pg.pids())
    agg = Aggregator(bindir, conninfo, logdir, "aggregator-build")
    t0 = agg.started
    shown = t0
    last_facts, last_t = 0, t0
    while True:
        time.sleep(2)
        if agg.proc.poll() is not None:
            raise SystemExit(f"bench_stats: the aggregator exited ({agg.proc.returncode}), "
                             f"see {agg.log_path}")
        if is_caught_up(conn):
            break
        now = time.monotonic()
        if now - shown >= 20:
            facts = agg.facts()
            te, teh, gw, gwh = progress(conn)
            say(f"build: {now - t0:6.0f} s, ticket events {100 * te / max(teh, 1):5.1f} %, "
                f"gateway journals {100 * gw / max(gwh, 1):5.1f} %, {facts:,} facts "
                f"({(facts - last_facts) / (now - last_t):,.0f}/s now)")
            shown, last_facts, last_t = now, facts, now
    build_s = time.monotonic() - t0
    facts = agg.facts()
    agg_cpu = agg.cpu()
    pg_cpu = cpu_of(pg.pids()) - pg_cpu0
    statements = top_statements(conn)
    stop_s = agg.stop()
    unplaced = q(conn, "SELECT reason, count(*) FROM stats_unplaced GROUP BY 1 ORDER BY 2 DESC")
    figures = dict(build_s=round(build_s, 1), facts=facts, agg_cores=round(agg_cpu / build_s, 2),
                   pg_cores=round(pg_cpu / build_s, 2),
                   unplaced=sum(n for _r, n in unplaced), stop_s=round(stop_s, 1),
                   cells=q1(conn, "SELECT count(*) FROM stats_cell"),
                   legs=q1(conn, "SELECT count(*) FROM stats_leg"),
                   grades=q1(conn, "SELECT count(*) FROM stats_star_grade"))
    say(f"build: caught up in {build_s:.1f} s: {facts:,} facts ({facts / build_s:,.0f}/s), "
        f"aggregator {figures['agg_cores']} cores, PostgreSQL {figures['pg_cores']} cores; "
        f"{figures['cells']:,} cells, {figures['legs']:,} legs, {figures['grades']:,} star "
        f"grades; {figures['unplaced']} facts unplaced {unplaced[:3]}")
    say("build: heaviest statements (pg_stat_statements):")
    for line in statements:
        say(line)
    figures["statements"] = statements
    q(conn, "ANALYZE " + ", ".join(STATS_TABLES))
    return figures


def verify(conninfo, bindir, tree_zone_today, days):
    if days <= 0:
        return None
    to = tree_zone_today
    frm = to - datetime.timedelta(days=days)
    env = dict(os.environ, EQMS_PG_CONNINFO=conninfo, EQMS_LOG_LEVEL="warn")
    t0 = time.monotonic()
    r = subprocess.run([os.path.join(bindir, "eqms-stats"), "verify", "--from", str(frm),
                        "--to", str(to)], env=env, capture_output=True, text=True)
    lines = r.stdout.strip().splitlines() or [r.stderr.strip()]
    for line in lines[:-1][:10]:
        say(f"  {line}")
    say(f"verify {frm} .. {to}: {lines[-1]} (exit {r.returncode}, "
        f"{time.monotonic() - t0:.0f} s)")
    return lines[-1]


# --- 3. queries ----------------------------------------------------------------------

class Catalogue:
    """What the queries pick their parameters from."""

    def __init__(self, conn, first, last):
        self.hq = q1(conn, "SELECT id FROM org_node WHERE path = 'hq'")
        self.regions = [r[0] for r in q(conn, "SELECT id FROM org_node WHERE kind = 'region'")]
        self.branches = q(conn, "SELECT id, time_zone FROM org_node WHERE kind = 'branch'")
        self.tellers = q(conn, "SELECT id, node_id FROM staff")
        self.windows = [r[0] for r in q(conn, "SELECT id FROM service_window")]
        self.services = [r[0] for r in q(conn, "SELECT id FROM service")]
        self.first, self.last = first, last
        now = datetime.datetime.now(datetime.timezone.utc)
        self.today = {}
        for z in {b[1] for b in self.branches}:
            local = now.astimezone(zoneinfo.ZoneInfo(z))
            # the latest business day: today once the branch has been open an hour
            self.today[z] = local.date() if local.hour >= 10 else \
                local.date() - datetime.timedelta(days=1)
        sh = now.astimezone(zoneinfo.ZoneInfo("Asia/Shanghai")).date()
        self.month = sh.replace(day=1)
        self.quarter = sh.replace(month=(sh.month - 1) // 3 * 3 + 1, day=1)


def add_months(d, n):
    m = d.month - 1 + n
    return d.replace(year=d.year + m // 12, month=m % 12 + 1, day=1)


def queries(cat):
    """The ten dashboard queries: (name, function rng -> (sql, params))."""
    def month(rng, back):
        return add_months(cat.month, -rng.randrange(back))

    def quarter(rng, back):
        return add_months(cat.quarter, -3 * rng.randrange(back))

    def day_in_history(rng, span):
        last = cat.last - datetime.timedelta(days=span)
        n = max(0, (last - cat.first).days)
        return cat.first + datetime.timedelta(days=rng.randint(0, n))

    def q_hq_month(rng):
        m = month(rng, 12)
        return ("SELECT period, from_day, to_day, (figures).* FROM stats_compare(%s, %s, %s)",
                (cat.hq, m, add_months(m, 1)))

    def q_region_rank(rng):
        qs = quarter(rng, 4)
        return ("SELECT * FROM stats_rank(%s, %s, %s, 'child', 'satisfaction', 1000, 30)",
                (rng.choice(cat.regions), qs, add_months(qs, 3)))

    def q_branch_today(rng):
        b, zone = rng.choice(cat.branches)
        d = cat.today[zone]
        return ("SELECT * FROM stats_figures(%s, %s, %s, 'hour')",
                (b, d, d + datetime.timedelta(days=1)))

    def q_teller_year(rng):
        teller, branch = rng.choice(cat.tellers)
        y0 = add_months(cat.month, -11)
        return ("""SELECT m.d::date, f.* FROM generate_series(%s::date, %s::date
                       + interval '11 months', interval '1 month') AS m(d)
                   CROSS JOIN LATERAL stats_figures(%s, m.d::date,
                       (m.d + interval '1 month')::date, 'teller') f
                   WHERE f.member = %s ORDER BY 1""", (y0, y0, branch, teller))

    def q_unsatisfied_tellers(rng):
        qs = quarter(rng, 4)
        return ("SELECT * FROM stats_rank(%s, %s, %s, 'teller', 'unsatisfied_ratio', 10, 30)",
                (rng.choice(cat.regions), qs, add_months(qs, 3)))

    def q_service_waits(rng):
        node = rng.choice([cat.hq, rng.choice(cat.regions), rng.choice(cat.branches)[0]])
        m = month(rng, 24)
        return ("""SELECT member, wait_0_3, wait_3_6, wait_6_9, wait_9_12, wait_12_15,
                          wait_15_plus, wait_avg_s, wait_p90_s
                   FROM stats_figures(%s, %s, %s, 'service') WHERE member = %s""",
                (node, m, add_months(m, 1), rng.choice(cat.services)))

    def q_service_level_week(rng):
        d = day_in_history(rng, 7)
        w = d - datetime.timedelta(days=d.weekday())
        return ("""SELECT grp, member, served, service_level, service_level_abandoned
                   FROM stats_figures(%s, %s, %s, 'child')""",
                (rng.choice(cat.regions), w, w + datetime.timedelta(days=7)))

    def q_hq_year_by_day(rng):
        end = cat.last + datetime.timedelta(days=1 - rng.randrange(90))
        return ("SELECT * FROM stats_figures(%s, %s, %s, 'day')",
                (cat.hq, end - datetime.timedelta(days=365), end))

    def q_window_stars(rng):
        return ("""SELECT period, start_day, grade, rated, satisfied, changed_at
                   FROM stats_star_grade WHERE subject = 'window' AND member = %s
                   ORDER BY period, start_day""", (rng.choice(cat.windows),))

    def q_region_17_days(rng):
        d = day_in_history(rng, 17)
        return ("SELECT * FROM stats_figures(%s, %s, %s)",
                (rng.choice(cat.regions), d, d + datetime.timedelta(days=17)))

    return [("hq month vs same month last year", q_hq_month),
            ("region's branches by satisfaction, quarter", q_region_rank),
            ("one branch by hour, today", q_branch_today),
            ("a teller's year by month", q_teller_year),
            ("top 10 unsatisfied tellers of a region, quarter", q_unsatisfied_tellers),
            ("a service's wait distribution, month", q_service_waits),
            ("service level by branch, week", q_service_level_week),
            ("hq by day, a year", q_hq_year_by_day),
            ("a window's star grade history", q_window_stars),
            ("a region, arbitrary 17 days", q_region_17_days)]


def pct(values, p):
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def run_queries(conn, cat, runs, budget_s, seed):
    rng = random.Random(seed + 7)
    qs = queries(cat)
    times = {name: [] for name, _f in qs}
    rows = {name: 0 for name, _f in qs}
    spent = {name: 0.0 for name, _f in qs}
    with conn.cursor() as cur:
        for name, f in qs:                      # warm-up: plans and catalogue caches
            sql, params = f(rng)
            cur.execute(sql, params)
            cur.fetchall()
        t_all = time.monotonic()
        for i in range(runs):
            active = [(n, f) for n, f in qs
                      if len(times[n]) < 3 or spent[n] < budget_s]
            if not active:
                break
            for name, f in active:
                sql, params = f(rng)
                t0 = time.perf_counter()
                cur.execute(sql, params)
                got = cur.fetchall()
                dt = time.perf_counter() - t0
                times[name].append(dt * 1000)
                spent[name] += dt
                rows[name] += len(got)
            if time.monotonic() - t_all > 60 and i % 10 == 0:
                say(f"queries: round {i + 1}/{runs}, {time.monotonic() - t_all:.0f} s")
    result = []
    say("queries (ms):")
    say(f"  {'query':48s} {'runs':>5s} {'rows/run':>8s} {'p50':>9s} {'p99':>9s} {'max':>9s}")
    for name, _f in qs:
        t = times[name]
        r = dict(name=name, runs=len(t), rows=round(rows[name] / len(t), 1),
                 p50=round(pct(t, 50), 1), p99=round(pct(t, 99), 1), max=round(max(t), 1))
        result.append(r)
        say(f"  {name:48s} {r['runs']:5d} {r['rows']:8.1f} {r['p50']:9.1f} {r['p99']:9.1f} "
            f"{r['max']:9.1f}")
    return result


# --- 4. lag ----------------------------------------------------------------------------

def iso(ms):
    return statsgen.ts(ms).replace(" ", "T")


class LiveBranch:
    """A branch as its owners see it now: the next ticket_event seq, the
    gateway journal's next seq, tickets on their way through the windows."""

    def __init__(self, row, day_index):
        (self.id, self.path, self.zone, self.seq, self.gateway, self.incarnation,
         self.gw_seq, windows, staff) = row
        self.windows = [tuple(w) for w in windows]
        self.staff = [staff[(w + day_index) % len(staff)] for w in range(len(self.windows))]
        code = self.path.split(".")[-1]
        self.serials = [f"EQ-{code.upper()}-W{n:02d}" for _w, n in self.windows]
        self.waiting, self.called, self.serving = [], [], []
        self.number = 500
        self.issued = 0            # live issued so far
        self.rated = 0             # live ratings so far
        self.base_issued = self.base_rated = 0


class Sample:
    __slots__ = ("commit", "source", "stream", "position", "branch", "field", "expected",
                 "passed")

    def __init__(self, commit, source, stream, position, branch, field, expected):
        self.commit, self.source, self.stream, self.position = commit, source, stream, position
        self.branch, self.field, self.expected = branch, field, expected
        self.passed = None


class Lag:
    """The live writers and the prober of one lag run."""

    def __init__(self, conninfo, branches, services, options, columns, rate, seconds, seed):
        self.conninfo = conninfo
        self.branches = branches
        self.services = services
        self.options = options
        self.columns = columns
        self.rate = rate
        self.seconds = seconds
        self.seed = seed
        self.samples = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.events = 0
        self.errors = []

    # queue-manager: ticket events of one branch per transaction
    def _qm_batch(self, b, rng, steps):
        now = int(time.time() * 1000)
        day = int(datetime.datetime.fromtimestamp(now / 1000, zoneinfo.ZoneInfo(b.zone))
                  .strftime("%Y%m%d"))
        evs = []

        def ev(kind, t, w=None, **kw):
            e = dict(branch_id=b.id, at=iso(now + len(evs)), day=day, kind=kind,
                     actor=f"device:{b.serials[w]}" if w is not None else "kiosk:1",
                     ticket_id=t["id"], number=t["number"], number_seq=t["nq"],
                     queue_id=t["svc"][1], service_id=t["svc"][0], **{"class": "ordinary"},
                     original_at=t["orig"], recall=0, avg_ms=0, detail='""')
            if w is not None:
                e.update(window_id=b.windows[w][0], window_no=b.windows[w][1],
                         staff_id=b.staff[w])
            e.update(kw)
            evs.append(e)
        done = b.serving[:steps]
        del b.serving[:steps]
        for t in done:
            ev("finished", t, t["w"], avg_ms=300000)
        moving = b.called[:steps]
        del b.called[:steps]
        for t in moving:
            ev("started", t, t["w"])
        b.serving.extend(moving)
        calling = b.waiting[:steps]
        del b.waiting[:steps]
        for i, t in enumerate(calling):
            t["w"] = i % len(b.windows)
            ev("called", t, t["w"])
        b.called.extend(calling)
        for _ in range(steps):
            b.number += 1
            svc = rng.choice(self.services)
            t = dict(id=statsgen.uuid7(now, rng.getrandbits(74)),
                     number=f"{svc[2]}{b.number % 1000:03d}", nq=b.number, svc=svc,
                     orig=iso(now + len(evs)))
            ev("issued", t)
            b.waiting.append(t)
        b.issued += steps
        for e in evs:
            b.seq += 1
            e["seq"] = b.seq
        rec = []
        for e in evs:
            fields = []
            for c in self.columns:
                v = e.get(c)
                fields.append("" if v is None else str(v))
            rec.append('"(' + ",".join(fields).replace('\\', '\\\\').replace('"', '\\"') + ')"')
        return "{" + ",".join(rec) + "}", len(evs)

    def _qm_writer(self, mine, share, k):
        rng = random.Random(self.seed * 31 + k)
        conn = psycopg2.connect(self.conninfo)
        cur = conn.cursor()
        steps = 15
        sent = 0
        t0 = time.monotonic()
        i = 0
        try:
            while not self.stop.is_set():
                b = mine[i % len(mine)]
                i += 1
                arr, n = self._qm_batch(b, rng, steps)
                cur.execute("SELECT eqms_ticket_events_insert(%s::ticket_event[])", (arr,))
                conn.commit()
                commit = time.monotonic()
                sent += n
                with self.lock:
                    self.events += n
                    if i % 3 == 0:
                        self.samples.append(Sample(commit, "ticket_event", str(b.id), b.seq, b,
                                                   "issued", b.base_issued + b.issued))
                ahead = t0 + sent / share - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        except Exception as e:
            self.errors.append(f"queue-manager writer: {e}")
        finally:
            conn.close()

    # rating-ingest: device services and ratings of one gateway per transaction
    def _ri_writer(self, mine, share, k):
        rng = random.Random(self.seed * 37 + k)
        conn = psycopg2.connect(self.conninfo)
        cur = conn.cursor()
        customers = 30
        sent = 0
        t0 = time.monotonic()
        i = 0
        try:
            while not self.stop.is_set():
                b = mine[i % len(mine)]
                i += 1
                now = int(time.time() * 1000)
                ids, ratings, services = [], [], []
                for c in range(customers):
                    w = rng.randrange(len(b.windows))
                    wid, staff, serial = b.windows[w][0], b.staff[w], b.serials[w]
                    start = now - rng.randint(60000, 900000)
                    b.gw_seq += 1                                    # service.start
                    ids.append(statsgen.uuid7(start, rng.getrandbits(74)))
                    b.gw_seq += 1                                    # service.end
                    sid = statsgen.uuid7(now, rng.getrandbits(74))
                    ids.append(sid)
                    services.append(f"{sid}\t{statsgen.ts(now)}\t{statsgen.ts(start)}\t"
                                    f"{now - start}\t{b.gateway}\t{b.gw_seq}\t{wid}\t{staff}\t"
                                    f"\\N\t{b.incarnation}")
                    if rng.random() < statsgen.RATE_SERVED:
                        b.gw_seq += 1                                # rating.submitted
                        rid = statsgen.uuid7(now, rng.getrandbits(74))
                        ids.append(rid)
                        code = rng.choice([1, 1, 1, 2, 2, 3, 4])
                        score, sat, unsat = self.options[b.path][code]
                        ratings.append(f"{rid}\t{statsgen.ts(now)}\t{b.gateway}\t"
                                       f"{b.incarnation}\t{b.gw_seq}\t{wid}\t{staff}\t{b.path}\t"
                                       f"{serial}\t1\t{b.gw_seq}\t{code}\t{score}\t{sat}\t"
                                       f"{unsat}\t\\N\t\\N\t{now - start}\t"
                                       f"{statsgen.ts(now + 80)}\t{statsgen.ts(now + 90)}")
                cur.execute("INSERT INTO ingest_event (id) SELECT unnest(%s::uuid[]) "
                            "ON CONFLICT DO NOTHING", (ids,))
                if ratings:
                    cur.copy_expert(f"COPY rating ({statsgen.COLUMNS['rating']}) FROM STDIN",
                                    io.StringIO("\n".join(ratings) + "\n"))
                cur.copy_expert(f"COPY service_record ({statsgen.COLUMNS['service_record']}) "
                                "FROM STDIN", io.StringIO("\n".join(services) + "\n"))
                cur.execute("""INSERT INTO gateway_cursor (gateway, incarnation, branch, upto)
                               VALUES (%s, %s, %s, %s) ON CONFLICT (gateway, incarnation)
                               DO UPDATE SET upto = greatest(gateway_cursor.upto,
                                   EXCLUDED.upto), updated_at = now()""",
                            (b.gateway, b.incarnation, b.path, b.gw_seq))
                conn.commit()
                commit = time.monotonic()
                n = len(ratings) + len(services)
                b.rated += len(ratings)
                sent += n
                with self.lock:
                    self.events += n
                    if i % 3 == 0:
                        self.samples.append(Sample(commit, "gateway",
                                                   f"{b.gateway}/{b.incarnation}", b.gw_seq, b,
                                                   "rated", b.base_rated + b.rated))
                ahead = t0 + sent / share - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        except Exception as e:
            self.errors.append(f"rating-ingest writer: {e}")
        finally:
            conn.close()

    def _figure(self, cur, b):
        today = datetime.datetime.now(zoneinfo.ZoneInfo(b.zone)).date()
        cur.execute("""SELECT issued, rated FROM stats_figures(%s, %s, %s, 'none', false)""",
                    (b.id, today - datetime.timedelta(days=1),
                     today + datetime.timedelta(days=2)))
        row = cur.fetchone()
        return (row[0] or 0, row[1] or 0) if row else (0, 0)

    def base(self, conn, n=8):
        """Picks a few branches whose samples are also confirmed through
        stats_figures, and reads their figures before the run."""
        rng = random.Random(self.seed)
        self.confirm = {b.id for b in rng.sample(self.branches, min(n, len(self.branches)))}
        with conn.cursor() as cur:
            for b in self.branches:
                if b.id in self.confirm:
                    b.base_issued, b.base_rated = self._figure(cur, b)

    def _prober(self, done):
        """Polls stats_cursor for the streams of the samples waiting, every
        20 ms: a sample is visible once its stream's cursor passed it (the
        aggregator moves a cursor in the transaction that writes the cells
        of what it read)."""
        conn = connect(self.conninfo)
        cur = conn.cursor()
        pending = []
        taken = 0
        while True:
            with self.lock:
                pending.extend(self.samples[taken:])
                taken = len(self.samples)
            if not pending and done.is_set():
                break
            if pending:
                keys = list({(s.source, s.stream) for s in pending})
                cur.execute("""SELECT c.stream, c.position FROM stats_cursor c
                               JOIN unnest(%s::text[], %s::text[]) AS k (source, stream)
                                 ON c.source = k.source AND c.stream = k.stream""",
                            ([k[0] for k in keys], [k[1] for k in keys]))
                pos = dict(cur.fetchall())
                t = time.monotonic()
                still = []
                for s in pending:
                    if pos.get(s.stream, 0) >= s.position:
                        s.passed = t
                        if s.branch.id in self.confirm:
                            self.to_confirm.append(s)
                    else:
                        still.append(s)
                pending = still
                if done.is_set() and time.monotonic() > self.deadline:
                    break
            time.sleep(0.02)
        conn.close()

    def _confirmer(self, done):
        """Confirms through stats_figures, about once a second, that the
        newest sample whose cursor passed is in its branch's figure (the
        count of issued tickets or of ratings includes it)."""
        conn = connect(self.conninfo)
        cur = conn.cursor()
        while not (done.is_set() and not self.to_confirm):
            if not self.to_confirm:
                time.sleep(0.05)
                continue
            s = self.to_confirm.pop()
            self.to_confirm.clear()
            issued, rated = self._figure(cur, s.branch)
            if (issued if s.field == "issued" else rated) >= s.expected:
                self.confirmed += 1
            else:
                self.contradicted += 1
            time.sleep(1)
        conn.close()

    def run(self, cpu):
        """Runs the writers for the run's seconds; `cpu()` is sampled when
        they start and when they stop."""
        qm = list(self.branches)
        ri = list(qm)
        rng = random.Random(self.seed)
        rng.shuffle(ri)
        qm_rate, ri_rate = self.rate * 0.72 / 2, self.rate * 0.28 / 2
        done = threading.Event()
        self.to_confirm = []
        self.confirmed = self.contradicted = 0
        prober = threading.Thread(target=self._prober, args=(done,), daemon=True)
        confirmer = threading.Thread(target=self._confirmer, args=(done,), daemon=True)
        writers = [threading.Thread(target=self._qm_writer, args=(qm[k::2], qm_rate, k),
                                    daemon=True) for k in range(2)]
        writers += [threading.Thread(target=self._ri_writer, args=(ri[k::2], ri_rate, k),
                                     daemon=True) for k in range(2)]
        prober.start()
        confirmer.start()
        cpu0 = cpu()
        t0 = time.monotonic()
        for w in writers:
            w.start()
        time.sleep(self.seconds)
        self.stop.set()
        for w in writers:
            w.join()
        elapsed = time.monotonic() - t0
        cpu1 = cpu()
        self.deadline = time.monotonic() + 90
        done.set()
        prober.join()
        confirmer.join()
        seen = [s for s in self.samples if s.passed is not None]
        lags = [1000 * (s.passed - s.commit) for s in seen]
        unseen = len(self.samples) - len(seen)
        by10 = {}
        for s in seen:
            k = int((s.commit - t0) // 10)
            by10[k] = max(by10.get(k, 0), s.passed - s.commit)
        return dict(events=self.events, seconds=round(elapsed, 1),
                    cores=[round((b - a) / elapsed, 2) for a, b in zip(cpu0, cpu1)],
                    rate=round(self.events / elapsed), samples=len(self.samples),
                    unseen=unseen, confirmed=self.confirmed, contradicted=self.contradicted,
                    p50=round(pct(lags, 50), 1) if lags else None,
                    p99=round(pct(lags, 99), 1) if lags else None,
                    max=round(max(lags), 1) if lags else None,
                    max_by_10s=[round(by10[k], 1) for k in sorted(by10)],
                    errors=self.errors)


def live_branches(conn):
    """The branches with their heads, journals, windows and staff, now."""
    day_index = (datetime.date.today() - datetime.date(2000, 1, 1)).days
    rows = q(conn, """SELECT b.id, b.path::text, b.time_zone, h.seq, g.gateway,
                             g.incarnation::text, g.upto,
                             (SELECT array_agg(ARRAY[w.id, w.number] ORDER BY w.number)
                              FROM service_window w WHERE w.node_id = b.id),
                             (SELECT array_agg(s.id ORDER BY s.id) FROM staff s
                              WHERE s.node_id = b.id)
                      FROM org_node b JOIN ticket_branch_head h ON h.branch_id = b.id
                      JOIN gateway_cursor g ON g.branch = b.path::text
                      WHERE b.kind = 'branch' ORDER BY b.id""")
    return [LiveBranch(r, day_index) for r in rows]


# The reports stats_make_reports finds due from now until a day ahead, by
# node: the last three local days and the last month.
DUE_REPORTS = """local AS (
            SELECT n.id, ((now() - x.delay) AT TIME ZONE n.time_zone)::date AS today
            FROM org_node n, (VALUES (interval '10 minutes'), (interval '-1 day')) x (delay)
        ), due AS (
            SELECT l.id, 'day' AS kind, (l.today - k)::date AS start_day
            FROM local l, generate_series(1, 3) AS k
            UNION SELECT l.id, 'month', (date_trunc('month', l.today) - interval '1 month')::date
            FROM local l
        )"""


def placeholders(conn, add):
    """Adds (or removes) a placeholder stats_report row for every due report
    (DUE_REPORTS), so that the aggregator finds none to make."""
    if not add:
        return q1(conn, """WITH d AS (DELETE FROM stats_report
                                       WHERE figures ? 'bench_placeholder' RETURNING 1)
                           SELECT count(*) FROM d""")
    return q1(conn, "WITH " + DUE_REPORTS + """, ins AS (
            INSERT INTO stats_report (node_id, kind, start_day, figures)
            SELECT id, kind, start_day, '{"bench_placeholder": true}' FROM due
            ON CONFLICT DO NOTHING RETURNING 1)
        SELECT count(*) FROM ins""")


def remake_reports(conn):
    """Deletes every due report (DUE_REPORTS) made already, so that the
    aggregator makes them again during the next lag run: the reports of all
    nodes for three days and a month at once, as after an outage over a
    month's end (a day's end brings one day's)."""
    return q1(conn, "WITH " + DUE_REPORTS + """, del AS (
            DELETE FROM stats_report r USING due
            WHERE r.node_id = due.id AND r.kind = due.kind AND r.start_day = due.start_day
            RETURNING 1)
        SELECT count(*) FROM del""")


class Autovacuum(threading.Thread):
    """The tables autovacuum vacuumed or analysed during a lag run, and in
    which seconds of it (pg_stat_progress_vacuum and _analyze, sampled every
    second on a connection of its own): a run right after the build shares
    PostgreSQL with the vacuum of the tables the build wrote."""

    def __init__(self, conninfo):
        super().__init__(daemon=True)
        self.conn = connect(conninfo)
        self.stopping = threading.Event()
        self.seen = {}              # "table (vacuum)": [first s, last s]
        self.t0 = time.monotonic()

    def run(self):
        while not self.stopping.wait(1.0):
            t = int(time.monotonic() - self.t0)
            for (what,) in q(self.conn, """
                    SELECT relid::regclass::text || ' (vacuum)' FROM pg_stat_progress_vacuum
                    UNION ALL
                    SELECT relid::regclass::text || ' (analyze)' FROM pg_stat_progress_analyze"""):
                self.seen.setdefault(what, [t, t])[1] = t

    def finish(self):
        """'table (vacuum) from-to s, ...' or 'none'."""
        self.stopping.set()
        self.join()
        self.conn.close()
        return ", ".join(f"{what} {a}-{b} s" for what, (a, b) in sorted(
            self.seen.items(), key=lambda kv: kv[1])) or "none"


def lag_run(conn, conninfo, bindir, logdir, pg, args, name, seed):
    branches = live_branches(conn)
    services = q(conn, """SELECT s.id, q.id, q.prefix FROM service s
                          JOIN queue q ON q.id = s.queue_id ORDER BY s.id""")
    columns = [r[0] for r in q(conn, """SELECT attname FROM pg_attribute
                                        WHERE attrelid = 'ticket_event'::regclass
                                          AND attnum > 0 AND NOT attisdropped
                                        ORDER BY attnum""")]
    options = {}
    for path, code, score, sat, unsat in q(conn, """
            SELECT b.path::text, o.code, o.score::text, o.satisfied, o.unsatisfied
            FROM org_node b CROSS JOIN LATERAL effective_settings(b.id) e
            JOIN rating_option o ON o.scale_id = e.rating_scale_id
            WHERE b.kind = 'branch'"""):
        options.setdefault(path, {})[code] = (score, "t" if sat else "f", "t" if unsat else "f")
    agg = Aggregator(bindir, conninfo, logdir, f"aggregator-{name}")
    while not is_caught_up(conn):
        time.sleep(0.5)
    time.sleep(3)
    lag = Lag(conninfo, branches, services, options, columns, args.rate, args.lag_seconds,
              seed)
    lag.base(conn)
    q(conn, "SELECT pg_stat_statements_reset()")
    vacuum = Autovacuum(conninfo)
    vacuum.start()
    r = lag.run(lambda: (agg.cpu(), cpu_of(pg.pids())))
    r["autovacuum"] = vacuum.finish()
    seconds = r["seconds"]
    r["agg_cores"], r["pg_cores"] = r["cores"]
    r["statements"] = top_statements(conn)
    r["failed_reports"] = agg.failed_reports()
    deadline = time.monotonic() + 300      # what was not sampled is placed too
    while not is_caught_up(conn) and time.monotonic() < deadline:
        time.sleep(0.5)
    agg.stop()
    say(f"lag ({name}): {r['events']:,} events in {seconds} s ({r['rate']:,}/s of "
        f"{args.rate:,}), {r['samples']} sampled transactions: p50 {r['p50']} ms, "
        f"p99 {r['p99']} ms, max {r['max']} ms, {r['unseen']} not visible within 90 s; "
        f"{r['confirmed']} confirmed through stats_figures, {r['contradicted']} contradicted; "
        f"aggregator {r['agg_cores']} cores, PostgreSQL {r['pg_cores']} cores (writers, "
        f"aggregator, prober); {r['failed_reports']} report attempts failed in the "
        f"aggregator's log" + (f"; ERRORS {r['errors']}" if r["errors"] else ""))
    say(f"lag ({name}): worst lag (s) of the transactions committed in each 10 s: "
        + " ".join(str(x) for x in r["max_by_10s"]))
    say(f"lag ({name}): autovacuum at work during the run: {r['autovacuum']}")
    say(f"lag ({name}): heaviest statements:")
    for line in r["statements"]:
        say(line)
    return r


# --- main ------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"))
    ap.add_argument("--rows", type=int, default=100_000_000, help="ratings in the history")
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--branches", type=int, default=2000)
    ap.add_argument("--per-day", type=float, default=70.0,
                    help="rated customers per branch and day")
    ap.add_argument("--query-runs", type=int, default=200)
    ap.add_argument("--query-budget-s", type=float, default=120.0,
                    help="stop a query after this much time (at least 3 runs)")
    ap.add_argument("--lag-seconds", type=int, default=60)
    ap.add_argument("--rate", type=int, default=10000, help="live events/s")
    ap.add_argument("--remake-reports", action="store_true",
                    help="delete the due reports before the first lag run, so that they "
                         "are made during it (a kept database has made them already)")
    ap.add_argument("--no-placeholder-lag", action="store_true",
                    help="skip the second lag run (due reports as placeholders)")
    ap.add_argument("--verify-days", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", metavar="DIR",
                    help="keep PostgreSQL's data in DIR; a later run with the same DIR "
                         "and --rows reuses the loaded and built database")
    ap.add_argument("--rebuild", action="store_true",
                    help="with --keep: empty the aggregator's tables and build again")
    args = ap.parse_args()
    scale = Scale(args.rows, args.days, args.branches, args.per_day)
    root = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="eqms-bench-stats-")
    os.makedirs(root, exist_ok=True)
    pg = Postgres(root)
    say(f"bench_stats: --rows {args.rows:,}: {scale}; data in {root}")
    pg.start()
    try:
        conninfo = pg.conninfo(DB)
        fresh = not pg.existed or not q1(connect(pg.conninfo()),
                                         "SELECT count(*) FROM pg_database WHERE datname = %s",
                                         DB)
        if fresh:
            conninfo = pg.create_database(DB)
            conn = setup(conninfo, args.bin, scale, args.seed)
        else:
            migrate(conninfo, args.bin)
            conn = connect(conninfo)
        meta = meta_get(conn)
        if not fresh and "load" not in meta:
            raise SystemExit(f"bench_stats: {root} holds an unfinished load; remove it")
        if meta.get("rows", args.rows) != args.rows:
            raise SystemExit(f"bench_stats: {root} holds --rows {meta['rows']}, not "
                             f"{args.rows}; remove it or pass --rows {meta['rows']}")
        size0 = q1(conn, "SELECT pg_database_size(current_database())")
        if "load" not in meta:
            meta_set(conn, rows=args.rows, size_empty=size0)
            rng = random.Random(args.seed)
            tree = statsgen.Tree(conn, rng)
            loaded = load(conn, conninfo, tree, scale, args.seed)
            loaded["size"] = q1(conn, "SELECT pg_database_size(current_database())")
            loaded["tables"] = table_bytes(conn, FACT_TABLES)
            meta_set(conn, load=loaded)
            meta = meta_get(conn)
        loaded = meta["load"]
        say(f"size: {gib(meta['size_empty'])} empty, {gib(loaded['size'])} loaded: "
            + ", ".join(f"{t} {gib(n)}" for t, n in loaded["tables"].items()))
        if args.rebuild and "build" in meta:
            q(conn, "TRUNCATE " + ", ".join(STATS_TABLES))
            q(conn, "DELETE FROM bench_stats_meta WHERE key = 'build'")
            meta.pop("build")
        if "build" not in meta:
            built = build(conn, conninfo, args.bin, root, pg)
            built["size"] = q1(conn, "SELECT pg_database_size(current_database())")
            built["tables"] = table_bytes(conn, STATS_TABLES)
            built["verify"] = verify(conninfo, args.bin, datetime.date.fromisoformat(
                meta["load"]["last"]), args.verify_days)
            meta_set(conn, build=built)
            meta = meta_get(conn)
        else:
            say(f"build: kept from an earlier run: {meta['build']['build_s']} s")
        built = meta["build"]
        say(f"size: {gib(built['size'])} built: "
            + ", ".join(f"{t} {gib(n)}" for t, n in built["tables"].items() if n > 2**24))
        first = datetime.date.fromisoformat(loaded["first"])
        last = datetime.date.fromisoformat(loaded["last"])
        verified = built.get("verify")

        cat = Catalogue(conn, first, last)
        results = run_queries(conn, cat, args.query_runs, args.query_budget_s, args.seed)

        placeholders(conn, False)
        if args.remake_reports:
            say(f"lag: {remake_reports(conn)} due reports deleted, to be made again during "
                "the run")
        started = q1(conn, "SELECT now()")
        lag = lag_run(conn, conninfo, args.bin, root, pg, args, "as is", args.seed)
        say(f"lag (as is): {q1(conn, 'SELECT count(*) FROM stats_report WHERE made_at >= %s', started)} "
            "reports made during the run")
        lag2 = None
        if not args.no_placeholder_lag:
            n = placeholders(conn, True)
            say(f"lag: {n} due reports put in stats_report as placeholders")
            lag2 = lag_run(conn, conninfo, args.bin, root, pg, args, "reports placeholders",
                           args.seed + 1)
            placeholders(conn, False)
        size_end = q1(conn, "SELECT pg_database_size(current_database())")

        # --- summary and extrapolation
        ratings = loaded["ratings"]
        facts_bytes = sum(loaded["tables"].values())
        stats_bytes = sum(built["tables"].values())
        factor = 100_000_000 / ratings
        say("")
        say(f"summary: {ratings:,} ratings ({loaded['tickets'] / ratings:.2f} tickets and "
            f"{loaded['events'] / ratings:.2f} ticket events per rating) over "
            f"{scale.days} days and {scale.branches} branches")
        say(f"  raw facts {gib(facts_bytes)} ({facts_bytes / ratings:,.0f} bytes per rating), "
            f"rollups {gib(stats_bytes)} ({stats_bytes / ratings:,.0f} bytes per rating), "
            f"database {gib(loaded['size'])} loaded, {gib(built['size'])} built, "
            f"{gib(size_end)} at the end")
        say(f"  load {loaded['copy_s']} s COPY + {loaded['vacuum_s']} s VACUUM ANALYZE, "
            f"build {built['build_s']} s ({built['facts'] / built['build_s']:,.0f} facts/s)")
        say(f"extrapolation to 100,000,000 ratings (x{factor:.1f}, linear in the ratings; "
            f"not measured): raw facts {gib(facts_bytes * factor)}, rollups "
            f"{gib(stats_bytes * factor)}, database {gib(built['size'] * factor)}; load "
            f"{(loaded['copy_s'] + loaded['vacuum_s']) * factor / 3600:.1f} h, build "
            f"{built['build_s'] * factor / 3600:.1f} h at this machine's rates (which hold "
            f"only while the data fits in memory: 24 GiB here)")
        worst = max(results, key=lambda r: r["p99"])
        query_p99 = worst["p99"]
        say(f"targets: every query's p99 <= 20 ms: "
            f"{'met' if query_p99 <= 20 else 'NOT met'} (worst: {worst['name']}, "
            f"{query_p99} ms); lag p99 <= 2 s: "
            f"{'met' if lag['p99'] is not None and lag['p99'] <= 2000 else 'NOT met'} "
            f"({lag['p99']} ms" + (f"; {lag2['p99']} ms with the due reports as placeholders"
                                   if lag2 else "") + ")")
        meta_set(conn, last_run=dict(queries=results, lag=lag, lag2=lag2, verify=verified,
                                     size_end=size_end))
        conn.close()
        say(f"BENCH stats rows={ratings} query_p99_ms={query_p99:.1f} "
            f"lag_p99_ms={lag['p99'] if lag['p99'] is not None else 'inf'} "
            f"build_s={built['build_s']:.1f}")
    finally:
        pg.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
