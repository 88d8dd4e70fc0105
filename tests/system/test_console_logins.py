"""A teller who logs in only at the teller console (queue-manager's
window.login with a web actor), never on the window's rating device.

queue-manager tells the window's device who is logged in and, after a
finish at the console, asks it for a rating (cmd.device `staff` and `rate`);
rating-ingest follows queue-manager's logins and logouts from ticket_event
as a journal per branch ("queue-manager/<branch id>"), so the device's
ratings are bound to that teller and the teller's on-duty time exists
(docs/protocol.md, "Logins at queue-manager"). A login made on the device
itself is the device's session only, never a second one.
"""
import json
import time

from conftest import make_envelope, wait_for
from qm_client import BRANCH, Client, start_qm
from test_gateway import Listener
from test_rating_ingest import Gateway, Window, q, start_ingest
from test_stats import start_stats

NIL = "00000000-0000-0000-0000-000000000000"


def teller(db, n=0):
    return q(db, """SELECT s.id, s.employee_no, s.name FROM staff s JOIN org_node n
                    ON n.id = s.node_id WHERE n.path = %s::ltree AND s.active
                    ORDER BY s.employee_no LIMIT 1 OFFSET %s""", BRANCH, n)[0]


def ok(reply):
    assert reply["ok"], reply
    return reply


def sessions(db, window_id):
    return q(db, """SELECT staff_id, gateway, gateway_seq, logout_at IS NULL, closed_by
                    FROM staff_session WHERE window_id = %s ORDER BY login_at""", window_id)


def event_seq(db, kind, window_id, actor):
    return q(db, """SELECT max(seq) FROM ticket_event
                    WHERE kind = %s AND window_id = %s AND actor = %s""",
             kind, window_id, actor)[0][0]


def test_a_console_login_is_the_device_teller_and_a_session(demo_db, bus, start_bin):
    """Logged in at the console only: the device is told the teller and asked
    for a rating after the finish; the rating is the teller's and bound to
    the ticket, though ratings arrive long before the periodic catch-up (a
    minute) and no login ever came from the device: the rating itself makes
    rating-ingest look. The logout closes the session; a restart of
    rating-ingest reads nothing twice; stats-aggregator follows the
    journal as a gateway's (the session placed once closed)."""
    w1 = Window(demo_db, "w01")
    staff_id, employee_no, name = teller(demo_db)
    (branch_id,), = q(demo_db, "SELECT id FROM org_node WHERE path = %s::ltree", BRANCH)
    journal = f"queue-manager/{branch_id}"
    _, endpoint, _ = start_qm(start_bin, demo_db, bus)
    ingest = start_ingest(start_bin, demo_db, bus, EQMS_INGEST_TICKET_POLL_MS="60000")
    start_stats(start_bin, demo_db, bus)
    listener = Listener(bus, ("cmd.device.",))
    c = Client(endpoint, actor="web:admin")
    gw = Gateway(bus)
    try:
        ok(c.call("window.open", window=w1.id))
        ok(c.call("window.login", window=w1.id, staff=staff_id))
        listener.wait("cmd.device", serial=w1.serial, command="staff",
                      employee_no=employee_no, name=name)
        t = ok(c.call("ticket.issue", service=q(demo_db, "SELECT id FROM service "
                                                         "WHERE code = 'cash'")[0][0]))["ticket"]
        ok(c.call("window.call_next", window=w1.id))
        ok(c.call("window.start", window=w1.id))
        ok(c.call("window.finish", window=w1.id))
        (topic, _), = listener.wait("cmd.device", serial=w1.serial, command="rate",
                                    ticket=t["number"])
        assert topic == f"cmd.device.{w1.path}"

        # the device's rating, as its gateway sends it (the device's first event)
        r = gw.event("rating.submitted", w1, employee_no, option_code=4, ticket=t["number"])
        gw.wait_ack(gw.seq, resend=[gw.seq])
        assert q(demo_db, "SELECT staff_id, ticket_id::text FROM rating WHERE id = %s",
                 r["id"]) == [(staff_id, t["id"])]
        login_seq = event_seq(demo_db, "staff_login", w1.id, "web:admin")
        assert sessions(demo_db, w1.id) == [(staff_id, journal, login_seq, True, None)]
        wait_for(lambda: q(demo_db, """SELECT count(*) FROM stats_open_session o
                                       JOIN staff_session s ON s.id = o.session_id
                                       WHERE s.window_id = %s""", w1.id) == [(1,)],
                 timeout=15)

        ok(c.call("window.logout", window=w1.id))
        listener.wait("cmd.device", serial=w1.serial, command="staff", employee_no="",
                      name="")
        logout_seq = event_seq(demo_db, "staff_logout", w1.id, "web:admin")
        # rating-ingest restarted with its periodic catch-up back: the logout
        # is read, the login is not read again
        ingest.stop()
        start_ingest(start_bin, demo_db, bus, EQMS_INGEST_TICKET_POLL_MS="200")
        wait_for(lambda: sessions(demo_db, w1.id)
                 == [(staff_id, journal, login_seq, False, "logout")], timeout=15)
        assert q(demo_db, """SELECT upto FROM gateway_cursor
                             WHERE gateway = %s AND incarnation = %s""",
                 journal, NIL) == [(logout_seq,)]
        wait_for(lambda: q(demo_db, """SELECT count(*) FROM stats_open_session o
                                       JOIN staff_session s ON s.id = o.session_id
                                       WHERE s.window_id = %s""", w1.id) == [(0,)],
                 timeout=15)
        (logged_out,), = q(demo_db, "SELECT count(*) FROM ingest_event WHERE id IN "
                                    "(SELECT id FROM staff_session WHERE window_id = %s)",
                           w1.id)
        assert logged_out == 1

        # nobody is logged in at the window now
        late = gw.event("rating.submitted", w1, employee_no, option_code=1)
        gw.wait_ack(gw.seq)
        assert q(demo_db, "SELECT reason FROM rejected_event WHERE id = %s", late["id"]) \
            == [(f"nobody logged in at window {w1.id}",)]
    finally:
        listener.close()
        c.close()


def test_a_device_login_is_the_device_session_alone(demo_db, bus, start_bin):
    """A login on the device (its gateway's staff.login, which queue-manager
    acts on as device:<serial>) is one session, the device's: queue-manager's
    event of it is not a second one, and the device is not told what it
    did itself. The same teller then logging in at the console at another
    window leaves the device's window: its device is told nobody is there
    now, and the device's session ends where the console's begins."""
    w1, w2 = Window(demo_db, "w01"), Window(demo_db, "w02")
    staff_id, employee_no, _ = teller(demo_db, 1)
    (branch_id,), = q(demo_db, "SELECT id FROM org_node WHERE path = %s::ltree", BRANCH)
    _, endpoint, _ = start_qm(start_bin, demo_db, bus)
    start_ingest(start_bin, demo_db, bus, EQMS_INGEST_TICKET_POLL_MS="200")
    listener = Listener(bus, ("cmd.device.",))
    c = Client(endpoint, actor="web:admin")
    gw = Gateway(bus)
    try:
        gw.start(w2, employee_no)     # the device's login, re-sent until acknowledged
        device_actor = f"device:{w2.serial}"
        wait_for(lambda: event_seq(demo_db, "staff_login", w2.id, device_actor) is not None,
                 timeout=10)
        ok(c.call("window.open", window=w1.id))
        ok(c.call("window.login", window=w1.id, staff=staff_id))
        listener.wait("cmd.device", serial=w2.serial, command="staff", employee_no="")
        listener.wait("cmd.device", serial=w1.serial, command="staff",
                      employee_no=employee_no)
        wait_for(lambda: [s[0:4] for s in sessions(demo_db, w1.id)]
                 == [(staff_id, f"queue-manager/{branch_id}",
                      event_seq(demo_db, "staff_login", w1.id, "web:admin"), True)],
                 timeout=10)
        (dev,) = sessions(demo_db, w2.id)
        assert dev[:2] == (staff_id, gw.src) and dev[3] is False, dev
        # the device's own login was never sent back to it
        assert [e for _, e in listener.of("cmd.device", serial=w2.serial, command="staff")
                if e["data"]["employee_no"]] == []
        (w1_login,), = q(demo_db, """SELECT login_at FROM staff_session WHERE window_id = %s""",
                         w1.id)
        (w2_logout,), = q(demo_db, """SELECT logout_at FROM staff_session WHERE window_id = %s""",
                          w2.id)
        assert w2_logout == w1_login
    finally:
        listener.close()
        c.close()


def test_a_device_that_comes_back_is_shown_the_teller_and_the_ticket(demo_db, bus, start_bin):
    """A device that lost power forgets the teller logged in at the console
    and the ticket called: when it comes online again (its gateway's
    device.online), queue-manager tells it both again, after a commit; a
    window with nobody and nothing called tells it nothing; one whose window
    is malformed is logged and ignored."""
    w1, w2 = Window(demo_db, "w01"), Window(demo_db, "w02")
    staff_id, employee_no, name = teller(demo_db)
    qm, endpoint, _ = start_qm(start_bin, demo_db, bus)
    listener = Listener(bus, ("cmd.device.",))
    c = Client(endpoint, actor="web:admin")
    gw = Gateway(bus)
    try:
        ok(c.call("window.open", window=w1.id))
        ok(c.call("window.login", window=w1.id, staff=staff_id))
        ok(c.call("ticket.issue", service=q(demo_db, "SELECT id FROM service "
                                                    "WHERE code = 'cash'")[0][0]))
        called = ok(c.call("window.call_next", window=w1.id))["ticket"]["number"]
        listener.wait("cmd.device", serial=w1.serial, command="ticket", ticket=called)
        staff_cmd = dict(serial=w1.serial, command="staff", employee_no=employee_no, name=name)
        assert len(listener.of("cmd.device", **staff_cmd)) == 1

        def online(window):
            # re-sent until queue-manager's subscription has joined
            gw.event("device.online", window)
            return len(listener.of("cmd.device", **staff_cmd)) >= 2
        wait_for(lambda: online(w1), timeout=10)
        listener.wait("cmd.device", serial=w1.serial, command="ticket", ticket=called,
                      window_number=w1.number)
        assert len(listener.of("cmd.device", serial=w1.serial, command="ticket",
                               ticket=called)) >= 2
        gw.event("device.online", w2)
        bad = gw.event("device.online", w1, publish=False)["data"]
        bad["window"] = {"number": w1.number}           # no id
        bad = make_envelope("device.online", bad, src=gw.src, seq=gw.seq)
        gw.client.pub.send_multipart([f"device.online.{w1.path}".encode(), bad])
        time.sleep(1)
        assert listener.of("cmd.device", serial=w2.serial) == []
        assert (f'id={json.loads(bad)["id"]} type=device.online reason="missing or '
                f'malformed branch or window"') in qm.log()
    finally:
        listener.close()
        c.close()
