"""Customer messages (issue 13, item 3; docs/alerts.md "Customer
messages"): a keyword texted to the branch's service number gets a ticket
from the real queue-manager and a reply SMS through the real Kannel; a
gateway retry of the same message issues no second ticket; an unknown
keyword gets the list of keywords; a phone over its daily limit is refused
once, then ignored; a ticket with a phone gets "your turn is near" and
"please go to window N" exactly once, across notifier restarts."""
import datetime
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import BusClient, wait_for
from notifier import BRANCH, messages, q, start_notifier
from openinghours import past_midnight_edge, set_week, stopped_week
from qm_client import Client, start_qm
from servers import free_port

PHONE = "13800138000"
E164 = "+8613800138000"
NUMBER = "95588"


def sms_to(kannel, phone=E164):
    """The texts the fake SMSC got for `phone`, in order."""
    return [text for receiver, text in messages(kannel)
            if receiver.lstrip("+") == phone.lstrip("+")]


@pytest.fixture
def world(demo_db, bus, start_bin, kannel_factory):
    """queue-manager, Kannel sending to the fake SMSC and passing inbound SMS
    to the notifier, and the notifier; the demo branch answers 95588."""
    _, endpoint, _ = start_qm(start_bin, demo_db, bus)
    port = free_port()
    kannel = kannel_factory(inbound_url=f"http://127.0.0.1:{port}/sms/inbound")
    q(demo_db, """INSERT INTO sms_branch (branch_id, service_number)
                  SELECT id, %s FROM org_node WHERE path = %s
                  ON CONFLICT (branch_id) DO UPDATE SET service_number = EXCLUDED.service_number""",
      NUMBER, BRANCH)

    class World:
        db = demo_db
        qm_endpoint = endpoint

        def start(self):
            self.notifier = start_notifier(start_bin, demo_db, bus, kannel=kannel,
                                           callback_port=port, EQMS_QM_ENDPOINT=endpoint)
            return self.notifier

        def inbound(self, msg_id, sender=PHONE, to=NUMBER, text="A", **extra):
            """Calls the inbound endpoint as Kannel does; (status, body)."""
            args = {"from": sender, "to": to, "text": text, "coding": "0",
                    "charset": "UTF-8", "smsc": "fake-mo", "time": str(int(time.time())),
                    "id": msg_id}
            args.update(extra)
            query = "&".join(f"{k}={v if isinstance(v, bytes) else urllib.parse.quote(v)}"
                             for k, v in args.items() if v is not None)
            url = f"http://127.0.0.1:{port}/sms/inbound?{query}"
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()

    w = World()
    w.kannel = kannel
    w.start()
    return w


def sms_tickets(db):
    return q(db, """SELECT number, phone, est_position, est_wait_s FROM ticket
                    WHERE actor LIKE 'sms:%%' ORDER BY issued_at""")


def issued_text(db, number, position, wait_s):
    (name,), = q(db, "SELECT name FROM org_node WHERE path = %s", BRANCH)
    minutes = (wait_s + 59) // 60 if wait_s > 0 else 0
    return (f"【{name}】取号成功：您的号码{number}，前面还有{position}位，预计等候约{minutes}分钟，"
            f"叫号时将短信通知您。Ticket {number}: {position} ahead, about {minutes} min.")


def test_a_keyword_gets_a_ticket_and_its_reply(world):
    db, kannel = world.db, world.kannel
    kannel.inject(PHONE, NUMBER, "a")                  # lower case
    tickets = wait_for(lambda: sms_tickets(db), timeout=20)
    assert len(tickets) == 1
    number, phone, position, wait_s = tickets[0]
    assert phone == E164 and number.startswith("A")
    want = issued_text(db, number, position, wait_s)
    assert wait_for(lambda: sms_to(kannel), timeout=20) == [want]
    # a full-width letter, from another phone, arrives as UCS-2
    kannel.inject("13900139000", NUMBER, "\uff22")     # Ｂ
    wait_for(lambda: len(sms_tickets(db)) == 2, timeout=20)
    (number2, _, pos2, wait2) = sms_tickets(db)[1]
    assert number2.startswith("B")
    assert wait_for(lambda: sms_to(kannel, "+8613900139000"), timeout=20) == [
        issued_text(db, number2, pos2, wait2)]
    assert q(db, "SELECT state, keyword FROM sms_inbound ORDER BY received_at") == [
        ("issued", "A"), ("issued", "B")]


def test_a_retry_of_the_same_message_issues_one_ticket(world):
    db, kannel = world.db, world.kannel
    assert world.inbound("kannel-1") == (200, "ok done\n")
    assert world.inbound("kannel-1") == (200, "ok issued\n")
    assert world.inbound("kannel-1", text="B") == (200, "ok issued\n")
    assert len(sms_tickets(db)) == 1
    wait_for(lambda: sms_to(kannel), timeout=20)
    time.sleep(1)
    assert len(sms_to(kannel)) == 1
    assert q(db, "SELECT count(*) FROM sms_outbox") == [(1,)]


def test_malformed_requests_are_refused_and_change_nothing(world):
    db = world.db
    cases = [dict(sender="alice"), dict(sender="12800138000"), dict(sender=None),
             dict(text=None), dict(msg_id="x y"), dict(text=b"%FF%FE"),
             dict(to="9x"), dict(extra="1")]
    for i, case in enumerate(cases):
        msg_id = case.pop("msg_id", f"bad-{i}")
        status, body = world.inbound(msg_id, **case)
        assert status == 400, (case, body)
    # repeated argument
    url = (f"http://127.0.0.1:{world.notifier.callback_port}/sms/inbound?from={PHONE}"
           f"&to={NUMBER}&text=A&id=r1&id=r2")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url, timeout=10)
    assert e.value.code == 400
    # a service number no branch has: nothing, and no reply
    assert world.inbound("unknown-number", to="10086") == (200, "ok ignored\n")
    assert q(db, "SELECT count(*) FROM sms_inbound") == [(0,)]
    assert q(db, "SELECT count(*) FROM sms_outbox") == [(0,)]
    assert sms_tickets(db) == []
    log = world.notifier.log()
    assert "sms_inbound_refused" in log and "from is not a phone number" in log


def test_an_unknown_keyword_gets_the_list_of_keywords(world):
    db, kannel = world.db, world.kannel
    kannel.inject(PHONE, NUMBER, "hello there")
    texts = wait_for(lambda: sms_to(kannel), timeout=20)
    assert len(texts) == 1
    assert "未能识别" in texts[0] and "A 个人存取款" in texts[0] and "B 对公开户" in texts[0]
    assert sms_tickets(db) == []
    assert q(db, "SELECT state, keyword FROM sms_inbound") == [("unknown_keyword", "HELLO")]


def test_over_the_daily_limit_one_refusal_then_silence(world):
    db, kannel = world.db, world.kannel
    q(db, "UPDATE sms_branch SET daily_limit = 2 WHERE service_number = %s", NUMBER)
    for i in range(5):
        assert world.inbound(f"limit-{i}")[0] == 200
    assert len(sms_tickets(db)) == 2
    texts = wait_for(lambda: len(sms_to(kannel)) >= 3 and sms_to(kannel), timeout=20)
    time.sleep(1)
    texts = sms_to(kannel)
    assert len(texts) == 3
    assert "已达2次上限" in texts[2]
    assert [s for (s,) in q(db, "SELECT state FROM sms_inbound ORDER BY received_at")] == [
        "issued", "issued", "over_limit", "over_limit_silent", "over_limit_silent"]


@pytest.mark.real_zones
def test_a_ticket_asked_for_past_the_cut_off_is_told_when_tickets_resume(world, bus):
    """queue-manager refuses the ticket (issuing_stopped, resuming tomorrow
    at 08:00): the customer is told so, in the branch's local time."""
    db, kannel = world.db, world.kannel
    now = past_midnight_edge()
    week, _ = stopped_week(now)
    set_week(db, BRANCH, week)
    qm, notify = Client(world.qm_endpoint), BusClient(bus)

    def stopped():
        notify.publish("registry.snapshot", BRANCH, {"branch": BRANCH})
        return qm.call("ticket.issue", service_code="cash").get("error") == "issuing_stopped"
    wait_for(stopped, timeout=10, interval=0.2)
    kannel.inject(PHONE, NUMBER, "A")
    texts = wait_for(lambda: sms_to(kannel), timeout=20)
    (name,), = q(db, "SELECT name FROM org_node WHERE path = %s", BRANCH)
    tomorrow = now + datetime.timedelta(days=1)
    assert texts == [f"【{name}】抱歉，本网点今日已停止取号，{tomorrow.month}月{tomorrow.day}日 08:00"
                     f"恢复取号。No more tickets today; again from {tomorrow.date()} 08:00."]
    assert sms_tickets(db) == []
    assert q(db, "SELECT state, reason FROM sms_inbound") == [("refused", "issuing_stopped")]


def test_turn_near_and_go_to_window_once_across_restarts(world):
    db, kannel = world.db, world.kannel
    c = Client(world.qm_endpoint)
    (service,), = q(db, "SELECT id FROM service WHERE code = 'cash'")
    for _ in range(5):
        assert c.call("ticket.issue", service=service)["ok"]
    r = c.call("ticket.issue", service=service, phone=PHONE)
    assert r["ok"] and r["position"] == 5, r
    number = r["ticket"]["number"]
    (window, window_no), = q(db, """SELECT w.id, w.number FROM service_window w
        JOIN org_node n ON n.id = w.node_id WHERE n.path = %s ORDER BY w.number LIMIT 1""",
                             BRANCH)
    (teller,), = q(db, """SELECT s.id FROM staff s JOIN org_node n ON n.id = s.node_id
        WHERE n.path = %s AND s.active ORDER BY s.id LIMIT 1""", BRANCH)
    assert c.call("window.open", window=window)["ok"]
    assert c.call("window.login", window=window, staff=teller)["ok"]
    assert c.call("window.call_next", window=window)["ok"]      # 4 ahead
    time.sleep(1)
    assert sms_to(kannel) == []
    assert c.call("window.call_next", window=window)["ok"]      # 3 ahead: near
    (name,), = q(db, "SELECT name FROM org_node WHERE path = %s", BRANCH)
    near = (f"【{name}】您的号码{number}前面还有3位，请回到网点等候叫号。"
            f"Ticket {number}: 3 ahead, your turn is near.")
    assert wait_for(lambda: sms_to(kannel), timeout=20) == [near]

    world.notifier.stop()
    for _ in range(4):                                           # ... called
        r = c.call("window.call_next", window=window)
        assert r["ok"], r
    assert r["ticket"]["number"] == number
    world.start()
    called = (f"请{number}号到{window_no}号窗口办理业务【{name}】。"
              f"Ticket {number}, please go to window {window_no}.")
    assert wait_for(lambda: len(sms_to(kannel)) == 2 and sms_to(kannel), timeout=20) == [
        near, called]

    # a replay from an earlier position sends nothing again
    world.notifier.stop()
    q(db, "UPDATE sms_cursor SET position = 0 WHERE source = 'ticket_event'")
    world.start()
    wait_for(lambda: q(db, """SELECT bool_and(c.position = h.seq) FROM ticket_branch_head h
        JOIN sms_cursor c ON c.source = 'ticket_event' AND c.stream = h.branch_id::text""")
             == [(True,)], timeout=20)
    time.sleep(1)
    assert sms_to(kannel) == [near, called]
    assert q(db, "SELECT kind FROM sms_notice ORDER BY kind") == [("called",), ("near",)]
    c.close()
