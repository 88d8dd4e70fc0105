"""A recipient's quiet hours, rate limit and digests, through a real Kannel
with the fake SMSC: a burst becomes digests that respect the rate limit,
and quiet hours hold the alerts until they end, then one digest tells them
all (issue 13, item 1; docs/alerts.md, "Quiet hours, rate limits and
digests")."""
import collections
import re
import time

from conftest import wait_for
from notifier import caught_up, configure, messages, q, start_notifier, unsatisfied_ratings

BRANCH_PHONE = "+8613800000001"


def count_of(text):
    """How many alerts an SMS stands for: a digest says 共N条, else 1."""
    m = re.search(r"共(\d+)条", text)
    return int(m.group(1)) if m else 1


def test_a_burst_becomes_digests_within_the_rate_limit(demo_db, bus, start_bin, kannel):
    configure(demo_db)
    q(demo_db, "UPDATE alert_recipient SET max_per_hour = 3")
    start_notifier(start_bin, demo_db, bus, kannel, EQMS_SMS_DIGEST_GAP_S="2")
    # a burst: 1,000 unsatisfied ratings and more in about 10 s, a commit
    # of about 300 ratings (100 unsatisfied) a second
    seed = 100
    while len(unsatisfied_ratings(demo_db, seed, 300)) < 1000:
        seed += 1
        time.sleep(1)
    wait_for(lambda: caught_up(demo_db), 30)
    (alerts,), = q(demo_db, "SELECT count(*) FROM alert")
    assert alerts >= 1000
    # each recipient: its 3 SMS of the hour (digests of what came within
    # two seconds), the rest held until the hour allows
    wait_for(lambda: collections.Counter(p for p, _ in messages(kannel)) ==
             {BRANCH_PHONE: 3, "+8613800000002": 3}, 30)
    sent = messages(kannel)
    assert sum(count_of(t) for _, t in sent) < 2 * alerts
    assert all(t.startswith("【服务评价汇总】上海浦东支行 ") for _, t in sent if "共" in t)
    # the rest held about an hour, once the sender has seen each (a digest
    # made by the burst's last alerts is due until its next look)
    def held():
        return q(demo_db, """SELECT phone, count(*), min(next_at) - now() FROM sms_outbox
                             WHERE state = 'queued' GROUP BY phone ORDER BY phone""")
    assert [h[0] for h in held()] == [BRANCH_PHONE, "+8613800000002"]
    wait_for(lambda: all(h[2].total_seconds() > 3000 for h in held()), 10)
    # an hour later (the sent ones moved back an hour), one digest each
    # tells all the alerts that waited
    q(demo_db, """UPDATE sms_outbox SET accepted_at = accepted_at - interval '1 hour',
                  next_at = least(next_at, now()) WHERE recipient_id IS NOT NULL""")
    wait_for(lambda: len(messages(kannel)) == 8, 30)
    sent = messages(kannel)
    for phone in (BRANCH_PHONE, "+8613800000002"):
        texts = [t for p, t in sent if p == phone]
        assert len(texts) == 4
        assert sum(count_of(t) for t in texts) == alerts       # every alert told once
    # the outbox says the same: every alert SMS sent alone or digested into
    # a digest that was sent (the fake SMSC may have it before the sender
    # wrote down the gateway's acceptance)
    wait_for(lambda: q(demo_db, """SELECT count(*) FROM sms_outbox m WHERE m.kind = 'alert'
                           AND NOT (m.state IN ('accepted', 'delivered') OR (m.state = 'digested'
                           AND (SELECT d.state FROM sms_outbox d WHERE d.id = m.digest_id)
                               IN ('accepted', 'delivered')))""") == [(0,)], 10)
    assert q(demo_db, """SELECT count(*) FROM sms_outbox WHERE kind = 'digest'""") == [
        (sum("共" in t for _, t in sent),)]


def test_quiet_hours_hold_alerts_until_they_end(demo_db, bus, start_bin, kannel):
    configure(demo_db)
    # the branch supervisor's quiet hours end 20 s from now (local time)
    q(demo_db, "UPDATE alert_recipient SET max_per_hour = 3600")
    q(demo_db, """UPDATE alert_recipient r SET
                    quiet_from = ((now() AT TIME ZONE n.time_zone) - interval '1 hour')::time,
                    quiet_to = ((now() AT TIME ZONE n.time_zone) + interval '20 seconds')::time
                  FROM org_node n WHERE n.id = r.node_id AND r.phone = %s""", BRANCH_PHONE)
    start_notifier(start_bin, demo_db, bus, kannel, EQMS_SMS_DIGEST_GAP_S="2")
    unsatisfied_ratings(demo_db, 200, 30)
    wait_for(lambda: caught_up(demo_db), 20)
    (alerts,), = q(demo_db, "SELECT count(*) FROM alert")
    assert alerts >= 3
    # the region's manager has no quiet hours: told at once
    wait_for(lambda: sum(count_of(t) for _, t in messages(kannel)) == alerts, 15)
    assert {p for p, _ in messages(kannel)} == {"+8613800000002"}
    told_region = len(messages(kannel))
    held = q(demo_db, """SELECT count(*), min(next_at) > now() FROM sms_outbox
                         WHERE state = 'queued' AND phone = %s""", BRANCH_PHONE)
    assert held == [(alerts, True)]
    # the quiet hours end: one digest with them all
    wait_for(lambda: len(messages(kannel)) == told_region + 1, 40)
    phone, text = messages(kannel)[-1]
    assert phone == BRANCH_PHONE and count_of(text) == alerts, text
    (told,), = wait_for(lambda: q(demo_db, """SELECT min(accepted_at) FROM sms_outbox
                                              WHERE phone = %s HAVING min(accepted_at)
                                              IS NOT NULL""", BRANCH_PHONE), 10)
    (quiet_end,), = q(demo_db, """SELECT (date_trunc('day', now() AT TIME ZONE n.time_zone)
                                   + r.quiet_to) AT TIME ZONE n.time_zone
                                  FROM alert_recipient r JOIN org_node n ON n.id = r.node_id
                                  WHERE r.phone = %s""", BRANCH_PHONE)
    assert told >= quiet_end


def test_alerts_met_late_are_told_in_one_digest_and_never_reminded(demo_db, bus, start_bin,
                                                                   kannel):
    """A device that was offline delivers an evening's ratings late: their
    alerts are stale, told in one digest per recipient instead of one by
    one, and not reminded; a fresh alert beside them goes as it is."""
    import datetime
    import stats_traffic as tr
    from notifier import BRANCH
    configure(demo_db)
    q(demo_db, "UPDATE alert_recipient SET max_per_hour = 3600")
    q(demo_db, "UPDATE alert_rule SET remind_after_s = 1, escalate_after_s = 3600")
    b = tr.Branch(demo_db, BRANCH)
    window, staff = b.windows[0][0], b.staff[0]
    now = datetime.datetime.now(datetime.timezone.utc)
    late = [(window, staff, 4, now - datetime.timedelta(hours=3, minutes=k)) for k in range(5)]
    tr.commit_ratings(demo_db, b, late + [(window, staff, 4, now)])
    start_notifier(start_bin, demo_db, bus, kannel, EQMS_SMS_STALE_S="3600",
                   EQMS_SMS_DIGEST_GAP_S="0")
    wait_for(lambda: caught_up(demo_db), 20)
    assert q(demo_db, "SELECT stale, count(*) FROM alert GROUP BY stale ORDER BY stale") == [
        (False, 1), (True, 5)]
    wait_for(lambda: len(messages(kannel)) >= 4, 20)
    time.sleep(6)               # reminders are due after 1 s: only the fresh one's
    sent = messages(kannel)
    for phone in (BRANCH_PHONE, "+8613800000002"):
        texts = [t for p, t in sent if p == phone]
        assert sorted(count_of(t) for t in texts if "共" in t) == [5], texts
        assert sum("【未确认提醒】" in t for t in texts) == 1, texts
        assert len(texts) == 3, texts       # the fresh alert, its reminder, the digest
    assert q(demo_db, """SELECT count(*) FROM alert_event e JOIN alert a ON a.id = e.alert_id
                         WHERE a.stale AND e.kind = 'reminded'""") == [(0,)]
