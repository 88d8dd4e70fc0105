"""queue-manager end to end: real PostgreSQL, Redis, forwarder and the
service, driven through its ROUTER like a kiosk or a teller's console."""
import datetime
import json
import threading
import time
from collections import Counter

import pytest

from conftest import BusClient, wait_for
from qm_client import BRANCH, Client, pipeline, start_qm


def q(db, sql, *args):
    with db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def windows(db, branch=BRANCH):
    return [r[0] for r in q(db, """SELECT w.id FROM service_window w JOIN org_node n
                                   ON n.id = w.node_id WHERE n.path = %s::ltree
                                   ORDER BY w.number""", branch)]


def staff(db, branch=BRANCH):
    return [r[0] for r in q(db, """SELECT s.id FROM staff s JOIN org_node n ON n.id = s.node_id
                                   WHERE n.path = %s::ltree AND s.active ORDER BY s.id""",
                            branch)]


def service(db, code="cash"):
    return q(db, "SELECT id FROM service WHERE code = %s", code)[0][0]


@pytest.fixture
def qm(demo_db, bus, start_bin):
    proc, endpoint, http = start_qm(start_bin, demo_db, bus)
    client = Client(endpoint)
    yield client
    client.close()


def open_window(c, window, staff_id):
    assert c.call("window.open", window=window)["ok"]
    assert c.call("window.login", window=window, staff=staff_id)["ok"]


def test_issue_call_finish_is_stored(qm, demo_db):
    w = windows(demo_db)[0]
    s = service(demo_db)
    r = qm.call("ticket.issue", service=s)
    assert r["ok"], r
    number = r["ticket"]["number"]
    assert r["position"] == 0          # nobody ahead
    open_window(qm, w, staff(demo_db)[0])
    r = qm.call("window.call_next", window=w)
    assert r["ok"] and r["ticket"]["number"] == number, r
    assert qm.call("window.finish", window=w)["ok"]
    kinds = [k for (k,) in q(demo_db, "SELECT kind FROM ticket_event ORDER BY seq")]
    assert kinds[:1] == ["issued"] and "called" in kinds and kinds[-1] == "finished"
    assert q(demo_db, "SELECT number FROM ticket") == [(number,)]


def test_reads_while_a_commit_is_on_its_way(qm, demo_db):
    """A read or a refusal decided while a batch commits has nothing to
    store: it is answered after that batch, never refused "unavailable"."""
    import time
    s = service(demo_db)
    first = qm.call("ticket.issue", service=s)["ticket"]
    for _ in range(200):
        issue = qm.send("ticket.issue", service=s)
        time.sleep(0.0005)         # the issue's batch is usually sent by now
        unknown = qm.send("ticket.get", ticket="Z999")
        known = qm.send("ticket.get", ticket=first["id"])
        replies = {r["id"]: r for r in (qm.recv(), qm.recv(), qm.recv())}
        assert replies[issue]["ok"], replies[issue]
        assert replies[unknown]["error"] == "unknown_ticket", replies[unknown]
        assert replies[known]["ok"] and replies[known]["ticket"]["number"] == first["number"]


def test_malformed_request_gets_a_reason(qm):
    r = qm.raw(b"{not json")
    assert r["ok"] is False and r["error"] == "malformed" and r["id"] is None
    r = qm.call("window.call_next", window=1, extra=1)
    assert r["ok"] is False and r["error"] == "malformed" and "extra" in r["reason"]
    r = qm.call("ticket.issue", service=1, branch="hq.nowhere")
    assert r["ok"] is False and r["error"] == "unknown_branch"


# --- helpers -------------------------------------------------------------------


def add_windows_and_tellers(db, count, branch=BRANCH):
    """The demo branch has 12 windows and 11 active tellers: adds windows
    13..count and tellers up to `count`, as an administrator would."""
    (node,), = q(db, "SELECT id FROM org_node WHERE path = %s::ltree", branch)
    with db.cursor() as cur:
        for n in range(13, count + 1):
            cur.execute("""INSERT INTO service_window (node_id, number, code, name, active)
                           VALUES (%s, %s, %s, %s, true)""", (node, n, f"w{n:02d}", f"{n}号窗口"))
        for n in range(len(staff(db, branch)), count):
            cur.execute("""INSERT INTO staff (employee_no, name, node_id, active)
                           VALUES (%s, %s, %s, true)""", (f"1001{n + 20:02d}", f"柜员{n}", node))


def state(c):
    r = c.call("branch.state")
    assert r["ok"], r
    return {k: v for k, v in r.items() if k not in ("v", "id")}


def ticket(c, ref):
    r = c.call("ticket.get", ticket=ref)
    assert r["ok"], r
    return {k: v for k, v in r.items() if k not in ("v", "id")}


def ok(reply):
    assert reply["ok"], reply
    return reply


def err(reply, code):
    assert reply["ok"] is False and reply["error"] == code, reply
    return reply


# --- 1. never twice --------------------------------------------------------------

WINDOWS = 16
TICKETS = 20000


def test_never_twice_16_windows_20000_tickets(demo_db, bus, start_bin):
    add_windows_and_tellers(demo_db, WINDOWS)
    # 20,000 live tickets need more than 999 numbers per queue
    q(demo_db, "UPDATE queue SET number_max = 9999 RETURNING id")
    services = [r[0] for r in q(demo_db, """SELECT id FROM service WHERE code IN
                                           ('cash', 'account', 'corp_account', 'vip_wealth',
                                            'fx_exchange') ORDER BY id""")]
    _, endpoint, _ = start_qm(start_bin, demo_db, bus)
    ws, tellers = windows(demo_db), staff(demo_db)
    assert len(ws) == WINDOWS and len(tellers) >= WINDOWS
    admin = Client(endpoint)
    for w, t in zip(ws, tellers):
        open_window(admin, w, t)

    t0 = time.monotonic()
    issuers = [Client(endpoint, actor=f"kiosk:{i}") for i in range(4)]
    issued = {}
    for start in range(0, TICKETS, 5000):
        reqs = [("ticket.issue", {"service": services[i % len(services)],
                                  "class": ("ordinary", "vip")[i % 7 == 0]})
                for i in range(start, min(TICKETS, start + 5000))]
        for r in pipeline(issuers, reqs):
            assert r["ok"], r
            issued[r["ticket"]["id"]] = r["ticket"]["number"]
    t_issue = time.monotonic() - t0
    assert len(issued) == TICKETS
    assert len(set(issued.values())) == TICKETS     # live numbers are distinct

    called = {w: [] for w in ws}
    errors = []
    barrier = threading.Barrier(WINDOWS)

    def teller(w):
        c = Client(endpoint, actor=f"staff:w{w}")
        try:
            barrier.wait()
            while True:
                r = c.call("window.call_next", window=w, timeout=30)
                if not r["ok"]:
                    if r["error"] != "no_ticket":
                        errors.append(r)
                    return
                called[w].append(r["ticket"]["id"])
                assert r["ticket"]["state"] == "called" and r["ticket"]["window"] == w
                r = c.call("window.finish", window=w, timeout=30)
                if not r["ok"]:
                    errors.append(r)
                    return
        except BaseException as e:       # noqa: BLE001 (reported below)
            errors.append(repr(e))
        finally:
            c.close()
    t1 = time.monotonic()
    threads = [threading.Thread(target=teller, args=(w,)) for w in ws]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    t_call = time.monotonic() - t1
    print(f"\nnever twice: issue {TICKETS} in {t_issue:.1f}s, "
          f"call+finish by {WINDOWS} windows in {t_call:.1f}s")
    assert not errors, errors[:5]
    all_called = [t for w in ws for t in called[w]]
    dup = [t for t, n in Counter(all_called).items() if n > 1]
    assert not dup, f"{len(dup)} tickets called twice, e.g. {dup[:3]}"
    assert set(all_called) == set(issued), \
        f"skipped: {len(set(issued) - set(all_called))}, unknown: {len(set(all_called) - set(issued))}"
    assert all(called[w] for w in ws), "a window never got a ticket"
    # the store says the same: one 'called' and one 'finished' event per ticket
    rows = q(demo_db, """SELECT ticket_id::text, count(*) FILTER (WHERE kind = 'called'),
                                count(*) FILTER (WHERE kind = 'finished'),
                                count(DISTINCT window_id) FILTER (WHERE kind = 'called')
                         FROM ticket_event WHERE ticket_id IS NOT NULL GROUP BY ticket_id""")
    assert {r[0] for r in rows} == set(issued)
    bad = [r for r in rows if r[1:] != (1, 1, 1)]
    assert not bad, bad[:5]
    by_window = dict(q(demo_db, """SELECT ticket_id::text, window_id FROM ticket_event
                                   WHERE kind = 'called'"""))
    assert all(by_window[t] == w for w in ws for t in called[w])
    s = state(admin)
    assert all(queue["waiting"] == 0 for queue in s["queues"])
    assert all(win["current"] is None for win in s["windows"])
    for c in issuers + [admin]:
        c.close()


# --- 2. calling rules through the endpoint ---------------------------------------


def test_calling_rules_through_the_endpoint(qm, demo_db):
    w1, w2, w3 = windows(demo_db)[:3]
    t1, t2, t3 = staff(demo_db)[:3]
    cash, account = service(demo_db, "cash"), service(demo_db, "account")
    for w, t in ((w1, t1), (w2, t2), (w3, t3)):
        open_window(qm, w, t)

    # green channel first, whatever the order of issue
    o1 = ok(qm.call("ticket.issue", service=cash))["ticket"]
    g1 = ok(qm.call("ticket.issue", service=cash, **{"class": "green"}))["ticket"]
    r = ok(qm.call("window.call_next", window=w1))
    assert r["ticket"]["id"] == g1["id"] and r["ticket"]["class"] == "green"
    ok(qm.call("window.finish", window=w1))

    # weighted 2 VIP : 1 ordinary; the ordinary tickets are older
    r = ok(qm.call("window.set_profile", window=w1,
                   profile=f"weighted;vip=2;ordinary=1;services={cash}"))
    assert r["window"]["profile"] == f"weighted;vip=2;ordinary=1;services={cash}"
    ordinary = [o1] + [ok(qm.call("ticket.issue", service=cash))["ticket"] for _ in range(2)]
    vip = [ok(qm.call("ticket.issue", service=cash, **{"class": "vip"}))["ticket"]
           for _ in range(4)]
    got = []
    for _ in range(6):
        got.append(ok(qm.call("window.call_next", window=w1))["ticket"])
    assert [t["class"] for t in got] == ["vip", "vip", "ordinary", "vip", "vip", "ordinary"]
    assert [t["id"] for t in got] == [vip[0]["id"], vip[1]["id"], ordinary[0]["id"],
                                      vip[2]["id"], vip[3]["id"], ordinary[1]["id"]]
    ok(qm.call("window.finish", window=w1))
    ok(qm.call("window.call_next", window=w1))       # the last ordinary one
    ok(qm.call("window.finish", window=w1))

    # transfer to another service keeps the customer's place: t_cash was issued
    # before t_acc, so it comes first at the account window
    ok(qm.call("window.set_profile", window=w1, profile=f"strict;vip=1;ordinary=1;services={cash}"))
    ok(qm.call("window.set_profile", window=w2,
               profile=f"strict;vip=1;ordinary=1;services={account}"))
    ok(qm.call("window.set_profile", window=w3,
               profile=f"strict;vip=1;ordinary=1;services={account}"))
    t_cash = ok(qm.call("ticket.issue", service=cash))["ticket"]
    t_acc = ok(qm.call("ticket.issue", service=account))["ticket"]
    assert ok(qm.call("window.call_next", window=w1))["ticket"]["id"] == t_cash["id"]
    time.sleep(0.01)
    r = ok(qm.call("window.transfer", window=w1, to="service", target=account))
    assert r["ticket"] is None and r["window"]["current"] is None
    got = ticket(qm, t_cash["id"])["ticket"]
    assert got["state"] == "waiting" and got["service"] == account
    assert got["issued"] == t_cash["issued"]
    assert ok(qm.call("window.call_next", window=w2))["ticket"]["id"] == t_cash["id"]
    assert ok(qm.call("window.call_next", window=w2))["ticket"]["id"] == t_acc["id"]
    ok(qm.call("window.finish", window=w2))

    # transfer to a window: the earlier-issued customer comes first there, even
    # though transferred second
    early = ok(qm.call("ticket.issue", service=cash))["ticket"]
    late = ok(qm.call("ticket.issue", service=cash))["ticket"]
    other = ok(qm.call("ticket.issue", service=account))["ticket"]   # w3's own work
    assert ok(qm.call("window.call_ticket", window=w1, ticket=late["number"]))["ticket"]["id"] \
        == late["id"]
    ok(qm.call("window.transfer", window=w1, to="window", target=w3))
    assert ok(qm.call("window.call_next", window=w1))["ticket"]["id"] == early["id"]
    ok(qm.call("window.transfer", window=w1, to="window", target=w3))
    got = ticket(qm, early["id"])["ticket"]
    assert got["transfer"] == {"to": "window", "target": w3} and got["issued"] == early["issued"]
    s = state(qm)
    assert [w["transferred"] for w in s["windows"] if w["id"] == w3] == [2]
    r3 = [ok(qm.call("window.call_next", window=w3))["ticket"]["id"] for _ in range(3)]
    assert r3 == [early["id"], late["id"], other["id"]]
    ok(qm.call("window.finish", window=w3))

    # park, then call back
    p = ok(qm.call("ticket.issue", service=cash))["ticket"]
    assert ok(qm.call("window.call_next", window=w1))["ticket"]["id"] == p["id"]
    r = ok(qm.call("window.park", window=w1))
    assert r["ticket"] is None and r["window"]["parked"] == 1
    assert ticket(qm, p["id"])["ticket"]["state"] == "parked"
    err(qm.call("window.call_next", window=w1), "no_ticket")
    r = ok(qm.call("window.call_back", window=w1))
    assert r["ticket"]["id"] == p["id"] and r["ticket"]["state"] == "called"
    assert r["window"]["parked"] == 0 and r["window"]["current"] == p["number"]

    # recall up to the limit (3 by default), then recall_limit
    for n in (1, 2, 3):
        r = ok(qm.call("window.recall", window=w1))
        assert r["ticket"]["id"] == p["id"] and r["ticket"]["recall"] == n
    err(qm.call("window.recall", window=w1), "recall_limit")
    assert ticket(qm, p["id"])["ticket"]["recall"] == 3
    r = ok(qm.call("window.no_show", window=w1))
    assert ticket(qm, p["id"])["ticket"]["state"] == "no_show"

    # a second login of the same teller elsewhere ends the first
    r = ok(qm.call("window.login", window=w2, staff=t1))
    s = {w["id"]: w for w in state(qm)["windows"]}
    assert s[w1]["staff"] is None and s[w2]["staff"] == t1
    err(qm.call("window.call_next", window=w1), "no_staff")
    kinds = q(demo_db, """SELECT kind, window_id, staff_id FROM ticket_event
                          WHERE kind IN ('staff_login', 'staff_logout') ORDER BY seq DESC LIMIT 3""")
    assert ("staff_login", w2, t1) in kinds and ("staff_logout", w1, t1) in kinds \
        and ("staff_logout", w2, t2) in kinds


# --- 3. restart --------------------------------------------------------------------


def mixed_session(c, db):
    """Issued, called, serving, parked, recalled, transferred tickets and a
    paused window; returns the ids of every ticket."""
    ws, ts = windows(db), staff(db)
    cash, account, vip = service(db, "cash"), service(db, "account"), service(db, "vip_wealth")
    for w, t in zip(ws[:5], ts[:5]):
        open_window(c, w, t)
    ids = []
    for i in range(12):
        svc = (cash, account, vip)[i % 3]
        klass = ("ordinary", "vip", "ordinary", "green")[i % 4]
        ids.append(ok(c.call("ticket.issue", service=svc, **{"class": klass}))["ticket"]["id"])
    ok(c.call("window.call_next", window=ws[0]))
    ok(c.call("window.call_next", window=ws[0]))       # finishes the first
    ok(c.call("window.recall", window=ws[0]))           # called, recalled once
    ok(c.call("window.call_next", window=ws[1]))
    ok(c.call("window.start", window=ws[1]))            # serving
    ok(c.call("window.call_next", window=ws[2]))
    ok(c.call("window.park", window=ws[2]))             # parked
    ok(c.call("window.call_next", window=ws[2]))
    ok(c.call("window.transfer", window=ws[2], to="window", target=ws[4]))
    ok(c.call("window.call_next", window=ws[3]))
    ok(c.call("window.transfer", window=ws[3], to="service", target=account))
    ok(c.call("window.set_profile", window=ws[3],
              profile=f"weighted;vip=3;ordinary=1;services={account},{cash}"))
    ok(c.call("window.call_next", window=ws[3]))        # one step into the rotation
    ok(c.call("window.pause", window=ws[4], reason="午休 lunch"))
    return ids


def snapshot_of(c, ids):
    """The branch's state and its tickets; est_wait_s is left out: it counts
    down as the customers being served are served (qm_estimate)."""
    def stable(reply):
        return {k: v for k, v in reply.items() if k != "est_wait_s"}
    return state(c), {t: stable(ticket(c, t)) for t in ids}


def test_restart_rebuilds_the_same_state(demo_db, bus, start_bin):
    proc, endpoint, _ = start_qm(start_bin, demo_db, bus)
    c = Client(endpoint)
    ids = mixed_session(c, demo_db)
    before = snapshot_of(c, ids)
    states = Counter(t["ticket"]["state"] for t in before[1].values())
    assert {"waiting", "called", "serving", "parked", "finished"} <= set(states), states
    assert any(w["state"] == "paused" for w in before[0]["windows"])
    # the live members come from the events too: the rebuild must give them back
    assert all(w["since"] for w in before[0]["windows"] if w["state"] != "closed")
    assert any(w["started"] for w in before[0]["windows"])
    assert any(x["oldest"] for x in before[0]["queues"])
    c.close()
    assert proc.stop() == 0
    listener = BusClient(bus, f"announce.{BRANCH}")
    time.sleep(0.3)
    _, endpoint, _ = start_qm(start_bin, demo_db, bus)
    c = Client(endpoint)
    after = snapshot_of(c, ids)
    assert after[0] == before[0]
    for t in ids:
        assert after[1][t] == before[1][t], t
    # calls already announced (or queued) before the restart are not announced again
    assert listener.receive(1.5) is None
    # and it goes on from there: the rotation and numbering continue
    r = ok(c.call("ticket.issue", service=service(demo_db, "cash")))
    assert r["ticket"]["number"] not in {t["ticket"]["number"] for t in before[1].values()}
    c.close()


# --- 4. Redis mirror ------------------------------------------------------------------


def mirror_matches(r, c, ids):
    s = state(c)
    key = f"eqms:qm:{BRANCH}"
    wins = {int(k): json.loads(v) for k, v in r.hgetall(f"{key}:windows").items()}
    want = {w["id"]: {"number": w["number"], "name": w["name"], "state": w["state"],
                      "pause_reason": w["pause_reason"] or "", "staff": w["staff"],
                      "current": w["current"]} for w in s["windows"]}
    if wins != want:
        return False
    queues = {int(k): json.loads(v) for k, v in r.hgetall(f"{key}:queues").items()}
    want = {x["id"]: {"prefix": x["prefix"], "waiting": x["waiting"],
                      "next": x["next_number"] if x["next_number"] is not None else -1}
            for x in s["queues"]}
    if queues != want:
        return False
    tickets = {k.decode(): json.loads(v) for k, v in r.hgetall(f"{key}:tickets").items()}
    want = {}
    for t in ids:
        g = ticket(c, t)["ticket"]
        want[t] = {f: g[f] for f in ("number", "state", "service", "class", "window", "staff",
                                     "recall")}
    return tickets == want


def test_redis_mirror_and_flush(demo_db, bus, start_bin, servers):
    import redis
    r = redis.Redis.from_url(servers.redis.url(12))
    r.flushdb()
    _, endpoint, _ = start_qm(start_bin, demo_db, bus, redis_url=servers.redis.url(12))
    c = Client(endpoint)
    ids = mixed_session(c, demo_db)
    try:
        wait_for(lambda: mirror_matches(r, c, ids), timeout=5)
    except AssertionError:
        raise AssertionError((r.hgetall(f"eqms:qm:{BRANCH}:windows"), state(c)))
    assert r.exists("eqms:qm:ready:queue-manager.1")
    shown = json.loads(r.get(f"eqms:qm:{BRANCH}:display"))
    assert [(d["number"], d["window_no"]) for d in shown["called"]] == \
        [(d["number"], d["window_no"]) for d in state(c)["display"]], shown
    r.flushdb()
    t0 = time.monotonic()
    wait_for(lambda: r.exists("eqms:qm:ready:queue-manager.1"), timeout=10)
    wait_for(lambda: mirror_matches(r, c, ids), timeout=10 - (time.monotonic() - t0))
    # and it keeps following the actions
    ids.append(ok(c.call("ticket.issue", service=service(demo_db, "card")))["ticket"]["id"])
    wait_for(lambda: mirror_matches(r, c, ids), timeout=5)
    c.close()


# --- 5. day end across midnight ------------------------------------------------------


class Collector:
    """Every bus message under the prefixes, with the time it arrived."""

    def __init__(self, bus, *prefixes):
        self.client = BusClient(bus, *prefixes)
        self.messages = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        time.sleep(0.3)

    def _run(self):
        while self.running:
            got = self.client.receive(0.05)
            if got:
                with self.lock:
                    self.messages.append((got[0], got[1], time.monotonic()))

    def of(self, topic_prefix):
        with self.lock:
            return [(t, e, at) for t, e, at in self.messages if t.startswith(topic_prefix)]

    def close(self):
        self.running = False
        self.thread.join()


def ms_of(rfc3339):
    return int(datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp() * 1000)


@pytest.mark.real_zones
def test_day_end_across_midnight_per_time_zone(demo_db, bus, start_bin):
    (zone,), = q(demo_db, "SELECT time_zone FROM org_node WHERE path = %s::ltree", BRANCH)
    assert zone == "Asia/Shanghai"
    other, = q(demo_db, """SELECT path::text, time_zone FROM org_node WHERE kind = 'branch'
                          AND time_zone <> %s""", zone)
    other_branch, other_zone = other
    assert other_zone == "Asia/Urumqi"
    from zoneinfo import ZoneInfo
    now = datetime.datetime.now(ZoneInfo(zone))
    midnight = (now + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                          microsecond=0)
    lead_s = 10
    offset_ms = int((midnight - now).total_seconds() * 1000) - lead_s * 1000
    started = time.monotonic()
    _, endpoint, _ = start_qm(start_bin, demo_db, bus, EQMS_CLOCK_OFFSET_MS=offset_ms)
    c = Client(endpoint)
    c_other = Client(endpoint, branch=other_branch)
    old_day = (midnight - datetime.timedelta(days=1)).strftime("%Y-%m-%d")
    new_day = midnight.strftime("%Y-%m-%d")
    assert state(c)["day"] == old_day
    other_day = state(c_other)["day"]
    cash = service(demo_db, "cash")
    w, t = windows(demo_db)[0], staff(demo_db)[0]
    open_window(c, w, t)
    tickets = [ok(c.call("ticket.issue", service=cash))["ticket"] for _ in range(3)]
    assert [x["number"] for x in tickets] == ["A001", "A002", "A003"]
    ok(c.call("window.call_next", window=w))
    other_ticket = ok(c_other.call("ticket.issue", service=cash))["ticket"]
    assert time.monotonic() - started < lead_s - 1, "too slow to act before midnight"
    wait_for(lambda: state(c)["day"] == new_day, timeout=lead_s + 5)

    # the live tickets of the old day were abandoned, with a reason, and the window closed
    rows = q(demo_db, """SELECT number, detail FROM ticket_event e JOIN org_node n
                         ON n.id = e.branch_id WHERE n.path = %s::ltree AND e.kind = 'abandoned'
                         ORDER BY number""", BRANCH)
    assert [r[0] for r in rows] == ["A001", "A002", "A003"]
    assert all(r[1] for r in rows), rows
    assert "called" in rows[0][1] and "waiting" in rows[1][1]
    s = state(c)
    assert all(win["state"] == "closed" and win["staff"] is None and win["current"] is None
               for win in s["windows"])
    assert all(queue["waiting"] == 0 for queue in s["queues"])
    assert s["display"] == []
    err(c.call("ticket.get", ticket=tickets[0]["id"]), "unknown_ticket")
    # numbering restarts on the new day
    fresh = ok(c.call("ticket.issue", service=cash))["ticket"]
    assert fresh["number"] == "A001" and fresh["id"] != tickets[0]["id"]
    (day,), = q(demo_db, "SELECT day FROM ticket WHERE id = %s", fresh["id"])
    assert day == int(new_day.replace("-", ""))

    # the branch two hours behind has not reached its midnight
    assert state(c_other)["day"] == other_day == old_day
    got = ticket(c_other, other_ticket["id"])["ticket"]
    assert got["state"] == "waiting"
    assert q(demo_db, """SELECT count(*) FROM ticket_event e JOIN org_node n ON n.id = e.branch_id
                         WHERE n.path = %s::ltree AND e.kind IN ('abandoned', 'day_start')
                         AND e.day > %s""", other_branch, int(old_day.replace("-", ""))) == [(0,)]
    c.close()
    c_other.close()


# --- 6. hall outputs ---------------------------------------------------------------------


def test_display_and_announcements(demo_db, bus, start_bin):
    (node,), = q(demo_db, "SELECT id FROM org_node WHERE path = %s::ltree", BRANCH)
    q(demo_db, "INSERT INTO hall_settings (node_id, announce_repeat) VALUES (%s, 1) RETURNING 1",
      node)
    hall = Collector(bus, f"display.{BRANCH}", f"announce.{BRANCH}")
    _, endpoint, _ = start_qm(start_bin, demo_db, bus)
    c = Client(endpoint)
    ws, ts = windows(demo_db)[:4], staff(demo_db)[:4]
    for w, t in zip(ws, ts):
        open_window(c, w, t)
    cash = service(demo_db, "cash")
    for _ in range(8):
        ok(c.call("ticket.issue", service=cash))
    calls = []      # (number, window number) in call order
    for i in range(8):
        w = ws[i % 4]
        r = ok(c.call("window.call_next", window=w))
        calls.append((r["ticket"]["number"], r["window"]["number"]))
    assert [n for n, _ in calls] == [f"A{i:03d}" for i in range(1, 9)]

    def last_display():
        got = hall.of("display.")
        return got and len(got[-1][1]["data"]["called"]) == 6 \
            and got[-1][1]["data"]["called"][0]["number"] == "A008" and got[-1][1]["data"]
    shown = wait_for(last_display, timeout=5)
    assert [(d["number"], d["window_no"]) for d in shown["called"]] == calls[::-1][:6]
    assert shown["windows"] == [{"window_no": n, "current": cur}
                                for cur, n in sorted(calls[4:], key=lambda x: x[1])]
    assert [(d["number"], d["window_no"]) for d in state(c)["display"]] == calls[::-1][:6]

    # announcements: one at a time, in call order, never overlapping; a call
    # whose ticket was finished (by the window's next call) before its turn
    # is no longer true and never said: A001 plays at once, A002..A004 are
    # finished while they wait, A005.. follow
    announced = wait_for(lambda: len(hall.of("announce.")) >= 3 and hall.of("announce."),
                         timeout=30)
    prev = None
    seqs = []
    for (topic, env, _), (number, window_no) in zip(announced, calls[:1] + calls[4:]):
        d = env["data"]
        assert topic == f"announce.{BRANCH}"
        assert d["text"] == f"请{number}号到{window_no}号窗口"
        assert d["repeat"] == 1 and d["duration_ms"] > 0
        seqs.append(d["seq"])
        at = ms_of(env["ts"])
        if prev is not None:
            assert at >= prev[0] + prev[1] - 50, (at, prev)
        prev = (at, d["duration_ms"])
    assert seqs[0] == 1 and seqs == sorted(seqs) and seqs[1] == 5   # 2..4 were dropped
    # a recall moves the ticket to the top of the display, listed once
    r = ok(c.call("window.recall", window=ws[0]))
    number = r["ticket"]["number"]
    shown = wait_for(lambda: hall.of("display.")[-1][1]["data"]["called"][0]["number"] == number
                     and hall.of("display.")[-1][1]["data"], timeout=5)
    assert [d["number"] for d in shown["called"]].count(number) == 1
    hall.close()
    c.close()


# --- 8. database down ------------------------------------------------------------------------


def test_database_down_answers_unavailable_and_recovers(demo_db, pg_proxy, bus, start_bin):
    proc, endpoint, _ = start_qm(start_bin, pg_proxy, bus)
    c = Client(endpoint)
    w, t = windows(demo_db)[0], staff(demo_db)[0]
    cash = service(demo_db, "cash")
    open_window(c, w, t)
    ids = [ok(c.call("ticket.issue", service=cash))["ticket"]["id"] for _ in range(3)]
    ok(c.call("window.call_next", window=w))
    before = snapshot_of(c, ids)
    stored = q(demo_db, "SELECT count(*), max(seq) FROM ticket_event")

    pg_proxy.cut()
    err(c.call("ticket.issue", service=cash, timeout=20), "unavailable")
    for op, members in (("window.call_next", {"window": w}), ("window.finish", {"window": w}),
                        ("ticket.issue", {"service": cash})):
        err(c.call(op, timeout=20, **members), "unavailable")
    assert q(demo_db, "SELECT count(*), max(seq) FROM ticket_event") == stored
    assert q(demo_db, "SELECT count(*) FROM ticket") == [(3,)]

    pg_proxy.restore()
    # a console retrying every 0.2 s, as consoles and kiosks do, gets served
    # again once PostgreSQL is back (the rebuild takes well under a second)
    restored = time.monotonic()
    while not c.call("branch.state", timeout=20)["ok"]:
        assert time.monotonic() - restored < 15, \
            "still 'unavailable' 15 s after PostgreSQL came back"
        time.sleep(0.2)
    assert snapshot_of(c, ids) == before
    ok(c.call("window.call_next", window=w))
    ids.append(ok(c.call("ticket.issue", service=cash))["ticket"]["id"])
    now = snapshot_of(c, ids)
    c.close()
    assert proc.stop() == 0
    # what it shows is what is stored
    _, endpoint, _ = start_qm(start_bin, demo_db, bus)
    c = Client(endpoint)
    assert snapshot_of(c, ids) == now
    c.close()


def test_commit_in_doubt_is_not_called_undone(demo_db, pg_proxy, bus, start_bin):
    """The connection breaks after PostgreSQL got a batch but before its
    result came back: the batch is stored, so the reply must not say that
    nothing was done; it says the outcome is unknown, and the state read back
    afterwards shows the ticket."""
    _, endpoint, _ = start_qm(start_bin, pg_proxy, bus)
    c = Client(endpoint)
    cash = service(demo_db, "cash")
    ok(c.call("ticket.issue", service=cash))
    assert q(demo_db, "SELECT count(*) FROM ticket") == [(1,)]

    pg_proxy.mute()                   # the commit's result never comes back
    rid = c.send("ticket.issue", service=cash)
    deadline = time.monotonic() + 10
    while q(demo_db, "SELECT count(*) FROM ticket") != [(2,)]:
        assert time.monotonic() < deadline, "the batch never reached PostgreSQL"
        time.sleep(0.05)
    pg_proxy.cut()
    r = c.recv(20)
    assert r["id"] == rid
    err(r, "unavailable")
    assert "may or may not" in r["reason"], r
    assert "nothing was done" not in r["reason"], r

    pg_proxy.restore()
    deadline = time.monotonic() + 15
    while not c.call("branch.state", timeout=20)["ok"]:
        assert time.monotonic() < deadline, "still unavailable after the database came back"
        time.sleep(0.2)
    number = q(demo_db, "SELECT number FROM ticket ORDER BY issued_at DESC LIMIT 1")[0][0]
    assert ok(c.call("ticket.get", ticket=number))["ticket"]["state"] == "waiting"
    c.close()


# --- 7. device integration (emulated devices, real gateway) ---------------------------


def test_device_keys_act_on_their_window(demo_db, bus, start_bin, tmp_path):
    from test_gateway import Devsim, Listener, now_rfc3339, scale, start_gateway
    (w1, number, code), = q(demo_db, """SELECT w.id, w.number, w.code FROM service_window w
                                        JOIN org_node n ON n.id = w.node_id
                                        WHERE n.path = %s::ltree AND w.number = 1""", BRANCH)
    (staff_id, employee_no), = q(demo_db, """SELECT s.id, s.employee_no FROM staff s
                                             JOIN org_node n ON n.id = s.node_id
                                             WHERE n.path = %s::ltree AND s.active
                                             ORDER BY s.employee_no LIMIT 1""", BRANCH)
    serial = f"EQ-B0001-{code.upper()}"
    _, endpoint, _ = start_qm(start_bin, demo_db, bus)
    c = Client(endpoint)
    listener = Listener(bus)
    try:
        sim = Devsim(start_bin, tmp_path, 1, [serial])
        state_dir = tmp_path / "gw-state"
        state_dir.mkdir()
        start_gateway(start_bin, bus, sim, state_dir)
        listener.wait("registry.request")
        listener.publish("registry.snapshot", BRANCH, {
            "branch": BRANCH, "generated": now_rfc3339(),
            "devices": [{"serial": serial, "window": {"id": w1, "number": number, "code": code,
                                                      "path": f"{BRANCH}.{code}"},
                         "scale": scale(), "rating_timeout_s": 30, "repeat_press_s": 0,
                         "idle_text": ["欢迎光临", f"{number}号窗口"]}],
            "staff": [{"employee_no": employee_no, "name": "张伟", "active": True}]})
        wait_for(lambda: (state_dir / "registry.json").exists())
        listener.wait("device.online", serial=serial)

        # the teller logs in at the device: the window opens with them
        sim(op="login", device=0, employee=employee_no)
        listener.wait("staff.login", serial=serial)

        def window():
            return next(w for w in state(c)["windows"] if w["id"] == w1)
        wait_for(lambda: window()["state"] == "open" and window()["staff"] == staff_id)

        t = ok(c.call("ticket.issue", service=service(demo_db, "cash")))["ticket"]
        sim(op="press", device=0, key="call")
        listener.wait("call.request", serial=serial)
        got = wait_for(lambda: ticket(c, t["id"])["ticket"]["state"] == "called"
                       and ticket(c, t["id"])["ticket"], timeout=10)
        assert got["window"] == w1 and got["staff"] == staff_id
        topic, env = listener.wait("cmd.device", serial=serial, command="ticket",
                                   ticket=t["number"])[0]
        assert topic == f"cmd.device.{BRANCH}.{code}"
        assert env["data"]["window_number"] == number
        (actor,), = q(demo_db, """SELECT actor FROM ticket_event WHERE ticket_id = %s
                                  AND kind = 'called'""", t["id"])
        assert actor == f"device:{serial}"

        sim(op="press", device=0, key="start")
        wait_for(lambda: ticket(c, t["id"])["ticket"]["state"] == "serving", timeout=10)
        sim(op="press", device=0, key="end")
        wait_for(lambda: ticket(c, t["id"])["ticket"]["state"] == "finished", timeout=10)
        assert window()["current"] is None
        assert q(demo_db, """SELECT actor FROM ticket_event WHERE ticket_id = %s
                             AND kind = 'finished'""", t["id"]) == [(f"device:{serial}",)]
    finally:
        listener.close()
        c.close()


def test_window_added_at_run_time_joins(demo_db, bus, start_bin):
    """A window an administrator adds while queue-manager runs becomes usable
    without a restart (a window_set event), serving every service."""
    proc, endpoint, _ = start_qm(start_bin, demo_db, bus, EQMS_QM_REFRESH_S=1)
    c = Client(endpoint)
    try:
        add_windows_and_tellers(demo_db, 13)
        new = windows(demo_db)[-1]
        err(c.call("window.open", window=new), "unknown_window")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = c.call("window.open", window=new)
            if r["ok"]:
                break
            time.sleep(0.2)
        ok(r)
        ok(c.call("window.login", window=new, staff=staff(demo_db)[-1]))
        number = ok(c.call("ticket.issue", service=service(demo_db)))["ticket"]["number"]
        assert ok(c.call("window.call_next", window=new))["ticket"]["number"] == number
        assert q(demo_db, "SELECT count(*) FROM ticket_event WHERE kind = 'window_set' "
                 "AND window_id = %s", new)[0][0] == 1
    finally:
        c.close()


# --- issue 11, items 12, 13, 18: the hall follows the commits ---------------------------


def staffed_windows(c, db, n):
    """The branch's first n windows, each opened with its own teller."""
    ws, ts = windows(db)[:n], staff(db)[:n]
    for w, t in zip(ws, ts):
        open_window(c, w, t)
    return ws


def issue_cash(c, db, n):
    """n tickets of the cash service; their ticket objects."""
    cash = service(db, "cash")
    return [ok(c.call("ticket.issue", service=cash))["ticket"] for _ in range(n)]


def test_every_change_reaches_the_display_in_order(demo_db, bus, start_bin):
    """Item 12: calls decided together (sent without waiting, so they share
    batches) each reach the display, in call order; a call_next at a window
    serving a ticket finishes it and calls the next: two changes, two
    display messages (the window empty, then the new call)."""
    hall = Collector(bus, f"display.{BRANCH}")
    _, endpoint, _ = start_qm(start_bin, demo_db, bus)
    c = Client(endpoint)
    ws = staffed_windows(c, demo_db, 6)
    issue_cash(c, demo_db, 7)
    mark = len(hall.of("display."))
    rids = [c.send("window.call_next", window=w) for w in ws]
    replies = {r["id"]: r for r in (c.recv() for _ in rids)}
    numbers = [ok(replies[rid])["ticket"]["number"] for rid in rids]
    shown = wait_for(lambda: len(hall.of("display.")) >= mark + 6 and hall.of("display."), 10)
    tops = [env["data"]["called"][0]["number"] for _, env, _ in shown[mark:]]
    assert tops == numbers, (tops, numbers)
    # finish + call in one request: the finish is shown, then the call
    mark = len(hall.of("display."))
    r = ok(c.call("window.call_next", window=ws[0]))
    shown = wait_for(lambda: len(hall.of("display.")) >= mark + 2 and hall.of("display."), 10)
    first, second = (env["data"] for _, env, _ in shown[mark:mark + 2])
    window_no = r["window"]["number"]
    assert {"window_no": window_no, "current": None} in first["windows"]
    assert second["called"][0]["number"] == r["ticket"]["number"]
    assert {"window_no": window_no, "current": r["ticket"]["number"]} in second["windows"]
    hall.close()
    c.close()


def test_nothing_is_shown_or_said_before_its_commit(demo_db, pg_proxy, bus, start_bin):
    """Item 13: while the commit of calls has not come back, nothing of them
    reaches the hall (display, announcement, device screen, ticket.called);
    when the commit never comes back (the connection breaks: in doubt),
    nothing of them is ever said."""
    hall = Collector(bus, f"display.{BRANCH}", f"announce.{BRANCH}",
                     f"cmd.device.{BRANCH}", f"ticket.called.{BRANCH}")
    _, endpoint, _ = start_qm(start_bin, pg_proxy, bus)
    c = Client(endpoint)
    ws = staffed_windows(c, demo_db, 3)
    issue_cash(c, demo_db, 3)
    time.sleep(0.5)
    mark = len(hall.messages)
    pg_proxy.mute()
    rids = [c.send("window.call_next", window=w) for w in ws]
    time.sleep(2.0)          # announcements are released every 250 ms
    assert hall.messages[mark:] == [], [m[0] for m in hall.messages[mark:]]
    pg_proxy.cut()
    replies = [c.recv(timeout=40) for _ in rids]
    assert all(r["ok"] is False and r["error"] == "unavailable" for r in replies), replies
    pg_proxy.restore()
    time.sleep(2.0)
    said = [m for m in hall.messages[mark:] if m[0].startswith("announce.")]
    assert said == [], said
    hall.close()
    c.close()


def test_a_restart_announces_nothing_twice(demo_db, bus, start_bin):
    """Item 18: calls announced (or dropped) before a restart are not
    announced again after it; a new call after the restart is."""
    q(demo_db, "INSERT INTO hall_settings (node_id, announce_repeat) SELECT id, 1 FROM org_node "
               "WHERE path = %s::ltree RETURNING 1", BRANCH)
    demo_db.commit()
    hall = Collector(bus, f"announce.{BRANCH}")
    proc, endpoint, _ = start_qm(start_bin, demo_db, bus)
    c = Client(endpoint)
    ws = staffed_windows(c, demo_db, 2)
    issue_cash(c, demo_db, 3)
    ok(c.call("window.call_next", window=ws[0]))
    ok(c.call("window.call_next", window=ws[1]))
    wait_for(lambda: len(hall.of("announce.")) >= 1, 10)
    c.close()
    proc.stop()
    before = len(hall.of("announce."))
    _, endpoint, _ = start_qm(start_bin, demo_db, bus)
    c = Client(endpoint)
    time.sleep(3.0)
    assert len(hall.of("announce.")) == before
    r = ok(c.call("window.call_next", window=ws[0]))
    got = wait_for(lambda: len(hall.of("announce.")) > before and hall.of("announce."), 15)
    assert got[before][1]["data"]["number"] == r["ticket"]["number"]
    hall.close()
    c.close()


def test_a_key_press_is_acted_on_once_across_a_restart(demo_db, bus, start_bin):
    """Item 14: the gateway re-publishes a call.request (its replay, byte for
    byte) before and after a queue-manager restart: one call. The ids acted
    on are stored with the ticket events they caused (ticket_event_cause).
    A new journal incarnation numbers from 1 again: its key presses are new."""
    from test_rating_ingest import Gateway, Window
    proc, endpoint, _ = start_qm(start_bin, demo_db, bus)
    c = Client(endpoint)
    w1 = Window(demo_db, "w01")
    open_window(c, w1.id, staff(demo_db)[0])
    cash = service(demo_db, "cash")
    first, second, third = (ok(c.call("ticket.issue", service=cash))["ticket"]
                            for _ in range(3))

    def st(t):
        return ticket(c, t["id"])["ticket"]["state"]
    gw = Gateway(bus)
    press = gw.event("call.request", w1, publish=False)
    deadline = time.monotonic() + 10
    while st(first) != "called":            # the subscription joins asynchronously
        assert time.monotonic() < deadline, "the key press was never acted on"
        gw.replay(press["seq"])
        time.sleep(0.2)
    for _ in range(3):
        gw.replay(press["seq"])
    time.sleep(1.0)
    assert st(second) == "waiting"
    assert q(demo_db, "SELECT count(*) FROM ticket_event_cause WHERE id = %s",
             press["id"]) == [(1,)]
    c.close()
    proc.stop()
    _, endpoint, _ = start_qm(start_bin, demo_db, bus)
    c = Client(endpoint)
    for _ in range(10):
        gw.replay(press["seq"])
        time.sleep(0.2)
    assert st(second) == "waiting"
    assert q(demo_db, "SELECT count(*) FROM ticket_event WHERE kind = 'called'") == [(1,)]
    # a new journal of the same gateway: seq 1 again, a new press
    fresh = Gateway(bus)
    press = fresh.event("call.request", w1, publish=False)
    assert press["seq"] == 1
    deadline = time.monotonic() + 10
    while st(second) != "called":
        assert time.monotonic() < deadline, "the new journal's press was never acted on"
        fresh.replay(press["seq"])
        time.sleep(0.2)
    assert st(third) == "waiting"
    c.close()


def test_only_the_branch_active_tellers_log_in_and_nobody_is_finished_behind_their_back(
        qm, demo_db):
    """Item 15: a login (by staff id or employee number) and a transfer to a
    teller name an active teller of the branch (or of a node above it), else
    unknown_staff; a teller serving a customer cannot log in elsewhere, nor
    be replaced at their window (busy), as for a logout."""
    c = qm
    w1, w2 = windows(demo_db)[:2]
    here = staff(demo_db)
    other_branch = staff(demo_db, "hq.r01.b0002")[0]
    (other_no,), = q(demo_db, "SELECT employee_no FROM staff WHERE id = %s", other_branch)
    (missing,), = q(demo_db, "SELECT max(id) + 1000 FROM staff")
    q(demo_db, "UPDATE staff SET active = false WHERE id = %s RETURNING id", here[5])
    demo_db.commit()
    assert c.call("window.open", window=w1)["ok"]
    for staff_id in (missing, here[5], other_branch):
        err(c.call("window.login", window=w1, staff=staff_id), "unknown_staff")
    err(c.call("window.login", window=w1, employee_no=other_no), "unknown_staff")
    ok(c.call("window.login", window=w1, staff=here[0]))
    ok(c.call("window.open", window=w2))
    ok(c.call("window.login", window=w2, staff=here[1]))
    t = ok(c.call("ticket.issue", service=service(demo_db)))["ticket"]
    ok(c.call("window.call_next", window=w1))
    ok(c.call("window.start", window=w1))
    # the serving teller logs in elsewhere: refused, the customer still served
    r = err(c.call("window.login", window=w2, staff=here[0]), "busy")
    assert "serving" in r["reason"]
    # another teller takes over the serving window: refused too
    err(c.call("window.login", window=w1, staff=here[2]), "busy")
    assert ticket(c, t["id"])["ticket"]["state"] == "serving"
    err(c.call("window.transfer", window=w1, to="staff", target=missing), "unknown_staff")
    err(c.call("window.transfer", window=w1, to="staff", target=other_branch), "unknown_staff")
    assert ticket(c, t["id"])["ticket"]["state"] == "serving"
    ok(c.call("window.finish", window=w1))
    ok(c.call("window.login", window=w2, staff=here[0]))     # now it may


def test_a_service_transfer_keeps_its_record_and_a_profile_naming_a_service_twice_is_invalid(
        qm, demo_db):
    """Item 16: a ticket transferred to another service shows its transfer
    record while it waits there (as the protocol lists it) and is called by a
    window serving that service; a work profile naming a service twice is
    well formed but invalid."""
    c = qm
    w1, w2 = windows(demo_db)[:2]
    open_window(c, w1, staff(demo_db)[0])
    open_window(c, w2, staff(demo_db)[1])
    cash, card = service(demo_db, "cash"), service(demo_db, "card")
    t = ok(c.call("ticket.issue", service=cash))["ticket"]
    ok(c.call("window.call_next", window=w1))
    ok(c.call("window.transfer", window=w1, to="service", target=card))
    got = ticket(c, t["id"])["ticket"]
    assert got["state"] == "waiting" and got["service"] == card
    assert got["transfer"] == {"to": "service", "target": card}
    assert ok(c.call("window.call_next", window=w2))["ticket"]["id"] == t["id"]
    assert ticket(c, t["id"])["ticket"]["transfer"] is None
    r = err(c.call("window.set_profile", window=w2,
                   profile=f"strict;vip=2;ordinary=1;services={cash},{cash}"), "invalid")
    assert "twice" in r["reason"]
    err(c.call("window.set_profile", window=w2, profile="strict;vip=2;services=1"),
        "malformed")


def test_a_huge_frame_is_never_read(qm, demo_db, bus, start_bin):
    """Item 20: a frame above 16 KiB is answered too_large; one above 64 KiB
    (ZMQ_MAXMSGSIZE) is never read: the connection is dropped, no reply, and
    the server goes on answering everyone else."""
    r = qm.raw(b"x" * (20 * 1024))
    assert r["ok"] is False and r["error"] == "too_large", r
    hostile = Client(qm.endpoint)
    hostile.sock.send(b"{" + b" " * (8 * 1024 * 1024) + b"}")
    assert not hostile.sock.poll(2000), "a reply to an 8 MiB frame"
    hostile.close()
    assert ok(qm.call("branch.state"))


def test_the_estimate_told_at_issue_is_stored_with_the_ticket(qm, demo_db):
    """Issue 12, item 8: the place and wait each customer was told are
    committed with the ticket (ticket.est_position, est_wait_s), so the
    estimate can be measured against the wait that followed; a walk-in is
    told nothing."""
    staffed_windows(qm, demo_db, 1)
    cash = service(demo_db, "cash")
    told = {}
    for _ in range(4):
        r = ok(qm.call("ticket.issue", service=cash))
        told[r["ticket"]["id"]] = (r["position"], r["est_wait_s"])
    assert [p for p, _ in told.values()] == [0, 1, 2, 3]
    assert all(w is not None for _, w in told.values())
    stored = dict((str(i), (p, w)) for i, p, w in q(
        demo_db, "SELECT id, est_position, est_wait_s FROM ticket WHERE NOT walk_in"))
    assert stored == told
    w = windows(demo_db)[1]
    open_window(qm, w, staff(demo_db)[1])
    ok(qm.call("window.walk_in", window=w, service=cash))
    assert q(demo_db, "SELECT est_position, est_wait_s FROM ticket WHERE walk_in") == [
        (None, None)]
