"""More of the management pages in a real headless Chromium against the real
stack (tests/browser/conftest.py), each result checked through the API or
the database, not the page alone: queues and services made and changed
with the reason of a refusal beside its field; alert rules and recipients
made, changed and deleted; a node moved to another parent of the tree (and
a move under its own child refused); a user's roles and a role's
permissions changed, a delegated administrator unable to tick what they do
not hold; an API token revoked (and refused from then on); a device taken
off its window and one replaced; star rules set, inherited and cleared;
times shown on the clock of the branch they belong to. Screenshots of each
page are kept in each test's tmp folder."""
import datetime
import json
import uuid

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from test_admin import (BRANCH, dialog_gone, field_error, login, pick,
                        refused_then_saved, row_with, rows, shown, submit)
from webapi import USER_PASSWORD


def confirm(b):
    """Answers the confirmation box with its primary button."""
    b.click(".el-message-box__btns .el-button--primary")


def deleted(b, api, table, path, oid, text):
    """Row `oid` of `table` (showing `text`) deleted with its button and
    the confirmation: gone from the table and from the API (`path`)."""
    b.click(f"[data-test={table}-delete-{oid}]")
    confirm(b)
    b.wait(lambda: not any(text in r for r in rows(b, table)), what=f"{text} gone")
    assert api.admin.get(f"{path}/{oid}").status_code == 404


def items(api, path, **params):
    r = api.admin.get(path, params=dict(params, limit="200"))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def one(items_, **match):
    found = [i for i in items_ if all(i.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, items_)
    return found[0]


def test_queues_and_services_made_and_changed(console, browser):
    b = browser
    api = console.api
    login(b, console)
    b.get(console.url + f"#/admin/queues?node={BRANCH}")
    row_with(b, "queues", "个人业务")
    b.shot("queues")

    # a queue: a prefix taken above (hq's A) refused beside the prefix, then made
    reason = refused_then_saved(b, "queues", {"name": "理财专窗", "target_wait_s": "480"},
                                "prefix", "A", "W", shot="queue-refused")
    assert reason
    row_with(b, "queues", "理财专窗")
    queue = one(items(api, "/queues"), prefix="W")
    assert (queue["node"], queue["name"], queue["target_wait_s"]) == (BRANCH, "理财专窗", 480), queue
    # changed: a target wait out of range refused beside it, then saved
    reason = refused_then_saved(b, f"[data-test=queues-edit-{queue['id']}]", {"name": "理财"},
                                "target_wait_s", "0", "600")
    assert reason
    b.wait(lambda: "600" in row_with(b, "queues", "理财"), what="the queue changed")
    after = api.admin.get(f"/queues/{queue['id']}").json()
    assert (after["name"], after["target_wait_s"], after["prefix"]) == ("理财", 600, "W"), after

    # a service drawing from it: a bad code refused beside the code, then made
    b.click(".el-tabs__item#tab-services")
    row_with(b, "services", "个人存取款")
    reason = refused_then_saved(b, "services", {"name": "基金定投", "standard_s": "900"}, "code",
                                "Fund Plan", "fund_plan", shot="service-refused",
                                then=lambda: pick(b, "queue", "W 理财"))
    assert reason
    row_with(b, "services", "基金定投")
    service = one(items(api, "/services"), code="fund_plan")
    assert (service["node"], service["queue"], service["prefix"], service["standard_s"],
            service["active"]) == (BRANCH, queue["id"], "W", 900, True), service
    # changed: a standard time under a minute refused beside it; moved to
    # queue A and switched off
    b.click(f"[data-test=services-edit-{service['id']}]")
    b.type("#f-standard_s", "30")
    pick(b, "queue", "A 个人业务")
    b.click(".el-dialog [data-test=field-active] .el-switch")
    submit(b)
    assert field_error(b, "standard_s")
    b.shot("service-edit-refused")
    b.type("#f-standard_s", "1200")
    submit(b)
    dialog_gone(b)
    b.wait(lambda: "1200" in row_with(b, "services", "基金定投"), what="the service changed")
    after = api.admin.get(f"/services/{service['id']}").json()
    assert (after["prefix"], after["standard_s"], after["active"]) == ("A", 1200, False), after
    with api.db.cursor() as cur:
        cur.execute("SELECT action FROM audit_log WHERE object_type = 'service' AND object_id = %s"
                    " ORDER BY id", (str(service["id"]),))
        assert [r[0] for r in cur.fetchall()] == ["service.create", "service.update"]
    b.shot("services")


def test_alert_rules_and_recipients_made_changed_and_deleted(console, browser):
    b = browser
    api = console.api
    login(b, console)
    b.get(console.url + f"#/admin/alerts?node={BRANCH}")
    b.click(".el-tabs__item#tab-rules")
    row_with(b, "rules", "【排队预警】")
    b.shot("rules")

    # a rule of the branch: thresholds of the wrong type refused beside them
    template = "{branch}排队{waiting}人"
    b.click("[data-test=rules-create]")
    pick(b, "kind", "排队过长")
    b.type("#f-template", template)
    b.type("#f-params", '{"max_waiting": "many"}')
    submit(b)
    assert field_error(b, "params")
    b.shot("rule-refused")
    b.type("#f-params", '{"max_waiting": 8, "max_wait_minutes": 12}')
    submit(b)
    dialog_gone(b)
    row_with(b, "rules", template)
    rule = one(items(api, "/alert-rules"), node=BRANCH, kind="queue_waiting")
    assert (rule["template"], rule["params"], rule["enabled"]) == (
        template, {"max_waiting": 8, "max_wait_minutes": 12}, True), rule
    # changed: a placeholder the kind does not have refused beside the
    # template; then switched off with another template
    assert refused_then_saved(b, f"[data-test=rules-edit-{rule['id']}]", {}, "template",
                              "{branch}{nonsense}", "{branch}{queue}排队{waiting}人",
                              then=lambda: b.click(".el-dialog [data-test=field-enabled] .el-switch"))
    b.wait(lambda: "{queue}" in row_with(b, "rules", "排队{waiting}人"), what="the rule changed")
    after = api.admin.get(f"/alert-rules/{rule['id']}").json()
    assert (after["template"], after["enabled"]) == ("{branch}{queue}排队{waiting}人", False), after
    # deleted (it never raised an alert): gone from the table and the API
    deleted(b, api, "rules", "/alert-rules", rule["id"], "{queue}排队")

    # a recipient with quiet hours and two kinds
    b.click(".el-tabs__item#tab-recipients")
    row_with(b, "recipients", "网点主管 王敏")
    b.click("[data-test=recipients-create]")
    b.type("#f-name", "夜班主管")
    b.type("#f-phone", "13900001111")
    pick(b, "kinds", "排队过长")
    b.type("#f-quiet_from", "22:00")
    submit(b)
    # one end of the quiet hours alone: refused
    reason = shown(b, ".el-dialog [data-test=problem], .el-dialog .el-form-item__error")
    assert "quiet" in reason.lower() or "免打扰" in reason, reason
    b.type("#f-quiet_to", "07:00")
    submit(b)
    dialog_gone(b)
    row_with(b, "recipients", "夜班主管")
    rec = one(items(api, "/alert-recipients"), phone="+8613900001111")
    assert (rec["node"], rec["name"], sorted(rec["kinds"]), rec["quiet_from"][:5], rec["quiet_to"][:5]) == (
        BRANCH, "夜班主管", ["queue_waiting", "unsatisfied_rating"], "22:00", "07:00"), rec
    # changed: a bad phone refused beside it, then another phone and no quiet hours
    b.click(f"[data-test=recipients-edit-{rec['id']}]")
    b.type("#f-phone", "555")
    submit(b)
    assert field_error(b, "phone")
    b.shot("recipient-refused")
    b.type("#f-phone", "+8613900002222")
    b.type("#f-quiet_from", "")
    b.type("#f-quiet_to", "")
    submit(b)
    dialog_gone(b)
    b.wait(lambda: "+8613900002222" in row_with(b, "recipients", "夜班主管"), what="the recipient changed")
    after = api.admin.get(f"/alert-recipients/{rec['id']}").json()
    assert (after["phone"], after["quiet_from"], after["quiet_to"]) == ("+8613900002222", None, None), after
    # deleted
    deleted(b, api, "recipients", "/alert-recipients", rec["id"], "夜班主管")
    b.shot("recipients")


def test_a_node_moved_to_another_parent(console, browser):
    b = browser
    api = console.api
    login(b, console)
    b.get(console.url + "#/admin/config?node=hq")
    b.find("[data-test=tree] span[data-path='hq.r01.b0002']")
    nodes = items(api, "/nodes", under="hq")
    r01 = one(nodes, path="hq.r01")
    b0002 = one(nodes, path="hq.r01.b0002")
    windows = {w["id"] for w in items(api, "/windows", branch="hq.r01.b0002")}
    assert len(windows) == 8

    # a region moved under its own branch: refused beside the parent
    b.click(f"[data-test=nodes-edit-{r01['id']}]")
    pick(b, "parent", "(hq.r01.b0001)")
    submit(b)
    assert field_error(b, "parent")
    b.shot("move-refused")
    b.click(".el-dialog .el-dialog__headerbtn")
    dialog_gone(b)
    assert api.admin.get(f"/nodes/{r01['id']}").json()["path"] == "hq.r01"

    # 杭州西湖支行 moved from 华东区 to 华南区: its path, the tree, its windows
    b.click(f"[data-test=nodes-edit-{b0002['id']}]")
    pick(b, "parent", "(hq.r02)")
    submit(b)
    dialog_gone(b)
    b.find("[data-test=tree] span[data-path='hq.r02.b0002']")
    assert not [e for e in b.driver.find_elements(By.CSS_SELECTOR, "[data-test=tree] span[data-path='hq.r01.b0002']")]
    moved = api.admin.get(f"/nodes/{b0002['id']}").json()
    assert (moved["path"], moved["parent"]) == ("hq.r02.b0002", "hq.r02"), moved
    assert {w["id"] for w in items(api, "/windows", branch="hq.r02.b0002")} == windows
    tree = api.admin.get("/nodes/tree").json()
    r02 = next(c for c in tree["children"] if c["path"] == "hq.r02")
    assert "hq.r02.b0002" in [c["path"] for c in r02["children"]]
    row_with(b, "nodes", "hq.r02.b0002")
    b.shot("node-moved")


def test_roles_of_a_user_and_permissions_of_a_role(console, browser):
    b = browser
    api = console.api
    clerk = api.make_user("clerk1", BRANCH, ["view_live_hall"])
    counter = api.make_role("统计员", BRANCH, ["view_statistics"])
    login(b, console)
    b.get(console.url + "#/admin/users")

    # a user's roles: one added in the form, kept by the API
    uid = clerk.user["id"]
    b.click(f"[data-test=users-edit-{uid}]")
    pick(b, "roles", "统计员")
    submit(b)
    dialog_gone(b)
    b.wait(lambda: "统计员" in row_with(b, "users", "clerk1"), what="the role given")
    user = api.admin.get(f"/users/{uid}").json()
    assert sorted(r["name"] for r in user["roles"]) == ["role-clerk1", "统计员"], user
    assert sorted(api.login("clerk1", USER_PASSWORD).get("/me").json()["permissions"]) == [
        "view_live_hall", "view_statistics"]

    # a role's permissions ticked and unticked one by one
    b.click(".el-tabs__item#tab-roles")
    row_with(b, "roles", "统计员")
    b.click(f"[data-test=roles-edit-{counter['id']}]")
    for p in ("export", "view_statistics", "view_complaints"):
        b.click(f".el-dialog [data-test=check-{p}]")
    submit(b)
    dialog_gone(b)
    b.wait(lambda: "导出" in row_with(b, "roles", "统计员"), what="the permissions changed")
    role = api.admin.get(f"/roles/{counter['id']}").json()
    assert sorted(role["permissions"]) == ["export", "view_complaints"], role
    b.shot("roles")

    # a delegated administrator of the region: only what they hold can be
    # ticked; a role granting more is not theirs to change
    api.make_user("deputy", "hq.r01", ["manage_users", "view_statistics", "view_live_hall"])
    api.make_role("清理员", "hq.r01", ["purge_data"])
    b.get(console.url + "#/login")
    b.driver.execute_script("sessionStorage.clear()")
    login(b, console, "deputy", USER_PASSWORD)
    b.get(console.url + "#/admin/users")
    b.click(".el-tabs__item#tab-roles")
    row_with(b, "roles", "清理员")
    b.click("[data-test=roles-create]")
    b.type("#f-name", "大堂助理")
    held = b.find(".el-dialog [data-test=check-view_statistics]")
    other = b.find(".el-dialog [data-test=check-purge_data]")
    assert "is-disabled" not in held.get_attribute("class")
    assert "is-disabled" in other.get_attribute("class"), other.get_attribute("outerHTML")
    other.click()
    held.click()
    b.shot("delegated-role")
    assert "is-checked" not in other.get_attribute("class")
    submit(b)
    dialog_gone(b)
    row_with(b, "roles", "大堂助理")
    made = one(items(api, "/roles"), name="大堂助理")
    assert (made["node"], made["permissions"]) == ("hq.r01", ["view_statistics"]), made
    purger = one(items(api, "/roles"), name="清理员")
    assert not b.driver.find_elements(By.CSS_SELECTOR, f"[data-test=roles-edit-{purger['id']}]")
    assert not b.driver.find_elements(By.CSS_SELECTOR, f"[data-test=roles-delete-{purger['id']}]")


def test_a_revoked_token_stops_working(console, browser):
    b = browser
    api = console.api
    r = api.admin.post("/tokens", {"name": "dw-export", "node": "hq", "expires_in_days": 30,
                                   "scopes": ["view_statistics"]})
    assert r.status_code == 201, r.text
    token = r.json()
    hr = api.client(token["token"])
    assert hr.get("/me").status_code == 200
    login(b, console)
    b.get(console.url + "#/admin/tokens")
    assert "有效" in row_with(b, "tokens", "dw-export")
    b.click(f"[data-test=tokens-revoke-{token['id']}]")
    b.find(".el-message-box")
    b.shot("token-revoke")
    confirm(b)
    b.wait(lambda: "已吊销" in row_with(b, "tokens", "dw-export"), what="the token revoked")
    assert not b.driver.find_elements(By.CSS_SELECTOR, f"[data-test=tokens-revoke-{token['id']}]")
    assert hr.get("/me").status_code == 401
    assert hr.get("/stats/figures", params={"node": "hq", "from": "2026-01-01",
                                            "to": "2026-01-02"}).status_code == 401
    with api.db.cursor() as cur:
        cur.execute("SELECT revoked_at IS NOT NULL FROM api_token WHERE id = %s", (token["id"],))
        assert cur.fetchone() == (True,)
    b.shot("tokens")


def test_a_device_taken_off_its_window_and_one_replaced(console, browser):
    b = browser
    api = console.api
    devices = items(api, "/devices")
    w2 = one(devices, serial="EQ-B0001-W02")
    w3 = one(devices, serial="EQ-B0001-W03")
    assert w2["window"]["number"] == 2 and w3["window"]["number"] == 3
    login(b, console)
    b.get(console.url + f"#/admin/devices?node={BRANCH}")
    b.click(".el-tabs__item#tab-devices")
    row_with(b, "devices", "EQ-B0001-W02")

    # taken off window 2: in stock
    b.click("[data-test=devices-unassign-EQ-B0001-W02]")
    confirm(b)
    b.wait(lambda: "库存" in row_with(b, "devices", "EQ-B0001-W02"), what="in stock")
    off = api.admin.get(f"/devices/{w2['id']}").json()
    assert off["window"] is None and off["node"] == BRANCH, off

    # window 3's replaced: the device itself refused beside the serial,
    # then a new one registered in its place
    assert refused_then_saved(b, "[data-test=devices-replace-EQ-B0001-W03]", {"model": "EQR-4K"},
                              "serial", "EQ-B0001-W03", "EQ-B0001-N03", shot="replace-refused")
    row_with(b, "devices", "EQ-B0001-N03")
    new = one(items(api, "/devices"), serial="EQ-B0001-N03")
    assert (new["window"]["id"], new["model"]) == (w3["window"]["id"], "EQR-4K"), new
    old = api.admin.get(f"/devices/{w3['id']}").json()
    assert old["window"] is None, old
    with api.db.cursor() as cur:
        cur.execute("SELECT count(*) FROM audit_log WHERE action = 'device.replace'")
        assert cur.fetchone() == (1,)
    b.shot("devices")


def test_star_rules_set_inherited_and_cleared(console, browser):
    b = browser
    api = console.api
    login(b, console)
    # the region's own rule: four above five refused, then set by week
    b.get(console.url + "#/admin/config?node=hq.r01&tab=stars")
    b.find("[data-test=star-source]")
    b.click("[data-test=star-set]")
    pick(b, "period", "周")
    b.type("#f-min_rated", "20")
    b.type("#f-five", "0.9")
    b.type("#f-four", "0.95")
    b.type("#f-three", "0.7")
    submit(b)
    reason = shown(b, ".el-dialog [data-test=problem], .el-dialog .el-form-item__error")
    assert reason
    b.shot("star-refused")
    b.type("#f-four", "0.85")
    submit(b)
    dialog_gone(b)
    b.wait(lambda: b.text("[data-test=star-source]") == "本机构设置", what="the region's own rule")
    r01 = api.node_id("hq.r01")
    rule = api.admin.get(f"/nodes/{r01}/star-rule").json()
    assert (rule["source"], rule["period"], rule["min_rated"], rule["five"], rule["four"],
            rule["three"]) == ("own", "week", 20, 0.9, 0.85, 0.7), rule

    # its branch inherits it, and says from where
    b.click(f"[data-test=tree] span[data-path='{BRANCH}']")
    b.wait(lambda: b.text("[data-test=star-source]") == "继承自 hq.r01", what="inherited")
    branch = api.admin.get(f"/nodes/{api.node_id(BRANCH)}/star-rule").json()
    assert (branch["source"], branch["inherited_from"], branch["five"]) == ("inherited", "hq.r01", 0.9)
    b.shot("star-inherited")

    # the region's rule removed: the branch is back to what is above
    b.click("[data-test=tree] span[data-path='hq.r01']")
    b.wait(lambda: b.text("[data-test=star-source]") == "本机构设置", what="the region again")
    b.click("[data-test=star-clear]")
    b.wait(lambda: b.text("[data-test=star-source]") != "本机构设置", what="the rule cleared")
    after = api.admin.get(f"/nodes/{r01}/star-rule").json()
    assert after["source"] in ("default", "inherited") and after["inherited_from"] != "hq.r01", after
    assert api.admin.get(f"/nodes/{api.node_id(BRANCH)}/star-rule").json()["inherited_from"] != "hq.r01"
    b.shot("star-cleared")


@pytest.mark.real_zones
def test_times_on_the_clock_of_their_branch(console, browser):
    """A user in New York reads an alert, a rejected device event and the
    audit entry of a branch in Urumqi (UTC+6) at the branch's time."""
    b = browser
    api = console.api
    far = "hq.r02.b0004"
    # 02:30 on 29 March in Urumqi, still 28 March in UTC and New York
    at = datetime.datetime(2026, 3, 28, 20, 30, tzinfo=datetime.timezone.utc)
    aid = str(uuid.uuid4())
    gateway, inc = "gw-b0004", str(uuid.uuid4())
    with api.db.cursor() as cur:
        cur.execute("""INSERT INTO alert (id, kind, branch_id, fact, opened_at, raised_at, facts)
                       SELECT %s, 'unsatisfied_rating', id, %s, %s, %s, '{"option": "态度差"}'::jsonb
                       FROM org_node WHERE path = %s::ltree""", (aid, aid, at, at, far))
        cur.execute("INSERT INTO alert_event (alert_id, kind, actor, at)"
                    " VALUES (%s, 'opened', 'sms-notifier', %s)", (aid, at))
        cur.execute("INSERT INTO gateway_cursor (gateway, incarnation, branch, upto)"
                    " VALUES (%s, %s, %s, 1)", (gateway, inc, far))
        cur.execute("""INSERT INTO rejected_event (id, gateway, gateway_seq, type, topic, reason,
                                                   data, rejected_at, gateway_incarnation)
                       VALUES (%s, %s, 1, 'rating.submitted', NULL, 'repeat press: 2 s',
                               %s::jsonb, %s, %s)""",
                    (str(uuid.uuid4()), gateway, json.dumps({"option": 2}), at, inc))
    api.db.commit()
    # the browser's own clock is New York's, 12 hours behind Urumqi
    b.driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "America/New_York"})
    login(b, console)
    urumqi, new_york = "2026/3/29 02:30:00", "2026/3/28 16:30:00"
    assert b.driver.execute_script("return new Date(arguments[0]).toLocaleString('zh-CN')",
                                   at.isoformat()) == new_york

    b.get(console.url + f"#/admin/alerts?node={far}")
    row = row_with(b, "alerts", far)
    assert urumqi in row and new_york not in row, row
    # the days picked are Urumqi's: 28 March does not hold the alert (as a
    # UTC day would), 29 March does
    pick_range(b, "2026-03-28", "2026-03-28")
    b.wait(lambda: not any(far in r for r in rows(b, "alerts")), what="none on the day before")
    pick_range(b, "2026-03-29", "2026-03-29")
    b.wait(lambda: any(far in r for r in rows(b, "alerts")), what="the alert on its own day")
    b.shot("alert-urumqi-time")

    b.get(console.url + f"#/admin/devices?node={far}&tab=rejected")
    row = row_with(b, "rejected", "repeat press")
    assert urumqi in row, row
    b.shot("rejected-urumqi-time")

    # the audit entry of a change at the branch, in its zone (now, on its clock)
    node = api.node_id(far)
    assert api.admin.patch(f"/nodes/{node}", {"name": "乌鲁木齐新华支行（新）"}).status_code == 200
    entry = items(api, "/audit", action="node.update")[0]
    expect = b.driver.execute_script(
        "return new Date(arguments[0]).toLocaleString('zh-CN', {timeZone: 'Asia/Urumqi'})", entry["at"])
    b.get(console.url + "#/admin/audit")
    b.type("input[data-test=filter-action]", "node.update")
    b.click("[data-test=filter-apply]")
    assert expect in row_with(b, "audit", "node.update")
    b.shot("audit-urumqi-time")


def pick_range(b, start, end):
    """Types a range into the alerts' date filter and closes its panel."""
    inputs = b.driver.find_elements(By.CSS_SELECTOR, "[data-test=alerts] input.el-range-input")
    for e, value in zip(inputs, (start, end)):
        e.click()
        e.send_keys(Keys.CONTROL, "a")
        e.send_keys(value)
    inputs[1].send_keys(Keys.ENTER)
    b.driver.find_element(By.CSS_SELECTOR, "h1.page-title").click()
