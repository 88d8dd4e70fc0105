"""The web console in a real headless Chromium against the real stack
(tests/browser/conftest.py): logging in, a wrong password and a lockout, the
forced password change, the live hall following a call and recovering from a
restart of web-api, the statistics page showing the API's figures, and the
language switch. Screenshots are kept in each test's tmp folder."""
import datetime
import os
import re
import shutil
import time
from decimal import ROUND_HALF_UP, Decimal

import requests

from conftest import system, system_module
from webapi import ADMIN_PASSWORD, USER_PASSWORD

BRANCH = "hq.r01.b0001"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# EQMS_SCREENSHOTS=1 copies a few screens into docs/screenshots (the README's come from
# make run: docker/local/screenshots.py)
KEEP = os.environ.get("EQMS_SCREENSHOTS") == "1"


def keep(path, name):
    if KEEP:
        shutil.copy(path, os.path.join(ROOT, "docs", "screenshots", name))


def login(b, console, who, password):
    b.get(console.url + "#/login")
    b.type("#login", who)
    b.type("#password", password)
    b.click("button[data-test=submit]")


def test_login_a_wrong_password_and_a_lockout(console, browser):
    b = browser
    # the page runs under web-api's Content-Security-Policy (a violation is
    # an error in the browser's console, which fails the test)
    assert requests.get(console.url).headers["Content-Security-Policy"].startswith(
        "default-src 'self'")
    b.get(console.url)
    b.wait(lambda: "#/login" in b.driver.current_url, what="sent to the login")
    b.shot("login")
    login(b, console, "admin", "Wrong-Pass-2024!")
    assert "用户名或密码错误" in b.text("[data-test=problem]")
    assert b.driver.find_element("css selector", "#password").get_attribute("value") == ""
    b.shot("wrong-password")

    login(b, console, "admin", ADMIN_PASSWORD)
    b.find("li[data-test=menu-live]")
    b.find("li[data-test=menu-stats]")
    # head office is no branch: the live hall asks for one, and picking it
    # in the tree opens it
    b.find(".el-empty")
    b.click(f"[data-test=tree] span[data-path='{BRANCH}']")
    b.wait(lambda: f"node={BRANCH}" in b.driver.current_url, what="the branch picked")
    b.find("[data-test=window-1]")
    token = b.driver.execute_script("return sessionStorage.getItem('eqms.token')")
    assert token and token.startswith("eqs_")

    # a lockout tells until when
    api = console.api
    api.make_user("locky", "hq.r01", ["view_live_hall"])
    for _ in range(6):
        r = api.client().post("/sessions", {"login": "locky", "password": "Wrong-Pass-2024!"})
        if r.status_code == 429:
            break
    assert r.status_code == 429, r.text
    until = datetime.datetime.fromisoformat(r.json()["locked_until"].replace("Z", "+00:00"))
    b.driver.execute_script("sessionStorage.clear()")
    login(b, console, "locky", USER_PASSWORD)
    text = b.text("[data-test=problem]")
    assert "已锁定" in text, text
    shown = b.driver.execute_script("return new Date(arguments[0]).toLocaleString('zh-CN')",
                                    r.json()["locked_until"])
    assert shown in text, (shown, text)
    assert until > datetime.datetime.now(datetime.timezone.utc)
    b.shot("locked")


def test_forced_password_change(console, browser):
    b = browser
    api = console.api
    api.make_user("teller1", BRANCH, ["view_live_hall"], must_change=True)
    login(b, console, "teller1", USER_PASSWORD)
    b.wait(lambda: "#/password" in b.driver.current_url, what="sent to the password change")
    assert "重置" in b.text("[data-test=forced]")
    b.type("#pw-current", USER_PASSWORD)
    b.type("#pw-new", "Another-Pass-2025?")
    b.type("#pw-confirm", "Another-Pass-2026?")
    b.click("button[data-test=submit]")
    assert "不一致" in b.text(".el-form-item__error")
    # the server's reason next to the field it names
    b.type("#pw-new", USER_PASSWORD)
    b.type("#pw-confirm", USER_PASSWORD)
    b.click("button[data-test=submit]")
    err = b.wait(lambda: [e for e in b.texts(".el-form-item__error") if e], what="a field error")
    assert "must differ" in err[0], err
    b.shot("password-refused")
    b.type("#pw-new", "Another-Pass-2025?")
    b.type("#pw-confirm", "Another-Pass-2025?")
    b.click("button[data-test=submit]")
    # on to the live hall of the user's own branch (no tree without
    # manage_configuration: the user's node is tried as the branch)
    b.wait(lambda: "#/live" in b.driver.current_url, what="on to the console")
    b.find("[data-test=window-1]")
    api.login("teller1", "Another-Pass-2025?")
    api.login("teller1", USER_PASSWORD, expect=401)


def hall_call(api, number=1):
    """Window `number` of BRANCH opened with a teller of its own: its id."""
    admin = api.admin
    with api.db.cursor() as cur:
        cur.execute("""SELECT w.id FROM service_window w JOIN org_node n ON n.id = w.node_id
                       WHERE n.path = %s::ltree AND w.number = %s""", (BRANCH, number))
        window = cur.fetchone()[0]
        cur.execute("""SELECT s.id FROM staff s JOIN org_node n ON n.id = s.node_id
                       WHERE n.path = %s::ltree AND s.active ORDER BY s.id
                       OFFSET %s LIMIT 1""", (BRANCH, number - 1))
        staff = cur.fetchone()[0]
    for step, body in (("open", None), ("login", {"staff": staff})):
        r = admin.post(f"/windows/{window}/{step}", body)
        assert r.status_code == 200, r.text
    return window


def issue_and_call(api, window):
    """A ticket issued and window `window` calling the next: the number called."""
    r = api.admin.post(f"/branches/{BRANCH}/tickets", {"service_code": "cash"})
    assert r.status_code == 201, r.text
    r = api.admin.post(f"/windows/{window}/call-next")
    assert r.status_code == 200, r.text
    return r.json()["window"]["current"]


def current_of_window_1(b):
    cells = b.texts("[data-test=window-1] [data-test=current]")
    return cells[0] if cells else None


def test_live_hall_follows_calls_and_recovers_from_a_restart(console, browser):
    b = browser
    api = console.api
    window = hall_call(api)
    login(b, console, "admin", ADMIN_PASSWORD)
    b.find("li[data-test=menu-live]")
    b.get(console.url + f"#/live?node={BRANCH}")
    b.wait(lambda: b.find("[data-test=live-status]").get_attribute("data-status") == "live",
           what="the stream open")
    assert current_of_window_1(b) is None
    number = issue_and_call(api, window)
    started = time.monotonic()
    b.wait(lambda: current_of_window_1(b) == number, timeout=5, what=f"{number} on window 1")
    print(f"call shown after {time.monotonic() - started:.2f} s")
    assert number in b.texts("[data-test=display] td")
    # more of a day: a second window serving, a third paused with its
    # reason, tickets waiting
    issue_and_call(api, hall_call(api, 2))
    third = hall_call(api, 3)
    r = api.admin.post(f"/windows/{third}/pause", {"reason": "午休"})
    assert r.status_code == 200, r.text
    for _ in range(4):
        assert api.admin.post(f"/branches/{BRANCH}/tickets",
                              {"service_code": "cash"}).status_code == 201
    b.wait(lambda: "午休" in b.text("[data-test=window-3] [data-test=pause-reason]"),
           what="the pause reason")
    b.wait(lambda: b.texts("[data-test=queues] tbody tr:first-child td")[:2] == ["A", "4"],
           what="4 waiting in A")
    # the longest wait comes with a snapshot read shortly after the counts
    b.wait(lambda: re.fullmatch(r"\d+:\d\d", b.texts("[data-test=queues] tbody tr:first-child td")[2]),
           what="the longest wait of A")
    shot = b.shot("live")
    keep(shot, "console-live.png")

    # web-api restarts: the page reconnects by itself and follows again
    console.restart_webapi()
    status = lambda: b.find("[data-test=live-status]").get_attribute("data-status")  # noqa: E731
    started = time.monotonic()
    b.wait(lambda: status() != "live", timeout=45, what="the drop seen")
    print(f"drop seen after {time.monotonic() - started:.2f} s")
    b.shot("live-reconnecting")
    b.wait(lambda: status() == "live", timeout=30, what="live again after the restart")
    print(f"live again after {time.monotonic() - started:.2f} s")
    b.forget_logs()  # the requests refused while web-api was down
    second = issue_and_call(api, window)
    b.wait(lambda: current_of_window_1(b) == second, timeout=5, what=f"{second} after the restart")
    b.shot("live-after-restart")


def test_live_hall_shows_devices_and_ratings_from_the_bus(console, browser):
    """device.online / device.offline of the gateways and rating.stored of
    rating-ingest, published on the bus as they publish them, reach the page."""
    b = browser
    api = console.api
    window = hall_call(api)
    staff = api.admin.get(f"/branches/{BRANCH}/state").json()
    staff = next(w["staff"] for w in staff["windows"] if w["id"] == window)
    login(b, console, "admin", ADMIN_PASSWORD)
    b.find("li[data-test=menu-live]")
    b.get(console.url + f"#/live?node={BRANCH}")
    b.wait(lambda: b.find("[data-test=live-status]").get_attribute("data-status") == "live",
           what="the stream open")
    assert "未知" in b.text("[data-test=window-1] [data-test=device]")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    device = {"incarnation": "019ad5e2-7c1b-7a3d-9e4f-0a1b2c3d4e5f", "serial": "EQ-B0001-W01",
              "boot": 1, "device_seq": 0, "uptime_ms": 5, "received": now, "event_time": now,
              "window": {"id": window, "number": 1, "code": "w01"}, "branch": BRANCH,
              "employee_no": None, "ticket": None}
    rating = {"id": "01a2038e-a3b4-740f-a053-e884efc69913", "gateway": "device-gateway.b0001",
              "window_id": window, "staff_id": staff, "employee_no": "100101",
              "serial": "EQ-B0001-W01", "event_time": now, "option_code": 4, "score": 1.0,
              "satisfied": False, "unsatisfied": True, "ticket": "A001", "ticket_id": None,
              "teller_today": {"total": 1, "satisfied": 0, "unsatisfied": 1}}
    client = system.BusClient(api.bus)
    for type_, data, css, text in (
            ("device.online", device, "[data-test=window-1] [data-test=device]", "在线"),
            ("rating.stored", rating, "[data-test=ratings] td", "不满意"),
            ("device.offline", dict(device, reason="unplugged"),
             "[data-test=window-1] [data-test=device]", "离线")):
        def arrived():
            client.publish(type_, f"{BRANCH}.w01", data)
            time.sleep(0.3)
            return any(text in t for t in b.texts(css))
        system.wait_for(arrived, timeout=10)
    b.shot("live-device-rating")


def test_statistics_page_shows_the_api_figures(console, browser, demo_db, start_bin):
    b = browser
    api = console.api
    system_module("test_stats").start_stats(start_bin, demo_db, api.bus)
    window = hall_call(api)
    for _ in range(3):
        issue_and_call(api, window)
        r = api.admin.post(f"/windows/{window}/finish")
        assert r.status_code == 200, r.text
    with demo_db.cursor() as cur:
        cur.execute("SELECT (now() AT TIME ZONE time_zone)::date FROM org_node WHERE path = %s::ltree",
                    (BRANCH,))
        today = cur.fetchone()[0]
    frm, to = (today - datetime.timedelta(days=6)).isoformat(), (today + datetime.timedelta(days=1)).isoformat()
    query = {"node": BRANCH, "from": frm, "to": to, "group": "none"}
    deadline = time.monotonic() + 30
    while True:
        figures = api.admin.get("/stats/figures", params=query).json()
        if figures["rows"] and figures["rows"][0]["served"] == 3:
            break
        assert time.monotonic() < deadline, figures
        time.sleep(0.3)

    login(b, console, "admin", ADMIN_PASSWORD)
    b.find("li[data-test=menu-stats]")
    b.get(console.url + f"#/stats?node={BRANCH}&from={frm}&to={to}&group=none")
    b.wait(lambda: b.texts("[data-test=figures] span[data-measure=served]") == ["3"],
           what="the figures on the page")
    row = figures["rows"][0]
    expect = {"issued": str(row["issued"]), "served": "3",
              "pct_served": screen_round(Decimal(str(row["pct_served"])).scaleb(2), 1) + "%",
              "wait_avg_s": screen_round(row["wait_avg_s"], 1),
              "svc_avg_s": screen_round(row["svc_avg_s"], 1)}
    for member, text in expect.items():
        got = b.texts(f"[data-test=figures] span[data-measure={member}]")
        assert got == [text], (member, got, text)
    assert b.text("[data-compare=served-current]") == "3"
    b.find("[data-test=trend-chart] canvas")
    shot = b.shot("statistics")
    keep(shot, "console-statistics.png")

    # group by window: one row per window, as the API's, each named by its
    # window (GET /windows), not by its id
    b.get(console.url + f"#/stats?node={BRANCH}&from={frm}&to={to}&group=window")
    by_window = api.admin.get("/stats/figures", params=dict(query, group="window")).json()["rows"]
    with demo_db.cursor() as cur:
        cur.execute("SELECT id, name FROM service_window")
        names = dict(cur.fetchall())
    b.wait(lambda: b.texts("[data-test=figures] span[data-measure=grp]")
           == [names[r["member"]] for r in by_window], what="the rows by window, named")
    assert (b.texts("[data-test=figures] span[data-measure=served]")
            == ["" if r["served"] is None else str(r["served"]) for r in by_window])

    # the export button downloads the API's file (the view by window)
    b.click("button[data-test=export-csv]")
    folder = os.path.join(b.out_dir, "downloads")
    done = b.wait(lambda: [f for f in os.listdir(folder) if f.endswith(".csv")]
                  if os.path.isdir(folder) else None, what="the CSV downloaded")
    with open(os.path.join(folder, done[0]), "rb") as f:
        data = f.read()
    r = api.admin.get("/stats/figures.csv", params=dict(query, group="window"))
    assert data == r.content

    # drill-down: the region by its branches, a click on one opens it by windows
    b.get(console.url + f"#/stats?node=hq.r01&from={frm}&to={to}&group=child")
    b.wait(lambda: "上海浦东支行" in b.texts("[data-test=figures] span[data-measure=grp]"),
           what="the region's branches")
    b.wait(lambda: next(e for e in b.driver.find_elements(
        "css selector", "[data-test=figures] tr.drill span[data-measure=grp]")
        if e.text == "上海浦东支行").click() or True, what="a click on the branch")
    b.wait(lambda: f"node={BRANCH}" in b.driver.current_url and "group=window" in b.driver.current_url,
           what="drilled down to the branch")
    b.wait(lambda: b.texts("[data-test=figures] span[data-measure=grp]")
           == [names[r["member"]] for r in by_window], what="the branch's windows")


def screen_round(value, places):
    """The export's rounding (half away from zero on the decimal value)."""
    if value is None:
        return ""
    return str(Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def test_language_switch_is_remembered(console, browser):
    b = browser
    login(b, console, "admin", ADMIN_PASSWORD)
    assert b.text("li[data-test=menu-live]") == "实时大厅"
    b.click("button[data-test=lang-menu]")
    b.click("li[data-test=lang-en]")
    b.wait(lambda: b.text("li[data-test=menu-live]") == "Live hall", what="English")
    assert b.local("eqms.locale") == "en"
    b.driver.refresh()
    b.wait(lambda: b.text("li[data-test=menu-stats]") == "Statistics", what="English after a reload")
    assert b.driver.find_element("css selector", "html").get_attribute("lang") == "en"
    b.shot("english")
    b.click("button[data-test=lang-menu]")
    b.click("li[data-test=lang-zh-CN]")
    b.wait(lambda: b.text("li[data-test=menu-stats]") == "统计分析", what="Chinese again")


def test_a_revoked_session_goes_back_to_the_login(console, browser):
    """The live stream ends with `reload` (unauthorized) when the session is
    revoked; the snapshot then answers 401 and the page sends to the login,
    which brings the user back to where they were."""
    b = browser
    login(b, console, "admin", ADMIN_PASSWORD)
    b.find("li[data-test=menu-live]")
    b.get(console.url + f"#/live?node={BRANCH}")
    b.wait(lambda: b.find("[data-test=live-status]").get_attribute("data-status") == "live",
           what="the stream open")
    token = b.driver.execute_script("return sessionStorage.getItem('eqms.token')")
    assert console.api.client(token).delete("/sessions/current").status_code == 204
    b.wait(lambda: "#/login" in b.driver.current_url, timeout=15, what="sent to the login")
    assert b.driver.execute_script("return sessionStorage.getItem('eqms.token')") is None
    b.forget_logs()  # the 401 of the snapshot
    b.type("#login", "admin")
    b.type("#password", ADMIN_PASSWORD)
    b.click("button[data-test=submit]")
    b.wait(lambda: f"#/live?node={BRANCH}" in b.driver.current_url, what="back to the live hall")
    b.find("[data-test=window-1]")
