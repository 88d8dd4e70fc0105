"""Opening hours in system tests (test_opening_hours.py, test_sms_customer.py,
tests/browser/test_hall.py): weeks in the API's form, written as web-api
writes them, and the local times a test needs (Asia/Shanghai, the demo
branches' zone)."""
import datetime
import time
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# a government hall: a lunch break on working days, Saturday mornings
HALL = {d: [{"opens": "08:30", "closes": "12:00"}, {"opens": "13:30", "closes": "17:00"}]
        for d in DAYS[:5]}
HALL.update(sat=[{"opens": "09:00", "closes": "12:00"}], sun=[])
CLOSED_WEEK = {d: [] for d in DAYS}


def q(db, sql, *args):
    with db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None


def node(db, path):
    return q(db, "SELECT id FROM org_node WHERE path = %s::ltree", path)[0][0]


def in_force(db, path):
    return q(db, "SELECT opening_hours_in_force(%s)", node(db, path))[0][0]


def utc(local):
    """A local datetime as the API's and the protocol's times."""
    return local.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def set_week(db, path, week, cutoff=None):
    """Sets a node's own week (and cut-off) as web-api writes them."""
    n = node(db, path)
    q(db, """INSERT INTO opening_hours (node_id, own_week, issue_cutoff_min) VALUES (%s, true, %s)
             ON CONFLICT (node_id) DO UPDATE SET own_week = true,
             issue_cutoff_min = EXCLUDED.issue_cutoff_min""", n, cutoff)
    q(db, "DELETE FROM opening_session WHERE node_id = %s", n)
    for i, day in enumerate(DAYS):
        for s in week[day]:
            q(db, "INSERT INTO opening_session VALUES (%s, %s, %s, %s)", n, i + 1, s["opens"],
              s["closes"])


def next_monday(hour, minute):
    """The next Monday (a week on when today is one) at local hour:minute."""
    now = datetime.datetime.now(SH)
    days = (7 - now.weekday()) % 7 or 7
    return (now + datetime.timedelta(days=days)).replace(hour=hour, minute=minute, second=0,
                                                        microsecond=0)


def past_midnight_edge():
    """The local time now, out of the last two minutes of a day (a test
    that sets the hours of today must not see the day change under it)."""
    now = datetime.datetime.now(SH)
    midnight = (now + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                          microsecond=0)
    if (midnight - now).total_seconds() < 120:
        time.sleep((midnight - now).total_seconds() + 2)
        now = datetime.datetime.now(SH)
    return now


def stopped_week(now):
    """A week in which issuing stopped a moment ago: today's one session
    closes within the cut-off (30 minutes), tomorrow's is 08:00-17:00, the
    other days are closed. With when issuing resumes (tomorrow 08:00)."""
    closes = (now + datetime.timedelta(minutes=11)).replace(second=0, microsecond=0)
    week = dict(CLOSED_WEEK)
    week[DAYS[now.weekday()]] = [{"opens": "00:00", "closes": "24:00" if closes.date() != now.date()
                                  else closes.strftime("%H:%M")}]
    week[DAYS[(now.weekday() + 1) % 7]] = [{"opens": "08:00", "closes": "17:00"}]
    resumes = (now + datetime.timedelta(days=1)).replace(hour=8, minute=0, second=0,
                                                         microsecond=0)
    return week, utc(resumes)
