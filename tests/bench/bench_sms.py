"""bench_sms: from an unsatisfied rating's commit to its alert SMS accepted by
Kannel, through the real eqms-sms-notifier (issue 13, item 8).

Real parts: a throwaway PostgreSQL (tests/system/servers.py), the schema by
eqms-migrate, the demo data (docker/local/demo.sql) grown to --branches
branches (4 windows and 4 tellers each), one rule at hq and one supervisor
per branch (own phone, max_per_hour 3600), Kannel's bearerbox and smsbox with
fakesmsc as the operator (servers.Kannel), the forwarder eqms-bus and the
release eqms-sms-notifier sending through Kannel with delivery reports
(EQMS_SMS_DIGEST_GAP_S=0: no alert is held or digested).

The bench plays rating-ingest: it commits unsatisfied ratings at --rate per
second, round robin over the branches' gateway journals, each in its own
transaction as rating-ingest commits a batch (the id into ingest_event, the
rating, the journal's gateway_cursor; one round trip), and in the "bus" mode
publishes rating.stored for it right after the commit, as rating-ingest
does. In the "poll" mode it publishes nothing and the notifier finds the
ratings by its poll (EQMS_SMS_POLL_MS, default 1,000 ms). Each mode gets a
fresh database and notifier, a --warmup of traffic first (not counted), then
--seconds of traffic.

Latency per alert = sms_outbox.accepted_at (PostgreSQL's now() in the
sender's UPDATE, written after Kannel answered 202) - the wall-clock time
taken in the bench right after its COMMIT returned; both are the host's
CLOCK_REALTIME. Also printed: the same from rating.received_at (now() of the
rating's transaction), the share before the alert's row existed
(sms_outbox.created_at: now() of the notifier's alert transaction), the
notifier's CPU time (utime + stime, /proc) per alert over the measured
window until every report came back, and the SMS fakesmsc got.

Baseline, same run, same Kannel: the round trip of the notifier's request
(same parameters, a UCS-2 text of the same length, a delivery-report URL
into a sink in this script) sent by a keep-alive HTTP client at --rate
for 10 s before the modes.

Usage: /usr/bin/python3 tests/bench/bench_sms.py --bin build/release/bin
       [--seconds 60] [--rate 100] [--branches 50] [--warmup 5]
       [--modes bus,poll] [--keep DIR] [--log-level info]
Last line: BENCH sms p50_ms=<n> p99_ms=<n> alerts_per_s=<achieved>  (bus mode)
"""
import argparse
import http.client
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

import psycopg2
import zmq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
import servers as srvmod  # noqa: E402
from benchproc import cpu_seconds, stop_all  # noqa: E402
from conftest import make_envelope  # noqa: E402

TEMPLATE = ("{branch}{window}号窗口 {teller}({employee_no}) {time} 「{option}」 "
            "今日不满意{unsatisfied_today}/{rated_today}")
WINDOWS = 4
TELLERS = 4
BASELINE_PHONE = "+8613999999999"


def say(text):
    print(text, flush=True)


def q(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args or None)
        return cur.fetchall() if cur.description else None


def uuid7():
    ms = int(time.time() * 1000)
    r = uuid.uuid4().int
    return str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | ((r >> 64) & 0xfff) << 64
                        | (0b10 << 62) | (r & ((1 << 62) - 1))))


def pct(values, p):
    """The p-th percentile (nearest rank) of values."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


# --- the organisation ------------------------------------------------------------

class Branch:
    def __init__(self, path, node, windows, staff, code, score, phone):
        self.path, self.node, self.windows, self.staff = path, node, windows, staff
        self.option, self.score, self.phone = code, score, phone
        self.gateway = f"device-gateway.{path.split('.')[-1]}"
        self.incarnation = str(uuid.uuid4())
        self.seq = 0


def seed(conn, n):
    """demo.sql, then branches b0005.. up to n (alternately in hq.r01 and
    hq.r02, 4 windows, 4 tellers each); the demo's rules and recipients
    replaced by one rule at hq and one supervisor per branch. Returns the
    first n branches."""
    with open(os.path.join(ROOT, "docker", "local", "demo.sql"), encoding="utf-8") as f:
        q(conn, f.read())
    q(conn, """INSERT INTO org_node (parent_id, code, name, kind, time_zone)
               SELECT p.id, 'b' || lpad(i::text, 4, '0'), '测试第' || i || '支行', 'branch',
                      'Asia/Shanghai'
               FROM generate_series(5, %s) i
               JOIN org_node p ON p.path = ('hq.r0' || (1 + i %% 2))::ltree""", n)
    q(conn, """INSERT INTO service_window (node_id, number, code, name)
               SELECT b.id, w, 'w' || lpad(w::text, 2, '0'), w || '号窗口'
               FROM org_node b CROSS JOIN generate_series(1, %s) w
               WHERE b.kind = 'branch' AND b.code > 'b0004'""", WINDOWS)
    q(conn, """INSERT INTO staff (employee_no, name, node_id, active)
               SELECT '9' || substr(b.code, 2) || lpad(s::text, 2, '0'),
                      '柜员' || substr(b.code, 2) || '-' || s, b.id, true
               FROM org_node b CROSS JOIN generate_series(1, %s) s
               WHERE b.kind = 'branch' AND b.code > 'b0004'""", TELLERS)
    q(conn, "DELETE FROM alert_rule")
    q(conn, "DELETE FROM alert_recipient")
    q(conn, """INSERT INTO alert_rule (node_id, kind, template)
               SELECT id, 'unsatisfied_rating', %s FROM org_node WHERE path = 'hq'""",
      TEMPLATE)
    out = []
    rows = q(conn, """SELECT id, path::text FROM org_node WHERE kind = 'branch'
                      ORDER BY code LIMIT %s""", n)
    for i, (node, path) in enumerate(rows, start=1):
        windows = [r[0] for r in q(conn, """SELECT id FROM service_window
                                            WHERE node_id = %s AND active
                                            ORDER BY number LIMIT %s""", node, WINDOWS)]
        staff = [r[0] for r in q(conn, """SELECT id FROM staff WHERE node_id = %s AND active
                                          ORDER BY id LIMIT %s""", node, TELLERS)]
        (code, score), = q(conn, """SELECT o.code, o.score FROM effective_settings(%s) es
                                    JOIN rating_option o ON o.scale_id = es.rating_scale_id
                                    WHERE o.unsatisfied ORDER BY o.code LIMIT 1""", node)
        phone = f"+86138{i:08d}"
        q(conn, """INSERT INTO alert_recipient (node_id, name, phone, max_per_hour)
                   VALUES (%s, '支行主管', %s, 3600)""", node, phone)
        out.append(Branch(path, node, windows, staff, code, float(score), phone))
    if len(out) < n:
        raise SystemExit(f"bench_sms: only {len(out)} branches")
    return out


# --- playing rating-ingest ---------------------------------------------------------

RATING_TXN = """BEGIN;
INSERT INTO ingest_event (id) VALUES ({id});
INSERT INTO rating (id, event_time, gateway, gateway_incarnation, gateway_seq, window_id,
    staff_id, branch_path, device_serial, device_boot, device_seq, option_code, score,
    satisfied, unsatisfied, received_at)
VALUES ({id}, now(), {gw}, {inc}, {seq}, {window}, {staff}, {path}::ltree, {serial}, 1, {seq},
    {code}, {score}, false, true, now());
INSERT INTO gateway_cursor (gateway, incarnation, upto, branch)
VALUES ({gw}, {inc}, {seq}, {path})
ON CONFLICT (gateway, incarnation) DO UPDATE SET upto = EXCLUDED.upto, updated_at = now();
COMMIT;"""


class Writer:
    """Commits unsatisfied ratings at a steady rate, one transaction each,
    and (bus mode) publishes rating.stored after each commit."""

    def __init__(self, conn, branches, pub):
        self.conn, self.branches, self.pub = conn, branches, pub
        self.n = 0

    def one(self):
        b = self.branches[self.n % len(self.branches)]
        k = self.n // len(self.branches)
        window = b.windows[k % len(b.windows)]
        staff = b.staff[k % len(b.staff)]
        self.n += 1
        b.seq += 1
        rid = uuid7()
        lit = lambda v: psycopg2.extensions.adapt(v).getquoted().decode()  # noqa: E731
        sql = RATING_TXN.format(id=lit(rid) + "::uuid", gw=lit(b.gateway),
                                inc=lit(b.incarnation) + "::uuid", seq=b.seq, window=window,
                                staff=staff, path=lit(b.path),
                                serial=lit(f"EQ-{b.path[-5:].upper()}-W{k % WINDOWS + 1:02d}"),
                                code=b.option, score=b.score)
        with self.conn.cursor() as cur:
            cur.execute(sql)
        committed = time.time()
        if self.pub is not None:
            data = {"id": rid, "gateway": b.gateway, "window_id": window, "staff_id": staff,
                    "employee_no": "", "serial": "", "event_time": None,
                    "option_code": b.option, "score": b.score, "satisfied": False,
                    "unsatisfied": True, "ticket": None, "ticket_id": None,
                    "teller_today": None}
            self.pub.send_multipart([f"rating.stored.{b.path}.w{k % WINDOWS + 1:02d}".encode(),
                                     make_envelope("rating.stored", data,
                                                   src="rating-ingest.1", seq=self.n)])
        return rid, committed

    def run(self, seconds, rate):
        """Paced at `rate`; returns ({rating id: commit time}, seconds taken)."""
        out = {}
        t0 = time.monotonic()
        total = int(seconds * rate)
        for i in range(total):
            due = t0 + i / rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            rid, at = self.one()
            out[rid] = at
        return out, time.monotonic() - t0


# --- the baseline: the notifier's request, sent bare ------------------------------

class DlrSink(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, *args):
        pass


def baseline(kannel, seconds, rate, text):
    """Round trips (ms) of sendsms requests like the notifier's, at `rate`."""
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), DlrSink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    creds = kannel.credentials()
    url = urllib.parse.urlsplit(kannel.sendsms_url())
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    times = []
    try:
        t0 = time.monotonic()
        for i in range(int(seconds * rate)):
            wait = t0 + i / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            params = dict(creds, **{"from": "95588", "to": BASELINE_PHONE, "text": text,
                                    "coding": "2", "charset": "UTF-8", "dlr-mask": "31",
                                    "dlr-url": f"http://127.0.0.1:{sink.server_port}/sms/dlr"
                                               f"?id={uuid.uuid4()}&token={uuid.uuid4()}"
                                               "&type=%d"})
            path = url.path + "?" + urllib.parse.urlencode(params)
            s = time.perf_counter()
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            times.append((time.perf_counter() - s) * 1000)
            if r.status != 202:
                raise SystemExit(f"bench_sms: baseline sendsms answered {r.status} {body!r}")
    finally:
        conn.close()
        time.sleep(1)       # the reports of the last ones
        sink.shutdown()
    return times


# --- one mode ------------------------------------------------------------------------

def wait_until(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    say(f"  (gave up waiting for {what} after {timeout} s)")
    return False


def run_mode(args, mode, pg, kannel, bus, root):
    say(f"--- mode {mode}: {'rating.stored on the bus after each commit' if mode == 'bus' else 'no bus message: the notifier polls every EQMS_SMS_POLL_MS (1000)'}")
    conninfo = pg.create_database(f"bench_sms_{mode}")
    env = dict(os.environ, EQMS_PG_CONNINFO=conninfo, EQMS_LOG_LEVEL="warn")
    subprocess.run([os.path.join(args.bin, "eqms-migrate")], env=env, check=True)
    conn = psycopg2.connect(conninfo)
    conn.autocommit = True
    branches = seed(conn, args.branches)
    http_port, cb_port = srvmod.free_port(), srvmod.free_port()
    creds = kannel.credentials()
    nenv = dict(os.environ, EQMS_PG_CONNINFO=conninfo, EQMS_BUS_SUB=bus["xpub"],
                EQMS_HTTP_ADDRESS="127.0.0.1", EQMS_HTTP_PORT=str(http_port),
                EQMS_SMS_GATEWAY_URL=kannel.sendsms_url(),
                EQMS_SMS_GATEWAY_USER=creds["username"],
                EQMS_SMS_GATEWAY_PASSWORD=creds["password"],
                EQMS_SMS_CALLBACK_URL=f"http://127.0.0.1:{cb_port}",
                EQMS_SMS_CALLBACK_PORT=str(cb_port), EQMS_SMS_DIGEST_GAP_S="0",
                EQMS_LOG_LEVEL=args.log_level)
    log_path = os.path.join(root, f"sms-notifier-{mode}.log")
    with open(log_path, "w") as log:
        notifier = subprocess.Popen([os.path.join(args.bin, "eqms-sms-notifier")], env=nenv,
                                    stdout=subprocess.DEVNULL, stderr=log)
    try:
        srvmod.wait_port(http_port, proc=notifier)
        pub = None
        if mode == "bus":
            pub = zmq.Context.instance().socket(zmq.PUB)
            pub.setsockopt(zmq.LINGER, 0)
            pub.connect(bus["xsub"])
            time.sleep(1)       # the subscriptions reach the new publisher
        writer = Writer(conn, branches, pub)

        def states():
            return dict(q(conn, "SELECT state, count(*) FROM sms_outbox GROUP BY state"))

        # warm-up (not counted): everything it made sent and reported
        writer.run(args.warmup, args.rate)
        wait_until("the warm-up's SMS", lambda: states().get("delivered", 0) == writer.n, 60)
        (done_before,), = q(conn, "SELECT count(*) FROM sms_outbox")
        phones = {b.phone for b in branches}
        got_before = sum(1 for s in kannel.received() if s.receiver in phones)

        cpu0 = cpu_seconds(notifier.pid)
        kcpu0 = cpu_seconds(kannel.bearerbox.pid) + cpu_seconds(kannel.smsbox.pid)
        t0 = time.monotonic()
        committed, took = writer.run(args.seconds, args.rate)
        rate = len(committed) / took
        drain = max(60, 4 * args.seconds)
        total = writer.n
        wait_until("every SMS accepted",
                   lambda: states().get("queued", 0) == 0
                   and q(conn, "SELECT count(*) FROM sms_outbox")[0][0] >= total, drain)
        accepted_s = time.monotonic() - t0
        wait_until("every delivery report", lambda: states().get("delivered", 0) >= total, drain)
        cpu1 = cpu_seconds(notifier.pid)
        kcpu1 = cpu_seconds(kannel.bearerbox.pid) + cpu_seconds(kannel.smsbox.pid)
        rows = q(conn, """SELECT a.fact, extract(epoch FROM m.accepted_at)::float8,
                                 extract(epoch FROM m.created_at)::float8,
                                 extract(epoch FROM r.received_at)::float8, m.state
                          FROM sms_outbox m JOIN alert a ON a.id = m.alert_id
                          JOIN rating r ON r.id = a.fact::uuid""")
        lat, lat_rx, made, acc = [], [], [], []
        unsent = 0
        for fact, accepted, created, received, state in rows:
            at = committed.get(fact)
            if at is None:
                continue
            if accepted is None:
                unsent += 1
                continue
            lat.append((accepted - at) * 1000)
            acc.append(accepted)
            lat_rx.append((accepted - received) * 1000)
            made.append((created - at) * 1000)
        final = states()
        ok = wait_until("fakesmsc", lambda: sum(1 for s in kannel.received()
                                                  if s.receiver in phones) - got_before
                        >= len(committed), 30)
        got = sum(1 for s in kannel.received() if s.receiver in phones) - got_before
        (n_alerts,), = q(conn, "SELECT count(*) FROM alert")
        cpu_ms = (cpu1 - cpu0) * 1000 / max(1, len(lat))
        res = {"mode": mode, "committed": len(committed), "rate": rate, "sms": len(lat),
               "unsent": unsent, "p50": pct(lat, 50), "p90": pct(lat, 90),
               "p99": pct(lat, 99), "max": max(lat), "min": min(lat),
               "p50_rx": pct(lat_rx, 50), "p99_rx": pct(lat_rx, 99),
               "made_p50": pct(made, 50), "made_p99": pct(made, 99),
               "cpu_ms": cpu_ms, "kannel_cpu_ms": (kcpu1 - kcpu0) * 1000 / max(1, len(lat)),
               "fakesmsc": got, "states": final, "accepted_s": accepted_s,
               "alerts": n_alerts - done_before}
        say(f"  committed {len(committed)} unsatisfied ratings in {took:.1f} s "
            f"({rate:.1f}/s, one transaction each, {len(branches)} gateway journals); "
            f"warm-up {args.warmup} s before")
        say(f"  SMS accepted: {len(lat)} of {len(committed)} ({unsent} not accepted); "
            f"outbox states now {final}; fakesmsc got {got}"
            + ("" if ok else " (fewer than sent)"))
        say(f"  latency commit -> accepted_at ms: p50 {res['p50']:.1f}, p90 {res['p90']:.1f}, "
            f"p99 {res['p99']:.1f}, max {res['max']:.1f}, min {res['min']:.1f}")
        say(f"  (from rating.received_at instead: p50 {res['p50_rx']:.1f}, "
            f"p99 {res['p99_rx']:.1f}; commit -> the alert transaction's start "
            f"(sms_outbox.created_at): p50 {res['made_p50']:.1f}, p99 {res['made_p99']:.1f})")
        span = max(acc) - min(acc)
        say(f"  sender: {len(acc)} SMS accepted in {span:.1f} s from the first to the last "
            f"({len(acc) / span if span > 0 else 0:.1f}/s)")
        res["sent_per_s"] = len(acc) / span if span > 0 else 0
        say(f"  CPU per alert: notifier {cpu_ms:.3f} ms (utime+stime {cpu1 - cpu0:.2f} s, "
            f"delivery reports included), Kannel bearerbox+smsbox "
            f"{res['kannel_cpu_ms']:.3f} ms")
        if pub is not None:
            pub.close()
        return res
    finally:
        notifier.terminate()
        try:
            notifier.wait(10)
        except subprocess.TimeoutExpired:
            notifier.kill()
        conn.close()


# Loopback up, and its routes acknowledging at once (no delayed ACK): the
# same lines as docker/kannel/start.sh; then the bench itself.
QUICKACK_SH = (
    "ip link set lo up && "
    "ip route change local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1 "
    "table local quickack 1 && "
    "ip route change local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 "
    "table local quickack 1 && exec \"$@\"")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"))
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--branches", type=int, default=50)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--baseline-seconds", type=float, default=10)
    ap.add_argument("--modes", default="bus,poll")
    ap.add_argument("--log-level", default="info", help="the notifier's EQMS_LOG_LEVEL")
    ap.add_argument("--keep", metavar="DIR",
                    help="run under DIR and keep it (logs, Kannel's logs, the stopped "
                         "PostgreSQL cluster)")
    ap.add_argument("--quickack", action="store_true",
                    help="run in a network namespace of its own whose loopback routes have "
                         "quickack 1, as the kannel container sets them "
                         "(docker/kannel/start.sh): no delayed ACKs on Kannel's box link")
    args = ap.parse_args()
    if args.quickack and os.environ.get("EQMS_BENCH_NETNS") != "1":
        os.environ["EQMS_BENCH_NETNS"] = "1"
        os.execvp("unshare", ["unshare", "--net", "--", "sh", "-c", QUICKACK_SH, "sh",
                              sys.executable, *sys.argv])
    if args.quickack:
        say("network: a namespace of its own, loopback routes with quickack 1")
    if args.keep:
        root = os.path.abspath(args.keep)
        os.makedirs(root, exist_ok=True)
        if os.listdir(root):
            raise SystemExit(f"bench_sms: --keep {root} is not empty")
    else:
        root = tempfile.mkdtemp(prefix="eqms-bench-sms-")
    procs = []
    pg = srvmod.Postgres(root).start()
    kannel = None
    try:
        kannel = srvmod.Kannel(root).start()
        ports = [srvmod.free_port() for _ in range(3)]
        bus = {"xsub": f"tcp://127.0.0.1:{ports[0]}", "xpub": f"tcp://127.0.0.1:{ports[1]}"}
        procs.append(subprocess.Popen(
            [os.path.join(args.bin, "eqms-bus")],
            env=dict(os.environ, EQMS_BUS_XSUB_BIND=bus["xsub"], EQMS_BUS_XPUB_BIND=bus["xpub"],
                     EQMS_HTTP_ADDRESS="127.0.0.1", EQMS_HTTP_PORT=str(ports[2]),
                     EQMS_LOG_LEVEL="warn")))
        srvmod.wait_port(ports[2], proc=procs[0])
        with open("/proc/loadavg") as f:
            say(f"load average at start: {' '.join(f.read().split()[:3])}")

        text = ("测试第17支行3号窗口 柜员0017-3(9001703) 2026-12-05 14:02 「不满意」 "
                "今日不满意12/30")
        bl = baseline(kannel, args.baseline_seconds, args.rate, text)
        base = {"p50": pct(bl, 50), "p99": pct(bl, 99), "max": max(bl)}
        say(f"baseline: {len(bl)} bare sendsms requests to the same Kannel at "
            f"{args.rate:g}/s (UCS-2, {len(text)} characters, with a delivery-report URL): "
            f"round trip p50 {base['p50']:.2f} ms, p99 {base['p99']:.2f} ms, "
            f"max {base['max']:.2f} ms; {sum(t > 30 for t in bl)} of {len(bl)} over 30 ms")

        results = {}
        for mode in args.modes.split(","):
            results[mode] = run_mode(args, mode, pg, kannel, bus, root)
        with open("/proc/loadavg") as f:
            say(f"load average at the end: {' '.join(f.read().split()[:3])}")
        for mode, r in results.items():
            say(f"BENCH sms-{mode} p50_ms={r['p50']:.1f} p99_ms={r['p99']:.1f} "
                f"max_ms={r['max']:.1f} cpu_ms_per_alert={r['cpu_ms']:.3f} "
                f"fakesmsc={r['fakesmsc']}/{r['committed']} "
                f"baseline_p50_ms={base['p50']:.2f} ratio_p50={r['p50'] / base['p50']:.1f}")
        head = results.get("bus") or next(iter(results.values()))
        say(f"BENCH sms p50_ms={head['p50']:.1f} p99_ms={head['p99']:.1f} "
            f"alerts_per_s={head['rate']:.1f}")
    finally:
        stop_all(procs)
        if kannel:
            kannel.stop()
        pg.stop("fast" if args.keep else "immediate")
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
