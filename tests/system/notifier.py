"""sms-notifier in system tests: starting it, its configuration, ratings
that raise alerts, the text an alert must have (made here from the tables)
and what the fake SMSC got."""
import datetime
import random

import stats_traffic as tr
from servers import free_port, wait_port

BRANCH = "hq.r01.b0001"


def q(db, sql, *args):
    with db.cursor() as cur:
        cur.execute(sql, args)
        rows = cur.fetchall() if cur.description else None
    db.commit()
    return rows


def start_notifier(start_bin, db, bus, kannel=None, callback_port=None, **env):
    """eqms-sms-notifier on free ports; with `kannel`, sending through it and
    asking for delivery reports at `callback_port` (proc.callback_port)."""
    port = free_port()
    callback_port = callback_port or free_port()
    full = {"EQMS_PG_CONNINFO": db.conninfo, "EQMS_BUS_SUB": bus.xpub,
            "EQMS_HTTP_ADDRESS": "127.0.0.1", "EQMS_HTTP_PORT": str(port),
            "EQMS_SMS_POLL_MS": "200", "EQMS_SMS_CALLBACK_PORT": str(callback_port),
            # the tests' ratings are hours old: not stale unless a test says so
            "EQMS_SMS_STALE_S": "86400",
            "EQMS_SMS_CALLBACK_URL": f"http://127.0.0.1:{callback_port}"}
    if kannel:
        creds = kannel.credentials()
        full.update({"EQMS_SMS_GATEWAY_URL": kannel.sendsms_url(),
                     "EQMS_SMS_GATEWAY_USER": creds["username"],
                     "EQMS_SMS_GATEWAY_PASSWORD": creds["password"],
                     "EQMS_SMS_RETRY_MS": "100", "EQMS_SMS_RETRY_MAX_MS": "1000"})
    full.update(env)
    proc = start_bin("sms-notifier", full)
    wait_port(port, proc=proc.proc)
    proc.callback_port = callback_port
    return proc


def caught_up(db):
    (behind,), = q(db, """SELECT count(*) FROM gateway_cursor g
                          LEFT JOIN sms_cursor c ON c.source = 'gateway'
                            AND c.stream = g.gateway || '/' || g.incarnation
                          WHERE coalesce(c.position, 0) < g.upto""")
    return behind == 0


def node(db, path):
    return q(db, "SELECT id FROM org_node WHERE path = %s::ltree", path)[0][0]


def configure(db):
    """A rule at head office; recipients: the branch's supervisor (allowed
    complaint details), the region's with subtree, head office's without
    (gets nothing of a branch); the demo's own rules and recipients go
    first. The unsatisfied option is labelled with its reason (态度差), a
    complaint's detail."""
    q(db, "DELETE FROM alert_rule")
    q(db, "DELETE FROM alert_recipient")
    q(db, "UPDATE rating_option SET label = '态度差' WHERE unsatisfied")
    q(db, """INSERT INTO alert_rule (node_id, kind, template) VALUES (%s, 'unsatisfied_rating',
             '{branch}{window}号窗口 {teller}({employee_no}) {time} 「{option}」 '
             '今日不满意{unsatisfied_today}/{rated_today} ({ratio_today})')""", node(db, "hq"))
    for path, phone, subtree in ((BRANCH, "+8613800000001", False),
                                 ("hq.r01", "+8613800000002", True),
                                 ("hq", "+8613800000003", False)):
        q(db, """INSERT INTO alert_recipient (node_id, name, phone, subtree, complaint_details)
                 VALUES (%s, '主管', %s, %s, %s)""", node(db, path), phone, subtree,
          path == BRANCH)


def expected_text(db, rating_id, details=True):
    """The rule's text for one rating, made here from the tables; without
    `details` (a recipient not allowed complaint details) the option reads
    不满意."""
    (branch, window, teller, emp, t, label, zone), = q(db, """
        SELECT b.name, w.number, s.name, s.employee_no, r.event_time, o.label, b.time_zone
        FROM rating r JOIN service_window w ON w.id = r.window_id
        JOIN org_node b ON b.id = w.node_id JOIN staff s ON s.id = r.staff_id
        JOIN effective_settings(b.id) e ON true
        JOIN rating_option o ON o.scale_id = e.rating_scale_id AND o.code = r.option_code
        WHERE r.id = %s""", rating_id)
    (local,), = q(db, "SELECT to_char(%s AT TIME ZONE %s, 'YYYY-MM-DD HH24:MI')", t, zone)
    (unsat, rated), = q(db, """SELECT count(*) FILTER (WHERE d.unsatisfied), count(*)
        FROM rating d, rating r WHERE r.id = %s AND d.staff_id = r.staff_id
        AND (d.event_time AT TIME ZONE %s)::date = (r.event_time AT TIME ZONE %s)::date
        AND d.event_time <= r.event_time""", rating_id, zone, zone)
    label = label if details else "不满意"
    return (f"{branch}{window}号窗口 {teller}({emp}) {local} 「{label}」 "
            f"今日不满意{unsat}/{rated} ({100.0 * unsat / rated:.1f}%)")


def messages(kannel):
    """(receiver, text) of every message the fake SMSC got, the parts of a
    concatenated one joined, in arrival order of their first part; a
    concatenated message whose parts have not all arrived yet is left out
    (a phone would not show it either), so a wait on it sees it whole."""
    whole, parts, totals = [], {}, {}
    for sms in kannel.received():
        text = sms.text if sms.text is not None else sms.data.decode("utf-16-be")
        if not sms.concat:
            whole.append((sms.receiver, text))
            continue
        ref, total, index = sms.concat
        got = parts.setdefault((sms.receiver, ref), {})
        if not got:
            whole.append(((sms.receiver, ref), None))
        got[index] = text
        totals[(sms.receiver, ref)] = total
    out = []
    for key, text in whole:
        if text is None:
            got = parts[key]
            if len(got) < totals[key]:
                continue
            text = "".join(got[i] for i in sorted(got))
            key = key[0]
        out.append((key, text))
    return out


def every_alert_alone(db):
    """No digests: every alert SMS goes on its own (the policy's limits off)."""
    q(db, "UPDATE alert_recipient SET max_per_hour = 3600")
    return {"EQMS_SMS_DIGEST_GAP_S": "0"}


def unsatisfied_ratings(db, seed, n):
    """About `n` ratings at the branch in the last hours, a third of them
    unsatisfied; returns the unsatisfied ones' ids."""
    rng = random.Random(seed)
    b = tr.Branch(db, BRANCH)
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=3)
    tr.device_facts(rng, db, b, start, 2, n, 0, 0, False)
    return [r for (r,) in q(db, "SELECT id::text FROM rating WHERE unsatisfied")]
