"""The console's management pages in a real headless Chromium against the real
stack (tests/browser/conftest.py): for each area a thing made, changed and a
change refused with the API's reason beside the field it names; the API
token shown once; an alert acknowledged and resolved; a backup run to
completion and downloaded, a purge refused without one; the audit log
showing the changes. Screenshots are kept in each test's tmp folder."""
import json
import os
import zipfile

from selenium.webdriver.common.by import By

from webapi import ADMIN_PASSWORD, USER_PASSWORD, make_alert

BRANCH = "hq.r01.b0001"


def login(b, console, who="admin", password=ADMIN_PASSWORD):
    b.get(console.url + "#/login")
    b.type("#login", who)
    b.type("#password", password)
    b.click("button[data-test=submit]")
    b.find("li[data-test=menu-live], li[data-test=menu-config], li[data-test=menu-users]")


def shown(b, css, timeout=10.0):
    """The text of the first visible element matching css that has one,
    waiting for it."""
    def text():
        return next((e.text for e in b.driver.find_elements(By.CSS_SELECTOR, css)
                     if e.is_displayed() and e.text), None)
    return b.wait(text, timeout, f"a text in {css}")


def field_error(b, key):
    """The reason shown beside the form's field `key`."""
    return shown(b, f".el-dialog [data-test=field-{key}] .el-form-item__error")


def pick(b, field, text):
    """Picks the option showing `text` in the select of form field `field`."""
    b.click(f".el-dialog [data-test=field-{field}] .el-select__wrapper")
    b.wait(lambda: _click_option(b, text), what=f"the option {text}")
    # close a multiple select's list
    b.driver.find_element(By.CSS_SELECTOR, ".el-dialog .el-dialog__title").click()


def _click_option(b, text):
    for e in b.driver.find_elements(By.CSS_SELECTOR, ".el-select-dropdown__item"):
        if e.is_displayed() and text in e.text:
            e.click()
            return True
    return False


def rows(b, table):
    """The text of each row of a table, read at once (the table may be
    drawn again meanwhile)."""
    return b.driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(r => r.innerText)",
        f"[data-test={table}-table] .el-table__body-wrapper tbody tr.el-table__row")


def row_with(b, table, text):
    return b.wait(lambda: next((r for r in rows(b, table) if text in r), None),
                  what=f"a row with {text} in {table}")


def submit(b):
    b.click(".el-dialog button[data-test=form-submit]")


def dialog_gone(b):
    b.wait(lambda: not [e for e in b.driver.find_elements(By.CSS_SELECTOR, ".el-dialog")
                        if e.is_displayed()], what="the dialog closed")


def refused_then_saved(b, opener, values, member, bad, good, shot=None, then=None):
    """The form that `opener` (a table's name: its create button; else a
    selector) opens, filled with `values` (and what `then()` picks) and
    `bad` in `member`: refused, the reason beside that field (a screenshot
    `shot`); then with `good` there: saved. The reason."""
    b.click(opener if "[" in opener else f"[data-test={opener}-create]")
    for key, value in values.items():
        b.type(f"#f-{key}", value)
    b.type(f"#f-{member}", bad)
    if then:
        then()
    submit(b)
    reason = field_error(b, member)
    if shot:
        b.shot(shot)
    b.type(f"#f-{member}", good)
    submit(b)
    dialog_gone(b)
    return reason


def test_organisation_windows_staff_scales_and_device_settings(console, browser):
    b = browser
    login(b, console)
    b.click("li[data-test=menu-config]")
    b.get(console.url + f"#/admin/config?node={BRANCH}")
    # staff: made, refused with the reason beside the employee number, changed
    b.click(".el-tabs__item#tab-staff")
    assert refused_then_saved(b, "staff", {"name": "李四"}, "employee_no", "12ab", "990001",
                             shot="staff-refused")
    row = row_with(b, "staff", "990001")
    assert "李四" in row and BRANCH in row
    staff = console.api.admin.get("/staff", params={"node": BRANCH, "limit": "200"}).json()["items"]
    sid = next(s["id"] for s in staff if s["employee_no"] == "990001")
    assert refused_then_saved(b, f"[data-test=staff-edit-{sid}]", {"name": "李四（大堂）"}, "phone",
                              "12345", "+8613912345678")
    assert "李四（大堂）" in row_with(b, "staff", "+8613912345678")

    # a node: an unknown time zone refused beside the field, then made
    b.click(".el-tabs__item#tab-nodes")
    assert refused_then_saved(b, "nodes", {"code": "d01", "name": "对公部"}, "time_zone",
                             "Mars/Olympus", "Asia/Shanghai", then=lambda: pick(b, "kind", "部门"))
    row_with(b, "nodes", f"{BRANCH}.d01")
    # and it is in the tree at once
    b.find(f"[data-test=tree] span[data-path='{BRANCH}.d01']")

    # a window: a number taken refused, another made; its work profile
    b.click(".el-tabs__item#tab-windows")
    row_with(b, "windows", "1")
    assert refused_then_saved(b, "windows", {"name": "41号窗口"}, "number", "1", "41",
                             shot="window-refused")
    row_with(b, "windows", "41号窗口")
    win = next(w for w in console.api.admin.get("/windows", params={"branch": BRANCH, "limit": "200"}).json()["items"]
               if w["number"] == 41)
    b.click(f"[data-test=windows-profile-{win['id']}]")
    pick(b, "strategy", "严格顺序")
    pick(b, "services", "(A)")
    b.type("#f-vip", "0")
    submit(b)
    assert "vip" in b.text(".el-dialog [data-test=problem]")
    b.type("#f-vip", "2")
    submit(b)
    dialog_gone(b)
    after = console.api.admin.get(f"/windows/{win['id']}").json()
    assert after["profile"].startswith("strict;vip=2;ordinary=1;services="), after
    assert "严格顺序" in row_with(b, "windows", "41号窗口")
    b.shot("windows")

    # a rating scale: a label the device cannot show refused beside the
    # cell, then made with 6 keys and drawn
    b.click(".el-tabs__item#tab-scales")
    b.find("[data-test=preview-std4]")
    b.click("[data-test=scales-create]")
    b.type("#f-code", "hall6")
    b.type("#f-name", "六键评价")
    b.click("[data-test=key-count] label:nth-child(2)")
    labels = ["非常满意", "满意", "一般", "不满意", "态度差", "太慢了太慢了太慢了"]
    for i, label in enumerate(labels):
        b.type(f"input[data-test=label-{i}]", label)
        b.type(f"[data-test=option-{i}] td:nth-child(5) input", str(5 - i if i < 5 else 0))
        if i < 2:
            b.click(f"[data-test=option-{i}] td:nth-child(3) .el-checkbox")
        elif i > 2:
            b.click(f"[data-test=option-{i}] td:nth-child(4) .el-checkbox")
    submit(b)
    err = shown(b, "[data-test=error-5-label]")
    assert err
    b.shot("scale-refused")
    b.type("input[data-test=label-5]", "太慢")
    submit(b)
    dialog_gone(b)
    keys = b.find("[data-test=preview-hall6]")
    drawn = [k.get_attribute("class").split()[-1] for k in keys.find_elements(By.CSS_SELECTOR, ".key")]
    assert drawn == ["satisfied"] * 2 + ["neutral"] + ["unsatisfied"] * 3, drawn
    assert "太慢" in keys.text
    b.shot("scales")

    # the star rule: inherited or the defaults, then set here
    b.click(".el-tabs__item#tab-stars")
    assert b.text("[data-test=star-source]") in ("系统默认",) or "继承" in b.text("[data-test=star-source]")
    assert refused_then_saved(b, "[data-test=star-set]", {}, "four", "0.99", "0.9")
    b.wait(lambda: b.text("[data-test=star-source]") == "本机构设置", what="the rule set here")

    # device settings: what is inherited and from where, a change refused
    # beside the field, then set here
    b.click("li[data-test=menu-devices]")
    b.wait(lambda: "admin/devices" in b.driver.current_url, what="the devices page")
    b.get(console.url + f"#/admin/devices?node={BRANCH}.d01")
    shown(b, "[data-test=effective-rating_timeout_s]")
    inherited = b.text("[data-test=from-rating_timeout_s]")
    assert inherited == "系统默认" or inherited.startswith("继承自 hq"), inherited
    b.shot("device-settings-inherited")
    assert refused_then_saved(b, "[data-test=settings-edit]", {"idle_text": "欢迎光临本网点"},
                              "rating_timeout_s", "3", "45")
    b.wait(lambda: b.text("[data-test=effective-rating_timeout_s]") == "45", what="45 s in force")
    assert b.text("[data-test=from-rating_timeout_s]") == "本机构设置"
    assert b.text("[data-test=effective-idle_text]") == "欢迎光临本网点"
    b.shot("device-settings")

    # devices: registered into stock, a bad serial refused, assigned
    b.click(".el-tabs__item#tab-devices")
    assert refused_then_saved(b, "devices", {"model": "EQ-R6"}, "serial", "x!", "A0-ADMIN-0001")
    assert "库存" in row_with(b, "devices", "A0-ADMIN-0001")
    b.click("[data-test=devices-assign-A0-ADMIN-0001]")
    pick(b, "window", "41 41号窗口")
    submit(b)
    dialog_gone(b)
    b.wait(lambda: "41 (" in row_with(b, "devices", "A0-ADMIN-0001"), what="at window 41")
    # below a branch, the list is its branch's devices
    assert all(f"\n{BRANCH}\n" in r for r in rows(b, "devices")), rows(b, "devices")
    # head office's: more devices than a page; the next page with the API's
    # cursor, and back
    b.get(console.url + "#/admin/devices?node=hq&tab=devices")
    b.wait(lambda: len(rows(b, "devices")) == 20, what="a page of head office's devices")
    first = rows(b, "devices")
    b.click("[data-test=devices-next]")
    b.wait(lambda: rows(b, "devices") and rows(b, "devices")[0] != first[0], what="the next page")
    assert "第 2 页" in b.text("[data-test=devices]")
    b.click("[data-test=devices-prev]")
    b.wait(lambda: rows(b, "devices") == first, what="the first page again")
    b.shot("devices")


def test_users_roles_and_a_token_shown_once(console, browser):
    b = browser
    login(b, console)
    b.click("li[data-test=menu-users]")
    # a role with permissions ticked one by one
    b.click(".el-tabs__item#tab-roles")
    b.click("[data-test=roles-create]")
    b.type("#f-name", "大堂经理")
    for p in ("view_live_hall", "view_statistics", "manage_alerts"):
        b.click(f".el-dialog [data-test=check-{p}]")
    submit(b)
    dialog_gone(b)
    assert "查看实时大厅" in row_with(b, "roles", "大堂经理")
    # a user: a weak password refused beside the field, then made
    b.click(".el-tabs__item#tab-users")
    assert refused_then_saved(b, "users", {"login": "lobby1", "display_name": "王经理"}, "password",
                             "short", "Lobby-Pass-2024!", shot="user-refused",
                             then=lambda: pick(b, "roles", "大堂经理"))
    assert "大堂经理" in row_with(b, "users", "lobby1")
    uid = next(u["id"] for u in console.api.admin.get("/users").json()["items"] if u["login"] == "lobby1")
    console.api.login("lobby1", "Lobby-Pass-2024!")
    # disabled: cannot log in; enabled again; password reset
    b.click(f"[data-test=users-disable-{uid}]")
    b.click(".el-message-box__btns .el-button--primary")
    b.wait(lambda: "已停用" in row_with(b, "users", "lobby1"), what="disabled")
    console.api.login("lobby1", "Lobby-Pass-2024!", expect=403)
    b.click(f"[data-test=users-enable-{uid}]")
    b.wait(lambda: "正常" in row_with(b, "users", "lobby1"), what="enabled")
    b.click(f"[data-test=users-reset-{uid}]")
    b.type("#f-temporary_password", "Temp-Pass-2025!")
    submit(b)
    dialog_gone(b)
    assert console.api.login("lobby1", "Temp-Pass-2025!").get("/me").json()["must_change_password"]
    b.shot("users")

    # an API token: shown once in a dialog with a copy button
    b.click("li[data-test=menu-tokens]")
    b.click("[data-test=tokens-create]")
    b.type("#f-name", "hr-system")
    b.type("#f-expires_in_days", "400")
    b.click(".el-dialog [data-test=check-view_statistics]")
    submit(b)
    assert field_error(b, "expires_in_days")
    b.type("#f-expires_in_days", "30")
    submit(b)
    token = b.wait(lambda: b.find("input[data-test=token-value]").get_attribute("value"),
                   what="the token shown")
    assert token.startswith("eqt_")
    b.click("[data-test=token-copy]")
    b.find("[data-test=token-copied]")
    b.shot("token-once")
    assert console.api.client(token).get("/me").json()["kind"] == "api_token"
    b.click("[data-test=token-close]")
    assert "hr-system" in row_with(b, "tokens", "hr-system")
    assert token not in b.driver.page_source
    b.driver.refresh()
    row_with(b, "tokens", "hr-system")
    assert token not in b.driver.page_source

    # the audit log shows the changes, each with its before and after
    b.click("li[data-test=menu-audit]")
    b.type("input[data-test=filter-type]", "user")
    b.click("[data-test=filter-apply]")
    b.wait(lambda: any("user.password_reset" in r or "user.reset_password" in r or "password" in r
                       for r in rows(b, "audit")), what="the reset audited")
    actions = {c.strip() for r in rows(b, "audit") for c in r.split("\t")}
    assert "user.create" in actions and "user.disable" in actions and "user.enable" in actions, actions
    b.click("[data-test=audit-table] .el-table__expand-icon")
    assert "must_change_password" in b.text("[data-test^=detail-]")
    b.shot("audit-users")


def test_alert_acknowledged_and_resolved(console, browser):
    b = browser
    api = console.api
    aid = make_alert(api.db, BRANCH)
    login(b, console)
    b.get(console.url + f"#/admin/alerts?node={BRANCH}")
    row_with(b, "alerts", BRANCH)
    b.shot("alerts-open")
    assert "未处理" in row_with(b, "alerts", BRANCH)
    # a user without view_complaints reads 不满意 only: the API says so;
    # the admin holds it and sees the option
    assert "态度差" in row_with(b, "alerts", BRANCH)
    b.click(f"[data-test=alerts-ack-{aid}]")
    b.type("#f-note", "已联系客户")
    submit(b)
    dialog_gone(b)
    b.wait(lambda: "已确认" in row_with(b, "alerts", BRANCH), what="acknowledged")
    b.click(f"[data-test=alerts-resolve-{aid}]")
    submit(b)
    assert field_error(b, "root_cause")
    b.shot("resolve-refused")
    b.type("#f-root_cause", "柜员已培训")
    submit(b)
    dialog_gone(b)
    b.wait(lambda: "已解决" in row_with(b, "alerts", BRANCH), what="resolved")
    events = api.admin.get(f"/alerts/{aid}").json()["events"]
    assert [(e["kind"], e.get("note")) for e in events[1:]] == [
        ("acknowledged", "已联系客户"), ("resolved", "柜员已培训")]
    # the filter keeps the open ones: none now
    b.click("[data-test=filter-state] .el-select__wrapper")
    b.wait(lambda: _click_option(b, "未处理"), what="the state filter")
    b.wait(lambda: not rows(b, "alerts") or all(BRANCH not in r for r in rows(b, "alerts")),
           what="no open alerts")
    b.shot("alerts")

    # a recipient: a phone refused beside the field, then added
    b.click(".el-tabs__item#tab-recipients")
    assert refused_then_saved(b, "recipients", {"name": "网点主任"}, "phone", "12", "13800138000")
    assert "+8613800138000" in row_with(b, "recipients", "网点主任")

    # the same page in English
    b.click("[data-test=lang-menu]")
    b.click("[data-test=lang-en]")
    b.click(".el-tabs__item#tab-alerts")
    b.click("[data-test=filter-state] .el-select__wrapper")
    b.wait(lambda: _click_option(b, "Resolved"), what="the state filter in English")
    assert "Resolved" in row_with(b, "alerts", BRANCH)
    assert b.text("li[data-test=menu-alerts]") == "Alerts"
    b.shot("alerts-en")


def test_complaint_details_only_with_the_permission(console, browser):
    """A branch user who handles alerts but may not read complaints sees the
    alert without the option the customer chose, on the page as in the API;
    another branch's alert is not listed at all."""
    b = browser
    api = console.api
    aid = make_alert(api.db, BRANCH, option="态度恶劣")
    other = make_alert(api.db, "hq.r01.b0002", option="办事拖拉")
    clerk = api.make_user("alertclerk", BRANCH, ["view_live_hall", "manage_alerts"])
    facts = clerk.get(f"/alerts/{aid}").json()["facts"]
    assert "态度恶劣" not in json.dumps(facts, ensure_ascii=False), facts
    assert clerk.get(f"/alerts/{other}").status_code == 404
    login(b, console, "alertclerk", USER_PASSWORD)
    b.get(console.url + f"#/admin/alerts?node={BRANCH}")
    row = row_with(b, "alerts", BRANCH)
    b.shot("alerts-without-complaints")
    assert "态度恶劣" not in row and "办事拖拉" not in b.text("body"), row
    # the administrator, who holds view_complaints, reads the option
    login(b, console)
    b.get(console.url + f"#/admin/alerts?node={BRANCH}")
    b.wait(lambda: any("态度恶劣" in r for r in rows(b, "alerts")), what="the option shown")


def test_purge_refused_then_backup_downloaded_and_audited(console, browser):
    b = browser
    login(b, console)
    b.get(console.url + "#/admin/data?node=hq")
    # a purge without a backup: the API's reason shown
    b.click(".el-tabs__item#tab-purges")
    b.type("#f-confirm", "hq")
    b.click("[data-test=older-than] label:nth-child(3)")
    b.click("button[data-test=purge-submit]")
    reason = shown(b, "[data-test=purge-form] [data-test=problem]")
    assert "backup" in reason.lower() or "备份" in reason, reason
    b.shot("purge-refused")

    # a backup runs to completion and is downloaded
    b.click(".el-tabs__item#tab-backups")
    b.click("[data-test=backups-create]")
    submit(b)
    dialog_gone(b)
    job = b.wait(lambda: console.api.admin.get("/backups").json()["items"], what="a backup job")[0]
    b.wait(lambda: b.find(f"[data-test=progress-{job['id']}]").get_attribute("data-state") == "completed",
           timeout=60, what="the backup completed")
    b.shot("backup-completed")
    b.click(f"[data-test=backups-download-{job['id']}]")
    folder = os.path.join(b.out_dir, "downloads")
    path = b.wait(lambda: next((os.path.join(folder, f) for f in os.listdir(folder)
                                if f.endswith(".zip")), None) if os.path.isdir(folder) else None,
                  timeout=20, what="the archive downloaded")
    b.wait(lambda: zipfile.is_zipfile(path), what="a whole zip")
    assert zipfile.ZipFile(path).namelist()

    # with the backup, the purge runs
    b.click(".el-tabs__item#tab-purges")
    b.type("#f-confirm", "hq")
    b.click("[data-test=older-than] label:nth-child(1)")
    b.click("button[data-test=purge-submit]")
    b.wait(lambda: any("已完成" in r for r in rows(b, "purges")), timeout=60, what="the purge completed")
    b.shot("purge-completed")

    # the audit log shows what was done
    b.click("li[data-test=menu-audit]")
    b.type("input[data-test=filter-type]", "backup")
    b.click("[data-test=filter-apply]")
    b.wait(lambda: any("backup.download" in r for r in rows(b, "audit"))
           and any("backup.create" in r for r in rows(b, "audit")), what="the backup audited")
    b.type("input[data-test=filter-type]", "")
    b.type("input[data-test=filter-action]", "purge.create")
    b.click("[data-test=filter-apply]")
    b.wait(lambda: any("purge.create" in r for r in rows(b, "audit")), what="the purge audited")
    b.shot("audit")
