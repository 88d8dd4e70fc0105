"""Threshold alerts over a sliding window, HappyOrNot's way: the
unsatisfied share of a window's last minutes above the rule's line with
enough ratings opens one alert (its SMS through a real Kannel), which
resolves by itself when the share falls back; the next episode is a new
alert (issue 13, items 1 and 2; docs/alerts.md, "Threshold rules")."""
import datetime
import time

import stats_traffic as tr
from conftest import wait_for
from notifier import (BRANCH, caught_up, configure, every_alert_alone, messages, node, q,
                      start_notifier)

RULE = '{"share_pct": 30, "min_ratings": 5, "minutes": 10, "scopes": ["window"]}'


def alerts(db):
    return q(db, """SELECT facts->>'member', state FROM alert
                    WHERE kind = 'unsatisfied_share' ORDER BY raised_at""")


def test_the_unsatisfied_share_of_a_window_opens_and_resolves_an_alert(demo_db, bus,
                                                                       start_bin, kannel):
    configure(demo_db)
    q(demo_db, "DELETE FROM alert_rule WHERE kind = 'unsatisfied_rating'")
    q(demo_db, """INSERT INTO alert_rule (node_id, kind, template, params)
                  VALUES (%s, 'unsatisfied_share',
                          '{branch}{scope} 近{minutes}分钟不满意{unsatisfied}/{rated} ({share})',
                          %s::jsonb)""", node(demo_db, "hq"), RULE)
    q(demo_db, "UPDATE alert_recipient SET kinds = '{unsatisfied_share}'")
    start_notifier(start_bin, demo_db, bus, kannel, **every_alert_alone(demo_db))
    b = tr.Branch(demo_db, BRANCH)
    (w1, n1), (w2, _), (w3, _) = b.windows[:3]
    staff = b.staff[0]
    now = datetime.datetime.now(datetime.timezone.utc)

    def ago(minutes):
        return now - datetime.timedelta(minutes=minutes)
    tr.commit_ratings(demo_db, b, [
        # window 1: 3 of 6 unsatisfied in the last 10 minutes: over the line
        (w1, staff, 4, ago(1)), (w1, staff, 4, ago(2)), (w1, staff, 4, ago(3)),
        (w1, staff, 1, ago(4)), (w1, staff, 1, ago(5)), (w1, staff, 2, ago(6)),
        # and older ones outside the window that would lower the share
        (w1, staff, 1, ago(30)), (w1, staff, 1, ago(31)), (w1, staff, 1, ago(32)),
        # window 2: 1 of 6, under the line
        (w2, staff, 4, ago(1)), (w2, staff, 1, ago(2)), (w2, staff, 1, ago(3)),
        (w2, staff, 1, ago(4)), (w2, staff, 2, ago(5)), (w2, staff, 1, ago(6)),
        # window 3: 3 of 3, too few ratings
        (w3, staff, 4, ago(1)), (w3, staff, 4, ago(2)), (w3, staff, 4, ago(3))])
    wait_for(lambda: caught_up(demo_db), 20)
    wait_for(lambda: alerts(demo_db) == [(f"window:{w1}", "open")], 10)
    wait_for(lambda: len(messages(kannel)) == 2, 20)       # branch and region
    text = f"上海浦东支行{n1}号窗口 近10分钟不满意3/6 (50.0%)"
    assert sorted(messages(kannel)) == [("+8613800000001", text), ("+8613800000002", text)]
    # still over the line: no second alert
    tr.commit_ratings(demo_db, b, [(w1, staff, 4, ago(0.5))])
    wait_for(lambda: caught_up(demo_db), 20)
    wait_for(lambda: q(demo_db, "SELECT count(*) FROM alert_event WHERE kind = 'opened'")
             == [(1,)], 5)
    # satisfied customers bring it under the line: resolved by itself
    tr.commit_ratings(demo_db, b, [(w1, staff, 1, ago(0.2))] * 10)
    wait_for(lambda: alerts(demo_db) == [(f"window:{w1}", "resolved")], 10)
    (actor, note), = q(demo_db, """SELECT actor, note FROM alert_event
                                   WHERE kind = 'resolved'""")
    assert actor == "sms-notifier" and note.startswith("已恢复：近10分钟评价17次，不满意4次")
    # a new bad run: a new alert, the old one stays resolved
    tr.commit_ratings(demo_db, b, [(w1, staff, 4, ago(0.1))] * 12)
    wait_for(lambda: alerts(demo_db) == [(f"window:{w1}", "resolved"),
                                         (f"window:{w1}", "open")], 10)


def test_a_device_offline_too_long_opens_an_alert_until_it_is_back(demo_db, bus, start_bin,
                                                                   kannel):
    configure(demo_db)
    q(demo_db, """INSERT INTO alert_rule (node_id, kind, template, params)
                  VALUES (%s, 'device_offline', '{branch}{window}号窗口 {serial} 离线{minutes}分钟',
                          '{"minutes": 5}')""", node(demo_db, "hq"))
    q(demo_db, "UPDATE alert_recipient SET kinds = '{device_offline}'")
    (serial, window, number), = q(demo_db, """
        SELECT d.serial, w.id, w.number FROM device d JOIN service_window w ON w.id = d.window_id
        JOIN org_node n ON n.id = w.node_id WHERE n.path = %s::ltree
        ORDER BY w.number LIMIT 1""", BRANCH)

    def status(state, minutes_ago):
        q(demo_db, """INSERT INTO device_status (serial, status, window_id, branch_path,
                                                 gateway, since)
                      VALUES (%s, %s, %s, %s::ltree, 'device-gateway.b0001',
                              now() - make_interval(mins => %s))
                      ON CONFLICT (serial) DO UPDATE SET status = EXCLUDED.status,
                                                         since = EXCLUDED.since""",
          serial, state, window, BRANCH, minutes_ago)
    status("offline", 2)            # not long enough yet
    start_notifier(start_bin, demo_db, bus, kannel, **every_alert_alone(demo_db))
    time.sleep(3)
    assert q(demo_db, "SELECT count(*) FROM alert") == [(0,)]
    status("offline", 7)
    wait_for(lambda: q(demo_db, "SELECT kind, facts->>'member', state FROM alert") ==
             [("device_offline", f"device:{serial}", "open")], 10)
    wait_for(lambda: len(messages(kannel)) == 2, 20)
    assert {t for _, t in messages(kannel)} == {f"上海浦东支行{number}号窗口 {serial} 离线7分钟"}
    status("online", 0)
    wait_for(lambda: q(demo_db, "SELECT state FROM alert") == [("resolved",)], 10)
    assert q(demo_db, "SELECT note FROM alert_event WHERE kind = 'resolved'") == [
        (f"已恢复：设备{serial}已重新上线",)]


def test_a_rule_with_wrong_params_is_refused_with_its_reason(demo_db):
    """A typo in a threshold rule's params is refused when it is written,
    naming the member, instead of breaking every threshold alert later."""
    import psycopg2
    import pytest
    hq = node(demo_db, "hq")
    for kind, params, says in (
            ("unsatisfied_share", '{"share_pct": "thirty"}', '"share_pct" must be a number'),
            ("unsatisfied_share", '{"share_pct": 130}', '"share_pct" must be a number'),
            ("unsatisfied_share", '{"min_ratings": 2.5}', '"min_ratings" must be a whole'),
            ("unsatisfied_share", '{"scopes": ["desk"]}', '"scopes" must be a list'),
            ("unsatisfied_share", '{"scopes": []}', '"scopes" must be a list'),
            ("unsatisfied_share", '{"minuts": 10}', 'unknown member "minuts"'),
            ("device_offline", '{"minutes": 0}', '"minutes" must be a whole number'),
            ("unsatisfied_rating", '{"minutes": 5}', 'unknown member "minutes"')):
        with pytest.raises(psycopg2.Error) as e:
            q(demo_db, """INSERT INTO alert_rule (node_id, kind, template, params)
                          VALUES (%s, %s, 'x', %s::jsonb)""", hq, kind, params)
        demo_db.rollback()
        assert says in str(e.value) and e.value.pgcode == "22023", (params, str(e.value))
    q(demo_db, """INSERT INTO alert_rule (node_id, kind, template, params)
                  VALUES (%s, 'device_offline', 'x', '{"minutes": 15}')""", hq)
