"""statsgen: the raw facts of bench_stats, made the way their owners make them.

History (History.day): for each local day and branch a small queue
simulation gives
  - queue-manager's facts: `ticket` rows and `ticket_event` rows numbered by
    the branch's seq in time order: window_opened and staff_login before
    opening, issued / walk_in, called, recalled, started, finished, no_show,
    transferred (service_id is the new service, as qm_decide.c writes it),
    and the day end at the next local midnight (abandoned for the tickets
    never called, staff_logout, window_closed, day_start of the next day);
  - rating-ingest's facts, numbered by the branch's one gateway journal in
    time order: staff_session (login .. logout), service_record (device
    Start -> End), rating (bound to its ticket), and the envelope id of
    every device event (login, service.start, service.end, rating, logout)
    in ingest_event;
as COPY text lines. Nothing after `cut_ms` (the load's start) is written:
today's tickets still waiting, called or served stay open, as they are in a
running system.

The day: open 09:00-17:00 local, tickets issued until 16:50, served until
17:30 (later ones are abandoned at the day end); arrivals by an hourly
curve with a morning (10-11) and an afternoon (14-15) peak, by weekday
(Monday and Friday busiest, Sunday quietest) and month end; FIFO over the
windows open that day (enough for ~72 % load, so the peaks queue); service
times lognormal by service (4.5-14 min means); 3 % walk-ins, 4 % of the
served transferred once, 4 % recalled, 2 % no-shows plus the customers whose
patience (exponential, mean 45 min) ran out before their call; 82 % of the
served rate the teller (60 % of walk-ins), unsatisfied more often after a
long wait and by teller (each teller has a quality).

tree_sql makes the organisation the history is for; bench_stats.py writes
the live facts of its lag measurement itself.
"""
import bisect
import datetime
import heapq
import math
import time
import uuid
import zoneinfo

HOURS = [9, 10, 11, 12, 13, 14, 15, 16]
HOUR_WEIGHTS = [0.85, 1.45, 1.30, 0.80, 0.85, 1.35, 1.25, 0.65]
DOW = [1.15, 1.0, 0.95, 0.95, 1.10, 0.80, 0.60]       # Monday .. Sunday
DOW = [x * 7 / sum(DOW) for x in DOW]
# code, queue prefix, mean service minutes, share of tickets
SERVICES = [("cash", "A", 4.5, 0.34), ("card", "A", 6.0, 0.18), ("account", "A", 11.0, 0.10),
            ("loan", "A", 14.0, 0.06), ("corp_account", "B", 13.0, 0.06),
            ("corp_settlement", "B", 7.0, 0.14), ("vip_wealth", "V", 12.0, 0.12)]
QUEUES = [("A", "个人业务", 900), ("B", "对公业务", 1200), ("V", "贵宾", 300)]
WINDOWS = 6
STAFF = 8
MIN_PER_CUSTOMER = 8.75        # service + calling + walking, for the windows opened
LOAD = 0.72                    # windows opened for this share of busy time
RATE_SERVED = 0.82
RATE_WALK_IN = 0.60
NULL = "\\N"

# The COPY column lists (explicit: later schemas add columns with defaults).
COLUMNS = {
    "ticket": "id, issued_at, branch_id, day, number, queue_id, service_id, class, walk_in, "
              "actor",
    "ticket_event": "branch_id, seq, at, day, kind, actor, ticket_id, number, number_seq, "
                    "queue_id, service_id, class, window_id, window_no, staff_id, original_at, "
                    "target, target_id, recall, avg_ms, detail",
    "rating": "id, event_time, gateway, gateway_incarnation, gateway_seq, window_id, staff_id, "
              "branch_path, device_serial, device_boot, device_seq, option_code, score, "
              "satisfied, unsatisfied, ticket, ticket_id, service_ms, received_at, stored_at",
    "service_record": "id, ended_at, started_at, duration_ms, gateway, gateway_seq, window_id, "
                      "staff_id, ticket, gateway_incarnation",
    "staff_session": "id, staff_id, window_id, login_at, logout_at, logout_id, closed_by, "
                     "gateway, gateway_seq, gateway_incarnation",
    "ingest_event": "id",
}
TABLES = list(COLUMNS)

_DAY_TEXT = {}


def ts(ms):
    """ms since the epoch as COPY text of a timestamptz (UTC)."""
    d, r = divmod(ms, 86400000)
    p = _DAY_TEXT.get(d)
    if p is None:
        p = _DAY_TEXT[d] = time.strftime("%Y-%m-%d ", time.gmtime(d * 86400))
    s, milli = divmod(r, 1000)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{p}{h:02d}:{m:02d}:{s:02d}.{milli:03d}+00"


def uuid7(ms, bits):
    """A UUIDv7 text of time ms with 74 random bits."""
    x = (ms << 80) | (0x7 << 76) | ((bits >> 62) & 0xFFF) << 64 | (0b10 << 62) | (
        bits & 0x3FFFFFFFFFFFFFFF)
    h = f"{x:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def local_midnight_ms(zone, date):
    """UTC ms of 00:00 of `date` in `zone`; the zones used have no offset
    change inside a day (checked)."""
    z = zoneinfo.ZoneInfo(zone)
    a = datetime.datetime(date.year, date.month, date.day, tzinfo=z)
    b = a + datetime.timedelta(hours=23, minutes=59)
    assert a.utcoffset() == b.utcoffset(), f"{zone} changes its offset on {date}"
    return int(a.timestamp() * 1000)


# --- the tree ------------------------------------------------------------------

def tree_sql(branches, regions, urumqi_regions):
    """SQL that creates the benchmark's organisation: hq, `regions` regions
    (the last `urumqi_regions` in Asia/Urumqi, the others in Asia/Shanghai;
    branches take their region's zone), `branches` branches in blocks, each
    with WINDOWS windows, a device at each, STAFF tellers; three queues and
    seven services at hq; the 4-key scale at hq, the 6-key one in the
    Urumqi regions."""
    per = math.ceil(branches / regions)
    values = ",".join(f"({b},'r{(b - 1) // per + 1:02d}')" for b in range(1, branches + 1))
    services = ",".join(f"('{c}','{p}')" for c, p, _m, _w in SERVICES)
    queues = ",".join(f"('{p}','{n}',{t})" for p, n, t in QUEUES)
    return f"""
INSERT INTO org_node (parent_id, code, name, kind, time_zone)
VALUES (NULL, 'hq', '总行', 'head_office', 'Asia/Shanghai');
INSERT INTO org_node (parent_id, code, name, kind, time_zone)
SELECT hq.id, 'r' || lpad(r::text, 2, '0'), '区域' || r, 'region',
       CASE WHEN r > {regions - urumqi_regions} THEN 'Asia/Urumqi' ELSE 'Asia/Shanghai' END
FROM generate_series(1, {regions}) r, org_node hq WHERE hq.path = 'hq';
INSERT INTO org_node (parent_id, code, name, kind, time_zone)
SELECT r.id, 'b' || lpad(v.no::text, 4, '0'), '支行' || v.no, 'branch', r.time_zone
FROM (VALUES {values}) AS v (no, region)
JOIN org_node r ON r.path = ('hq.' || v.region)::ltree ORDER BY v.no;
INSERT INTO service_window (node_id, number, code, name)
SELECT b.id, n, 'w' || lpad(n::text, 2, '0'), n || '号窗口'
FROM org_node b, generate_series(1, {WINDOWS}) n WHERE b.kind = 'branch' ORDER BY b.id, n;
INSERT INTO device (serial, window_id, model)
SELECT 'EQ-' || upper(b.code) || '-' || upper(w.code), w.id,
       CASE WHEN b.time_zone = 'Asia/Urumqi' THEN 'EQR-6K' ELSE 'EQR-4K' END
FROM service_window w JOIN org_node b ON b.id = w.node_id ORDER BY w.id;
INSERT INTO staff (employee_no, name, node_id)
SELECT '2' || substr(b.code, 2) || lpad(n::text, 2, '0'), '柜员' || substr(b.code, 2) || '-' || n,
       b.id
FROM org_node b, generate_series(1, {STAFF}) n WHERE b.kind = 'branch' ORDER BY b.id, n;
INSERT INTO queue (node_id, prefix, name, target_wait_s)
SELECT hq.id, v.prefix, v.name, v.target FROM (VALUES {queues}) AS v (prefix, name, target),
     org_node hq WHERE hq.path = 'hq';
INSERT INTO service (node_id, code, name, queue_id)
SELECT hq.id, v.code, v.code, q.id FROM (VALUES {services}) AS v (code, prefix)
JOIN queue q ON q.prefix = v.prefix, org_node hq WHERE hq.path = 'hq';
INSERT INTO node_settings (node_id, rating_timeout_s, repeat_press_s, rating_scale_id)
SELECT n.id, 30, 10, s.id FROM org_node n, rating_scale s WHERE n.path = 'hq' AND s.code = 'std4';
INSERT INTO node_settings (node_id, rating_scale_id)
SELECT n.id, s.id FROM org_node n, rating_scale s
WHERE n.kind = 'region' AND n.time_zone = 'Asia/Urumqi' AND s.code = 'std6';
"""


class Service:
    def __init__(self, sid, queue_id, prefix, mean_min, share):
        self.id, self.queue_id, self.prefix, self.share = sid, queue_id, prefix, share
        sigma = 0.55
        self.mu = math.log(mean_min * 60000) - sigma * sigma / 2
        self.sigma = sigma


class Branch:
    """A branch of the generated tree and the state its owners keep: the
    last ticket_event seq, the gateway journal's seq, device counters."""

    def __init__(self, row, rng):
        (self.id, self.path, self.zone, self.scale) = row[:4]
        self.code = self.path.split(".")[-1]
        self.windows = row[4]          # [(window id, number)]
        self.staff = row[5]            # [staff id]
        self.serials = [f"EQ-{self.code.upper()}-W{n:02d}" for _w, n in self.windows]
        self.gateway = f"device-gateway.{self.code}"
        self.incarnation = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.size = math.exp(rng.gauss(0, 0.35))
        self.seq = 0
        self.gw_seq = 0
        self.boot = [1] * len(self.windows)
        self.dev_seq = [0] * len(self.windows)
        self.day_started = False
        self.quality = {s: rng.gauss(0, 1) for s in self.staff}


class Tree:
    """The generated organisation as read back from the database."""

    def __init__(self, conn, rng):
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM org_node WHERE path = 'hq'")
            self.hq = cur.fetchone()[0]
            cur.execute("SELECT id, path::text, time_zone FROM org_node WHERE kind = 'region' "
                        "ORDER BY path")
            self.regions = cur.fetchall()
            cur.execute("""SELECT s.id, s.code, q.id, q.prefix FROM service s
                           JOIN queue q ON q.id = s.queue_id""")
            by_code = {r[1]: r for r in cur.fetchall()}
            self.services = [Service(by_code[c][0], by_code[c][2], p, m, w)
                             for c, p, m, w in SERVICES]
            cur.execute("""SELECT o.code, s.code, o.score::text, o.satisfied, o.unsatisfied
                           FROM rating_option o JOIN rating_scale s ON s.id = o.scale_id""")
            self.options = {}
            for code, scale, score, sat, unsat in cur.fetchall():
                self.options.setdefault(scale, {})[code] = (score, "t" if sat else "f",
                                                            "t" if unsat else "f")
            cur.execute("""SELECT b.id, b.path::text, b.time_zone, e.rating_scale_code,
                                  (SELECT array_agg(ARRAY[w.id, w.number] ORDER BY w.number)
                                   FROM service_window w WHERE w.node_id = b.id),
                                  (SELECT array_agg(s.id ORDER BY s.id) FROM staff s
                                   WHERE s.node_id = b.id)
                           FROM org_node b CROSS JOIN LATERAL effective_settings(b.id) e
                           WHERE b.kind = 'branch' ORDER BY b.path""")
            rows = cur.fetchall()
        self.branches = [Branch((r[0], r[1], r[2], r[3], [tuple(w) for w in r[4]], r[5]), rng)
                         for r in rows]
        mean = sum(b.size for b in self.branches) / len(self.branches)
        for b in self.branches:
            b.size /= mean
        self.zones = sorted({b.zone for b in self.branches})
        self.service_cum = list(_cumulative([s.share for s in self.services]))
        self.hour_cum = list(_cumulative(HOUR_WEIGHTS))
        for b in self.branches:
            b.option_cum = {s: self._option_weights(b.scale, b.quality[s]) for s in b.staff}

    @staticmethod
    def _option_weights(scale, q):
        """Cumulative option weights of a teller of quality q: (after a
        normal wait, after a wait over 15 minutes)."""
        out = []
        for long_wait in (False, True):
            unsat = min(0.25, 0.028 * math.exp(0.6 * q) * (2.2 if long_wait else 1.0))
            neutral = min(0.3, 0.07 * math.exp(0.3 * q) * (1.5 if long_wait else 1.0))
            good = 1 - unsat - neutral
            if scale == "std6":    # 1, 2 satisfied; 3 attitude, 4 skill, 5 efficiency; 6 other
                eff = 0.5 if long_wait else 0.3
                w = [good * 0.66, good * 0.34, unsat * (0.7 - eff) * 0.6,
                     unsat * (0.7 - eff) * 0.4 + unsat * 0.3, unsat * eff, neutral]
            else:                  # 1, 2 satisfied; 3 neutral; 4 unsatisfied
                w = [good * 0.66, good * 0.34, neutral, unsat]
            out.append(list(_cumulative(w)))
        return out


def _cumulative(weights):
    total = sum(weights)
    acc = 0.0
    for w in weights:
        acc += w / total
        yield acc


class Day:
    """One local date of the history: its local midnight per zone and its
    traffic factor (weekday, a mild season, the month's last three days)."""

    def __init__(self, date, index, zones):
        self.date = date
        self.index = index
        self.int = date.year * 10000 + date.month * 100 + date.day
        nxt = date + datetime.timedelta(days=1)
        self.next_int = nxt.year * 10000 + nxt.month * 100 + nxt.day
        self.midnight = {z: local_midnight_ms(z, date) for z in zones}
        self.next_midnight = {z: local_midnight_ms(z, nxt) for z in zones}
        last = (date.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) \
            - datetime.timedelta(days=1)
        season = 1 + 0.08 * math.sin(2 * math.pi * date.timetuple().tm_yday / 365.25)
        self.factor = DOW[date.weekday()] * season * (1.15 if last.day - date.day < 3 else 1.0)


class Out:
    """COPY text lines per table and the counts of what was made."""

    def __init__(self):
        self.lines = {t: [] for t in TABLES}
        self.ratings = self.tickets = self.events = self.services = self.sessions = 0

    def text(self, table):
        return ("\n".join(self.lines[table]) + "\n").encode() if self.lines[table] else b""

    def rows(self):
        return sum(len(v) for v in self.lines.values())


class History:
    """The history generator: History(tree, rng, tickets_per_day,
    cut_ms).day(Day, out) writes every branch's facts of that day."""

    def __init__(self, tree, rng, tickets_per_day, cut_ms):
        self.tree = tree
        self.rng = rng
        self.tickets_per_day = tickets_per_day
        self.cut = cut_ms

    def day(self, d, out):
        for b in self.tree.branches:
            self._branch_day(b, d, out)

    # The simulation of one branch's day. Long, because it is the hot loop
    # of the load: everything is local names.
    def _branch_day(self, b, d, out):  # noqa: C901
        rng = self.rng
        rnd = rng.random
        rint = rng.randint
        bits = rng.getrandbits
        cut = self.cut
        tree = self.tree
        mid = d.midnight[b.zone]
        if mid > cut:
            return
        mean = self.tickets_per_day * b.size * d.factor
        n = max(0, int(rng.gauss(mean, math.sqrt(mean)) + 0.5))
        k = max(2, min(len(b.windows), math.ceil(n * MIN_PER_CUSTOMER / (480 * LOAD))))
        open_ms = mid + 9 * 3600000
        serve_until = mid + 17 * 3600000 + 1800000
        day_end = d.next_midnight[b.zone] + 1000
        dayint = d.int
        bid = b.id
        windows = b.windows
        serials = b.serials
        staff = [b.staff[(w + d.index) % len(b.staff)] for w in range(k)]
        wf = [f"{windows[w][0]}\t{windows[w][1]}\t{staff[w]}" for w in range(k)]
        actor = [f"device:{serials[w]}" for w in range(k)]
        tev = []             # (ms, day, text after "branch\tseq\tat\tday\t")
        dev = []             # (ms, kind, payload)
        tickets = out.lines["ticket"]
        tickets_before = len(tickets)
        NW = f"{NULL}\t{NULL}\t{NULL}"
        if not b.day_started:
            tev.append((mid + 1000, dayint, f"day_start\tqm\t{NULL}\t{NULL}\t0\t{NULL}\t{NULL}"
                                            f"\t{NULL}\t{NW}\t{NULL}\t{NULL}\t{NULL}\t0\t0\t"))
            b.day_started = True
        free = []
        last_busy = []
        for w in range(k):
            t = open_ms - rint(300000, 900000)
            tev.append((t, dayint, f"window_opened\tweb:console\t{NULL}\t{NULL}\t0\t{NULL}\t"
                                   f"{NULL}\t{NULL}\t{wf[w]}\t{NULL}\t{NULL}\t{NULL}\t0\t0\t"))
            tev.append((t + 20000, dayint, f"staff_login\t{actor[w]}\t{NULL}\t{NULL}\t0\t{NULL}"
                                           f"\t{NULL}\t{NULL}\t{wf[w]}\t{NULL}\t{NULL}\t{NULL}"
                                           f"\t0\t0\t"))
            dev.append((t + 20000, 0, w))
            free.append(open_ms + rint(0, 120000))
            last_busy.append(open_ms)

        # arrivals: hour by the curve, then uniform inside it (16:00-16:50)
        services = tree.services
        scum = tree.service_cum
        hcum = tree.hour_cum
        arrivals = []
        for _ in range(n):
            h = HOURS[bisect.bisect(hcum, rnd())]
            arrivals.append(mid + h * 3600000 + int(rnd() * (3000000 if h == 16 else 3600000)))
        arrivals.sort()
        numbers = {}
        heap = []
        tk = []              # [ticket id, number, number_seq, service, class, issue ms, walk-in]
        for i, t in enumerate(arrivals):
            s = services[bisect.bisect(scum, rnd())]
            if s.prefix == "V":
                klass = "vip"
            else:
                r = rnd()
                klass = "ordinary" if r < 0.9 else ("green" if r < 0.97 else "vip")
            tk.append([None, None, 0, s, klass, t, rnd() < 0.03])
            heap.append((t, i, i, 0))
        heapq.heapify(heap)
        avg = {}
        abandoned = []
        ctr = n
        rated = rate_walk = 0
        while heap:
            e, _c, ti, leg = heapq.heappop(heap)
            T = tk[ti]
            w = min(range(k), key=free.__getitem__)
            s = T[3]
            if T[6]:                                    # walk-in: served at once
                st = max(e, free[w]) + rint(1000, 5000)
                if st > serve_until or st > cut:
                    continue
                nq = numbers.get(s.prefix, 0) + 1
                numbers[s.prefix] = nq
                T[0] = tid = uuid7(st, bits(74))
                T[1] = number = f"{s.prefix}{nq % 1000:03d}"
                T[2] = nq
                T[5] = st
                tickets.append(f"{tid}\t{ts(st)}\t{bid}\t{dayint}\t{number}\t{s.queue_id}\t"
                               f"{s.id}\t{T[4]}\tt\t{actor[w]}")
                tf = f"{tid}\t{number}\t{nq}\t{s.queue_id}\t{s.id}\t{T[4]}"
                orig = ts(st)
                tev.append((st, dayint, f"walk_in\t{actor[w]}\t{tf}\t{wf[w]}\t{orig}\t{NULL}\t"
                                        f"{NULL}\t0\t0\t"))
                dur = max(30000, min(7200000, int(rng.lognormvariate(s.mu, s.sigma))))
                fin = st + dur
                a = avg.get(s.id, dur)
                a = avg[s.id] = max(1, (3 * a + dur) // 4)
                tev.append((fin, dayint, f"finished\t{actor[w]}\t{tf}\t{wf[w]}\t{orig}\t{NULL}\t"
                                         f"{NULL}\t0\t{a}\t"))
                dev.append((st, 1, w))
                dev.append((fin, 2, (w, st, number)))
                if rnd() < RATE_WALK_IN:
                    dev.append((fin + rint(2000, 20000), 3, (w, tid, number, dur, False)))
                free[w] = fin + rint(5000, 30000)
                last_busy[w] = fin
                rate_walk += 1
                continue
            if leg == 0:                                # issued at arrival
                nq = numbers.get(s.prefix, 0) + 1
                numbers[s.prefix] = nq
                T[0] = tid = uuid7(e, bits(74))
                T[1] = number = f"{s.prefix}{nq % 1000:03d}"
                T[2] = nq
                if e > cut:
                    continue
                tickets.append(f"{tid}\t{ts(e)}\t{bid}\t{dayint}\t{number}\t{s.queue_id}\t"
                               f"{s.id}\t{T[4]}\tf\tkiosk:1")
                tev.append((e, dayint, f"issued\tkiosk:1\t{tid}\t{number}\t{nq}\t{s.queue_id}\t"
                                       f"{s.id}\t{T[4]}\t{NW}\t{ts(e)}\t{NULL}\t{NULL}\t0\t0\t"))
            tid, number, nq = T[0], T[1], T[2]
            orig = ts(T[5])
            tf = f"{tid}\t{number}\t{nq}\t{s.queue_id}\t{s.id}\t{T[4]}"
            call = max(e, free[w]) + rint(3000, 15000)
            if call > serve_until:
                abandoned.append((tf, orig))
                continue
            wait = call - e
            ww = wf[w]
            ac = actor[w]
            tev.append((call, dayint, f"called\t{ac}\t{tf}\t{ww}\t{orig}\t{NULL}\t{NULL}\t0\t0\t"))
            if leg == 0 and (wait > rng.expovariate(1 / 2700000) + 300000 or rnd() < 0.02):
                rc = call + rint(40000, 70000)           # gone: recalled, then no-show
                tev.append((rc, dayint, f"recalled\t{ac}\t{tf}\t{ww}\t{orig}\t{NULL}\t{NULL}"
                                        f"\t1\t0\t"))
                ns = rc + rint(40000, 80000)
                tev.append((ns, dayint, f"no_show\t{ac}\t{tf}\t{ww}\t{orig}\t{NULL}\t{NULL}"
                                        f"\t1\t0\t"))
                free[w] = ns + rint(5000, 15000)
                last_busy[w] = ns
                continue
            c = call
            if rnd() < 0.04:
                c = call + rint(30000, 60000)
                tev.append((c, dayint, f"recalled\t{ac}\t{tf}\t{ww}\t{orig}\t{NULL}\t{NULL}"
                                       f"\t1\t0\t"))
            st = c + rint(8000, 40000)
            tev.append((st, dayint, f"started\t{ac}\t{tf}\t{ww}\t{orig}\t{NULL}\t{NULL}\t0\t0\t"))
            dev.append((st, 1, w))
            dur = max(30000, min(7200000, int(rng.lognormvariate(s.mu, s.sigma))))
            if leg == 0 and rnd() < 0.04:               # transferred to another service
                x = st + min(dur, rint(60000, 240000))
                s2 = s
                while s2 is s:
                    s2 = services[bisect.bisect(scum, rnd())]
                tev.append((x, dayint, f"transferred\t{ac}\t{tid}\t{number}\t{nq}\t{s.queue_id}"
                                       f"\t{s2.id}\t{T[4]}\t{ww}\t{orig}\tservice\t{s2.id}\t0\t0\t"))
                dev.append((x, 2, (w, st, number)))
                free[w] = x + rint(5000, 20000)
                last_busy[w] = x
                T[3] = s2
                ctr += 1
                heapq.heappush(heap, (x, ctr, ti, 1))
                continue
            fin = st + dur
            a = avg.get(s.id, dur)
            a = avg[s.id] = max(1, (3 * a + dur) // 4)
            tev.append((fin, dayint, f"finished\t{ac}\t{tf}\t{ww}\t{orig}\t{NULL}\t{NULL}\t0\t"
                                     f"{a}\t"))
            dev.append((fin, 2, (w, st, number)))
            if rnd() < RATE_SERVED:
                dev.append((fin + rint(2000, 20000), 3, (w, tid, number, dur, wait > 900000)))
                rated += 1
            free[w] = fin + rint(5000, 30000)
            last_busy[w] = fin

        # the day end, at the next local midnight (queue-manager's day change)
        for tf, orig in abandoned:
            tev.append((day_end, dayint, f"abandoned\tqm\t{tf}\t{NW}\t{orig}\t{NULL}\t{NULL}\t0\t0"
                                         f"\tday end: was waiting"))
        for w in range(k):
            tev.append((day_end, dayint, f"staff_logout\tqm\t{NULL}\t{NULL}\t0\t{NULL}\t{NULL}\t"
                                         f"{NULL}\t{wf[w]}\t{NULL}\t{NULL}\t{NULL}\t0\t0\tday end"))
            tev.append((day_end, dayint, f"window_closed\tqm\t{NULL}\t{NULL}\t0\t{NULL}\t{NULL}\t"
                                         f"{NULL}\t{wf[w]}\t{NULL}\t{NULL}\t{NULL}\t0\t0\tday end"))
        tev.append((day_end, d.next_int, f"day_start\tqm\t{NULL}\t{NULL}\t0\t{NULL}\t{NULL}\t"
                                         f"{NULL}\t{NW}\t{NULL}\t{NULL}\t{NULL}\t0\t0\t"))
        for w in range(k):   # the device logout: after the last service, at 17:30 at the latest
            dev.append((max(last_busy[w], serve_until - 600000) + rint(60000, 600000), 4, w))

        # queue-manager's facts, numbered in time order
        tev.sort(key=lambda x: x[0])
        lines = out.lines["ticket_event"]
        seq = b.seq
        for ms, day, text in tev:
            if ms > cut:
                break
            seq += 1
            lines.append(f"{bid}\t{seq}\t{ts(ms)}\t{day}\t{text}")
        out.events += seq - b.seq
        b.seq = seq

        # rating-ingest's facts, numbered by the gateway journal in time order
        dev.sort(key=lambda x: x[0])
        gw = b.gateway
        inc = b.incarnation
        path = b.path
        options = tree.options[b.scale]
        ratings = out.lines["rating"]
        srec = out.lines["service_record"]
        sess = out.lines["staff_session"]
        ids = out.lines["ingest_event"]
        logout = {}
        for ms, kind, p in dev:
            if kind == 4:
                logout[p] = ms
        gseq = b.gw_seq
        dseq = b.dev_seq
        logout_id = {}
        for ms, kind, p in dev:
            if ms > cut:
                break
            gseq += 1
            if kind == 4:                                     # staff.logout: its id is
                ids.append(logout_id[p])                      # the session's logout_id
                dseq[p] += 1
                continue
            eid = uuid7(ms, bits(74))
            ids.append(eid)
            if kind == 0:                                     # staff.login
                w = p
                lo = logout[w]
                if lo <= cut:
                    logout_id[w] = lid = uuid7(lo, bits(74))
                    sess.append(f"{eid}\t{staff[w]}\t{windows[w][0]}\t{ts(ms)}\t{ts(lo)}\t"
                                f"{lid}\tlogout\t{gw}\t{gseq}\t{inc}")
                else:
                    sess.append(f"{eid}\t{staff[w]}\t{windows[w][0]}\t{ts(ms)}\t{NULL}\t{NULL}\t"
                                f"{NULL}\t{gw}\t{gseq}\t{inc}")
                out.sessions += 1
            elif kind == 2:                                   # service.end
                w, st, number = p
                srec.append(f"{eid}\t{ts(ms)}\t{ts(st)}\t{ms - st}\t{gw}\t{gseq}\t"
                            f"{windows[w][0]}\t{staff[w]}\t{number}\t{inc}")
                out.services += 1
            elif kind == 3:                                   # rating.submitted
                w, tid, number, dur, long_wait = p
                code = bisect.bisect(b.option_cum[staff[w]][long_wait], rnd()) + 1
                if code not in options:
                    code = len(options)
                score, sat, unsat = options[code]
                rcv = ms + rint(50, 400)
                ratings.append(f"{eid}\t{ts(ms)}\t{gw}\t{inc}\t{gseq}\t{windows[w][0]}\t"
                               f"{staff[w]}\t{path}\t{serials[w]}\t{b.boot[w]}\t{dseq[w] + 1}\t"
                               f"{code}\t{score}\t{sat}\t{unsat}\t{number}\t{tid}\t{dur}\t"
                               f"{ts(rcv)}\t{ts(rcv + rint(5, 60))}")
                out.ratings += 1
            else:
                w = p
            dseq[w] += 1
        b.gw_seq = gseq
        out.tickets += len(tickets) - tickets_before
        if rnd() < 1 / 40:                                    # a device restarted
            b.boot[rint(0, len(b.boot) - 1)] += 1

