"""bench_ingest: committed ratings per second through eqms-rating-ingest, the
bare COPY rate of the same rows into the same table, publish-to-commit latency
at a steady rate, and the service's peak RSS.

Real parts: a throwaway PostgreSQL and Redis (tests/system/servers.py), the
real eqms-migrate, eqms-bus and eqms-rating-ingest, the demo data (repeat-press
guard set to 0 so every press counts). Simulated gateways (one process per
branch) publish rating.submitted envelopes as the device gateway does, as fast
as they can; the committed rate is the growth of the `rating` table over the
measured window (a gateway re-publishes what the bus dropped, so under
saturation the committed rate is what counts). Latency: one gateway publishes
at a steady rate and the time from publish to the rating.stored message
(published right after the commit) is taken per rating.

Usage: /usr/bin/python3 tests/bench/bench_ingest.py --bin build/release/bin
       [--seconds 60] [--rate 5000] [--latency-seconds 10] [--copy-rows 200000]
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time
import uuid

import psycopg2
import zmq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
import servers as srvmod  # noqa: E402
from benchproc import cpu_seconds, stop_all  # noqa: E402
from conftest import make_envelope  # noqa: E402

BRANCHES = ["hq.r01.b0001", "hq.r01.b0002", "hq.r02.b0003", "hq.r02.b0004"]
# The journal incarnation of the simulated gateways (tool_gwpub.c's too).
NIL = "00000000-0000-0000-0000-000000000000"


def rfc3339(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def windows_of(conn, branch):
    with conn.cursor() as cur:
        cur.execute("""SELECT w.id, w.number, w.code FROM service_window w
                       JOIN org_node n ON n.id = w.node_id
                       WHERE n.path = %s::ltree AND w.active AND w.number <= 11
                       ORDER BY w.number""", (branch,))
        return cur.fetchall()


def event(type_, branch, window, employee_no, seq, dseq, src, **extra):
    wid, number, code = window
    ms = int(time.time() * 1000)
    data = {"serial": f"EQ-{branch.split('.')[-1].upper()}-{code.upper()}", "boot": 7,
            "device_seq": dseq, "uptime_ms": dseq, "received": rfc3339(ms),
            "event_time": rfc3339(ms), "window": {"id": wid, "number": number, "code": code},
            "branch": branch, "employee_no": employee_no, "ticket": None,
            "incarnation": NIL}
    data.update(extra)
    return [f"{type_}.{branch}.{code}".encode(), make_envelope(type_, data, src=src, seq=seq)]


def gateways(tool, xsub, xpub, branch, windows, first_seq, seconds, rate=0, latency=False):
    """A simulated gateway (tests/bench/tool_gwpub.c) publishing ratings from
    `first_seq` on; rate 0 = as fast as acks allow."""
    cmd = [tool, "--xsub", xsub, "--xpub", xpub, "--branch", branch,
           "--windows", ",".join(f"{w[0]}:{w[1]}:{w[2]}" for w in windows),
           "--first-seq", str(first_seq), "--seconds", str(seconds), "--rate", str(rate)]
    return subprocess.Popen(cmd + (["--latency"] if latency else []),
                            stdout=subprocess.PIPE, text=True)


def copy_rate(conn, rows, with_ids=False):
    """Bare COPY of `rows` rating rows into a copy of the rating table; with
    `with_ids`, also their ids into a copy of ingest_event (what storing one
    rating idempotently writes, schema 9)."""
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE rating_copy_bench (LIKE rating INCLUDING ALL) "
                    "PARTITION BY RANGE (event_time)")
        cur.execute("CREATE TABLE rating_copy_bench_d PARTITION OF rating_copy_bench DEFAULT")
        if with_ids:
            cur.execute("CREATE TABLE ids_copy_bench (LIKE ingest_event INCLUDING ALL) "
                        "PARTITION BY RANGE (id)")
            cur.execute("CREATE TABLE ids_copy_bench_d PARTITION OF ids_copy_bench DEFAULT")
        lines = []
        ids = []
        now = time.time()
        for i in range(rows):
            ms = int(now * 1000) + i
            uid = uuid.UUID(int=(ms << 80) | (0x7 << 76) | (i & 0xfff) << 64 | (0b10 << 62) | i)
            ids.append(f"{uid}\n")
            lines.append(f"{uid}\t{rfc3339(ms)}\tdevice-gateway.b0001\t{NIL}\t{i + 1}\t"
                         f"{1 + i % 11}\t{1 + i % 11}\thq.r01.b0001\tEQ-B0001-W01\t7\t{i + 1}\t{1 + i % 4}\t"
                         f"4.0\tt\tf\t\\N\t1000\t{rfc3339(ms)}\n")
        import io
        buf = io.StringIO("".join(lines))
        t0 = time.monotonic()
        cur.copy_expert("COPY rating_copy_bench (id, event_time, gateway, "
                        "gateway_incarnation, gateway_seq, "
                        "window_id, staff_id, branch_path, device_serial, device_boot, "
                        "device_seq, option_code, score, satisfied, unsatisfied, ticket, "
                        "service_ms, received_at) FROM STDIN", buf)
        if with_ids:
            cur.copy_expert("COPY ids_copy_bench (id) FROM STDIN", io.StringIO("".join(ids)))
        took = time.monotonic() - t0
        cur.execute("DROP TABLE rating_copy_bench")
        if with_ids:
            cur.execute("DROP TABLE ids_copy_bench")
    return rows / took


def count(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM rating")
        return cur.fetchone()[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"))
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--latency-seconds", type=int, default=10)
    ap.add_argument("--copy-rows", type=int, default=200000)
    args = ap.parse_args()
    servers = srvmod.Servers().start()
    procs = []
    try:
        conninfo = servers.pg.create_database("bench_ingest")
        env = dict(os.environ, EQMS_PG_CONNINFO=conninfo, EQMS_LOG_LEVEL="warn")
        subprocess.run([os.path.join(args.bin, "eqms-migrate")], env=env, check=True)
        conn = psycopg2.connect(conninfo)
        conn.autocommit = True
        with conn.cursor() as cur, open(os.path.join(ROOT, "docker", "local", "demo.sql"),
                                        encoding="utf-8") as f:
            cur.execute(f.read())
            cur.execute("UPDATE node_settings SET repeat_press_s = 0")
        ports = [srvmod.free_port() for _ in range(4)]
        xsub, xpub = f"tcp://127.0.0.1:{ports[0]}", f"tcp://127.0.0.1:{ports[1]}"
        procs.append(subprocess.Popen(
            [os.path.join(args.bin, "eqms-bus")],
            env=dict(env, EQMS_BUS_XSUB_BIND=xsub, EQMS_BUS_XPUB_BIND=xpub,
                     EQMS_HTTP_ADDRESS="127.0.0.1", EQMS_HTTP_PORT=str(ports[2]))))
        srvmod.wait_port(ports[2])
        ingest = subprocess.Popen(
            [os.path.join(args.bin, "eqms-rating-ingest")],
            env=dict(env, EQMS_BUS_PUB=xsub, EQMS_BUS_SUB=xpub,
                     EQMS_REDIS_URL=servers.redis.url(0), EQMS_HTTP_ADDRESS="127.0.0.1",
                     EQMS_HTTP_PORT=str(ports[3])))
        procs.append(ingest)
        srvmod.wait_port(ports[3])

        ctx = zmq.Context()
        pub = ctx.socket(zmq.PUB)
        pub.connect(xsub)
        sub = ctx.socket(zmq.SUB)
        sub.connect(xpub)
        sub.setsockopt(zmq.SUBSCRIBE, b"ack.ingest.")
        time.sleep(0.5)
        # Log a teller in at each window of every branch (seq 1..n), re-sent
        # until acknowledged.
        plan = {}
        for b in BRANCHES:
            ws = windows_of(conn, b)
            plan[b] = ws
        acked = {}
        deadline = time.monotonic() + 30
        def gw(b):
            return f"device-gateway.{b.split('.')[-1]}"
        while any(acked.get(gw(b), 0) < len(plan[b]) for b in BRANCHES):
            if time.monotonic() > deadline:
                raise SystemExit(f"bench_ingest: logins were not acknowledged: {acked}")
            for i, b in enumerate(BRANCHES):
                for n, w in enumerate(plan[b], start=1):
                    emp = f"1{i + 1:03d}{w[1]:02d}"
                    pub.send_multipart(event("staff.login", b, w, emp, n, n,
                                             f"device-gateway.{b.split('.')[-1]}"))
            t = time.monotonic()
            while time.monotonic() - t < 1 and sub.poll(100):
                _, body = sub.recv_multipart()
                d = json.loads(body)["data"]
                acked[d["gateway"]] = max(acked.get(d["gateway"], 0), d["upto"])

        # Saturation: every gateway publishes as fast as it can.
        tool = os.path.join(os.path.dirname(os.path.abspath(args.bin)), "bench", "tool_gwpub")
        workers = [gateways(tool, xsub, xpub, b, plan[b], len(plan[b]) + 1, args.seconds + 3)
                   for b in BRANCHES]
        time.sleep(2)
        c0, t0 = count(conn), time.monotonic()
        cpu0 = {p.pid: cpu_seconds(p.pid) for p in workers + [ingest]}
        time.sleep(args.seconds)
        c1, t1 = count(conn), time.monotonic()
        cpu1 = {p.pid: cpu_seconds(p.pid) for p in workers + [ingest]}
        for w in workers:
            w.communicate()
        ratings_per_s = (c1 - c0) / (t1 - t0)
        pub_cpu = sum(cpu1[p.pid] - cpu0[p.pid] for p in workers) / (t1 - t0)
        ingest_cpu = (cpu1[ingest.pid] - cpu0[ingest.pid]) / (t1 - t0)
        time.sleep(3)

        # Latency at a steady rate, from where that gateway's cursor stands.
        with conn.cursor() as cur:
            cur.execute("SELECT upto FROM gateway_cursor WHERE gateway = "
                        "'device-gateway.b0002'")
            upto = cur.fetchone()[0]
        lat = gateways(tool, xsub, xpub, "hq.r01.b0002", plan["hq.r01.b0002"], upto + 1,
                       args.latency_seconds, args.rate, latency=True)
        result = json.loads(lat.communicate()[0])
        p50, p99 = result["p50_ms"], result["p99_ms"]

        with open(f"/proc/{ingest.pid}/status") as f:
            rss_mb = next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
        copy_rows_per_s = copy_rate(conn, args.copy_rows)
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('ingest_event') IS NOT NULL")
            has_ids = cur.fetchone()[0]
        copy_ids_per_s = copy_rate(conn, args.copy_rows, with_ids=True) if has_ids else 0
        conn.close()
        print(f"ingest: {c1 - c0} ratings committed in {t1 - t0:.1f} s under saturation "
              f"from {len(BRANCHES)} gateways")
        print(f"CPU under saturation: publishers {pub_cpu:.2f} cores, rating-ingest "
              f"{ingest_cpu:.2f} cores (of 2)")
        print(f"latency at {args.rate}/s: {result['stored']}/{result['sent']} stored, "
              f"p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        print(f"BENCH ingest ratings_per_s={ratings_per_s:.0f} "
              f"copy_rows_per_s={copy_rows_per_s:.0f} "
              f"ratio={ratings_per_s / copy_rows_per_s:.2f} p99_ms_at_5k={p99:.1f} "
              f"rss_mb={rss_mb:.1f}")
        if copy_ids_per_s:
            print(f"BENCH ingest copy_with_ids_rows_per_s={copy_ids_per_s:.0f} "
                  f"ratio_with_ids={ratings_per_s / copy_ids_per_s:.2f}")
    finally:
        stop_all(procs)
        servers.stop()


if __name__ == "__main__":
    main()
