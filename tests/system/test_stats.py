"""stats-aggregator end to end: real PostgreSQL, forwarder, queue-manager
and the aggregator; figures read back from its tables and functions
(docs/statistics.md)."""
import pytest

from conftest import wait_for
from qm_client import BRANCH, Client, start_qm
from servers import free_port, wait_port


def q(db, sql, *args):
    with db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def start_stats(start_bin, db, bus, **extra):
    port = free_port()
    env = {"EQMS_PG_CONNINFO": db.conninfo, "EQMS_BUS_SUB": bus.xpub,
           "EQMS_HTTP_ADDRESS": "127.0.0.1", "EQMS_HTTP_PORT": str(port),
           "EQMS_STATS_POLL_MS": "200"}
    env.update({k: str(v) for k, v in extra.items()})
    proc = start_bin("stats-aggregator", env)
    wait_port(port, proc=proc.proc)
    return proc


@pytest.fixture
def qm(demo_db, bus, start_bin):
    proc, endpoint, http = start_qm(start_bin, demo_db, bus)
    client = Client(endpoint)
    yield client
    client.close()


def ok(reply):
    assert reply["ok"], reply
    return reply


def test_a_served_ticket_reaches_every_level(qm, demo_db, bus, start_bin):
    window = q(demo_db, """SELECT w.id FROM service_window w JOIN org_node n ON n.id = w.node_id
                           WHERE n.path = %s::ltree ORDER BY w.number LIMIT 1""", BRANCH)[0][0]
    staff = q(demo_db, """SELECT s.id FROM staff s JOIN org_node n ON n.id = s.node_id
                          WHERE n.path = %s::ltree AND s.active ORDER BY s.id LIMIT 1""",
              BRANCH)[0][0]
    service = q(demo_db, "SELECT id FROM service WHERE code = 'cash'")[0][0]
    ok(qm.call("window.open", window=window))
    ok(qm.call("window.login", window=window, staff=staff))
    ok(qm.call("ticket.issue", service=service))
    ok(qm.call("window.call_next", window=window))
    ok(qm.call("window.start", window=window))
    ok(qm.call("window.finish", window=window))
    stats = start_stats(start_bin, demo_db, bus)
    rows = wait_for(lambda: q(demo_db, """SELECT n.path::text, c.issued, c.served
        FROM stats_cell c JOIN org_node n ON n.id = c.node_id
        WHERE c.period = 1 AND c.dim = 0 AND c.served > 0 ORDER BY nlevel(n.path)"""), 20)
    assert [r[0] for r in rows] == ["hq", "hq.r01", "hq.r01.b0001"]
    assert all(r[1] == 1 and r[2] == 1 for r in rows)
    assert "level=error" not in stats.log()
    day = q(demo_db, "SELECT start_day::text FROM stats_cell WHERE period = 1 LIMIT 1")[0][0]
    for path in ("hq", "hq.r01", BRANCH):
        f = figures(demo_db, path, day, "2099-01-01")
        assert len(f) == 1 and f[0]["issued"] == 1 and f[0]["served"] == 1, f
        assert f[0]["pct_served"] == 1 and f[0]["wait_p90_s"] is not None
    by_day = figures(demo_db, BRANCH, day, "2099-01-01", "day")
    assert [r["grp"] for r in by_day] == [day]
    children = figures(demo_db, "hq", day, "2099-01-01", "child")
    assert [r["grp"] for r in children if r["served"]] == ["hq.r01"]


def figures(db, node_path, day_from, day_to, group="none"):
    with db.cursor() as cur:
        cur.execute("""SELECT f.* FROM org_node n, stats_figures(n.id, %s::date, %s::date, %s) f
                       WHERE n.path = %s::ltree""", (day_from, day_to, group, node_path))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]
