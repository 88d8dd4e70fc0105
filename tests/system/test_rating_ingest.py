"""rating-ingest: gateway events in, facts in PostgreSQL exactly once, acks out.

The tests publish gateway-shaped events (docs/protocol.md, "Device gateway
messages") with a fixed gateway src and durable-looking seqs, and re-publish
the same envelope bytes the way a gateway replays its outbox.
"""
import datetime
import json
import subprocess
import time

from conftest import BusClient, make_envelope, wait_for
from servers import free_port, wait_port

BRANCH = "hq.r01.b0001"
GATEWAY = "device-gateway.b0001"


def start_ingest(start_bin, db, bus, **extra):
    port = free_port()
    env = {"EQMS_PG_CONNINFO": db.conninfo, "EQMS_BUS_PUB": bus.xsub,
           "EQMS_BUS_SUB": bus.xpub, "EQMS_HTTP_ADDRESS": "127.0.0.1",
           "EQMS_HTTP_PORT": str(port), "EQMS_REDIS_URL": ""}
    env.update(extra)
    proc = start_bin("rating-ingest", env)
    wait_port(port, proc=proc.proc)
    return proc


def q(db, sql, *args):
    with db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def rfc3339(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


class Window:
    def __init__(self, db, code, branch=BRANCH):
        (self.id, self.number), = q(db, """SELECT w.id, w.number FROM service_window w
                                           JOIN org_node n ON n.id = w.node_id
                                           WHERE n.path = %s::ltree AND w.code = %s""",
                                    branch, code)
        self.code = code
        self.path = f"{branch}.{code}"
        self.serial = f"EQ-{branch.split('.')[-1].upper()}-{code.upper()}"


def uuid7():
    """A new UUIDv7 in lowercase text form."""
    import secrets
    import uuid
    ms = int(time.time() * 1000)
    return str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (secrets.randbits(12) << 64)
                         | (0b10 << 62) | secrets.randbits(62)))


class Gateway:
    """Publishes events as device-gateway.b0001 would: one seq per event of
    its journal incarnation, and replays keep the envelope byte for byte."""

    def __init__(self, bus, src=GATEWAY, branch=BRANCH, incarnation=None):
        self.client = BusClient(bus, "ack.ingest.", "rating.stored.")
        self.src = src
        self.incarnation = incarnation or uuid7()
        self.branch = branch
        self.seq = 0
        self.sent = {}          # seq -> (topic, bytes)
        self.device_seq = 0

    def event(self, type_, window, employee_no=None, ms=None, serial=None, publish=True,
              **extra):
        self.seq += 1
        self.device_seq += 1
        ms = ms if ms is not None else int(time.time() * 1000)
        data = {"serial": serial or window.serial, "boot": 12345,
                "device_seq": self.device_seq, "uptime_ms": 1000 + self.device_seq,
                "received": rfc3339(ms), "event_time": rfc3339(ms),
                "window": {"id": window.id, "number": window.number, "code": window.code},
                "branch": self.branch, "employee_no": employee_no, "ticket": None,
                "incarnation": self.incarnation}
        data.update(extra)
        topic = f"{type_}.{window.path}"
        body = make_envelope(type_, data, src=self.src, seq=self.seq)
        self.sent[self.seq] = (topic, body)
        if publish:
            self.replay(self.seq)
        return json.loads(body)

    def replay(self, seq):
        topic, body = self.sent[seq]
        self.client.pub.send_multipart([topic.encode(), body])

    def wait_ack(self, upto, timeout=15.0, resend=None, on_ack=None):
        """Waits for ack.ingest.<branch> with upto >= `upto`, re-publishing the
        unacknowledged seqs now and then (as the gateway's outbox does)."""
        deadline = time.monotonic() + timeout
        last_resend = time.monotonic()
        while time.monotonic() < deadline:
            got = self.client.receive(0.2)
            if got and got[0] == f"ack.ingest.{self.branch}":
                data = got[1]["data"]
                assert set(data) == {"gateway", "incarnation", "upto"}
                if data["gateway"] == self.src and data["incarnation"] == self.incarnation:
                    if on_ack:
                        on_ack(data["upto"])
                    if data["upto"] >= upto:
                        return data["upto"]
            elif got and got[0].startswith("rating.stored.") and self.stored is not None:
                self.stored.append(got)
            if resend and time.monotonic() - last_resend > 1.0:
                last_resend = time.monotonic()
                for s in resend:
                    self.replay(s)
        raise AssertionError(f"no ack up to {upto} within {timeout}s")

    stored = None

    def start(self, window, employee_no):
        """A staff.login as the first event, re-sent until acknowledged (the
        ingest's subscriptions join asynchronously)."""
        self.stored = []
        self.event("staff.login", window, employee_no)
        self.wait_ack(self.seq, resend=[self.seq])


def employee(db, branch_no, n):
    return f"1{branch_no:03d}{n:02d}"


def test_rating_stored_once_and_acked_after_commit(demo_db, bus, start_bin):
    start_ingest(start_bin, demo_db, bus)
    w1 = Window(demo_db, "w01")
    gw = Gateway(bus)
    gw.start(w1, employee(demo_db, 1, 1))
    env = gw.event("rating.submitted", w1, employee(demo_db, 1, 1), option_code=4,
                   service_ms=500, label="不满意", score=1.0)
    seq = gw.seq
    gw.replay(seq)
    gw.replay(seq)

    rows_at_ack = []

    def at_ack(upto):
        if upto >= seq:
            rows_at_ack.append(q(demo_db, "SELECT count(*) FROM rating WHERE id = %s",
                                 env["id"])[0][0])

    gw.wait_ack(seq, on_ack=at_ack)
    assert rows_at_ack and rows_at_ack[0] == 1, "the ack came before the commit"
    time.sleep(0.5)
    (staff_id,), = q(demo_db, "SELECT id FROM staff WHERE employee_no = %s",
                     employee(demo_db, 1, 1))
    rows = q(demo_db, """SELECT gateway, gateway_seq, window_id, staff_id, option_code,
                                score::float, satisfied, unsatisfied, device_serial,
                                branch_path::text, service_ms, ticket
                         FROM rating""")
    assert rows == [(GATEWAY, seq, w1.id, staff_id, 4, 1.0, False, True, w1.serial,
                     BRANCH, 500, None)]
    assert q(demo_db, "SELECT upto FROM gateway_cursor WHERE gateway = %s", GATEWAY) \
        == [(seq,)]

    # rating.stored: published once, for the window, with the unsatisfied flag
    stored = list(gw.stored)
    while True:
        got = gw.client.receive(0.5)
        if got is None:
            break
        if got[0].startswith("rating.stored."):
            stored.append(got)
    ours = [(t, e) for t, e in stored if e["data"]["id"] == env["id"]]
    assert len(ours) == 1
    assert ours[0][0] == f"rating.stored.{w1.path}"
    ours = [e for t, e in ours]
    assert ours[0]["type"] == "rating.stored"
    d = ours[0]["data"]
    assert d["unsatisfied"] is True and d["satisfied"] is False
    assert d["staff_id"] == staff_id and d["employee_no"] == employee(demo_db, 1, 1)
    assert d["window_id"] == w1.id and d["option_code"] == 4


def test_teller_moving_keeps_ratings(demo_db, bus, start_bin):
    start_ingest(start_bin, demo_db, bus)
    w1, w2 = Window(demo_db, "w01"), Window(demo_db, "w02")
    teller = employee(demo_db, 1, 3)
    (staff_id,), = q(demo_db, "SELECT id FROM staff WHERE employee_no = %s", teller)
    gw = Gateway(bus)
    now = int(time.time() * 1000)
    gw.start(w1, teller)
    gw.event("rating.submitted", w1, teller, ms=now + 100, option_code=1)
    gw.event("staff.login", w2, teller, ms=now + 200)      # moves without logout
    gw.event("rating.submitted", w2, teller, ms=now + 300, option_code=2)
    gw.event("rating.submitted", w1, teller, ms=now + 20000, option_code=1)
    gw.event("staff.logout", w2, teller, ms=now + 21000)
    gw.wait_ack(gw.seq, resend=list(range(2, gw.seq + 1)))

    rows = q(demo_db, "SELECT window_id, staff_id, option_code FROM rating "
                      "ORDER BY event_time")
    assert rows == [(w1.id, staff_id, 1), (w2.id, staff_id, 2)]
    reasons = q(demo_db, "SELECT gateway_seq, reason FROM rejected_event")
    assert len(reasons) == 1 and reasons[0][0] == 5 and "nobody logged in" in reasons[0][1]
    sessions = q(demo_db, "SELECT window_id, staff_id, logout_at IS NOT NULL, closed_by "
                          "FROM staff_session ORDER BY login_at")
    assert sessions == [(w1.id, staff_id, True, "login_elsewhere"),
                        (w2.id, staff_id, True, "logout")]


def test_rejected_event_reasons(demo_db, bus, start_bin):
    start_ingest(start_bin, demo_db, bus)
    w1, w3 = Window(demo_db, "w01"), Window(demo_db, "w03")
    teller = employee(demo_db, 1, 2)
    gw = Gateway(bus)
    gw.start(w1, teller)
    now = int(time.time() * 1000)
    expect = {}
    gw.event("rating.submitted", w1, teller, serial="EQ-NOPE-0001", option_code=1)
    expect[gw.seq] = "unknown device"
    gw.event("rating.submitted", w1, teller, option_code=6)
    expect[gw.seq] = "option 6 not in the window's scale"
    gw.event("rating.submitted", w3, None, option_code=1)
    expect[gw.seq] = "nobody logged in"
    gw.event("rating.submitted", w1, teller, option_code="five")
    expect[gw.seq] = "malformed"
    gw.event("staff.login", w3, "999999")
    expect[gw.seq] = "unknown or inactive staff"
    gw.event("rating.submitted", w1, teller, ms=now + 3600 * 1000, option_code=1,
             received=rfc3339(now))
    expect[gw.seq] = "clock skew"                          # an hour in the future
    gw.event("rating.submitted", w1, teller, ms=now - 31 * 86400 * 1000, option_code=1,
             received=rfc3339(now))
    expect[gw.seq] = "clock skew"                          # older than 30 days
    gw.event("rating.submitted", w1, teller, option_code=2)   # still stored
    gw.wait_ack(gw.seq, resend=list(range(2, gw.seq + 1)))

    rows = dict(q(demo_db, "SELECT gateway_seq, reason FROM rejected_event"))
    assert set(rows) == set(expect)
    for seq, part in expect.items():
        assert part in rows[seq], (seq, rows[seq])
    (data,), = q(demo_db, "SELECT data FROM rejected_event WHERE gateway_seq = %s",
                 min(expect))
    assert data["serial"] == "EQ-NOPE-0001"
    assert q(demo_db, "SELECT gateway_seq FROM rating") == [(gw.seq,)]


def test_restart_and_replay_no_doubles(demo_db, bus, start_bin):
    proc = start_ingest(start_bin, demo_db, bus)
    w1 = Window(demo_db, "w01")
    teller = employee(demo_db, 1, 4)
    gw = Gateway(bus)
    gw.start(w1, teller)
    now = int(time.time() * 1000)
    for i in range(3):
        gw.event("rating.submitted", w1, teller, ms=now + i * 15000, option_code=1 + i)
    gw.wait_ack(gw.seq, resend=list(range(2, gw.seq + 1)))
    assert q(demo_db, "SELECT count(*) FROM rating")[0][0] == 3
    assert proc.stop() == 0

    start_ingest(start_bin, demo_db, bus)
    # The gateway did not see the last ack: it replays everything, then goes on.
    gw.event("rating.submitted", w1, teller, ms=now + 60000, option_code=2)
    upto = gw.wait_ack(gw.seq, resend=list(range(1, gw.seq + 1)))
    assert upto == gw.seq
    time.sleep(0.5)
    assert q(demo_db, "SELECT count(*), count(DISTINCT id) FROM rating") == [(4, 4)]
    assert q(demo_db, "SELECT count(*) FROM staff_session") == [(1,)]
    assert q(demo_db, "SELECT count(*) FROM rejected_event") == [(0,)]
    wait_for(lambda: q(demo_db, "SELECT upto FROM gateway_cursor") == [(gw.seq,)])


def test_two_workers_on_a_split_tree(demo_db, bus, start_bin):
    """b0001 and b0002 taken by different workers: the same facts as one worker,
    each gateway acked by its worker, nothing stored twice."""
    start_ingest(start_bin, demo_db, bus, EQMS_INGEST_PREFIXES="hq.r01.b0001",
                 EQMS_INGEST_ID="rating-ingest.a")
    start_ingest(start_bin, demo_db, bus, EQMS_INGEST_PREFIXES="hq.r01.b0002, hq.r02",
                 EQMS_INGEST_ID="rating-ingest.b")
    gateways = []
    for branch_no, branch in ((1, "hq.r01.b0001"), (2, "hq.r01.b0002")):
        w = Window(demo_db, "w01", branch)
        gw = Gateway(bus, src=f"device-gateway.b000{branch_no}", branch=branch)
        teller = employee(demo_db, branch_no, 1)
        gw.start(w, teller)
        now = int(time.time() * 1000)
        for i in range(5):
            gw.event("rating.submitted", w, teller, ms=now + i * 11000, option_code=1 + i % 4)
        gateways.append(gw)
    for gw in gateways:
        gw.wait_ack(gw.seq, resend=list(range(2, gw.seq + 1)))
    rows = q(demo_db, "SELECT branch_path::text, count(*) FROM rating GROUP BY 1 ORDER BY 1")
    assert rows == [("hq.r01.b0001", 5), ("hq.r01.b0002", 5)]
    assert q(demo_db, "SELECT gateway, upto FROM gateway_cursor ORDER BY 1") == \
        [("device-gateway.b0001", 6), ("device-gateway.b0002", 6)]


def test_gap_then_restart_and_replay(demo_db, bus, start_bin):
    """An event above a gap waits for the replay, neither committed nor
    acknowledged; a restart meanwhile loses nothing: the gateway replays from
    the gap and both are stored once, in order."""
    proc = start_ingest(start_bin, demo_db, bus, EQMS_INGEST_HOLD_MS="600000")
    w1 = Window(demo_db, "w01")
    teller = employee(demo_db, 1, 5)
    gw = Gateway(bus)
    gw.start(w1, teller)                                   # seq 1
    now = int(time.time() * 1000)
    # seq 2 is lost on the bus (the gateway keeps it in its outbox)
    lost = gw.event("rating.submitted", w1, teller, ms=now, option_code=1, publish=False)
    third = gw.event("rating.submitted", w1, teller, ms=now + 20000, option_code=2)
    # seq 3 waits for seq 2: a repeat of seq 1 is re-acked with upto 1
    seen = []
    time.sleep(0.3)
    gw.replay(1)
    gw.wait_ack(1, on_ack=seen.append)
    assert max(seen) == 1
    assert q(demo_db, "SELECT count(*) FROM rating") == [(0,)]
    assert q(demo_db, "SELECT upto FROM gateway_cursor") == [(1,)]
    assert proc.stop() == 0

    start_ingest(start_bin, demo_db, bus)
    gw.wait_ack(3, resend=[2, 3])
    rows = q(demo_db, "SELECT id::text FROM rating ORDER BY event_time")
    assert rows == [(lost["id"],), (third["id"],)]
    assert q(demo_db, "SELECT upto FROM gateway_cursor") == [(3,)]


def test_gap_asks_the_gateway_for_a_replay(demo_db, bus, start_bin):
    """seqs 2-3 lost on the bus, 4 arrives: within a second rating-ingest asks
    for exactly 2..3 (replay.request); once they come, the cursor and the ack
    reach 4. No gap, no request."""
    start_ingest(start_bin, demo_db, bus)
    w1 = Window(demo_db, "w01")
    teller = employee(demo_db, 1, 5)
    gw = Gateway(bus)
    requests = BusClient(bus, f"replay.request.{BRANCH}")
    gw.start(w1, teller)                                   # seq 1
    now = int(time.time() * 1000)
    for n in range(3):                                     # seqs 2, 3 lost; 4 sent
        gw.event("rating.submitted", w1, teller, ms=now + 20000 * n, option_code=1 + n,
                 publish=n == 2)
    got = requests.receive(2.0)
    assert got is not None, "no replay.request within 2 s"
    topic, envelope = got
    assert topic == f"replay.request.{BRANCH}"
    assert envelope["type"] == "replay.request"
    assert envelope["data"] == {"gateway": GATEWAY, "incarnation": gw.incarnation,
                                "from": 2, "to": 3}
    gw.replay(2)
    gw.replay(3)
    assert gw.wait_ack(4) == 4
    assert q(demo_db, "SELECT count(*) FROM rating")[0][0] == 3
    # the stream is whole again: no further request
    assert requests.receive(1.5) is None


def test_rating_bound_to_the_ticket_finished_at_its_window(demo_db, bus, start_bin):
    """ticket.finished (queue-manager) at a window, then a rating there with
    that number: the rating row carries the ticket id; a rating showing
    another number is stored without one."""
    import uuid
    start_ingest(start_bin, demo_db, bus)
    w1 = Window(demo_db, "w01")
    teller = employee(demo_db, 1, 5)
    gw = Gateway(bus)
    gw.start(w1, teller)
    now = int(time.time() * 1000)
    ticket_id = str(uuid.uuid4())
    qm = BusClient(bus)
    finished = {"branch": BRANCH, "seq": 7, "at": rfc3339(now), "day": 20261122,
                "actor": "device:x", "ticket_id": ticket_id, "number": "A012", "service": 1,
                "class": "ordinary", "window": w1.id, "window_no": w1.number, "staff": None}
    def rated(rating_id):
        return q(demo_db, "SELECT ticket, ticket_id::text FROM rating WHERE id = %s",
                 rating_id)
    # the ticket.finished subscription joins asynchronously: repeat until bound
    deadline = time.monotonic() + 10
    bound = None
    n = 0
    while time.monotonic() < deadline and not bound:
        at = now + 20000 * n
        finished["at"] = rfc3339(at)
        qm.pub.send_multipart([f"ticket.finished.{BRANCH}".encode(),
                               make_envelope("ticket.finished", finished, src="queue-manager.1",
                                             seq=n + 1)])
        time.sleep(0.2)
        r = gw.event("rating.submitted", w1, teller, ms=at + 1000, option_code=1,
                     ticket="A012")
        gw.wait_ack(gw.seq)
        n += 1
        row = rated(r["id"])
        bound = row and row[0][1]
    assert row == [("A012", ticket_id)]
    other = gw.event("rating.submitted", w1, teller, ms=at + 20000, option_code=2,
                     ticket="A013")
    gw.wait_ack(gw.seq)
    assert rated(other["id"]) == [("A013", None)]


def finish_ticket(db, window, seq, ms, number, branch=BRANCH):
    """Commits a FINISHED ticket event at `window` as queue-manager does (the
    event and the branch head in one transaction) and publishes nothing.
    Returns the ticket id."""
    import uuid
    ticket_id = str(uuid.uuid4())
    with db.cursor() as cur:
        cur.execute("SELECT id FROM org_node WHERE path = %s::ltree", (branch,))
        (branch_id,), = cur.fetchall()
        cur.execute("SELECT eqms_ensure_partitions(1)")
        cur.execute("""INSERT INTO ticket_event (branch_id, seq, at, day, kind, actor,
                                                 ticket_id, number, window_id, window_no)
                       VALUES (%s, %s, to_timestamp(%s / 1000.0), 20261122, 'finished',
                               'test', %s, %s, %s, %s)""",
                    (branch_id, seq, ms, ticket_id, number, window.id, window.number))
        cur.execute("""INSERT INTO ticket_branch_head (branch_id, seq) VALUES (%s, %s)
                       ON CONFLICT (branch_id) DO UPDATE SET seq = EXCLUDED.seq""",
                    (branch_id, seq))
    db.commit()
    return ticket_id


def test_rating_bound_to_a_ticket_whose_message_was_missed(demo_db, bus, start_bin):
    """Item 9 of issue 11: queue-manager committed a finish at w01 but its
    ticket.finished never reached rating-ingest. The binding catches up from
    ticket_event, so the rating that follows still carries the ticket; a
    ticket finished before the start (at w02) is known from the tables too.
    The periodic catch-up is slowed to a minute, so the rating itself must
    make rating-ingest look."""
    w1, w2 = Window(demo_db, "w01"), Window(demo_db, "w02")
    now = int(time.time() * 1000)
    earlier = finish_ticket(demo_db, w2, 1, now - 30000, "B007")
    start_ingest(start_bin, demo_db, bus, EQMS_INGEST_TICKET_POLL_MS="60000")
    teller = employee(demo_db, 1, 5)
    gw = Gateway(bus)
    gw.start(w1, teller)
    missed = finish_ticket(demo_db, w1, 2, now + 1000, "A012")
    r1 = gw.event("rating.submitted", w1, teller, ms=now + 3000, option_code=1,
                  ticket="A012")
    gw.wait_ack(gw.seq)
    assert q(demo_db, "SELECT ticket, ticket_id::text FROM rating WHERE id = %s",
             r1["id"]) == [("A012", missed)]
    teller2 = employee(demo_db, 2, 5)
    gw.event("staff.login", w2, teller2, ms=now - 40000)
    r2 = gw.event("rating.submitted", w2, teller2, ms=now - 25000, option_code=2,
                  ticket="B007")
    gw.wait_ack(gw.seq)
    assert q(demo_db, "SELECT ticket_id::text FROM rating WHERE id = %s",
             r2["id"]) == [(earlier,)]


def test_database_down_stops_acks_and_loses_nothing(demo_db, pg_proxy, bus, start_bin):
    import urllib.error
    import urllib.request
    port = free_port()
    proc = start_bin("rating-ingest", {
        "EQMS_PG_CONNINFO": pg_proxy.conninfo,
        "EQMS_BUS_PUB": bus.xsub, "EQMS_BUS_SUB": bus.xpub,
        "EQMS_HTTP_ADDRESS": "127.0.0.1", "EQMS_HTTP_PORT": str(port),
        "EQMS_REDIS_URL": ""})
    wait_port(port, proc=proc.proc)
    w1 = Window(demo_db, "w01")
    teller = employee(demo_db, 1, 6)
    gw = Gateway(bus)
    gw.start(w1, teller)
    pg_proxy.cut()
    now = int(time.time() * 1000)
    gw.event("rating.submitted", w1, teller, ms=now, option_code=1)
    gw.event("rating.submitted", w1, teller, ms=now + 15000, option_code=3)
    acks = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        got = gw.client.receive(0.2)
        if got and got[0].startswith("ack.ingest."):
            acks.append(got[1]["data"]["upto"])
        gw.replay(3)
    assert all(a <= 1 for a in acks), acks
    assert q(demo_db, "SELECT count(*) FROM rating") == [(0,)]

    def health():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/health").status
        except urllib.error.HTTPError as e:
            return e.code
    assert wait_for(lambda: health() == 503)

    pg_proxy.restore()
    gw.wait_ack(3, timeout=30, resend=[2, 3])
    assert q(demo_db, "SELECT option_code FROM rating ORDER BY event_time") == [(1,), (3,)]
    assert wait_for(lambda: health() == 200)
    assert "ingest_resumed" in proc.log()


def test_live_counters_in_redis_and_teller_figures(demo_db, bus, start_bin, servers):
    import redis
    r = redis.Redis.from_url(servers.redis.url(11))
    r.flushdb()
    start_ingest(start_bin, demo_db, bus, EQMS_REDIS_URL=servers.redis.url(11))
    w1, w2 = Window(demo_db, "w01"), Window(demo_db, "w02")
    teller = employee(demo_db, 1, 7)
    other = employee(demo_db, 1, 8)
    gw = Gateway(bus)
    gw.start(w1, teller)
    gw.event("staff.login", w2, other)
    now = int(time.time() * 1000)
    codes = [1, 4, 1, 2]
    for i, code in enumerate(codes):
        gw.event("rating.submitted", w1, teller, ms=now + i * 11000, option_code=code)
    gw.event("rating.submitted", w2, other, ms=now, option_code=4)
    gw.wait_ack(gw.seq, resend=list(range(2, gw.seq + 1)))
    (staff_id,), = q(demo_db, "SELECT id FROM staff WHERE employee_no = %s", teller)
    (zone,), = q(demo_db, "SELECT time_zone FROM org_node WHERE path = %s::ltree", BRANCH)
    day = q(demo_db, "SELECT to_char(to_timestamp(%s / 1000.0) AT TIME ZONE %s, 'YYYY-MM-DD')",
            now, zone)[0][0]
    expected = q(demo_db, """SELECT count(*), count(*) FILTER (WHERE satisfied),
                                    count(*) FILTER (WHERE unsatisfied)
                             FROM rating WHERE staff_id = %s""", staff_id)[0]
    assert expected[0] == len(codes)

    def counters(key):
        h = r.hgetall(key)
        return tuple(int(h.get(f, 0)) for f in (b"total", b"satisfied", b"unsatisfied"))
    assert counters(f"eqms:today:{day}:staff:{staff_id}") == expected
    assert counters(f"eqms:today:{day}:window:{w1.id}") == expected
    branch = counters(f"eqms:today:{day}:branch:{BRANCH}")
    assert branch[0] == len(codes) + 1
    assert int(r.hget(f"eqms:today:{day}:window:{w1.id}", "opt:1")) == codes.count(1)
    assert 0 < r.ttl(f"eqms:today:{day}:staff:{staff_id}") <= 172800

    # rating.stored carries the teller's running figures after each rating
    figures = [e["data"]["teller_today"] for t, e in gw.stored
               if e["data"]["staff_id"] == staff_id]
    assert [f["total"] for f in figures] == [1, 2, 3, 4]
    assert figures[-1] == dict(zip(("total", "satisfied", "unsatisfied"), expected))

    # live state: the teller at each window, the last rating, device status
    gw.event("device.online", w1, None)
    gw.wait_ack(gw.seq, resend=[gw.seq])
    live = r.hgetall(f"eqms:live:window:{w1.id}")
    last_id = q(demo_db, """SELECT id::text FROM rating WHERE window_id = %s
                            ORDER BY event_time DESC LIMIT 1""", w1.id)[0][0]
    assert live[b"staff_id"] == str(staff_id).encode()
    assert live[b"employee_no"] == teller.encode()
    assert live[b"last_rating_id"] == last_id.encode()
    assert live[b"last_rating_code"] == str(codes[-1]).encode()
    device = r.hgetall(f"eqms:live:device:{w1.serial}")
    assert device[b"status"] == b"online" and device[b"window_id"] == str(w1.id).encode()

    # Redis flushed (or restarted empty): the worker notices and rebuilds
    # today's counters and the live state from PostgreSQL
    before = {k: r.hgetall(k) for k in r.keys("eqms:today:*")}
    assert len(before) == 5      # 2 staff, 2 windows, 1 branch
    live_before = {k: r.hgetall(k) for k in r.keys("eqms:live:*")}
    r.flushdb()
    wait_for(lambda: r.exists("eqms:counters:ready:rating-ingest.1"), timeout=15)
    assert {k: r.hgetall(k) for k in r.keys("eqms:today:*")} == before
    assert {k: r.hgetall(k) for k in live_before} == live_before


def test_envelope_id_must_be_uuidv7(demo_db, bus, start_bin):
    """An event whose envelope id is a UUIDv4 breaks the protocol (ids are
    UUIDv7, ordered by time): it is refused at the envelope, never stored and
    never acknowledged, so the cursor stays below it and rating-ingest asks for
    the seq again."""
    import uuid
    proc = start_ingest(start_bin, demo_db, bus)
    w1 = Window(demo_db, "w01")
    teller = employee(demo_db, 1, 5)
    gw = Gateway(bus)
    requests = BusClient(bus, f"replay.request.{BRANCH}")
    gw.start(w1, teller)                                   # seq 1
    now = int(time.time() * 1000)
    v4 = gw.event("rating.submitted", w1, teller, ms=now, option_code=1, publish=False)
    v4["id"] = str(uuid.uuid4())
    topic, _ = gw.sent[gw.seq]
    gw.sent[gw.seq] = (topic, json.dumps(v4, ensure_ascii=False).encode())
    gw.replay(gw.seq)                                      # seq 2, a v4 id
    gw.event("rating.submitted", w1, teller, ms=now + 20000, option_code=2)   # seq 3
    got = requests.receive(3.0)
    assert got is not None, "seq 2 was taken: no replay.request for it"
    assert got[1]["data"]["from"] == 2 and got[1]["data"]["to"] == 2
    assert q(demo_db, "SELECT count(*) FROM rating WHERE id = %s", v4["id"]) == [(0,)]
    assert q(demo_db, "SELECT count(*) FROM rejected_event WHERE id = %s", v4["id"]) == [(0,)]
    assert q(demo_db, "SELECT upto FROM gateway_cursor") == [(1,)]
    assert wait_for(lambda: "not a UUIDv7" in proc.log())


def test_buffered_events_are_facts(demo_db, bus, start_bin):
    """A device kept its events while the gateway was down for two hours: they
    arrive with `received` now and their own event_time, and are stored with
    it (docs/protocol.md, "Event time"); only a time in the future beyond
    EQMS_INGEST_MAX_SKEW_S or older than EQMS_INGEST_MAX_AGE_S is clock skew."""
    start_ingest(start_bin, demo_db, bus, EQMS_INGEST_MAX_AGE_S="86400")
    w1, w2 = Window(demo_db, "w01"), Window(demo_db, "w02")
    gw = Gateway(bus)
    gw.start(w1, employee(demo_db, 1, 1))
    teller = employee(demo_db, 1, 2)
    now = int(time.time() * 1000)
    received = rfc3339(now)
    gw.event("staff.login", w2, teller, ms=now - 7200 * 1000, received=received)
    login = gw.seq
    rating = gw.event("rating.submitted", w2, teller, ms=now - 3600 * 1000, option_code=2,
                      received=received)
    gw.event("service.end", w2, teller, ms=now - 3500 * 1000, duration_ms=60000,
             received=received)
    gw.event("rating.submitted", w2, teller, ms=now - 86401 * 1000, option_code=1,
             received=received)
    too_old = gw.seq
    gw.wait_ack(gw.seq, resend=list(range(login, gw.seq + 1)))
    (staff_id,), = q(demo_db, "SELECT id FROM staff WHERE employee_no = %s", teller)
    assert q(demo_db, "SELECT id::text, staff_id, event_time = %s::timestamptz FROM rating",
             rfc3339(now - 3600 * 1000)) == [(rating["id"], staff_id, True)]
    assert q(demo_db, "SELECT staff_id, login_at = %s::timestamptz FROM staff_session "
                      "WHERE window_id = %s", rfc3339(now - 7200 * 1000), w2.id) \
        == [(staff_id, True)]
    assert q(demo_db, "SELECT count(*) FROM service_record") == [(1,)]
    rejected = q(demo_db, "SELECT gateway_seq, reason FROM rejected_event")
    assert len(rejected) == 1 and rejected[0][0] == too_old
    assert "clock skew" in rejected[0][1]


def test_prefix_finer_than_a_branch_is_refused(demo_db, bus, start_bin):
    """One gateway (one branch) must belong to one worker: a prefix below a
    branch (a window path) would split its sequence and stall its cursor, so
    the worker refuses to start (exit code 2) naming the variable and the
    branch; the branch depth comes from org_node, not from counting labels. A
    prefix naming no node is refused too. A branch or a node above branches
    starts."""
    env = {"EQMS_PG_CONNINFO": demo_db.conninfo, "EQMS_BUS_PUB": bus.xsub,
           "EQMS_BUS_SUB": bus.xpub, "EQMS_HTTP_ADDRESS": "127.0.0.1", "EQMS_HTTP_PORT": "0",
           "EQMS_REDIS_URL": ""}
    # a branch one level under the root, so that label counting cannot tell
    with demo_db.cursor() as cur:
        cur.execute("""INSERT INTO org_node (parent_id, code, name, kind)
                       SELECT id, 'b0099', 'flat branch', 'branch' FROM org_node
                       WHERE path = 'hq'""")
    for prefixes, part in (("hq.r01.b0001.w01", "below branch hq.r01.b0001"),
                           ("hq.r02, hq.b0099.w03", "below branch hq.b0099"),
                           ("hq.r01.b0009", "no org_node")):
        proc = start_bin("rating-ingest", dict(env, EQMS_INGEST_PREFIXES=prefixes))
        try:
            code = proc.proc.wait(20)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"started with EQMS_INGEST_PREFIXES={prefixes!r}")
        assert code == 2, (prefixes, code)
        log = proc.log()
        assert "EQMS_INGEST_PREFIXES" in log and part in log, log
    ok = start_ingest(start_bin, demo_db, bus, EQMS_INGEST_PREFIXES="hq.r01,hq.b0099")
    time.sleep(0.5)
    assert ok.proc.poll() is None


def test_one_envelope_id_is_one_fact_whatever_the_other_fields_say(demo_db, bus, start_bin):
    """The envelope id is the idempotency key of every table an event writes:
    a second envelope with an id already stored is a duplicate even when its
    seq, event_time (another partition key), type or content differ."""
    start_ingest(start_bin, demo_db, bus)
    w1, w3 = Window(demo_db, "w01"), Window(demo_db, "w03")
    teller = employee(demo_db, 1, 3)
    gw = Gateway(bus)
    gw.start(w1, teller)                                                  # seq 1
    now = int(time.time() * 1000)

    def again(first, type_, window, **fields):
        """A new seq carrying the envelope id of `first`."""
        body = gw.event(type_, window, teller, publish=False, **fields)
        body["id"] = first["id"]
        topic, _ = gw.sent[gw.seq]
        gw.sent[gw.seq] = (topic, json.dumps(body, ensure_ascii=False).encode())
        gw.replay(gw.seq)

    rating = gw.event("rating.submitted", w1, teller, ms=now, option_code=1)           # 2
    again(rating, "rating.submitted", w1, ms=now + 20000, option_code=3)               # 3
    end = gw.event("service.end", w1, teller, ms=now + 30000, duration_ms=5000)        # 4
    again(end, "service.end", w1, ms=now + 31000, duration_ms=6000)                    # 5
    again(rating, "staff.logout", w1, ms=now + 32000)                                  # 6
    bad = gw.event("rating.submitted", w1, teller, ms=now + 40000, option_code=1,
                   serial="EQ-NOPE-0002")                                              # 7
    again(bad, "rating.submitted", w1, ms=now + 60000, option_code=2)                  # 8
    gw.wait_ack(gw.seq, resend=list(range(2, gw.seq + 1)))
    while True:
        got = gw.client.receive(0.5)
        if got is None:
            break
        if got[0].startswith("rating.stored."):
            gw.stored.append(got)

    assert q(demo_db, "SELECT id::text, option_code FROM rating") == [(rating["id"], 1)]
    assert q(demo_db, "SELECT id::text, duration_ms FROM service_record") == [(end["id"], 5000)]
    assert q(demo_db, "SELECT logout_at FROM staff_session") == [(None,)]
    assert q(demo_db, "SELECT id::text FROM rejected_event") == [(bad["id"],)]
    stored = [e["data"]["id"] for t, e in gw.stored if t.startswith("rating.stored.")]
    assert stored == [rating["id"]]
    assert q(demo_db, "SELECT upto FROM gateway_cursor") == [(gw.seq,)]
    # every decided id is registered, in the partition of its UUIDv7 month
    month = datetime.datetime.fromtimestamp(int(rating["id"][:8] + rating["id"][9:13], 16)
                                            / 1000, datetime.timezone.utc)
    assert q(demo_db, "SELECT DISTINCT tableoid::regclass::text FROM ingest_event") \
        == [(month.strftime("ingest_event_%Ym%m"),)]
    assert q(demo_db, "SELECT count(*) FROM ingest_event") == [(4,)]   # 8 events, 4 ids


def test_commit_in_doubt_publishes_and_counts_once(demo_db, pg_proxy, bus, start_bin, servers):
    """The connection breaks after PostgreSQL committed a batch but before the
    answer came back: the retry finds the ratings' ids already stored, which
    means they are stored (by that very commit). rating.stored is published
    and the counters are updated exactly once."""
    import redis
    r = redis.Redis.from_url(servers.redis.url(12))
    r.flushdb()
    start_ingest(start_bin, pg_proxy, bus, EQMS_REDIS_URL=servers.redis.url(12))
    w1 = Window(demo_db, "w01")
    teller = employee(demo_db, 1, 9)
    (staff_id,), = q(demo_db, "SELECT id FROM staff WHERE employee_no = %s", teller)
    gw = Gateway(bus)
    gw.start(w1, teller)
    pg_proxy.mute_after(b"COMMIT\0")       # the next commit's answer never comes back
    now = int(time.time() * 1000)
    first = gw.event("rating.submitted", w1, teller, ms=now, option_code=1)
    second = gw.event("rating.submitted", w1, teller, ms=now + 15000, option_code=4)
    deadline = time.monotonic() + 10
    while q(demo_db, "SELECT count(*) FROM rating WHERE id = %s", first["id"]) != [(1,)]:
        assert time.monotonic() < deadline, "the batch never reached PostgreSQL"
        time.sleep(0.05)
    pg_proxy.cut()
    pg_proxy.restore()
    gw.wait_ack(gw.seq, timeout=30, resend=[gw.seq - 1, gw.seq])
    while True:
        got = gw.client.receive(0.5)
        if got is None:
            break
        if got[0].startswith("rating.stored."):
            gw.stored.append(got)
    stored = sorted(e["data"]["id"] for t, e in gw.stored)
    assert stored == sorted([first["id"], second["id"]]), stored
    (zone,), = q(demo_db, "SELECT time_zone FROM org_node WHERE path = %s::ltree", BRANCH)
    day = q(demo_db, "SELECT to_char(to_timestamp(%s / 1000.0) AT TIME ZONE %s, 'YYYY-MM-DD')",
            now, zone)[0][0]
    h = r.hgetall(f"eqms:today:{day}:staff:{staff_id}")
    assert (int(h.get(b"total", 0)), int(h.get(b"unsatisfied", 0))) == (2, 1), h
    assert q(demo_db, "SELECT count(*) FROM rating") == [(2,)]


def staff_of(db, employee_no):
    (staff_id,), = q(db, "SELECT id FROM staff WHERE employee_no = %s", employee_no)
    return staff_id


def test_events_after_a_gap_are_decided_in_sequence_order(demo_db, bus, start_bin):
    """Teller B logs out and A logs in at the window, but both events are lost
    on the bus; the rating that follows arrives first. It must wait for the
    replay and be bound to A, never to B."""
    start_ingest(start_bin, demo_db, bus)
    w1 = Window(demo_db, "w01")
    a, b = employee(demo_db, 1, 10), employee(demo_db, 1, 11)
    gw = Gateway(bus)
    now = int(time.time() * 1000)
    gw.start(w1, b)                                                           # seq 1
    gw.event("staff.logout", w1, b, ms=now + 1000, publish=False)             # seq 2, lost
    gw.event("staff.login", w1, a, ms=now + 2000, publish=False)              # seq 3, lost
    rating = gw.event("rating.submitted", w1, a, ms=now + 3000, option_code=1)  # seq 4
    gw.wait_ack(4, resend=[2, 3])
    assert q(demo_db, "SELECT staff_id FROM rating WHERE id = %s", rating["id"]) \
        == [(staff_of(demo_db, a),)]
    assert q(demo_db, """SELECT staff_id, closed_by FROM staff_session
                         ORDER BY login_at""") \
        == [(staff_of(demo_db, b), "logout"), (staff_of(demo_db, a), None)]


def test_a_logout_sent_again_never_closes_a_newer_session(demo_db, bus, start_bin):
    """The gateway lost its journal while the device still held its logout
    unacknowledged: the device sends it again and the new journal publishes
    it under a new envelope id. By then the teller has logged in again: that
    newer session stays open and the next rating is bound to it."""
    start_ingest(start_bin, demo_db, bus)
    w1 = Window(demo_db, "w01")
    a = employee(demo_db, 1, 10)
    gw = Gateway(bus)
    now = int(time.time() * 1000)
    gw.start(w1, a)                                                  # login at now
    gw.event("staff.logout", w1, a, ms=now + 10000)
    gw.event("staff.login", w1, a, ms=now + 20000)
    gw.wait_ack(gw.seq, resend=[2, 3])
    again = Gateway(bus)                                             # a new incarnation
    again.stored = []
    again.event("staff.logout", w1, a, ms=now + 10000)
    rating = again.event("rating.submitted", w1, a, ms=now + 30000, option_code=2)
    again.wait_ack(again.seq, resend=list(range(1, again.seq + 1)))
    sessions = q(demo_db, """SELECT login_at = to_timestamp(%s / 1000.0), logout_at IS NULL,
                                    closed_by
                             FROM staff_session ORDER BY login_at""", now + 20000)
    assert sessions == [(False, False, "logout"), (True, True, None)], sessions
    assert q(demo_db, "SELECT staff_id FROM rating WHERE id = %s", rating["id"]) \
        == [(staff_of(demo_db, a),)]


def test_a_gap_not_filled_in_time_is_decided_past(demo_db, bus, start_bin):
    """The gateway cannot replay seq 2 (for example its journal was damaged):
    after EQMS_INGEST_HOLD_MS the events that follow are decided without it,
    in their order, while the acknowledgement stays below the gap; if seq 2
    comes after all, it is decided then and the cursor moves past it."""
    proc = start_ingest(start_bin, demo_db, bus, EQMS_INGEST_HOLD_MS="1000")
    w1 = Window(demo_db, "w01")
    teller = employee(demo_db, 1, 6)
    gw = Gateway(bus)
    gw.start(w1, teller)                                                     # seq 1
    now = int(time.time() * 1000)
    gw.event("call.request", w1, teller, ms=now, publish=False)              # seq 2
    rating = gw.event("rating.submitted", w1, teller, ms=now + 1000, option_code=2)
    gw.event("staff.logout", w1, teller, ms=now + 2000)                      # seq 4
    wait_for(lambda: q(demo_db, "SELECT count(*) FROM staff_session "
                                "WHERE closed_by = 'logout'") == [(1,)])
    assert q(demo_db, "SELECT staff_id FROM rating WHERE id = %s", rating["id"]) \
        == [(staff_of(demo_db, teller),)]
    assert q(demo_db, "SELECT upto FROM gateway_cursor") == [(1,)]
    assert "event=events_decided_past_gap" in proc.log()
    gw.replay(2)                                                             # late
    assert gw.wait_ack(4) == 4
    assert "event=event_late" in proc.log()
