"""sms-notifier against a real PostgreSQL: unsatisfied ratings become alerts
and queued SMS rows for the recipients the tree gives, once each, whatever
restarts and lost cursors bring (issue 13, items 1 and 5; docs/alerts.md).
No gateway here: the rows stay queued (test_sms_sending.py sends them)."""
import datetime
import random

import stats_traffic as tr
from conftest import wait_for
from notifier import BRANCH, caught_up, configure, expected_text, node, q, start_notifier


def test_unsatisfied_ratings_become_alerts_and_sms_once(demo_db, bus, start_bin):
    configure(demo_db)
    rng = random.Random(5)
    b = tr.Branch(demo_db, BRANCH)
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=3)
    tr.device_facts(rng, demo_db, b, start, 2, 60, 5, 2, False)
    proc = start_notifier(start_bin, demo_db, bus)
    wait_for(lambda: caught_up(demo_db), 20)
    unsat = [r for (r,) in q(demo_db, "SELECT id::text FROM rating WHERE unsatisfied")]
    assert len(unsat) >= 5
    alerts = q(demo_db, "SELECT fact, branch_id, state FROM alert ORDER BY fact")
    assert [a[0] for a in alerts] == sorted(unsat)
    assert all(a[1] == b.id and a[2] == "open" for a in alerts)
    assert q(demo_db, "SELECT count(*) FROM alert_event WHERE kind = 'opened'") == [
        (len(unsat),)]
    # two recipients per alert: the branch's and the region's (subtree)
    sms = q(demo_db, """SELECT a.fact, m.phone, m.body, m.state FROM sms_outbox m
                        JOIN alert a ON a.id = m.alert_id ORDER BY a.fact, m.phone""")
    assert [(f, p) for f, p, _, _ in sms] == [
        (f, p) for f in sorted(unsat) for p in ("+8613800000001", "+8613800000002")]
    assert all(s == "queued" for _, _, _, s in sms)
    for fact, phone, body, _ in sms:
        # the option (态度差) only to the branch supervisor, allowed complaint details
        assert body == expected_text(demo_db, fact, phone == "+8613800000001")
    # a restart, and a lost cursor, write nothing twice
    proc.stop()
    q(demo_db, "DELETE FROM sms_cursor")
    start_notifier(start_bin, demo_db, bus)
    wait_for(lambda: caught_up(demo_db), 20)
    assert q(demo_db, "SELECT count(*) FROM alert") == [(len(unsat),)]
    assert q(demo_db, "SELECT count(*) FROM sms_outbox") == [(2 * len(unsat),)]
    # new ratings while it runs
    tr.device_facts(rng, demo_db, b, start, 2, 30, 0, 0, False)
    wait_for(lambda: caught_up(demo_db), 20)
    (n,), = q(demo_db, "SELECT count(*) FROM rating WHERE unsatisfied")
    assert q(demo_db, "SELECT count(*) FROM alert") == [(n,)]


def test_a_malformed_rule_is_refused_and_the_alert_still_goes_out(demo_db, bus, start_bin):
    configure(demo_db)
    # the branch's own rule, with a typo: refused, the built-in text is used
    q(demo_db, """INSERT INTO alert_rule (node_id, kind, template)
                  VALUES (%s, 'unsatisfied_rating', '{teller} {telr}')""", node(demo_db, BRANCH))
    # the other region switches its alerts off
    q(demo_db, """INSERT INTO alert_rule (node_id, kind, enabled, template)
                  VALUES (%s, 'unsatisfied_rating', false, 'off')""", node(demo_db, "hq.r02"))
    rng = random.Random(6)
    b = tr.Branch(demo_db, BRANCH)
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=3)
    tr.device_facts(rng, demo_db, b, start, 2, 40, 0, 0, False)
    other = tr.Branch(demo_db, q(demo_db, """SELECT path::text FROM org_node
        WHERE kind = 'branch' AND path <@ 'hq.r02' ORDER BY path LIMIT 1""")[0][0])
    tr.device_facts(rng, demo_db, other, start, 2, 40, 0, 0, False)
    proc = start_notifier(start_bin, demo_db, bus)
    wait_for(lambda: caught_up(demo_db), 20)
    (n,), = q(demo_db, """SELECT count(*) FROM rating WHERE unsatisfied
                          AND branch_path = %s::ltree""", BRANCH)
    assert n > 0
    assert q(demo_db, "SELECT count(*), count(DISTINCT branch_id) FROM alert") == [(n, 1)]
    bodies = [m for (m,) in q(demo_db, "SELECT body FROM sms_outbox")]
    assert bodies and all(m.startswith("【服务评价】") for m in bodies)
    log = proc.log()
    assert log.count("event=alert_rule_refused") == 1
    assert 'reason="unknown placeholder {telr}"' in log


def test_recipient_phones_are_kept_as_e164_and_bad_ones_refused(demo_db):
    """A supervisor's number as people write it is kept as E.164; anything
    else is refused with a message saying what is wanted."""
    import psycopg2
    import pytest
    hq = node(demo_db, "hq")
    for written, kept in (("138 0013 8000", "+8613800138000"),
                          ("0086-139-0013-9000", "+8613900139000"),
                          ("86 15000150000", "+8615000150000"),
                          ("+44 20 7946 0018", "+442079460018")):
        (got,), = q(demo_db, """INSERT INTO alert_recipient (node_id, name, phone)
                                VALUES (%s, '主管', %s) RETURNING phone""", hq, written)
        assert got == kept
    for bad, says in (("12800128000", "neither E.164"), ("+86123", "11 digits starting 13-19"),
                      ("call me", "neither E.164"), ("", "neither E.164")):
        with pytest.raises(psycopg2.Error) as e:
            q(demo_db, """INSERT INTO alert_recipient (node_id, name, phone)
                          VALUES (%s, '主管', %s)""", hq, bad)
        demo_db.rollback()
        assert says in str(e.value) and e.value.pgcode == "22023", str(e.value)
