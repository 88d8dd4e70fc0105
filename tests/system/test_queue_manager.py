"""queue-manager end to end: real PostgreSQL, Redis, forwarder and the
service, driven through its ROUTER like a kiosk or a teller's console."""
import json
import time

import psycopg2
import pytest

from conftest import BusClient, wait_for
from qm_client import BRANCH, Client, start_qm


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


def test_malformed_request_gets_a_reason(qm):
    r = qm.raw(b"{not json")
    assert r["ok"] is False and r["error"] == "malformed" and r["id"] is None
    r = qm.call("window.call_next", window=1, extra=1)
    assert r["ok"] is False and r["error"] == "malformed" and "extra" in r["reason"]
    r = qm.call("ticket.issue", service=1, branch="hq.nowhere")
    assert r["ok"] is False and r["error"] == "unknown_branch"
