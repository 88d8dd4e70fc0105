"""The opening hours editor on the node page and the documents on the
service form, in a real headless Chromium against the real stack
(tests/browser/conftest.py): a week of sessions set at a branch, an
overlapping session, a cut-off out of range and a date that does not exist
each refused with the API's reason beside what it names, then saved; a
service's documents edited one a line. Screenshots are kept in each test's
tmp folder."""
from test_admin import BRANCH, dialog_gone, field_error, login, row_with, shown, submit


def node_id(api, path):
    with api.db.cursor() as cur:
        cur.execute("SELECT id FROM org_node WHERE path = %s::ltree", (path,))
        return cur.fetchone()[0]


def saved(b):
    """The save's answer came back without a refusal."""
    b.wait(lambda: b.driver.find_elements("css selector", ".el-message--success"),
           what="saved")


def test_opening_hours_set_at_a_branch_with_each_refusal_beside_its_field(console, browser):
    b = browser
    api = console.api
    branch = node_id(api, BRANCH)
    login(b, console)
    b.get(console.url + f"#/admin/config?node={BRANCH}&tab=hours")
    assert shown(b, "[data-test=hours-now]") == "全天可取号（未设置营业时间）"
    assert b.text("[data-test=hours-week-source]") == "未设置（全天可取号）"
    assert "30 分钟" in b.text("[data-test=hours-cutoff-source]")

    # a week of its own: Monday's second session overlaps the first
    b.click("[data-test=hours-set-own]")
    b.find("[data-test=hours-week]")
    for i, (opens, closes) in enumerate((("08:30", "12:00"), ("11:00", "14:00"))):
        b.click("[data-test=mon-add]")
        b.type(f"[data-test=mon-{i}-opens]", opens)
        b.type(f"[data-test=mon-{i}-closes]", closes)
    b.click("[data-test=hours-save]")
    assert "overlaps" in shown(b, "[data-test=mon-1-error]")
    b.shot("hours-overlap")
    assert api.admin.get(f"/nodes/{branch}/opening-hours").json()["week"]["value"] is None
    b.type("[data-test=mon-1-opens]", "13:30")
    b.type("[data-test=mon-1-closes]", "17:00")

    # a cut-off out of range, beside its field
    b.click("[data-test=hours-own-cutoff]")
    b.type("[data-test=hours-cutoff]", "300")
    b.click("[data-test=hours-save]")
    assert "240" in shown(b, "[data-test=field-issue_cutoff_min] .el-form-item__error")
    b.type("[data-test=hours-cutoff]", "20")

    # a date that does not exist, beside it
    b.click("[data-test=date-add]")
    b.type("[data-test=date-0-date]", "2026-02-30")
    b.type("[data-test=date-0-note]", "国庆节")
    b.click("[data-test=hours-save]")
    assert "2026-10-01" in shown(b, "[data-test=date-0-error]")
    b.type("[data-test=date-0-date]", "2026-10-01")
    b.click("[data-test=hours-save]")
    saved(b)
    b.wait(lambda: b.text("[data-test=hours-week-source]") == "本机构设置", what="the week set here")
    assert "20 分钟" in b.text("[data-test=hours-cutoff-source]")
    b.shot("hours")
    h = api.admin.get(f"/nodes/{branch}/opening-hours").json()
    assert h["week"]["value"]["mon"] == [{"opens": "08:30", "closes": "12:00"},
                                         {"opens": "13:30", "closes": "17:00"}]
    assert h["week"]["value"]["tue"] == []
    assert h["issue_cutoff_min"]["value"] == 20
    assert h["dates"] == [{"date": "2026-10-01", "hours_of": None, "note": "国庆节"}]

    # back to the inherited week (none: always open)
    b.click("[data-test=hours-inherit]")
    b.click("[data-test=hours-save]")
    b.wait(lambda: b.text("[data-test=hours-week-source]") == "未设置（全天可取号）",
           what="the week inherited again")
    assert api.admin.get(f"/nodes/{branch}/opening-hours").json()["week"]["value"] is None


def test_a_service_s_documents_one_a_line(console, browser):
    b = browser
    api = console.api
    cash = next(s for s in api.admin.get("/services", params={"limit": "200"}).json()["items"]
                if s["code"] == "cash")
    login(b, console)
    b.get(console.url + "#/admin/queues?tab=services")
    b.click(f"[data-test=services-edit-{cash['id']}]")
    b.type("#f-documents", "居民身份证原件\n" + "证" * 41)
    submit(b)
    assert "40" in field_error(b, "documents")
    b.shot("documents-refused")
    b.type("#f-documents", "居民身份证原件\n\n户口簿\n")
    submit(b)
    dialog_gone(b)
    assert "居民身份证原件、户口簿" in row_with(b, "services", "个人存取款")
    assert api.admin.get(f"/services/{cash['id']}").json()["documents"] == ["居民身份证原件", "户口簿"]
