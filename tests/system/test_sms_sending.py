"""sms-notifier sends its outbox through a real Kannel with the fake SMSC:
the exact text arrives (Chinese in UCS-2, a long one in concatenated
parts), delivery reports update the outbox, a gateway outage delays and
never loses, a crash of the notifier loses nothing, and a forged report
changes nothing (issue 13, items 4, 5 and 6; docs/alerts.md)."""
import collections
import signal
import urllib.error
import urllib.request

from conftest import wait_for
from notifier import (caught_up, configure, every_alert_alone, expected_text, messages, q,
                      start_notifier, unsatisfied_ratings)


def states(db):
    return dict(q(db, "SELECT state, count(*) FROM sms_outbox GROUP BY state"))


def test_alert_sms_arrive_once_with_their_text_and_are_reported_delivered(
        demo_db, bus, start_bin, kannel):
    configure(demo_db)
    unsat = unsatisfied_ratings(demo_db, 11, 30)
    assert len(unsat) >= 5
    # one rating's rule gives a long text: more than one SMS
    q(demo_db, """UPDATE alert_rule SET template = template || '。请主管在十五分钟内回访该客户，'
                  '核实不满意的原因，并在系统中登记处理结果和整改措施，谢谢配合。'""")
    start_notifier(start_bin, demo_db, bus, kannel, **every_alert_alone(demo_db))
    wait_for(lambda: caught_up(demo_db), 20)
    rows = q(demo_db, """SELECT a.fact, m.phone, m.body FROM sms_outbox m
                         JOIN alert a ON a.id = m.alert_id""")
    assert len(rows) == 2 * len(unsat)
    wait_for(lambda: states(demo_db) == {"delivered": len(rows)}, 30)
    got = collections.Counter(messages(kannel))
    want = collections.Counter((p, body) for _, p, body in rows)
    assert got == want          # each SMS once, with its exact text
    for fact, phone, body in rows:
        assert body.startswith(expected_text(demo_db, fact, phone == "+8613800000001"))
        assert 70 < len(body) <= 4 * 67
    # Chinese went as UCS-2, in concatenated parts of at most 67 characters
    parts = kannel.received()
    assert all(s.concat for s in parts)
    assert all(len(s.text or s.data.decode("utf-16-be")) <= 67 for s in parts)
    # the reports: delivered (type 1), when, and the SMSC's acceptance noted
    assert q(demo_db, """SELECT count(*) FROM sms_outbox WHERE dlr_status = 1
                         AND accepted_at IS NOT NULL AND reported_at IS NOT NULL
                         AND attempts = 1 AND provider = 'kannel'""") == [(len(rows),)]


def test_a_gateway_outage_delays_and_never_loses(demo_db, bus, start_bin, kannel):
    configure(demo_db)
    start_notifier(start_bin, demo_db, bus, kannel, **every_alert_alone(demo_db))
    kannel.stop_gateway()
    unsat = unsatisfied_ratings(demo_db, 12, 24)
    wait_for(lambda: caught_up(demo_db), 20)
    # refused connections: tried again with a reason, nothing lost
    wait_for(lambda: q(demo_db, """SELECT count(*) FROM sms_outbox WHERE attempts >= 2
                                   AND last_error LIKE 'sendsms:%%'""")[0][0] >= 1, 20)
    assert set(states(demo_db)) == {"queued"}
    # the operator's link down: Kannel accepts ("3: Queued") and keeps them.
    # (Down before Kannel is back: bearerbox counts a message as sent, and
    # reports it delivered, once written to the fake SMSC's socket, so one
    # written just as the fake SMSC is stopped would be lost by the fake.)
    kannel.start_gateway(smsc=False)
    unsatisfied_ratings(demo_db, 13, 24)
    wait_for(lambda: caught_up(demo_db), 20)
    (n,), = q(demo_db, "SELECT count(*) FROM sms_outbox")
    assert n > 2 * len(unsat)
    # (no row waits for a lease: after each retry the rest are let go)
    wait_for(lambda: "queued" not in states(demo_db), 30)
    # those made while the link was down are accepted, not delivered
    assert states(demo_db)["accepted"] >= n - 2 * len(unsat)
    kannel.start_smsc()
    wait_for(lambda: states(demo_db) == {"delivered": n}, 60)
    rows = q(demo_db, "SELECT phone, body FROM sms_outbox")
    # (Kannel may report a delivery before the fake SMSC's line is written)
    want = collections.Counter((p, b) for p, b in rows)
    try:
        wait_for(lambda: collections.Counter(messages(kannel)) == want, 10)
    except AssertionError:
        got = collections.Counter(messages(kannel))
        raise AssertionError(f"fake SMSC only: {got - want}; outbox only: {want - got}")


def test_a_killed_notifier_loses_nothing(demo_db, bus, start_bin, kannel):
    configure(demo_db)
    unsatisfied_ratings(demo_db, 14, 1500)
    # a lease of 3 s: the rows the killed one held are sent again 3 s later
    env = {"EQMS_SMS_LEASE_S": "3", "EQMS_SMS_GATEWAY_TIMEOUT_MS": "1000",
           **every_alert_alone(demo_db)}
    proc = start_notifier(start_bin, demo_db, bus, kannel, **env)
    # killed while it sends
    wait_for(lambda: states(demo_db).get("accepted", 0) + states(demo_db).get("delivered", 0)
             >= 20, 30)
    proc.proc.send_signal(signal.SIGKILL)
    proc.proc.wait()
    sent_before = sum(v for k, v in states(demo_db).items() if k != "queued")
    (n,), = q(demo_db, "SELECT count(*) FROM sms_outbox")
    assert sent_before < n, "the burst was over before the kill: nothing tested"
    # on its own port again: Kannel's reports of what it accepted before the
    # kill come there (a new port would lose them, as in a deployment)
    start_notifier(start_bin, demo_db, bus, kannel, callback_port=proc.callback_port, **env)
    wait_for(lambda: states(demo_db) == {"delivered": n}, 120)
    got = collections.Counter(messages(kannel))
    rows = collections.Counter((p, b) for p, b in
                               q(demo_db, "SELECT phone, body FROM sms_outbox"))
    assert set(got) == set(rows)                    # nothing lost
    doubled = sum(got[k] - rows[k] for k in rows)
    # only those being submitted when it died can go twice: one per sender
    assert 0 <= doubled <= 4, doubled


def get(port, query):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/sms/dlr?{query}",
                                    timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_a_forged_or_malformed_report_changes_nothing(demo_db, bus, start_bin):
    configure(demo_db)
    unsatisfied_ratings(demo_db, 15, 12)
    proc = start_notifier(start_bin, demo_db, bus)       # no gateway: rows stay queued
    wait_for(lambda: caught_up(demo_db), 20)
    (sms_id, token), = q(demo_db, """SELECT id::text, dlr_token::text FROM sms_outbox
                                     ORDER BY id LIMIT 1""")
    before = q(demo_db, "SELECT * FROM sms_outbox ORDER BY id")
    other = "00000000-0000-4000-8000-000000000000"
    port = proc.callback_port
    for query, status, reason in (
            (f"id={sms_id}&token={other}&type=1", 404, "no SMS with that id and token"),
            (f"id={other}&token={token}&type=1", 404, "no SMS with that id and token"),
            (f"id={sms_id}&type=1", 400, "id and token must be uuids"),
            (f"id={sms_id}&token={token}", 400, "no report type"),
            (f"id={sms_id}&token={token}&type=3", 400, "report type 3 is none of"),
            (f"id={sms_id}&token={token}&type=x", 400, 'report type "x" is not a number'),
            (f"id={sms_id}&token={token}&type=1&type=2", 400, 'argument "type" given twice'),
            (f"id={sms_id}&token={token}&type=1&state=ok", 400, 'unknown query argument'),
            (f"id=1;DROP&token={token}&type=1", 400, "id and token must be uuids")):
        got = get(port, query)
        assert got[0] == status and reason in got[1], (query, got)
    assert q(demo_db, "SELECT * FROM sms_outbox ORDER BY id") == before
    assert proc.log().count("event=dlr_refused") == 9
    # the real one applies; a later progress report does not undo it
    assert get(port, f"id={sms_id}&token={token}&type=1") == (200, "ok delivered\n")
    assert get(port, f"id={sms_id}&token={token}&type=8") == (200, "ok delivered\n")
    assert q(demo_db, "SELECT state, dlr_status FROM sms_outbox WHERE id = %s",
             sms_id) == [("delivered", 1)]
    # 16, non-delivered to SMSC, is Kannel's final failure (sent once its
    # retries are over or the SMSC refused it): final too
    (sms_id, token), = q(demo_db, """SELECT id::text, dlr_token::text FROM sms_outbox
                                     WHERE state = 'queued' ORDER BY id LIMIT 1""")
    assert get(port, f"id={sms_id}&token={token}&type=8") == (200, "ok accepted\n")
    assert get(port, f"id={sms_id}&token={token}&type=16") == (200, "ok failed\n")
    assert get(port, f"id={sms_id}&token={token}&type=1") == (200, "ok failed\n")
    assert q(demo_db, "SELECT state, dlr_status FROM sms_outbox WHERE id = %s",
             sms_id) == [("failed", 16)]


def test_a_callback_url_that_is_not_a_url_stops_the_start_with_its_reason(demo_db, bus,
                                                                            start_bin, kannel):
    """The gateway could not report deliveries to it: refused at start, not
    found out when reports never come."""
    import subprocess
    creds = kannel.credentials()
    proc = start_bin("sms-notifier", {
        "EQMS_PG_CONNINFO": demo_db.conninfo, "EQMS_BUS_SUB": bus.xpub,
        "EQMS_HTTP_ADDRESS": "127.0.0.1", "EQMS_HTTP_PORT": "0",
        "EQMS_SMS_CALLBACK_PORT": "0", "EQMS_SMS_CALLBACK_URL": "127.0.0.1:9558",
        "EQMS_SMS_GATEWAY_URL": kannel.sendsms_url(),
        "EQMS_SMS_GATEWAY_USER": creds["username"],
        "EQMS_SMS_GATEWAY_PASSWORD": creds["password"]})
    try:
        assert proc.proc.wait(timeout=20) != 0
    except subprocess.TimeoutExpired:
        raise AssertionError("the notifier started with a callback URL that is not a URL")
    assert "EQMS_SMS_CALLBACK_URL '127.0.0.1:9558' is not an http(s) URL" in proc.log()
