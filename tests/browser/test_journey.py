"""A customer's journey in a real headless Chromium against the real stack
(tests/browser/conftest.py) with the window's emulated rating device
(conftest's hall_devices: device gateway, rating-ingest, stats-aggregator,
eqms-devsim behind umockdev USB). The hall pages are opened as their devices
open them (tests/browser/test_hall.py): the teller opens a window at the
teller console, the customer takes a ticket at the kiosk, the teller calls
it, the hall display shows it and says it with web-api's voice (test_hall's
recorders: the audio fetched for real, its playing recorded, the browser's
own voice unused); a user of the branch, who may watch its hall but not
read complaints, sees that call in the console's live hall and cannot open
another branch's (404, as a branch that does not exist). Then the teller
serves the customer at the teller console, the device asks for a rating, the
customer rates 不满意 there and the rating appears on the administrator's live hall without a reload; the
statistics, opened at head office, are drilled down by clicks to that
teller, whose figures show the rating once stats-aggregator has placed it;
the Excel export of that view holds the page's figures cell by cell; and a
label of the window's rating scale changed on the configuration page
reaches the device's screen. Every page is kept as a screenshot, the
device's screens as device-screen.txt, in the test's folder."""
import os
import time
from decimal import ROUND_HALF_UP, Decimal

import openpyxl

from test_console import BRANCH, login
from test_hall import (AUDIO_RECORDER, PRINT_STUB, SPEECH_RECORDER, before_load, check_played,
                       db_one, open_device, take_first_cash_ticket, token_for)
from webapi import ADMIN_PASSWORD, USER_PASSWORD


def test_a_ticket_from_the_kiosk_to_its_rating_and_the_statistics_of_its_teller(
        console, hall_devices, browser):
    b = browser
    api = console.api
    kiosk = token_for(api, ["issue_tickets", "view_live_hall"], "journey-kiosk")
    teller = token_for(api, ["operate_windows", "view_live_hall"], "journey-teller")
    display = token_for(api, ["view_live_hall"], "journey-display")
    number, = db_one(api, """SELECT w.number FROM service_window w JOIN org_node n ON n.id = w.node_id
                             WHERE n.path = %s::ltree ORDER BY w.number LIMIT 1""", BRANCH)
    employee_no, = db_one(api, """SELECT s.employee_no FROM staff s JOIN org_node n ON n.id = s.node_id
                                  WHERE n.path = %s::ltree AND s.active ORDER BY s.id LIMIT 1""",
                          BRANCH)
    other, = db_one(api, """SELECT path::text FROM org_node WHERE kind = 'branch' AND path <> %s::ltree
                            ORDER BY path LIMIT 1""", BRANCH)
    before_load(b, PRINT_STUB)
    hall_tab = b.driver.current_window_handle

    # the teller opens the window and logs in at the teller console
    open_device(b, console, "teller", teller)
    b.click(f"[data-test=pick-{number}]")
    state = lambda: b.find("[data-test=window-state]").get_attribute("data-state")  # noqa: E731
    assert state() == "closed"
    b.click("[data-test=act-open]")
    b.wait(lambda: state() == "open", what="the window open")
    b.type("#teller-employee", employee_no)
    b.click("[data-test=login]")
    b.wait(lambda: employee_no in b.text("[data-test=teller]"), what="the teller logged in")
    b.shot("journey-teller-open")

    # the customer takes a ticket at the kiosk: cash is served now
    open_device(b, console, "kiosk", kiosk)
    b.wait(lambda: b.find("[data-test=service-cash]").get_attribute("data-available") == "1",
           timeout=10, what="cash available at the kiosk")
    ticket = take_first_cash_ticket(b)
    b.shot("journey-kiosk-ticket")
    r = api.admin.get(f"/branches/{BRANCH}/tickets/{ticket}")
    assert r.status_code == 200 and r.json()["ticket"]["state"] == "waiting", r.text

    # the hall display, a device of its own (another tab), follows the hall
    b.driver.switch_to.new_window("tab")
    display_tab = b.driver.current_window_handle
    before_load(b, SPEECH_RECORDER)
    before_load(b, AUDIO_RECORDER)
    open_device(b, console, "display", display)
    b.wait(lambda: b.text("[data-test=queue-A]").split()[-1] == "1人", timeout=10,
           what="the ticket waiting in A on the display")

    # the teller calls the next customer: the ticket taken at the kiosk
    # (the teller console keeps its device's token and window: its address alone opens it)
    b.driver.switch_to.window(hall_tab)
    teller_tab(b, console)
    assert state() == "open"
    b.wait(lambda: b.text("[data-test=waiting]") == "1", what="1 waiting for the window")
    b.click("[data-test=act-call-next]")
    b.wait(lambda: (b.texts("[data-test=current]") or [None])[0] == ticket,
           what=f"{ticket} called at the teller console")
    b.shot("journey-teller-called")

    # on the display: on top with its window, and said twice, once at a time
    b.driver.switch_to.window(display_tab)
    b.wait(lambda: b.text("[data-test=current-number]") == ticket, timeout=10,
           what=f"{ticket} on the display")
    assert f"{number} 号窗口" in b.text("[data-test=current-call]")
    check_played(b, [(ticket, number)] * 2, timeout=30)
    b.shot("journey-display")
    b.driver.close()
    b.driver.switch_to.window(hall_tab)

    # a user of the branch watching its hall, without view_complaints
    api.make_user("journey.viewer", BRANCH, ["view_live_hall", "view_statistics"])
    login(b, console, "journey.viewer", USER_PASSWORD)
    b.wait(lambda: "#/live" in b.driver.current_url, what="on to the live hall")
    b.wait(lambda: (b.texts(f"[data-test=window-{number}] [data-test=current]") or [None])[0]
           == ticket, what=f"{ticket} in the branch's live hall")
    assert b.texts("[data-test=problem]") == []
    b.shot("journey-viewer-live")
    # another branch: the page says it is not found, as the API does for a
    # branch outside the user's subtree (it exists: the administrator sees it)
    assert api.admin.get(f"/branches/{other}/state").status_code == 200
    b.get(console.url + f"#/live?node={other}")
    problem = b.text("[data-test=problem]", timeout=15)
    assert f"没有网点 {other}" in problem, problem
    # and it stops there: asking again would change nothing
    b.wait(lambda: b.find("[data-test=live-status]").get_attribute("data-status") == "stopped",
           what="the stream given up")
    assert b.texts(f"[data-test=window-{number}]") == []
    b.shot("journey-other-branch")

    # the customer is served and rates at the window's rating device
    staff = db_one(api, "SELECT id, name FROM staff WHERE employee_no = %s", employee_no)
    rate_at_the_device(b, console, hall_devices, employee_no, ticket, number, staff)
    end_of_the_shift(b, console, hall_devices)
    frm, to = db_one(api, """SELECT (now() AT TIME ZONE time_zone)::date - 6,
                                    (now() AT TIME ZONE time_zone)::date + 1
                             FROM org_node WHERE path = %s::ltree""", BRANCH)
    page = drill_down_to_the_teller(b, console, frm, to, hall_devices.window_id, staff)
    export_is_the_page(b, page, staff)
    scale_label_reaches_the_device(b, console, hall_devices)


def screen(device):
    """The four lines of the rating device's LCD, as the emulator reads them."""
    return [line["text"] or "" for line in device.sim(op="state", device=0)["lcd"]]


def keep_screen(b, device, what):
    """The device's screen kept beside the page screenshots (device-screen.txt)."""
    with open(os.path.join(b.out_dir, "device-screen.txt"), "a", encoding="utf-8") as f:
        f.write(f"--- {what}\n" + "\n".join(screen(device)) + "\n")


def rate_at_the_device(b, console, device, employee_no, ticket, number, teller):
    """The teller never logs in at the rating device: queue-manager told it
    the teller logged in at the teller console (the device's screen shows
    the teller, the called ticket too). The teller serves the customer at
    the teller console (start, finish) and queue-manager asks the device for
    a rating; the customer presses key 4 (不满意); the administrator's live
    hall of the branch, open meanwhile, shows the rating and the window
    done, without a reload. The rating is the teller's and the ticket's."""
    assert device.number == number, "the device is at the journey's window"
    b.wait(lambda: device.sim(op="state", device=0)["state"] == "idle",
           what="the device told the teller logged in at the console")
    b.wait(lambda: screen(device)[0] == f"请{ticket}号", what=f"{ticket} on the device")
    keep_screen(b, device, "the teller logged in at the console, the ticket called")

    b.get(console.url + "#/login")
    b.find("#login")
    b.shot("journey-login")
    login(b, console, "admin", ADMIN_PASSWORD)
    b.find("li[data-test=menu-live]")
    b.get(console.url + f"#/live?node={BRANCH}")
    b.wait(lambda: b.find("[data-test=live-status]").get_attribute("data-status") == "live",
           what="the live hall's stream open")
    tile = f"[data-test=window-{number}]"
    b.wait(lambda: (b.texts(f"{tile} [data-test=current]") or [None])[0] == ticket,
           what=f"{ticket} at window {number} on the live hall")
    b.wait(lambda: "在线" in b.text(f"{tile} [data-test=device]"), what="the device online")
    assert not [t for t in b.texts("[data-test=ratings] tbody td") if "满意" in t]
    b.driver.execute_script("window.__sameDocument = true")
    b.shot("journey-live-before-rating")
    live_tab = b.driver.current_window_handle

    # the teller serves the customer at the teller console (its own tab)
    b.driver.switch_to.new_window("tab")
    teller_tab(b, console)
    state = lambda: console.api.admin.get(  # noqa: E731
        f"/branches/{BRANCH}/tickets/{ticket}").json()["ticket"]["state"]
    b.click("[data-test=act-start]")
    b.wait(lambda: state() == "serving", what=f"{ticket} served")
    b.click("[data-test=act-finish]")
    b.wait(lambda: state() == "finished", what=f"{ticket} finished")
    b.wait(lambda: device.sim(op="state", device=0)["state"] == "await_rating",
           what="the device asking for a rating")
    keep_screen(b, device, "finished at the console: the device asks for a rating")
    b.driver.switch_to.window(live_tab)

    device.sim(op="press", device=0, key="rate4")
    b.wait(lambda: device.ratings() == [(4,)], timeout=20, what="the rating stored")
    row = b.wait(lambda: next((r for r in rows_of(b, "ratings") if "不满意" in r), None),
                 timeout=10, what="the rating on the live hall")
    assert teller[1] in row, row
    b.wait(lambda: b.texts(f"{tile} [data-test=current]") == [], what="the window done")
    assert b.driver.execute_script("return window.__sameDocument === true"), "the page reloaded"
    b.shot("journey-live-rating")
    into_view(b, "[data-test=ratings]")
    b.shot("journey-live-rating-list")
    # bound to the teller and to the ticket served
    bound = db_one(console.api, """SELECT r.staff_id, t.number FROM rating r
                                   JOIN ticket t ON t.id = r.ticket_id""")
    assert bound == (teller[0], ticket), bound


def teller_tab(b, console):
    """Opens the teller console in the current tab (its device token and
    window are kept by the browser) and waits for it to be live."""
    b.get(console.url + "#/hall/teller")
    b.wait(lambda: b.find("[data-test=hall-status]").get_attribute("data-status") == "live",
           timeout=15, what="the teller console live")


def end_of_the_shift(b, console, device):
    """The teller logs out at the teller console: the device is told nobody
    is logged in, and stats-aggregator has placed the closed session (made
    from queue-manager's logout): an open session's on-duty time grows with
    the clock (and the measures made of it: customers per hour, busy
    ratio), so the page and a file read a moment later would differ by that
    moment."""
    b.wait(lambda: device.sim(op="state", device=0)["state"] in ("thanks", "idle"),
           what="the rating done")
    live_tab = b.driver.current_window_handle
    b.driver.switch_to.window(b.driver.window_handles[-1])
    teller_tab(b, console)
    b.click("[data-test=logout]")
    b.wait(lambda: device.sim(op="state", device=0)["state"] == "no_staff",
           what="the device told nobody is logged in")
    b.driver.close()
    b.driver.switch_to.window(live_tab)
    b.wait(lambda: db_one(console.api, """
        SELECT count(*) FROM staff_session s LEFT JOIN stats_open_session o ON o.session_id = s.id
        WHERE s.window_id = %s AND (s.logout_at IS NULL OR o.session_id IS NOT NULL)""",
                          device.window_id) == (0,), timeout=20, what="the session closed and placed")
    (n,) = db_one(console.api, "SELECT count(*) FROM staff_session WHERE window_id = %s",
                  device.window_id)
    assert n == 1, "one session: the console's login, closed by its logout"
    keep_screen(b, device, "the teller logged out at the console")


def into_view(b, css):
    """Scrolls the page (and a table sideways) to the element, for a screenshot."""
    b.driver.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'center'})",
                            b.find(css))


def rows_of(b, table):
    """The text of each body row of a data-test=`table` table, read at once."""
    return b.driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(r => r.innerText)",
        f"[data-test={table}] .el-table__body-wrapper tbody tr")


def figures(b):
    """The statistics page's table as the user sees it: one dict per row,
    header text -> cell text, read at once."""
    headers, body = b.driver.execute_script("""
        const t = document.querySelector('[data-test=figures]');
        const cells = (row, css) => [...row.querySelectorAll(css)].map(c => c.innerText.trim());
        return [cells(t.querySelector('.el-table__header-wrapper thead tr'), 'th'),
                [...t.querySelectorAll('.el-table__body-wrapper tbody tr')]
                    .map(r => cells(r, 'td'))];""")
    return [dict(zip(headers, row)) for row in body if len(row) == len(headers)]


def row_named(b, name):
    return next((r for r in figures(b) if r["分组"] == name), None)


def click_row(b, name, then):
    """Clicks the statistics row named `name`; waits until the address has `then`."""
    def click():
        for e in b.driver.find_elements("css selector",
                                        "[data-test=figures] tr.drill span[data-measure=grp]"):
            if e.text == name:
                e.click()
                return True
        return False
    b.wait(click, what=f"a click on {name}")
    b.wait(lambda: all(x in b.driver.current_url for x in then), what=f"drilled into {name}")


def drill_down_to_the_teller(b, console, frm, to, window_id, teller):
    """Head office's statistics by region, once stats-aggregator has placed
    the rating (the page asked again until then), drilled down by clicks:
    the region, the branch (by window), the window (its tellers): the
    teller's row, which shows the service and the rating."""
    names = dict(zip(*db_one(console.api, """SELECT array_agg(path::text ORDER BY path),
                                                    array_agg(name ORDER BY path)
                                             FROM org_node WHERE path IN ('hq.r01', %s::ltree)""",
                             BRANCH)))
    window_name, = db_one(console.api, "SELECT name FROM service_window WHERE id = %s", window_id)
    b.get(console.url + f"#/stats?node=hq&from={frm}&to={to}&group=child")
    asked = [time.monotonic()]

    def placed():
        row = row_named(b, names["hq.r01"])
        if row and row["评价数"] == "1":
            return row
        if time.monotonic() - asked[0] > 1:   # ask the page again, as a user would
            b.click("button[data-test=query]")
            asked[0] = time.monotonic()
        return None
    region = b.wait(placed, timeout=30, what="the rating in head office's figures")
    assert region["不满意数"] == "1" and region["办结数"] == "1", region
    b.shot("journey-stats-head-office")
    click_row(b, names["hq.r01"], ["node=hq.r01&", "group=child"])
    b.wait(lambda: (row_named(b, names[BRANCH]) or {}).get("评价数") == "1",
           what="the branch's row with the rating")
    b.shot("journey-stats-region")
    click_row(b, names[BRANCH], [f"node={BRANCH}&", "group=window"])
    b.wait(lambda: (row_named(b, window_name) or {}).get("评价数") == "1",
           what="the window's row with the rating")
    b.shot("journey-stats-branch")
    click_row(b, window_name, ["group=teller", f"window={window_id}"])
    assert b.text("[data-test=window-title]") == window_name
    row = b.wait(lambda: next((r for r in figures(b) if r["分组"].startswith(teller[1])), None),
                 what="the teller's row")
    assert len(figures(b)) == 1, figures(b)
    assert (row["办结数"], row["评价数"], row["不满意数"], row["满意率"], row["平均得分"]) == \
        ("1", "1", "1", "0.0%", "1.00"), row
    b.shot("journey-stats-teller")
    into_view(b, "[data-test=figures] span[data-measure=rated]")
    b.shot("journey-stats-teller-ratings")
    return figures(b)


def shown(cell):
    """An .xlsx cell as Excel shows it with its number format ("0", "0.0",
    "0.0%", ...): the text to compare with the page's."""
    if cell.value is None:
        return ""
    fmt = cell.number_format
    if fmt == "General" or isinstance(cell.value, str):
        return str(cell.value)
    places = len(fmt.split(".")[1].rstrip("%")) if "." in fmt else 0
    value = Decimal(str(cell.value)) * (100 if fmt.endswith("%") else 1)
    text = str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))
    return text + ("%" if fmt.endswith("%") else "")


def export_is_the_page(b, page, teller):
    """The page's Excel export downloads into the test's folder; openpyxl
    reads it, and every figure the page shows is the file's cell of the
    same measure (header) and row, as Excel shows it."""
    b.click("button[data-test=export-xlsx]")
    folder = os.path.join(b.out_dir, "downloads")
    done = b.wait(lambda: [f for f in os.listdir(folder) if f.endswith(".xlsx")]
                  if os.path.isdir(folder) else None, what="the .xlsx downloaded")
    b.shot("journey-stats-exported")
    book = openpyxl.load_workbook(os.path.join(folder, done[0]))
    sheet = book.worksheets[0]
    grid = list(sheet.iter_rows())
    headers = [c.value for c in grid[0]]
    assert len(grid) - 1 == len(page) == 1, (len(grid), page)
    for row, cells in zip(page, grid[1:]):
        by_header = dict(zip(headers, cells))
        assert by_header["成员编号"].value == teller[0]
        measures = [h for h in row if h != "分组"]
        assert len(measures) >= 20, measures
        for header in measures:
            assert header in by_header, f"{header} is not in the file"
            assert shown(by_header[header]) == row[header], \
                (header, row[header], by_header[header].value, by_header[header].number_format)


def scale_label_reaches_the_device(b, console, device):
    """The label of key 4 of the window's scale (std4, set at head office)
    changed on the configuration page shows on the device's rating screen
    within seconds: the teller of the next shift ends a service there and
    the screen, which shows the keys' labels in turn, comes to "4 很不满意"."""
    device.login()                     # the next shift
    device.sim(op="keys", device=0, keys=["start", "end"])
    b.wait(lambda: device.sim(op="state", device=0)["state"] == "await_rating",
           what="the device asking for a rating")
    b.wait(lambda: screen(device)[2] == "4 不满意", timeout=10, what="the old label on the device")
    keep_screen(b, device, "asking for a rating, the old label")
    b.get(console.url + "#/admin/config")
    b.click(".el-tabs__item#tab-scales")
    b.find("[data-test=preview-std4]")
    b.shot("journey-scales")
    b.click("[data-test=scale-edit-std4]")
    b.type("input[data-test=label-3]", "很不满意")
    b.shot("journey-scale-edit")
    b.click(".el-dialog button[data-test=form-submit]")
    saved = time.monotonic()
    b.wait(lambda: "很不满意" in b.text("[data-test=preview-std4]"), what="the scale saved")
    b.shot("journey-scale-saved")
    b.wait(lambda: screen(device)[2] == "4 很不满意", timeout=10,
           what="the new label on the device's screen")
    print(f"the label on the device {time.monotonic() - saved:.1f} s after the save")
    keep_screen(b, device, "asking for a rating, the new label")
