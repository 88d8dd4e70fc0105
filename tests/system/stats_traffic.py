"""Randomised raw facts for stats-aggregator tests, written straight into the
tables the way their owners write them (queue-manager: ticket_event with the
branch head in one transaction; rating-ingest: ratings, service records and
staff sessions with the gateway cursor in one transaction), at chosen times
in the past: the aggregator reads the tables, so this is the traffic it sees,
with every bus message "lost"."""
import datetime
import random
import uuid

UTC = datetime.timezone.utc


def ms_of(t):
    return int(t.timestamp() * 1000)


class Branch:
    def __init__(self, db, path):
        with db.cursor() as cur:
            cur.execute("SELECT id, time_zone FROM org_node WHERE path = %s::ltree", (path,))
            self.id, self.zone = cur.fetchone()
            cur.execute("""SELECT id, number FROM service_window WHERE node_id = %s
                           ORDER BY number LIMIT 4""", (self.id,))
            self.windows = cur.fetchall()
            cur.execute("""SELECT id FROM staff WHERE node_id = %s AND active
                           ORDER BY id LIMIT 4""", (self.id,))
            self.staff = [r[0] for r in cur.fetchall()]
            cur.execute("""SELECT s.id, q.id FROM service s JOIN queue q ON q.id = s.queue_id
                           WHERE s.code IN ('cash', 'card', 'corp_account') ORDER BY s.id""")
            self.services = cur.fetchall()
        self.path = path
        self.seq = 0
        self.gateway = f"device-gateway.{path.split('.')[-1]}"
        self.incarnation = str(uuid.uuid4())
        self.gw_seq = 0


def ticket_events(rng, branch, start, hours, n):
    """n tickets' events (unsorted) between start and start + hours."""
    events = []
    span = int(hours * 3600)
    for k in range(n):
        tid = str(uuid.UUID(int=rng.getrandbits(128)))
        number = f"A{k + 1:03d}"
        (service, queue), = rng.sample(branch.services, 1)
        window, window_no = rng.choice(branch.windows)
        staff = rng.choice(branch.staff)
        klass = rng.choice(["ordinary", "ordinary", "vip", "green"])
        t = start + datetime.timedelta(seconds=rng.randrange(span))
        flow = rng.choice(["served", "served", "recalled", "no_show", "transfer", "walk_in",
                           "abandoned", "open", "from_call", "parked"])

        def ev(kind, at, **extra):
            row = dict(kind=kind, at=at, ticket_id=tid, number=number, service=service,
                       queue=queue, klass=klass, window=None, window_no=None, staff=None,
                       target=None, target_id=None)
            row.update(extra)
            events.append(row)

        def later(at, lo, hi):
            return at + datetime.timedelta(seconds=rng.randrange(lo, hi),
                                           milliseconds=rng.randrange(1000))
        at_win = dict(window=window, window_no=window_no, staff=staff)
        if flow == "walk_in":
            ev("walk_in", t, **at_win)
            ev("finished", later(t, 60, 900), **at_win)
            continue
        ev("issued", t)
        if flow == "abandoned":
            ev("abandoned", later(t, 3600, 7200))
            continue
        c = later(t, 10, 1500)
        ev("called", c, **at_win)
        if flow == "open":
            continue
        if flow == "recalled":
            c = later(c, 30, 120)
            ev("recalled", c, **at_win)
        if flow == "no_show":
            ev("no_show", later(c, 60, 180), **at_win)
            continue
        if flow == "from_call":
            ev("finished", later(c, 60, 600), **at_win)
            continue
        s = later(c, 5, 60)
        ev("started", s, **at_win)
        if flow == "parked":
            p = later(s, 60, 300)
            ev("parked", p, **at_win)
            r = later(p, 60, 300)
            ev("returned", r, **at_win)
            c = later(r, 10, 60)
            ev("called", c, **at_win)
            s = later(c, 5, 30)
            ev("started", s, **at_win)
        if flow == "transfer":
            x = later(s, 60, 300)
            (service2, queue2), = rng.sample([v for v in branch.services if v[0] != service]
                                             or branch.services, 1)
            ev("transferred", x, target="service", target_id=service2, **at_win)
            service, queue = service2, queue2
            c = later(x, 30, 900)
            ev("called", c, service=service2, queue=queue2, **at_win)
            s = later(c, 5, 60)
            ev("started", s, service=service2, queue=queue2, **at_win)
            ev("finished", later(s, 60, 900), service=service2, queue=queue2, **at_win)
            continue
        ev("finished", later(s, 60, 1200), **at_win)
    return events


def write_ticket_events(db, branch, events):
    """Commits events (in time order, numbered on from the branch head) the
    way queue-manager does: with the branch head and the ticket rows of the
    issued and walk-in ones, in one transaction."""
    events = sorted(events, key=lambda e: e["at"])
    with db.cursor() as cur:
        for e in events:
            branch.seq += 1
            if e["kind"] in ("issued", "walk_in"):
                cur.execute("""INSERT INTO ticket (id, issued_at, branch_id, day, number,
                                   queue_id, service_id, class, walk_in, actor)
                               VALUES (%s, %s, %s,
                                       to_char(%s AT TIME ZONE %s, 'YYYYMMDD')::int,
                                       %s, %s, %s, %s, %s, 'test')""",
                            (e["ticket_id"], e["at"], branch.id, e["at"], branch.zone,
                             e["number"], e["queue"], e["service"], e["klass"],
                             e["kind"] == "walk_in"))
            cur.execute("""INSERT INTO ticket_event (branch_id, seq, at, day, kind, actor,
                               ticket_id, number, queue_id, service_id, class, window_id,
                               window_no, staff_id, target, target_id)
                           VALUES (%s, %s, %s, to_char(%s AT TIME ZONE %s, 'YYYYMMDD')::int,
                                   %s, 'test', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                        (branch.id, branch.seq, e["at"], e["at"], branch.zone, e["kind"],
                         e["ticket_id"], e["number"], e["queue"], e["service"], e["klass"],
                         e["window"], e["window_no"], e["staff"], e["target"],
                         e["target_id"]))
        cur.execute("""INSERT INTO ticket_branch_head (branch_id, seq) VALUES (%s, %s)
                       ON CONFLICT (branch_id) DO UPDATE SET seq = EXCLUDED.seq""",
                    (branch.id, branch.seq))
    db.commit()


SCORES = {1: (5.0, True, False), 2: (4.0, True, False), 3: (3.0, False, False),
          4: (1.0, False, True)}


def _insert_rating(cur, branch, window, staff, code, t):
    score, sat, unsat = SCORES[code]
    branch.gw_seq += 1
    seq = branch.gw_seq
    cur.execute("""INSERT INTO rating (id, event_time, gateway, gateway_seq, window_id,
                       staff_id, branch_path, device_serial, device_boot, device_seq,
                       option_code, score, satisfied, unsatisfied, received_at,
                       gateway_incarnation)
                   VALUES (%s, %s, %s, %s, %s, %s, %s::ltree, 'EQ-TEST-0001', 1, %s,
                           %s, %s, %s, %s, now(), %s)""",
                (str(uuid.uuid4()), t, branch.gateway, seq, window, staff, branch.path, seq,
                 code, score, sat, unsat, branch.incarnation))


def _advance_cursor(cur, branch):
    cur.execute("""INSERT INTO gateway_cursor (gateway, incarnation, upto, branch)
                   VALUES (%s, %s, %s, %s)
                   ON CONFLICT (gateway, incarnation) DO UPDATE SET upto = EXCLUDED.upto""",
                (branch.gateway, branch.incarnation, branch.gw_seq, branch.path))


def commit_ratings(db, branch, items):
    """Commits, as rating-ingest does, one rating per (window id, staff id,
    option code 1..4, event time) of `items`."""
    with db.cursor() as cur:
        for window, staff, code, t in items:
            _insert_rating(cur, branch, window, staff, code, t)
        _advance_cursor(cur, branch)
    db.commit()


def device_facts(rng, db, branch, start, hours, ratings, services, sessions, open_session):
    """Commits, as rating-ingest does (with the gateway cursor), `ratings`
    ratings, `services` device services and `sessions` closed staff
    sessions (plus one open one if asked) between start and start + hours."""
    span = int(hours * 3600 * 1000)

    def at():
        return start + datetime.timedelta(milliseconds=rng.randrange(span))

    def next_seq():
        branch.gw_seq += 1
        return branch.gw_seq
    with db.cursor() as cur:
        for _ in range(ratings):
            window, _no = rng.choice(branch.windows)
            _insert_rating(cur, branch, window, rng.choice(branch.staff),
                           rng.choice([1, 1, 2, 2, 3, 4]), at())
        for _ in range(services):
            window, _no = rng.choice(branch.windows)
            end = at()
            dur = rng.randrange(30000, 1800000)
            cur.execute("""INSERT INTO service_record (id, ended_at, started_at, duration_ms,
                               gateway, gateway_seq, window_id, staff_id, gateway_incarnation)
                           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                        (str(uuid.uuid4()), end, end - datetime.timedelta(milliseconds=dur),
                         dur, branch.gateway, next_seq(), window, rng.choice(branch.staff),
                         branch.incarnation))
        for k in range(sessions + (1 if open_session else 0)):
            window, _no = branch.windows[k % len(branch.windows)]
            login = at()
            logout = None if k == sessions else \
                login + datetime.timedelta(milliseconds=rng.randrange(60000, 4 * 3600000))
            cur.execute("""INSERT INTO staff_session (id, staff_id, window_id, login_at,
                               logout_at, closed_by, gateway, gateway_seq, gateway_incarnation)
                           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                        (str(uuid.uuid4()), branch.staff[k % len(branch.staff)], window, login,
                         logout, "logout" if logout else None, branch.gateway, next_seq(),
                         branch.incarnation))
        _advance_cursor(cur, branch)
    db.commit()


def caught_up(db):
    """True when stats-aggregator's cursors reached every stream's head."""
    with db.cursor() as cur:
        cur.execute("""SELECT (SELECT count(*) FROM ticket_branch_head h
                               LEFT JOIN stats_cursor c ON c.source = 'ticket_event'
                                 AND c.stream = h.branch_id::text
                               WHERE coalesce(c.position, 0) < h.seq)
                            + (SELECT count(*) FROM gateway_cursor g
                               LEFT JOIN stats_cursor c ON c.source = 'gateway'
                                 AND c.stream = g.gateway || '/' || g.incarnation
                               WHERE coalesce(c.position, 0) < g.upto)""")
        (behind,), = cur.fetchall()
    db.commit()
    return behind == 0
