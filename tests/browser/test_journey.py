"""A customer's journey through the hall pages in a real headless Chromium
against the real stack (tests/browser/conftest.py), each page opened as its
device is (tests/browser/test_hall.py): the teller opens a window at the
teller console, the customer takes a ticket at the kiosk, the teller calls
it, the hall display shows it and says it with web-api's voice (test_hall's
recorders: the audio fetched for real, its playing recorded, the browser's
own voice unused); then a user of the branch, who may watch its hall but
not read complaints, sees that call in the console's live hall and cannot
open another branch's (404, as a branch that does not exist). The emulated
USB rating device is not part of it (no device in this stack)."""
from test_console import BRANCH, login
from test_hall import (AUDIO_RECORDER, PRINT_STUB, SPEECH_RECORDER, before_load, check_played,
                       db_one, open_device, take_first_cash_ticket, token_for)
from webapi import USER_PASSWORD


def test_a_ticket_from_the_kiosk_to_the_display_and_a_branch_user_kept_to_its_branch(console,
                                                                                       browser):
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
    b.get(console.url + "#/hall/teller")
    b.wait(lambda: b.find("[data-test=hall-status]").get_attribute("data-status") == "live",
           timeout=15, what="the teller console live again")
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
