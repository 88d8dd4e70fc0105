"""Kannel with its fake SMSC, as the SMS notifier will meet it: what arrives at
the SMSC for a sendsms request (UCS-2, concatenated parts), which delivery
reports Kannel calls back, how an inbound message reaches the notifier, and
what sendsms answers while the SMSC link or the gateway is down.
docs/development.md ("Kannel in tests and make run") sums up the findings."""
import time

import pytest
import requests

from conftest import wait_for
from servers import Concat

PHONE = "13800138000"
SERVICE = "95588"
TEXT_20 = "您好请到三号窗口办理业务谢谢您的耐心等待"
TEXT_150 = "尊敬的客户您好您的号码A123已被叫到请前往三号窗口办理业务" * 5


def sendsms(kannel, text, **params):
    """A sendsms GET as the notifier makes it; returns (status, body)."""
    params = dict(kannel.credentials(), to=PHONE, text=text, **params)
    params["from"] = SERVICE
    r = requests.get(kannel.sendsms_url(), params=params, timeout=10)
    return r.status_code, r.text


def ucs2(**params):
    return dict(coding=2, charset="UTF-8", **params)


def parts_of(kannel, count):
    """The first `count` messages the fake SMSC got, once their text is known."""
    def ready():
        got = kannel.received()
        return got[:count] if len(got) >= count and all(
            m.text is not None for m in got[:count]) else None
    return wait_for(ready)


def dlr_url(recorder, ref="n1"):
    """ref: the sender's own id of the message, which comes back as it is.
    %d type, %F the SMSC's message id, %p the phone, %P our sender number,
    %A the SMSC's answer."""
    return (recorder.url("/dlr") + f"?ref={ref}"
            + "&type=%d&msgid=%F&phone=%p&service=%P&answer=%A")


def test_ucs2_text_arrives_exactly(kannel):
    assert len(TEXT_20) == 20
    assert sendsms(kannel, TEXT_20, **ucs2()) == (202, "0: Accepted for delivery")
    [sms] = parts_of(kannel, 1)
    assert (sms.sender, sms.receiver, sms.coding, sms.udh) == (SERVICE, PHONE, 2, None)
    assert sms.text == TEXT_20
    assert sms.data == TEXT_20.encode("utf-16-be")


def test_sendsms_refuses_a_request_without_sender_or_with_a_wrong_password(kannel):
    params = dict(kannel.credentials(), to=PHONE, text="x")
    r = requests.get(kannel.sendsms_url(), params=params, timeout=10)
    assert (r.status_code, r.text) == (400, "Sender missing and no global set, rejected")
    params.update({"from": SERVICE, "password": "wrong"})
    r = requests.get(kannel.sendsms_url(), params=params, timeout=10)
    assert (r.status_code, r.text) == (403, "Authorization failed for sendsms")
    time.sleep(0.5)
    assert kannel.received() == []


def test_chinese_without_ucs2_coding_arrives_as_question_marks(kannel):
    # coding 0 (the default) is the GSM alphabet: Kannel replaces what it
    # cannot represent and still answers 202. The notifier must send coding=2.
    assert sendsms(kannel, "您好谢谢", charset="UTF-8") == (202, "0: Accepted for delivery")
    [sms] = parts_of(kannel, 1)
    assert (sms.coding, sms.text) == (0, "????")


def test_long_ucs2_text_arrives_as_three_concatenated_parts(kannel):
    assert len(TEXT_150) == 150
    assert sendsms(kannel, TEXT_150, **ucs2()) == (202, "0: Accepted for delivery")
    parts = parts_of(kannel, 3)
    ref = parts[0].concat.ref
    assert [p.concat for p in parts] == [Concat(ref, 3, i) for i in (1, 2, 3)]
    # 6-byte UDH: length 5, IE 0x00 (8-bit reference), IE length 3, ref, total, index
    assert [p.udh for p in parts] == [bytes([5, 0, 3, ref, 3, i]) for i in (1, 2, 3)]
    assert [p.coding for p in parts] == [2, 2, 2]
    assert [len(p.text) for p in parts] == [67, 67, 16]
    assert "".join(p.text for p in sorted(parts, key=lambda p: p.concat.index)) == TEXT_150
    assert len(kannel.received()) == 3


def test_text_beyond_max_messages_is_cut_off_silently(kannel_factory):
    kannel = kannel_factory(max_messages=2)
    text = "一二三四五六七八九十" * 20
    assert sendsms(kannel, text, **ucs2()) == (202, "0: Accepted for delivery")
    parts = parts_of(kannel, 2)
    assert "".join(p.text for p in parts) == text[:134]
    time.sleep(1)
    assert len(kannel.received()) == 2


def test_delivery_reports_are_smsc_accepted_and_delivered(kannel, http_recorder):
    assert sendsms(kannel, "A123 please go to window 3", **{
        "dlr-mask": 31, "dlr-url": dlr_url(http_recorder, "n42")}) == \
        (202, "0: Accepted for delivery")
    got = http_recorder.wait(2, "/dlr")
    time.sleep(1)   # nothing else follows: no 2, 4 or 16 from the fake SMSC
    dlrs = {r.query["type"]: r.query for r in http_recorder.requests("/dlr")}
    assert len(got) == len(http_recorder.requests("/dlr")) == 2
    assert sorted(dlrs) == ["1", "8"]
    assert dlrs["8"]["answer"] == "ACK/"
    assert dlrs["1"]["answer"] == ""
    assert {(d["ref"], d["phone"], d["service"]) for d in dlrs.values()} == \
        {("n42", PHONE, SERVICE)}
    # Kannel's own message id is no key: empty in the 8 of a single message
    assert (dlrs["8"]["msgid"], dlrs["1"]["msgid"] != "") == ("", True)


def test_delivery_reports_of_a_concatenated_message_are_one_per_message(kannel, http_recorder):
    assert sendsms(kannel, TEXT_150, **ucs2(**{
        "dlr-mask": 31, "dlr-url": dlr_url(http_recorder)})) == (202, "0: Accepted for delivery")
    parts_of(kannel, 3)
    http_recorder.wait(2, "/dlr")
    time.sleep(1)
    # 8 once every part is with the SMSC; 1 is the first part's report only
    assert sorted(r.query["type"] for r in http_recorder.requests("/dlr")) == ["1", "8"]


def test_inbound_message_reaches_the_sms_service_url(kannel_factory, http_recorder):
    kannel = kannel_factory(inbound_url=http_recorder.url("/sms/inbound"))
    kannel.inject(PHONE, SERVICE, "取消 预约 A123")
    kannel.inject(PHONE, SERVICE, "TD  1")
    first, second = http_recorder.wait(2, "/sms/inbound")
    assert first.method == "GET"
    assert {k: first.query[k] for k in ("from", "to", "text", "coding", "charset", "smsc")} == {
        "from": PHONE, "to": SERVICE, "text": "取消 预约 A123", "coding": "0",
        "charset": "UTF-8", "smsc": "fake-mo"}
    assert (second.query["text"], second.query["charset"]) == ("TD  1", "UTF-8")
    assert first.query["id"] != second.query["id"]
    assert abs(int(first.query["time"]) - time.time()) < 60


def test_inbound_request_is_retried_with_the_same_id_until_answered_200(kannel_factory,
                                                                        http_recorder):
    kannel = kannel_factory(inbound_url=http_recorder.url("/sms/inbound"), http_retry=(3, 1))
    http_recorder.answer(500, 204)
    kannel.inject(PHONE, SERVICE, "1")
    got = http_recorder.wait(3, "/sms/inbound")
    time.sleep(1.5)
    assert len(http_recorder.requests("/sms/inbound")) == 3
    assert len({r.path for r in got}) == 1


def test_smsc_link_down_queues_and_delivers_on_reconnect(kannel, http_recorder):
    kannel.stop_smsc()
    assert sendsms(kannel, "queued while the link is down", **{
        "dlr-mask": 31, "dlr-url": dlr_url(http_recorder)}) == \
        (202, "3: Queued for later delivery")
    time.sleep(1)
    assert kannel.received() == [] and http_recorder.requests() == []
    kannel.start_smsc()
    [sms] = parts_of(kannel, 1)
    assert sms.text == "queued while the link is down"
    assert sorted(r.query["type"] for r in http_recorder.wait(2, "/dlr")) == ["1", "8"]


def test_gateway_down_refuses_and_the_queue_survives_a_restart(kannel):
    kannel.stop_smsc()
    assert sendsms(kannel, "queued before the stop", **ucs2()) == \
        (202, "3: Queued for later delivery")
    kannel.stop_gateway()
    with pytest.raises(requests.ConnectionError):
        sendsms(kannel, "while the gateway is down")
    kannel.start_gateway()
    [sms] = parts_of(kannel, 1)
    assert sms.text == "queued before the stop"
    time.sleep(1)
    assert len(kannel.received()) == 1


def test_bearerbox_crash_closes_sendsms_and_the_queue_survives(kannel):
    kannel.stop_smsc()
    assert sendsms(kannel, "queued before the crash") == (202, "3: Queued for later delivery")
    kannel.stop_gateway(crash=True)

    def refused():
        try:
            sendsms(kannel, "during the crash")
        except requests.ConnectionError:
            return True
        return False
    wait_for(refused, timeout=5)
    kannel.start_gateway()
    [sms] = parts_of(kannel, 1)
    assert sms.text == "queued before the crash"
