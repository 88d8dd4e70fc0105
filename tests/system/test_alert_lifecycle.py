"""An alert's life: acknowledged and resolved through the SQL interface
web-api calls (every step an alert event), reminded and escalated by
sms-notifier while nobody acknowledges it, through a real Kannel
(issue 13, item 2; docs/alerts.md, "Alert lifecycle")."""
import collections
import time

import psycopg2
import pytest

from conftest import wait_for
from notifier import (caught_up, configure, every_alert_alone, messages, q, start_notifier,
                      unsatisfied_ratings)

BRANCH_PHONE, REGION_PHONE, HQ_PHONE = "+8613800000001", "+8613800000002", "+8613800000003"


def refused(db, sql, *args):
    with pytest.raises(psycopg2.Error) as e:
        q(db, sql, *args)
    db.rollback()
    return str(e.value)


def test_acknowledge_and_resolve_leave_their_events(demo_db, bus, start_bin):
    configure(demo_db)
    unsatisfied_ratings(demo_db, 31, 20)
    start_notifier(start_bin, demo_db, bus)
    wait_for(lambda: caught_up(demo_db), 20)
    first, second = [a for (a,) in q(demo_db, "SELECT id::text FROM alert ORDER BY id LIMIT 2")]
    assert q(demo_db, "SELECT alert_acknowledge(%s, 'web:wang', '在处理')", first) == [
        ("acknowledged",)]
    # again: nothing changes, no second event
    assert q(demo_db, "SELECT alert_acknowledge(%s, 'web:li', '')", first) == [
        ("acknowledged",)]
    assert q(demo_db, """SELECT state, acknowledged_by FROM alert WHERE id = %s""",
             first) == [("acknowledged", "web:wang")]
    assert "a root cause is needed" in refused(
        demo_db, "SELECT alert_resolve(%s, 'web:wang', '  ')", first)
    assert q(demo_db, "SELECT alert_resolve(%s, 'web:wang', '柜员操作不熟练，已培训')",
             first) == [("resolved",)]
    assert "is resolved" in refused(demo_db, "SELECT alert_acknowledge(%s, 'web:li')", first)
    assert "no alert" in refused(demo_db, "SELECT alert_acknowledge(%s, 'web:li')",
                                 "00000000-0000-4000-8000-000000000000")
    assert "an actor is needed" in refused(demo_db, "SELECT alert_resolve(%s, '', 'x')",
                                           second)
    # resolved by hand without an acknowledgement first is allowed
    q(demo_db, "SELECT alert_resolve(%s, 'web:zhao', '客户误按')", second)
    events = collections.defaultdict(list)
    for alert, kind, actor, note in q(demo_db, """SELECT alert_id::text, kind, actor, note
                                                  FROM alert_event ORDER BY at"""):
        events[alert].append((kind, actor, note))
    assert events[first] == [("opened", "sms-notifier", ""),
                             ("acknowledged", "web:wang", "在处理"),
                             ("resolved", "web:wang", "柜员操作不熟练，已培训")]
    assert events[second] == [("opened", "sms-notifier", ""), ("resolved", "web:zhao", "客户误按")]


def test_unacknowledged_alerts_are_reminded_then_escalated_once(demo_db, bus, start_bin,
                                                                 kannel):
    configure(demo_db)
    q(demo_db, "UPDATE alert_rule SET remind_after_s = 2, escalate_after_s = 4")
    env = every_alert_alone(demo_db)
    start_notifier(start_bin, demo_db, bus, kannel, **env)
    unsatisfied_ratings(demo_db, 32, 40)
    wait_for(lambda: caught_up(demo_db), 20)
    alerts = [a for (a,) in q(demo_db, "SELECT id::text FROM alert ORDER BY id")]
    assert len(alerts) >= 3
    acked = alerts[0]
    q(demo_db, "SELECT alert_acknowledge(%s, 'web:wang', '')", acked)
    left = len(alerts) - 1

    def kinds(kind):
        return q(demo_db, """SELECT count(*), count(DISTINCT alert_id) FROM alert_event
                             WHERE kind = %s""", kind)[0]
    wait_for(lambda: kinds("escalated") == (left, left), 20)
    time.sleep(6)               # more passes: nothing twice
    assert kinds("reminded") == (left, left)
    assert kinds("escalated") == (left, left)
    assert q(demo_db, """SELECT count(*) FROM alert_event WHERE alert_id = %s
                         AND kind IN ('reminded', 'escalated')""", acked) == [(0,)]
    # reminders to those told, escalation to head office (above the region)
    wait_for(lambda: q(demo_db, """SELECT count(*) FROM sms_outbox
                                   WHERE state NOT IN ('delivered')""") == [(0,)], 30)
    by_phone = collections.defaultdict(list)
    for phone, text in messages(kannel):
        by_phone[phone].append(text)
    for phone in (BRANCH_PHONE, REGION_PHONE):
        assert sum(t.startswith("【未确认提醒】") for t in by_phone[phone]) == left
        assert not any(t.startswith("【升级】") for t in by_phone[phone])
    assert len(by_phone[HQ_PHONE]) == left
    assert all(t.startswith("【升级】") and "分钟未确认：" in t for t in by_phone[HQ_PHONE])
