"""bench_queue: ticket operations per second through eqms-queue-manager's
request endpoint from 16 concurrent windows, their latency, and in the same
run the bare Redis + PostgreSQL round trips one such operation needs.

Real parts: a throwaway PostgreSQL and Redis (tests/system/servers.py), the
real eqms-migrate, eqms-bus and eqms-queue-manager (Redis mirror on), the demo
data. The demo branch hq.r01.b0001 has 12 windows and 11 active tellers, so
the bench adds windows 13..16 and tellers 100113..100117 to it in its own
database before the service starts. Every window is opened and a distinct
teller logged in. Then tests/bench/tool_qmload.c drives the 16 windows in
closed loops of cycles: ticket.issue (service "cash"), then window.call_next
on its window (finishing the ticket it called before): two ticket operations
per cycle, each awaiting its reply (a reply comes only once the events are
committed).

The measured load (the BENCH line) carries the 16 windows over --connections
DEALERs (default 2), as the request clients do: web-api and the other
services each hold a connection and send many windows' requests over it
(docs/protocol.md). A second load then gives each window its own connection,
the case of 16 separate client processes. Baseline: the same tool with
--baseline, 16 threads each committing one single-row INSERT into a scratch
table shaped like ticket_event (not partitioned, same columns and indexes),
synchronously as the service's batches, and one Redis HSET per operation.

CPU of queue-manager, of PostgreSQL (all its processes), Redis and the load
tool is read from /proc over the measured window of each phase, also per
operation.

Usage: /usr/bin/python3 tests/bench/bench_queue.py --bin build/release/bin
       [--seconds 20] [--warmup 3] [--connections 2] [--quick] [--wrap CMD]
       [--perf]
"""
import argparse
import json
import os
import subprocess
import sys


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
import servers as srvmod  # noqa: E402
from benchproc import cpu_seconds, demo_database, stop_all  # noqa: E402
from qm_client import Client  # noqa: E402

BRANCH = "hq.r01.b0001"
WINDOWS = 16
SCRATCH = "qm_bench_event"


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == ppid:
                        out.append(int(d))
            except OSError:
                pass
    return out


def machine_busy():
    """(busy, total) jiffies of all cores from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


class CpuMeter:
    """CPU seconds of named process groups between start() and stop()."""

    def __init__(self, groups):
        self.groups = groups          # name -> callable returning pids

    def _sample(self):
        return {n: {p: cpu_seconds(p) for p in f()} for n, f in self.groups.items()}, machine_busy()

    def start(self):
        self.a = self._sample()

    def stop(self):
        self.b = self._sample()


    def report(self, seconds):
        out = {}
        for n in self.groups:
            a, b = self.a[0][n], self.b[0][n]
            out[n] = sum(b[p] - a.get(p, 0.0) for p in b if b[p] > 0) / seconds
        busy = (self.b[1][0] - self.a[1][0]) / max(1, self.b[1][1] - self.a[1][1])
        out["other processes"] = max(0.0, busy * os.cpu_count() - sum(out.values()))
        return out, busy


def run_tool(cmd, meter):
    """Runs tool_qmload, sampling CPU between its "start" and "stop" lines;
    returns its JSON result."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    meter.groups["tool_qmload"] = lambda: [proc.pid]
    result = None
    for line in proc.stdout:
        line = line.strip()
        if line == "start":
            meter.start()
        elif line == "stop":
            meter.stop()
        elif line.startswith("{"):
            result = json.loads(line)
    if proc.wait() != 0 or result is None:
        raise SystemExit(f"bench_queue: {cmd[0]} failed ({proc.returncode})")
    return result


def q(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None


def prepare_branch(conn):
    """Adds windows and tellers to the bench's copy of the demo branch up to
    WINDOWS of each; returns (window ids, staff ids)."""
    q(conn, """INSERT INTO service_window (node_id, number, code, name, active)
               SELECT b.id, n, 'w' || lpad(n::text, 2, '0'), n || '号窗口', true
               FROM org_node b CROSS JOIN generate_series(1, %s) AS n
               WHERE b.path = %s::ltree
               ON CONFLICT (node_id, number) DO UPDATE SET active = true""",
      WINDOWS, BRANCH)
    q(conn, """INSERT INTO staff (employee_no, name, node_id, active)
               SELECT '1001' || lpad(n::text, 2, '0'), 'bench ' || n, b.id, true
               FROM org_node b CROSS JOIN generate_series(13, %s + 1) AS n
               WHERE b.path = %s::ltree
               ON CONFLICT (employee_no) DO NOTHING""", WINDOWS, BRANCH)
    wins = [r[0] for r in q(conn, """SELECT w.id FROM service_window w
                                     JOIN org_node n ON n.id = w.node_id
                                     WHERE n.path = %s::ltree AND w.active
                                     ORDER BY w.number LIMIT %s""", BRANCH, WINDOWS)]
    staff = [r[0] for r in q(conn, """SELECT s.id FROM staff s JOIN org_node n
                                      ON n.id = s.node_id WHERE n.path = %s::ltree
                                      AND s.active ORDER BY s.id LIMIT %s""",
                             BRANCH, WINDOWS)]
    if len(wins) < WINDOWS or len(staff) < WINDOWS:
        raise SystemExit(f"bench_queue: {len(wins)} windows, {len(staff)} tellers")
    return wins, staff


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"))
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--connections", type=int, default=2,
                    help="DEALER connections the 16 windows share in the measured load")
    ap.add_argument("--quick", action="store_true",
                    help="only the measured load: no one-connection-per-window load, no "
                         "baseline, no BENCH line")
    ap.add_argument("--wrap", default="",
                    help="command the service runs under, e.g. 'valgrind --tool=callgrind'")
    ap.add_argument("--perf", action="store_true",
                    help="perf record the service for 5 s of the load and print the top")
    args = ap.parse_args()
    tool = os.path.join(os.path.dirname(os.path.abspath(args.bin)), "bench", "tool_qmload")
    servers = srvmod.Servers().start()
    procs = []
    try:
        conninfo, conn = demo_database(servers, "bench_queue", args.bin)
        env = dict(os.environ, EQMS_PG_CONNINFO=conninfo, EQMS_LOG_LEVEL="warn")
        wins, staff = prepare_branch(conn)
        settings = {k: q(conn, f"SHOW {k}")[0][0] for k in ("synchronous_commit", "fsync")}

        ports = [srvmod.free_port() for _ in range(5)]
        xsub, xpub = f"tcp://127.0.0.1:{ports[0]}", f"tcp://127.0.0.1:{ports[1]}"
        procs.append(subprocess.Popen(
            [os.path.join(args.bin, "eqms-bus")],
            env=dict(env, EQMS_BUS_XSUB_BIND=xsub, EQMS_BUS_XPUB_BIND=xpub,
                     EQMS_HTTP_ADDRESS="127.0.0.1", EQMS_HTTP_PORT=str(ports[2]))))
        srvmod.wait_port(ports[2], proc=procs[-1])
        endpoint = f"tcp://127.0.0.1:{ports[3]}"
        qm = subprocess.Popen(
            args.wrap.split() + [os.path.join(args.bin, "eqms-queue-manager")],
            env=dict(env, EQMS_BUS_PUB=xsub, EQMS_BUS_SUB=xpub,
                     EQMS_REDIS_URL=servers.redis.url(0), EQMS_QM_ENDPOINT=endpoint,
                     EQMS_HTTP_ADDRESS="127.0.0.1", EQMS_HTTP_PORT=str(ports[4])))
        procs.append(qm)
        srvmod.wait_port(ports[4], proc=qm)

        client = Client(endpoint, branch=BRANCH, actor="bench:setup")
        for w, s in zip(wins, staff):
            for op, members in (("window.open", {}), ("window.login", {"staff": s})):
                r = client.call(op, window=w, **members)
                if not r["ok"]:
                    raise SystemExit(f"bench_queue: {op} window {w}: {r}")
        client.close()

        with open(os.path.join(servers.pg.data, "postmaster.pid")) as f:
            postmaster = int(f.readline())
        pg_pids = lambda: [postmaster] + children(postmaster)  # noqa: E731

        meter = CpuMeter({"queue-manager": lambda: [qm.pid], "postgres": pg_pids,
                          "redis": lambda: [servers.redis.proc.pid],
                          "eqms-bus": lambda: [procs[0].pid]})
        perf = None
        perf_data = os.path.join(servers.root, "qm.perf")
        if args.perf:
            perf = subprocess.Popen(["sh", "-c", f"sleep {args.warmup + 2}; exec perf record -g "
                                     f"-o {perf_data} -p {qm.pid} -- sleep 5"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        def load_phase(connections):
            result = run_tool([tool, "--endpoint", endpoint, "--branch", BRANCH,
                               "--windows", ",".join(map(str, wins)), "--service-code", "cash",
                               "--connections", str(connections), "--seconds", str(args.seconds),
                               "--warmup", str(args.warmup)], meter)
            return result, meter.report(result["seconds"])

        load, (load_cpu, load_busy) = load_phase(args.connections)
        if perf:
            perf.wait()
        per_window = None if args.quick else load_phase(WINDOWS)
        events, xacts = q(conn, """SELECT count(*), count(DISTINCT xmin::text)
                                   FROM ticket_event WHERE kind IN
                                   ('issued', 'called', 'finished')""")[0]
        kinds = dict(q(conn, "SELECT kind, count(*) FROM ticket_event GROUP BY kind"))
        tickets = q(conn, "SELECT count(*) FROM ticket")[0][0]
        twice = q(conn, """SELECT count(*) FROM (SELECT ticket_id FROM ticket_event
                           WHERE kind = 'called' GROUP BY ticket_id HAVING count(*) > 1) t""")[0][0]

        # Baseline: bare round trips, the service idle.
        base = None
        if not args.quick:
            q(conn, f"CREATE TABLE {SCRATCH} (LIKE ticket_event INCLUDING ALL)")
            base_meter = CpuMeter({"postgres": pg_pids,
                                   "redis": lambda: [servers.redis.proc.pid]})
            base = run_tool([tool, "--baseline", "--pg", conninfo, "--redis",
                             servers.redis.url(1), "--table", SCRATCH, "--clients", str(WINDOWS),
                             "--seconds", str(args.seconds), "--warmup", str(args.warmup)],
                            base_meter)
            base_cpu, base_busy = base_meter.report(base["seconds"])
            q(conn, f"DROP TABLE {SCRATCH}")
        conn.close()

        def cpu_line(what, cpu, busy, ops_per_s):
            per_op = ", ".join(f"{n} {v:.2f} ({v / max(1, ops_per_s) * 1e6:.0f} us/op)"
                               for n, v in cpu.items())
            return (f"CPU during {what} (cores of {os.cpu_count()}): {per_op}; "
                    f"machine {busy * 100:.0f} % busy")

        def load_lines(what, result, cpu, busy):
            print(f"{what}: {WINDOWS} windows on {BRANCH} over {result['connections']} "
                  f"connection(s), {result['ops']} ticket operations in "
                  f"{result['seconds']:.1f} s, {result['ops_per_s']:.0f}/s: ticket.issue "
                  f"n={result['issue']['n']} p50 {result['issue']['p50_ms']:.2f} ms p99 "
                  f"{result['issue']['p99_ms']:.2f} ms; window.call_next "
                  f"n={result['call_next']['n']} p50 {result['call_next']['p50_ms']:.2f} ms "
                  f"p99 {result['call_next']['p99_ms']:.2f} ms; p99.9 "
                  f"{result['p999_ms']:.2f} ms max {result['max_ms']:.2f} ms; errors "
                  f"{result['errors']} {result['error_codes']}")
            print(cpu_line(what, cpu, busy, result["ops_per_s"]))

        print(f"settings: synchronous_commit={settings['synchronous_commit']} "
              f"fsync={settings['fsync']} (servers.py's throwaway cluster; the service's "
              f"commits are synchronous whatever the setting, schema 7)")
        load_lines("load", load, load_cpu, load_busy)
        if per_window:
            load_lines("one connection per window", per_window[0], *per_window[1])
        print(f"stored: {tickets} tickets; events by kind {kinds}; "
              f"tickets called more than once: {twice}")
        print(f"group commits: {xacts} transactions stored the loads' {events} events, "
              f"{events / max(1, xacts):.1f} events per transaction")
        if base:
            print(f"baseline: {base['clients']} clients, {base['ops']} INSERT commits + HSET in "
                  f"{base['seconds']:.1f} s, p50 {base['p50_ms']:.2f} ms p99 "
                  f"{base['p99_ms']:.2f} ms, errors {base['errors']} {base['error_codes']}")
            print(cpu_line("baseline", base_cpu, base_busy, base["ops_per_s"]))
        if perf:
            rep = subprocess.run(["perf", "report", "-i", perf_data, "--stdio",
                                  "--no-children", "--sort", "dso,symbol", "-g", "none"],
                                 capture_output=True, text=True)
            print("perf of eqms-queue-manager (5 s of the load), flat:")
            print("\n".join([ln for ln in rep.stdout.splitlines()
                             if ln.strip() and not ln.startswith("#")][:40]))
        if base:
            ratio = load["ops_per_s"] / base["ops_per_s"] if base["ops_per_s"] else 0
            print(f"BENCH queue ops_per_s={load['ops_per_s']:.0f} p99_ms={load['p99_ms']:.2f} "
                  f"baseline_ops_per_s={base['ops_per_s']:.0f} ratio={ratio:.2f}")
    finally:
        stop_all(procs)
        servers.stop()


if __name__ == "__main__":
    main()
