"""bench_api: web-api's REST API and live streams under load (issue 14, item
10): the live hall snapshot, a statistics query, ticket issue through
queue-manager, and the fan-out of one branch's calls to 1,000 live streams.

Real parts: a throwaway PostgreSQL and Redis (tests/system/servers.py), the
schema by eqms-migrate, the demo data (docker/local/demo.sql) with the demo
branch hq.r01.b0001 grown to 16 windows and tellers (bench_queue's
prepare_branch) and --branches branches in all, the forwarder eqms-bus and
the release eqms-queue-manager (Redis mirror on), eqms-stats-aggregator and
eqms-web-api (EQMS_WEBAPI_THREADS default, log level warn), each on free
loopback ports. The bench logs in as an administrator at hq (a login
session: every request reads its session from Redis and its user from
PostgreSQL, as the web console's do), opens the 16 windows with their
tellers through the API, issues and calls tickets until each window serves
one and --waiting tickets wait, and waits until stats-aggregator has placed
them (stats_figures served > 0).

Phases, each --warmup s unmeasured then --seconds s measured, wrk with
--threads threads and --connections connections and tests/bench/bench_api.lua:
  live      GET /branches/hq.r01.b0001/state: wrk's requests/s (closed loop);
            then tool_apiload at a fixed --rate (default 1,000/s, open loop,
            latency counted from when each request was due): p50/p99;
  stats     GET /stats/figures?node=hq.r01.b0001&from=<today>&to=<tomorrow>
            (the branch's local day): wrk's requests/s and p99 (closed loop);
            then tool_apiload at --stats-rate (default 200/s): p99;
  sse       tool_apiload opens --streams streams on /live/branches/hq.r01.b0001
            (one epoll loop); once all answered, a driver issues a ticket and
            calls the next at one of the 16 windows, --sse-rate times a second,
            through web-api; latency of each ticket.called event = its arrival
            at a stream (CLOCK_REALTIME) - the event's `at` (queue-manager's
            time of the call, taken before its commit): p50/p99 over all
            streams' events;
  issue     POST /branches/<b>/tickets {"service_code":"cash"} round robin over
            the --branches branches (so that no queue passes its 999 numbers):
            wrk's requests/s, errors (non-2xx) counted.
CPU per request: user + system CPU seconds of the eqms-web-api process
(/proc/<pid>/stat) over each measured phase divided by its requests.
--pg-statements: PostgreSQL's statements of the issue phase by time
(pg_stat_statements, nested ones too), per ticket issued.

Usage: /usr/bin/python3 tests/bench/bench_api.py --bin build/release/bin
       [--seconds 10] [--warmup 2] [--threads 2] [--connections 32]
       [--rate 1000] [--stats-rate 200] [--streams 1000] [--sse-rate 10]
       [--branches 40] [--phases live,stats,sse,issue] [--perf PHASE] [--pg-statements]
       [--state-cache-ms MS] [--principal-cache-ms MS]
Last line: BENCH api live_rps=<n> live_p99_ms=<n> stats_rps=<n>
           stats_p99_ms=<n> issue_rps=<n> sse_p99_ms=<n>
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
import servers as srvmod  # noqa: E402
from bench_queue import BRANCH, prepare_branch, q  # noqa: E402
from benchproc import cpu_by_name, cpu_seconds, demo_database, stop_all  # noqa: E402

LUA = os.path.join(ROOT, "tests", "bench", "bench_api.lua")
API = "/api/v1"
ADMIN, PASSWORD = "admin", "Bench-Admin-2026!"


# The processes whose CPU the issue phase counts (/proc comm, cut at 15 bytes).
CPU_NAMES = ("postgres", "eqms-web-api", "eqms-queue-mana", "eqms-stats-aggr", "eqms-bus",
             "redis-server")


def say(text):
    print(text, flush=True)


def load_average():
    """The machine's 1-minute load average (other work on the same cores
    moves the latency figures more than anything here)."""
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def add_branches(conn, n):
    """Branches b0005.. until there are n (alternately in hq.r01 and hq.r02);
    the queues and services at hq serve them. Their paths, in code order."""
    q(conn, """INSERT INTO org_node (parent_id, code, name, kind, time_zone)
               SELECT p.id, 'b' || lpad(i::text, 4, '0'), 'bench ' || i, 'branch',
                      'Asia/Shanghai'
               FROM generate_series(5, %s) i
               JOIN org_node p ON p.path = ('hq.r0' || (1 + i %% 2))::ltree""", n)
    return [r[0] for r in q(conn, """SELECT path::text FROM org_node WHERE kind = 'branch'
                                     ORDER BY code LIMIT %s""", n)]


class Stack:
    """eqms-bus, queue-manager, stats-aggregator and web-api on free ports."""

    def __init__(self, bindir, conninfo, redis_url, streams, logdir, webapi_env):
        self.procs, self.logdir = [], logdir
        os.makedirs(logdir, exist_ok=True)
        env = dict(os.environ, EQMS_PG_CONNINFO=conninfo, EQMS_LOG_LEVEL="warn",
                   EQMS_HTTP_ADDRESS="127.0.0.1")
        ports = [srvmod.free_port() for _ in range(7)]
        xsub, xpub = f"tcp://127.0.0.1:{ports[0]}", f"tcp://127.0.0.1:{ports[1]}"
        bus = dict(env, EQMS_BUS_PUB=xsub, EQMS_BUS_SUB=xpub, EQMS_REDIS_URL=redis_url)
        self.start(bindir, "eqms-bus", ports[2],
                   dict(env, EQMS_BUS_XSUB_BIND=xsub, EQMS_BUS_XPUB_BIND=xpub))
        endpoint = f"tcp://127.0.0.1:{ports[3]}"
        self.start(bindir, "eqms-queue-manager", ports[4], dict(bus, EQMS_QM_ENDPOINT=endpoint))
        self.start(bindir, "eqms-stats-aggregator", ports[5], dict(bus, EQMS_STATS_POLL_MS="200"))
        self.api_port = srvmod.free_port()
        api_env = dict(bus, EQMS_QM_ENDPOINT=endpoint, EQMS_WEBAPI_ADDRESS="127.0.0.1",
                       EQMS_WEBAPI_PORT=str(self.api_port),
                       EQMS_WEBAPI_STREAMS_MAX=str(streams + 100), **webapi_env)
        subprocess.run([os.path.join(bindir, "eqms-web-api"), "--create-admin", ADMIN, "hq"],
                       env=dict(api_env, EQMS_ADMIN_PASSWORD=PASSWORD), check=True,
                       stdout=subprocess.DEVNULL)
        self.webapi = self.start(bindir, "eqms-web-api", ports[6], api_env)
        srvmod.wait_port(self.api_port, proc=self.webapi)
        self.base = f"http://127.0.0.1:{self.api_port}"

    def log_summary(self):
        """Each service's log lines counted by level and event."""
        out = []
        for name in sorted(os.listdir(self.logdir)):
            counts = {}
            with open(os.path.join(self.logdir, name), errors="replace") as f:
                for line in f:
                    words = dict(w.split("=", 1) for w in line.split() if "=" in w)
                    key = f"{words.get('level', '?')} {words.get('event', line.strip()[:60])}"
                    counts[key] = counts.get(key, 0) + 1
            if counts:
                out.append(f"{name[:-4]}: " + ", ".join(f"{k} x{v}" for k, v in counts.items()))
        return out

    def start(self, bindir, name, http_port, env):
        """Starts a service, its log (stderr) into a file of self.logdir."""
        with open(os.path.join(self.logdir, name + ".log"), "w") as log:
            proc = subprocess.Popen([os.path.join(bindir, name)],
                                    env=dict(env, EQMS_HTTP_PORT=str(http_port)), stderr=log)
        self.procs.append(proc)
        srvmod.wait_port(http_port, proc=proc)
        return proc


class Api:
    """A logged-in keep-alive client of the REST API."""

    def __init__(self, base):
        self.base, self.http = base + API, requests.Session()
        r = self.http.post(self.base + "/sessions", json={"login": ADMIN, "password": PASSWORD})
        if r.status_code != 201:
            raise SystemExit(f"bench_api: login: {r.status_code} {r.text}")
        self.token = r.json()["token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def call(self, method, path, body=None, want=(200, 201), **kw):
        r = self.http.request(method, self.base + path, json=body, timeout=10, **kw)
        if r.status_code not in want:
            raise SystemExit(f"bench_api: {method} {path}: {r.status_code} {r.text}")
        return r.json() if r.content else None


class Hall:
    """The bench branch's windows and tellers, driven through the API."""

    def __init__(self, api, windows, staff):
        self.api, self.windows, self.next = api, windows, 0
        for w, s in zip(windows, staff):
            api.call("POST", f"/windows/{w}/open")
            api.call("POST", f"/windows/{w}/login", {"staff": s})

    def issue(self):
        return self.api.call("POST", f"/branches/{BRANCH}/tickets", {"service_code": "cash"})

    def call_next(self):
        """The next window calls its next ticket (finishing the one before)."""
        w = self.windows[self.next % len(self.windows)]
        self.next += 1
        return self.api.call("POST", f"/windows/{w}/call-next")


def wrk(args, stack, token, paths, method="GET", body=None, warmup=True):
    """One wrk run of --seconds (after a --warmup run of the same, unless
    told): its JSON summary with rps, p99_ms and the web-api CPU per request."""
    env = dict(os.environ, EQMS_BENCH_TOKEN=token, EQMS_BENCH_METHOD=method,
               EQMS_BENCH_PATHS=" ".join(API + p for p in paths))
    if body is not None:
        env["EQMS_BENCH_BODY"] = json.dumps(body)

    def run(seconds):
        cmd = ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d",
               f"{seconds}s", "-s", LUA, stack.base + API + paths[0]]
        cpu0 = cpu_seconds(stack.webapi.pid)
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        cpu = cpu_seconds(stack.webapi.pid) - cpu0
        line = [ln for ln in out.splitlines() if ln.startswith("{")]
        if not line:
            raise SystemExit(f"bench_api: wrk printed no summary:\n{out}")
        r = json.loads(line[-1])
        r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
        r["p99_ms"] = r["p99_us"] / 1000
        r["cpu_us"] = cpu / max(1, r["requests"]) * 1e6
        r["errors"] = (r["connect_errors"] + r["read_errors"] + r["write_errors"]
                       + r["timeouts"] + r["non2xx"])
        return r

    if warmup and args.warmup > 0:
        run(max(1, int(args.warmup)))
    return run(int(args.seconds))


def rate(args, stack, token, path, per_s):
    """tool_apiload at a fixed rate: its JSON summary plus the web-api CPU
    per request over the measured window."""
    cmd = [args.tool, "rate", "--port", str(stack.api_port), "--path", API + path,
           "--token", token, "--rate", str(per_s), "--connections", str(args.rate_connections),
           "--seconds", str(args.seconds), "--warmup", str(args.warmup)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    cpu = {}
    result = None
    for line in proc.stdout:
        line = line.strip()
        if line in ("start", "stop"):
            cpu[line] = cpu_seconds(stack.webapi.pid)
        elif line.startswith("{"):
            result = json.loads(line)
    if proc.wait() != 0 or result is None:
        raise SystemExit(f"bench_api: tool_apiload rate failed ({proc.returncode})")
    result["cpu_us"] = ((cpu.get("stop", 0) - cpu.get("start", 0))
                        / max(1, result["requests"]) * 1e6)
    return result


def sse(args, stack, token, hall):
    """--streams live streams of the bench branch while the driver calls at
    --sse-rate per second for --seconds: tool_apiload's JSON summary."""
    cmd = [args.tool, "sse", "--port", str(stack.api_port), "--path",
           f"{API}/live/branches/{BRANCH}", "--token", token, "--streams", str(args.streams)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ready = proc.stdout.readline().split()
    if len(ready) != 2 or ready[0] != "ready":
        proc.kill()
        raise SystemExit(f"bench_api: tool_apiload sse: {ready}")
    time.sleep(0.5)
    calls, cpu0 = 0, cpu_seconds(stack.webapi.pid)
    started = time.monotonic()
    while time.monotonic() - started < args.seconds:
        hall.issue()
        hall.call_next()
        calls += 1
        pause = started + calls / args.sse_rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    elapsed = time.monotonic() - started
    time.sleep(1.0)                       # the last calls' events on their way
    cpu = cpu_seconds(stack.webapi.pid) - cpu0
    out, _ = proc.communicate(timeout=30)
    result = json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])
    result.update(ready=int(ready[1]), calls=calls, calls_per_s=calls / elapsed,
                  cpu_cores=cpu / (elapsed + 1.0))
    return result


def today(conn):
    return q(conn, """SELECT (now() AT TIME ZONE time_zone)::date,
                             (now() AT TIME ZONE time_zone)::date + 1
                      FROM org_node WHERE path = %s::ltree""", BRANCH)[0]


def perf_top(pid, seconds, data):
    """perf record of `pid` for `seconds` in the background: the Popen."""
    return subprocess.Popen(["perf", "record", "-g", "-o", data, "-p", str(pid), "--", "sleep",
                             str(seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def perf_report(data):
    rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort",
                          "dso,symbol", "-g", "none"], capture_output=True, text=True)
    say("\n".join([ln for ln in rep.stdout.splitlines()
                   if ln.strip() and not ln.startswith("#")][:40]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bin"))
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--threads", type=int, default=2, help="wrk's threads")
    ap.add_argument("--connections", type=int, default=32, help="wrk's connections")
    ap.add_argument("--rate", type=float, default=1000, help="fixed rate of the live latency")
    ap.add_argument("--stats-rate", type=float, default=200,
                    help="fixed rate of the statistics latency")
    ap.add_argument("--rate-connections", type=int, default=8,
                    help="keep-alive connections of the fixed-rate load")
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--sse-rate", type=float, default=10, help="calls per second")
    ap.add_argument("--branches", type=int, default=40)
    ap.add_argument("--waiting", type=int, default=20, help="tickets waiting in the hall")
    ap.add_argument("--phases", default="live,stats,sse,issue")
    ap.add_argument("--perf", default="", help="perf record web-api during this wrk phase")
    ap.add_argument("--pg-statements", action="store_true",
                    help="PostgreSQL's statements of the issue phase, per ticket")
    ap.add_argument("--state-cache-ms", default="",
                    help="EQMS_WEBAPI_STATE_CACHE_MS of web-api (default: its own, 1000; 0: off)")
    ap.add_argument("--principal-cache-ms", default="",
                    help="EQMS_WEBAPI_PRINCIPAL_CACHE_MS of web-api (default: its own, 1000; "
                         "0: the session's user read on every request)")
    args = ap.parse_args()
    args.tool = os.path.join(os.path.dirname(os.path.abspath(args.bin)), "bench", "tool_apiload")
    phases = args.phases.split(",")
    servers = srvmod.Servers().start(
        ("shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track=all")
        if args.pg_statements else ())
    stack = None
    try:
        conninfo, conn = demo_database(servers, "bench_api", args.bin)
        windows, staff = prepare_branch(conn)
        branches = add_branches(conn, args.branches)
        webapi_env = {name: value for name, value in
                      (("EQMS_WEBAPI_STATE_CACHE_MS", args.state_cache_ms),
                       ("EQMS_WEBAPI_PRINCIPAL_CACHE_MS", args.principal_cache_ms)) if value}
        stack = Stack(args.bin, conninfo, servers.redis.url(0), args.streams,
                      os.path.join(servers.root, "logs"), webapi_env)
        api = Api(stack.base)
        token = api.token

        # the hall: every window serving one customer, --waiting tickets waiting
        hall = Hall(api, windows, staff)
        for _ in range(len(windows) + args.waiting):
            hall.issue()
        for _ in windows:
            hall.call_next()
        day, next_day = today(conn)
        figures = f"/stats/figures?node={BRANCH}&from={day}&to={next_day}"
        deadline = time.monotonic() + 30
        while (api.call("GET", figures)["rows"][0]["issued"] or 0) < len(windows) + args.waiting:
            if time.monotonic() > deadline:
                raise SystemExit("bench_api: stats-aggregator placed nothing within 30 s")
            time.sleep(0.2)
        state = api.call("GET", f"/branches/{BRANCH}/state")
        size = len(json.dumps(state))
        say(f"hall {BRANCH}: {len(windows)} windows serving, "
            f"{sum(qu.get('waiting', 0) for qu in state.get('queues', []))} waiting; "
            f"state {size} bytes; web-api threads: default; wrk -t{args.threads} "
            f"-c{args.connections}, {args.seconds:g} s after {args.warmup:g} s warm-up")

        def perf_for(phase):
            if args.perf != phase:
                return None
            data = os.path.join(servers.root, "webapi.perf")
            return perf_top(stack.webapi.pid, max(1, int(args.seconds) - 2), data), data

        res = {}
        loads = [load_average()]
        if "live" in phases:
            perf = perf_for("live")
            live = wrk(args, stack, token, [f"/branches/{BRANCH}/state"])
            if perf:
                perf[0].wait()
                perf_report(perf[1])
            fixed = rate(args, stack, token, f"/branches/{BRANCH}/state", args.rate)
            res.update(live_rps=live["rps"], live_p99_ms=fixed["p99_ms"])
            say(f"live snapshot, wrk: {live['rps']:.0f} req/s, p50 {live['p50_us'] / 1000:.2f} "
                f"ms p99 {live['p99_ms']:.2f} ms, errors {live['errors']}, web-api CPU "
                f"{live['cpu_us']:.0f} us/request")
            say(f"live snapshot at {args.rate:g}/s (open loop, {args.rate_connections} "
                f"connections): {fixed['requests']} requests, p50 {fixed['p50_ms']:.2f} ms "
                f"p90 {fixed['p90_ms']:.2f} ms p99 {fixed['p99_ms']:.2f} ms p99.9 "
                f"{fixed['p999_ms']:.2f} ms max {fixed['max_ms']:.2f} ms (from the send: p99 "
                f"{fixed['sent_p99_ms']:.2f} ms; sent >1 ms late: {fixed['late']}; still "
                f"unanswered {fixed['unanswered']}, unsent {fixed['unsent']} 5 s after), errors "
                f"{fixed['errors']} {fixed['error_codes']}, web-api CPU "
                f"{fixed['cpu_us']:.0f} us/request")
        if "stats" in phases:
            perf = perf_for("stats")
            st = wrk(args, stack, token, [figures])
            if perf:
                perf[0].wait()
                perf_report(perf[1])
            fixed = rate(args, stack, token, figures, args.stats_rate)
            res.update(stats_rps=st["rps"], stats_p99_ms=fixed["p99_ms"])
            say(f"statistics figures, wrk: {st['rps']:.0f} req/s, p50 "
                f"{st['p50_us'] / 1000:.2f} ms p99 {st['p99_ms']:.2f} ms, errors "
                f"{st['errors']}, web-api CPU {st['cpu_us']:.0f} us/request")
            say(f"statistics figures at {args.stats_rate:g}/s (open loop): p50 "
                f"{fixed['p50_ms']:.2f} ms p99 {fixed['p99_ms']:.2f} ms max "
                f"{fixed['max_ms']:.2f} ms, unanswered {fixed['unanswered']} unsent "
                f"{fixed['unsent']}, errors {fixed['errors']} {fixed['error_codes']}, "
                f"web-api CPU {fixed['cpu_us']:.0f} us/request")
        if "sse" in phases:
            s = sse(args, stack, token, hall)
            res.update(sse_p99_ms=s["p99_ms"])
            say(f"live streams: {s['ready']} of {s['streams']} open, {s['calls']} calls "
                f"({s['calls_per_s']:.1f}/s, each after an issue), {s['events']} "
                f"ticket.called events received ({s['per_stream_min']}-"
                f"{s['per_stream_max']} per stream), streams ended by the server "
                f"{s['ended']}; delivery p50 {s['p50_ms']:.1f} ms p90 {s['p90_ms']:.1f} ms "
                f"p99 {s['p99_ms']:.1f} ms max {s['max_ms']:.1f} ms; web-api "
                f"{s['cpu_cores']:.2f} core")
        if "issue" in phases:
            perf = perf_for("issue")
            if args.pg_statements:
                q(conn, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                q(conn, "SELECT pg_stat_statements_reset()")
            before_cpu = cpu_by_name(CPU_NAMES)
            before_issued = q(conn, "SELECT count(*) FROM ticket_event WHERE kind = 'issued'")[0][0]
            iss = wrk(args, stack, token, [f"/branches/{b}/tickets" for b in branches],
                      method="POST", body={"service_code": "cash"}, warmup=False)
            after_cpu = cpu_by_name(CPU_NAMES)
            if perf:
                perf[0].wait()
                perf_report(perf[1])
            issued = q(conn, "SELECT count(*) FROM ticket_event WHERE kind = 'issued'")[0][0]
            res.update(issue_rps=iss["rps"])
            say(f"ticket issue, wrk over {len(branches)} branches: {iss['rps']:.0f} req/s, "
                f"p50 {iss['p50_us'] / 1000:.2f} ms p99 {iss['p99_ms']:.2f} ms, errors "
                f"{iss['errors']} (non-2xx {iss['non2xx']}), web-api CPU "
                f"{iss['cpu_us']:.0f} us/request; {issued} tickets issued in all")
            per = max(1, issued - before_issued)
            if args.pg_statements:
                say("PostgreSQL's statements in the phase (wall time, nested ones counted "
                    "in their callers too): calls, ms, us per ticket, statement")
                for row in q(conn, """SELECT calls, round(total_exec_time::numeric),
                                 round((total_exec_time * 1000 / %s)::numeric, 1),
                                 left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 100)
                                 FROM pg_stat_statements
                                 ORDER BY total_exec_time DESC LIMIT 20""", per):
                    say("  " + " | ".join(str(x) for x in row))
            say("CPU per ticket issued in the phase: " + ", ".join(
                f"{n} {(after_cpu[n] - before_cpu[n]) / per * 1e6:.0f} us" for n in CPU_NAMES))
        loads.append(load_average())
        conn.close()
        say(f"machine load average (1 min) at the start and end of the phases: "
            f"{loads[0]:.1f} -> {loads[1]:.1f} on {os.cpu_count()} cores")
        for line in stack.log_summary():
            say(f"log of {line}")
        fmt = lambda k: f"{res[k]:.0f}" if k.endswith("rps") else f"{res[k]:.2f}"  # noqa: E731
        keys = ("live_rps", "live_p99_ms", "stats_rps", "stats_p99_ms", "issue_rps",
                "sse_p99_ms")
        say("BENCH api " + " ".join(f"{k}={fmt(k) if k in res else 'na'}" for k in keys))
    finally:
        if stack:
            stop_all(stack.procs)
        servers.stop()


if __name__ == "__main__":
    main()
