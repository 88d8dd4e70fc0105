"""Alerts on the live hall and praise (issue 13, item 1; docs/alerts.md,
"The live hall" and "Praise"): a queue with too many waiting or waiting too
long, a window idle or paused while customers wait for it, a service past
its standard time; each opens one alert with its SMS through a real Kannel
and resolves by itself when it clears; a state that is not fresh changes
nothing. A teller's five-star grade is told once per period and never
reminded. The live state is queue-manager's branch.state reply as the
notifier keeps it in alert_live: most tests write it themselves (a
notifier without EQMS_QM_ENDPOINT does not read it), the last one reads it
from the real queue-manager."""
import datetime
import json
import time

import pytest

from conftest import wait_for
from notifier import BRANCH, configure, every_alert_alone, messages, node, q, start_notifier
from qm_client import Client, start_qm

BRANCH_PHONE = "+8613800000001"
REGION_PHONE = "+8613800000002"


def utc(minutes_ago=0.0):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=minutes_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def hall(db):
    """The demo branch: its id, name, two windows (id, number), a teller
    (id, "name(employee_no)"), a queue (id, prefix, name) and one of its
    services (id, name)."""
    (branch, name), = q(db, "SELECT id, name FROM org_node WHERE path = %s", BRANCH)
    windows = q(db, "SELECT id, number FROM service_window WHERE node_id = %s ORDER BY number "
                    "LIMIT 2", branch)
    (staff, teller), = q(db, "SELECT id, name || '(' || employee_no || ')' FROM staff "
                             "WHERE node_id = %s ORDER BY id LIMIT 1", branch)
    (queue, prefix, qname, service, sname), = q(db, """
        SELECT qu.id, qu.prefix, qu.name, s.id, s.name FROM service s
        JOIN queue qu ON qu.id = s.queue_id WHERE s.code = 'cash'""")
    return {"id": branch, "name": name, "windows": windows, "staff": staff, "teller": teller,
            "queue": (queue, prefix, qname), "service": (service, sname)}


def window(w, state="open", staff=None, since=None, waiting=0, current=None, service=None,
           started=None, pause_reason=None):
    """A window object of branch.state (docs/protocol.md)."""
    return {"id": w[0], "number": w[1], "name": f"{w[1]}号窗口", "state": state,
            "pause_reason": pause_reason if state == "paused" else None, "staff": staff,
            "current": current, "parked": 0, "transferred": 0, "profile": "",
            "since": since, "waiting": waiting, "service": service,
            "called": started, "started": started}


def set_live(db, h, queues=(), windows=(), read_ago_s=0):
    """The branch's live state as the notifier keeps it, read `read_ago_s` ago."""
    state = {"v": 1, "id": "t", "ok": True, "events": 0, "branch": BRANCH,
             "day": utc()[:10], "queues": list(queues), "windows": list(windows),
             "display": []}
    q(db, """INSERT INTO alert_live (branch_id, read_at, state)
             VALUES (%s, now() - make_interval(secs => %s), %s::jsonb)
             ON CONFLICT (branch_id) DO UPDATE SET read_at = excluded.read_at,
                                                   state = excluded.state""",
      h["id"], read_ago_s, json.dumps(state))


def queue(h, waiting, oldest):
    qid, prefix, _ = h["queue"]
    return {"id": qid, "prefix": prefix, "waiting": waiting, "next_number": 1,
            "oldest": oldest}


def rule(db, kind, params, template):
    q(db, "DELETE FROM alert_rule WHERE kind = 'unsatisfied_rating'")
    q(db, """INSERT INTO alert_rule (node_id, kind, template, params)
             VALUES (%s, %s, %s, %s::jsonb)""", node(db, "hq"), kind, template, json.dumps(params))
    q(db, "UPDATE alert_recipient SET kinds = %s", [kind])


def alerts(db, kind):
    return q(db, """SELECT facts->>'member', state FROM alert WHERE kind = %s
                    ORDER BY raised_at""", kind)


def events(db, kind):
    return q(db, """SELECT e.kind, e.actor, e.note FROM alert_event e
                    JOIN alert a ON a.id = e.alert_id WHERE a.kind = %s
                    ORDER BY e.at, e.kind""", kind)


def texts(kannel, phone=BRANCH_PHONE):
    return [t for r, t in messages(kannel) if r == phone]


@pytest.fixture
def notifier(demo_db, bus, start_bin, kannel):
    """A notifier that does not read queue-manager: the tests write alert_live."""
    configure(demo_db)
    env = every_alert_alone(demo_db)

    def start():
        return start_notifier(start_bin, demo_db, bus, kannel, EQMS_QM_ENDPOINT="", **env)
    return start


def test_a_long_queue_opens_an_alert_that_clears_under_80_percent(demo_db, kannel, notifier):
    h = hall(demo_db)
    rule(demo_db, "queue_waiting", {"max_waiting": 10, "max_wait_minutes": 20},
         "{branch}{queue}等候{waiting}人 最长{longest}分钟 线{max_waiting}/{max_wait}")
    qid, prefix, qname = h["queue"]
    set_live(demo_db, h, [queue(h, 10, utc(19.5))])     # at the lines: nothing
    notifier()
    time.sleep(1.5)
    assert alerts(demo_db, "queue_waiting") == []
    set_live(demo_db, h, [queue(h, 11, utc(5))])        # one over the count
    wait_for(lambda: alerts(demo_db, "queue_waiting") == [(f"queue:{qid}", "open")], 10)
    wait_for(lambda: len(texts(kannel)) == 1 and len(texts(kannel, REGION_PHONE)) == 1, 20)
    assert texts(kannel) == [f"{h['name']}{prefix}队列({qname})等候11人 最长5分钟 线10/20"]
    assert texts(kannel, REGION_PHONE) == texts(kannel)
    # 9 waiting is under the line but over 80 %: still open, no second alert
    set_live(demo_db, h, [queue(h, 9, utc(5))])
    time.sleep(1.5)
    # a long wait with few waiting keeps it firing too
    set_live(demo_db, h, [queue(h, 2, utc(19))])
    time.sleep(1.5)
    assert alerts(demo_db, "queue_waiting") == [(f"queue:{qid}", "open")]
    set_live(demo_db, h, [queue(h, 8, utc(15.5))])       # both under 80 %: clears
    wait_for(lambda: alerts(demo_db, "queue_waiting") == [(f"queue:{qid}", "resolved")], 10)
    assert events(demo_db, "queue_waiting")[-1] == (
        "resolved", "sms-notifier", f"已恢复：{prefix}队列等候8人，最长等候15分钟")
    # the longest wait alone opens the next episode
    set_live(demo_db, h, [queue(h, 1, utc(21))])
    wait_for(lambda: len(alerts(demo_db, "queue_waiting")) == 2, 10)
    wait_for(lambda: len(texts(kannel)) == 2, 20)
    assert texts(kannel)[1] == f"{h['name']}{prefix}队列({qname})等候1人 最长21分钟 线10/20"


def test_a_state_that_is_not_fresh_changes_nothing(demo_db, kannel, notifier):
    h = hall(demo_db)
    rule(demo_db, "queue_waiting", {"max_waiting": 5}, "{queue} {waiting}")
    set_live(demo_db, h, [queue(h, 50, utc(1))], read_ago_s=31)
    notifier()
    wait_for(lambda: q(demo_db, "SELECT count(*) FROM alert_event") == [(0,)], 1)
    # as long as it is old, the long queue raises nothing ...
    assert q(demo_db, "SELECT count(*) FROM alert_threshold_members()") == [(0,)]
    set_live(demo_db, h, [queue(h, 50, utc(1))])
    wait_for(lambda: [s for _, s in alerts(demo_db, "queue_waiting")] == ["open"], 10)
    # ... and an empty queue in an old state resolves nothing
    set_live(demo_db, h, [queue(h, 0, None)], read_ago_s=60)
    assert q(demo_db, "SELECT count(*) FROM alert_threshold_members()") == [(0,)]
    time.sleep(1.5)
    assert [s for _, s in alerts(demo_db, "queue_waiting")] == ["open"]
    wait_for(lambda: len(texts(kannel)) == 1, 20)
    # the rule switched off: the open alert resolves whatever the state
    q(demo_db, "UPDATE alert_rule SET enabled = false WHERE kind = 'queue_waiting'")
    wait_for(lambda: [s for _, s in alerts(demo_db, "queue_waiting")] == ["resolved"], 10)


def test_an_idle_or_paused_window_with_customers_waiting_opens_an_alert(demo_db, kannel,
                                                                        notifier):
    h = hall(demo_db)
    (w1, n1), (w2, n2) = h["windows"]
    rule(demo_db, "window_idle", {"minutes": 5},
         "{branch}{window}号窗口{state}{minutes}分钟 等候{waiting}人 {teller}")
    staff = h["staff"]
    set_live(demo_db, h, windows=[
        window((w1, n1), staff=staff, since=utc(6), waiting=3),           # idle 6 min
        window((w2, n2), staff=None, since=utc(30), waiting=3),           # open, no teller
    ])
    notifier()
    wait_for(lambda: alerts(demo_db, "window_idle") == [(f"window:{w1}", "open")], 10)
    wait_for(lambda: len(texts(kannel)) == 1, 20)
    assert texts(kannel) == [f"{h['name']}{n1}号窗口空闲6分钟 等候3人 {h['teller']}"]
    # it calls someone: resolved with what happened
    set_live(demo_db, h, windows=[
        window((w1, n1), staff=staff, since=utc(0), waiting=2, current="A007",
               service=h["service"][0], started=utc(0))])
    wait_for(lambda: alerts(demo_db, "window_idle") == [(f"window:{w1}", "resolved")], 10)
    assert events(demo_db, "window_idle")[-1][2] == f"已恢复：{n1}号窗口已叫号A007"
    # paused for 4 minutes: not yet; for 5 with its reason: a new alert
    set_live(demo_db, h, windows=[
        window((w1, n1), state="paused", staff=staff, since=utc(4), waiting=2,
               pause_reason="午餐")])
    time.sleep(1.5)
    assert len(alerts(demo_db, "window_idle")) == 1
    set_live(demo_db, h, windows=[
        window((w1, n1), state="paused", staff=staff, since=utc(5), waiting=2,
               pause_reason="午餐")])
    wait_for(lambda: len(texts(kannel)) == 2, 20)
    assert texts(kannel)[1] == f"{h['name']}{n1}号窗口暂停(午餐)5分钟 等候2人 {h['teller']}"
    # nobody waits for it any more: resolved
    set_live(demo_db, h, windows=[
        window((w1, n1), state="paused", staff=staff, since=utc(9), waiting=0,
               pause_reason="午餐")])
    wait_for(lambda: [s for _, s in alerts(demo_db, "window_idle")] == ["resolved"] * 2, 10)
    assert events(demo_db, "window_idle")[-1][2] == f"已恢复：{n1}号窗口已无客户等候"
    # a rule that leaves paused windows alone
    q(demo_db, """UPDATE alert_rule SET params = '{"minutes": 5, "paused": false}'
                  WHERE kind = 'window_idle'""")
    set_live(demo_db, h, windows=[
        window((w1, n1), state="paused", staff=staff, since=utc(30), waiting=4)])
    assert q(demo_db, "SELECT count(*) FROM alert_threshold_members()") == [(0,)]


def test_a_service_past_its_standard_time_opens_an_alert_until_it_ends(demo_db, kannel,
                                                                       notifier):
    h = hall(demo_db)
    (w1, n1), (w2, n2) = h["windows"]
    service, sname = h["service"]
    rule(demo_db, "service_overrun", {"minutes": 20},
         "{branch}{window}号窗口{ticket}({service})已{minutes}分钟 标准{standard} {teller}")
    q(demo_db, "UPDATE service SET standard_s = 900 WHERE id = %s", service)
    staff = h["staff"]
    set_live(demo_db, h, windows=[
        # 16 minutes of a 15-minute service: over
        window((w1, n1), staff=staff, since=utc(16), current="A001", service=service,
               started=utc(16)),
        # 14 minutes: not yet
        window((w2, n2), staff=None, since=utc(14), current="A002", service=service,
               started=utc(14))])
    notifier()
    wait_for(lambda: alerts(demo_db, "service_overrun") == [(f"overrun:{w1}:A001", "open")],
             10)
    wait_for(lambda: len(texts(kannel)) == 1, 20)
    assert texts(kannel) == [f"{h['name']}{n1}号窗口A001({sname})已16分钟 标准15 {h['teller']}"]
    # without a standard of its own the rule's 20 minutes apply
    q(demo_db, "UPDATE service SET standard_s = NULL WHERE id = %s", service)
    wait_for(lambda: alerts(demo_db, "service_overrun")
             == [(f"overrun:{w1}:A001", "resolved")], 10)
    q(demo_db, "UPDATE service SET standard_s = 900 WHERE id = %s", service)
    # the next customer at the same window is another episode; the service
    # ending resolves it
    set_live(demo_db, h, windows=[
        window((w1, n1), staff=staff, since=utc(17), current="A003", service=service,
               started=utc(17))])
    wait_for(lambda: len(alerts(demo_db, "service_overrun")) == 2, 10)
    set_live(demo_db, h, windows=[window((w1, n1), staff=staff, since=utc(0))])
    wait_for(lambda: [s for _, s in alerts(demo_db, "service_overrun")] == ["resolved"] * 2,
             10)
    assert events(demo_db, "service_overrun")[-1][2] == "已恢复：A003号已办结"


def star(db, h, member, start_day, grade, rated, satisfied, subject="teller"):
    (period,), = q(db, "SELECT period FROM stats_star_rule_for(%s)", h["id"])
    q(db, """INSERT INTO stats_star_grade (subject, member, branch_id, period, start_day,
                                           grade, rated, satisfied)
             VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
             ON CONFLICT (subject, member, branch_id, period, start_day)
             DO UPDATE SET grade = excluded.grade, rated = excluded.rated,
                           satisfied = excluded.satisfied""",
      subject, member, h["id"], period, start_day, grade, rated, satisfied)


def test_a_tellers_five_star_grade_is_praised_once_per_period(demo_db, kannel, notifier):
    h = hall(demo_db)
    rule(demo_db, "five_star", {}, "{branch}{subject}{period}满意率{share}({rated}次) {first}五星")
    (this_month, last_month), = q(demo_db, """
        SELECT date_trunc('month', (now() AT TIME ZONE n.time_zone))::date,
               (date_trunc('month', (now() AT TIME ZONE n.time_zone)) - interval '1 month')::date
        FROM org_node n WHERE n.id = %s""", h["id"])
    staff = h["staff"]
    star(demo_db, h, staff, this_month, 4, 40, 38)
    star(demo_db, h, staff, last_month, 5, 50, 50)      # past periods are not told
    notifier()
    time.sleep(1.5)
    assert alerts(demo_db, "five_star") == []
    star(demo_db, h, staff, this_month, 5, 50, 49)
    member = f"teller:{staff}:3:{this_month}"
    wait_for(lambda: alerts(demo_db, "five_star") == [(member, "resolved")], 10)
    wait_for(lambda: len(texts(kannel)) == 1, 20)
    # five stars last month too: not the first
    assert texts(kannel) == [f"{h['name']}柜员{h['teller']}本月满意率98.0%(50次) 五星"]
    assert [e[0] for e in events(demo_db, "five_star")] == ["opened", "resolved"]
    # down to four and back to five in the same period: told once
    star(demo_db, h, staff, this_month, 4, 60, 57)
    star(demo_db, h, staff, this_month, 5, 70, 69)
    time.sleep(1.5)
    assert len(alerts(demo_db, "five_star")) == 1
    # a first five stars says so; windows only when the rule names them
    (other,), = q(demo_db, "SELECT id FROM staff WHERE id <> %s ORDER BY id LIMIT 1", staff)
    (other_text,), = q(demo_db, "SELECT name || '(' || employee_no || ')' FROM staff "
                                "WHERE id = %s", other)
    star(demo_db, h, other, this_month, 5, 30, 30)
    star(demo_db, h, h["windows"][0][0], this_month, 5, 30, 30, subject="window")
    wait_for(lambda: len(texts(kannel)) == 2, 20)
    assert texts(kannel)[1] == f"{h['name']}柜员{other_text}本月满意率100.0%(30次) 首次五星"
    assert len(alerts(demo_db, "five_star")) == 2
    # praise is never reminded
    q(demo_db, "UPDATE alert_rule SET remind_after_s = 1 WHERE kind = 'five_star'")
    time.sleep(6)
    assert q(demo_db, "SELECT count(*) FROM alert_event WHERE kind = 'reminded'") == [(0,)]


def test_new_rule_params_are_checked_when_written(demo_db):
    hq = node(demo_db, "hq")
    for kind, params, said in (
            ("queue_waiting", {"max_waiting": 0}, '"max_waiting" must be a whole number'),
            ("queue_waiting", {"max_wait": 5}, 'unknown member "max_wait"'),
            ("window_idle", {"paused": "no"}, '"paused" must be true or false'),
            ("service_overrun", {"minutes": 2.5}, '"minutes" must be a whole number'),
            ("five_star", {"subjects": ["branch"]}, '"subjects" must be a list')):
        with pytest.raises(Exception) as e:
            q(demo_db, "INSERT INTO alert_rule (node_id, kind, template, params) "
                       "VALUES (%s, %s, 'x', %s::jsonb)", hq, kind, json.dumps(params))
        demo_db.rollback()
        assert said in str(e.value)
    with pytest.raises(Exception) as e:
        q(demo_db, "UPDATE service SET standard_s = 30 WHERE code = 'cash'")
    demo_db.rollback()
    assert "service_standard_range" in str(e.value)


def test_the_live_state_is_read_from_queue_manager(demo_db, bus, start_bin, kannel):
    """The whole way: tickets issued at the real queue-manager make a long
    queue that the notifier reads (branch.state) and alerts on; calling
    them clears it; queue-manager stopped, the state goes stale and the
    alert stays as it is."""
    configure(demo_db)
    env = every_alert_alone(demo_db)
    h = hall(demo_db)
    qid, prefix, qname = h["queue"]
    rule(demo_db, "queue_waiting", {"max_waiting": 3}, "{queue}等候{waiting}人")
    qm, endpoint, _ = start_qm(start_bin, demo_db, bus)
    notifier = start_notifier(start_bin, demo_db, bus, kannel, EQMS_QM_ENDPOINT=endpoint,
                              EQMS_SMS_LIVE_MS="500", EQMS_SMS_QM_TIMEOUT_MS="300", **env)
    c = Client(endpoint)
    for _ in range(4):
        assert c.call("ticket.issue", service_code="cash")["ok"]
    wait_for(lambda: alerts(demo_db, "queue_waiting") == [(f"queue:{qid}", "open")], 15)
    wait_for(lambda: len(texts(kannel)) == 1, 20)
    assert texts(kannel) == [f"{prefix}队列({qname})等候4人"]
    (state,), = q(demo_db, "SELECT state FROM alert_live WHERE branch_id = %s", h["id"])
    (waiting,) = [e["waiting"] for e in state["queues"] if e["id"] == qid]
    assert waiting == 4
    # two called: 2 of 3 is under 80 %: resolved
    (w1, _), _ = h["windows"]
    assert c.call("window.login", window=w1, staff=h["staff"])["ok"]
    assert c.call("window.open", window=w1)["ok"]
    assert c.call("window.call_next", window=w1)["ok"]
    assert c.call("window.call_next", window=w1)["ok"]
    wait_for(lambda: alerts(demo_db, "queue_waiting") == [(f"queue:{qid}", "resolved")], 15)

    def window_read():
        (state,), = q(demo_db, "SELECT state FROM alert_live WHERE branch_id = %s", h["id"])
        return next(w for w in state["windows"] if w["id"] == w1)
    # what the window rules judge is read too: its customer and since when
    wait_for(lambda: window_read()["current"] is not None, 10)
    w = window_read()
    assert (w["state"], w["staff"], w["service"], w["started"]) == (
        "open", h["staff"], h["service"][0], None)
    assert w["since"] == w["called"] and w["waiting"] >= 2
    # three more: a new alert; then queue-manager goes away: nothing is
    # known, nothing resolves, however long the queue has been called down
    for _ in range(3):
        assert c.call("ticket.issue", service_code="cash")["ok"]
    wait_for(lambda: [s for _, s in alerts(demo_db, "queue_waiting")] == ["resolved", "open"],
             15)
    qm.stop()
    # the rule covers the demo's 4 branches: 3 timeouts end a pass
    wait_for(lambda: "event=live_states_skipped branches=1" in notifier.log(), 10)
    q(demo_db, """UPDATE alert_live SET read_at = now() - interval '1 minute',
                  state = jsonb_set(state, '{queues}', '[]')""")
    time.sleep(2)
    assert [s for _, s in alerts(demo_db, "queue_waiting")] == ["resolved", "open"]
    # no rule covers the branches any more: their states go (and the alert
    # resolves, whatever the state says)
    q(demo_db, "UPDATE alert_rule SET enabled = false WHERE kind = 'queue_waiting'")
    wait_for(lambda: q(demo_db, "SELECT count(*) FROM alert_live") == [(0,)], 10)
    wait_for(lambda: [s for _, s in alerts(demo_db, "queue_waiting")] == ["resolved"] * 2, 10)
    c.close()
