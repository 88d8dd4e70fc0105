"""Every control of every console page has an accessible name: the login,
the password change, the live hall, the statistics, each management page
with each of its tabs and the forms its buttons open, and the three hall
pages, opened in a real headless Chromium against the real stack. On each,
JavaScript in the page finds every visible button, input, select, textarea,
[role=button] and link whose name (aria-labelledby, aria-label, an
associated <label>, its text, title) is empty; the failure lists each one
with where it was found. Screenshots of every page are kept in the test's
tmp folder."""
from selenium.webdriver.common.by import By

from test_admin import dialog_gone, login
from test_console import BRANCH
from test_hall import PRINT_STUB, SPEECH_RECORDER, before_load, open_device, token_for

# The accessible name as a screen reader computes it, in the order of the
# accname rules this console can meet; '' when there is none. Returns a
# description of each visible control without one.
UNNAMED = r"""
const CONTROLS = 'button, input, select, textarea, [role=button], a[href]';
function text(el) { return (el ? (el.innerText || el.textContent || '') : '').replace(/\s+/g, ' ').trim(); }
function name(el) {
  const by = el.getAttribute('aria-labelledby');
  if (by) {
    const t = by.split(/\s+/).map(id => text(document.getElementById(id))).join(' ').trim();
    if (t) return t;
  }
  const aria = (el.getAttribute('aria-label') || '').trim();
  if (aria) return aria;
  // a label names what it labels with its own name (Chromium: its
  // aria-label, else its text)
  const label = l => (l.getAttribute('aria-label') || '').trim() || text(l);
  const labels = [...(el.labels || [])].map(label).join(' ').trim();
  if (labels) return labels;
  const wrap = el.closest('label');
  if (wrap && label(wrap)) return label(wrap);
  if (el.tagName === 'INPUT' && ['button', 'submit', 'reset'].includes(el.type) && el.value.trim()) {
    return el.value.trim();
  }
  if (!['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName)) {
    const t = text(el);
    if (t) return t;
    const alt = [...el.querySelectorAll('img[alt]')].map(i => i.alt.trim()).join(' ').trim();
    if (alt) return alt;
  }
  return (el.getAttribute('title') || '').trim();
}
function shown(el) {
  if (el.type === 'hidden' || el.closest('[aria-hidden=true], [inert]')) return false;
  const s = getComputedStyle(el);
  return s.visibility !== 'hidden' && el.getClientRects().length > 0;
}
function where(el) {
  const parts = [];
  for (let e = el; e && e !== document.body && parts.length < 3; e = e.parentElement) {
    const t = e.getAttribute('data-test');
    if (t) parts.push(`[data-test=${t}]`);
  }
  return parts.join(' < ');
}
return [...document.querySelectorAll(CONTROLS)].filter(el => shown(el) && !name(el)).map(el =>
  `${el.outerHTML.slice(0, 160).replace(/\s+/g, ' ')} (in ${where(el) || 'the page'})`);
"""


class Audit:
    """The controls without a name, gathered page by page."""

    def __init__(self, b):
        self.b = b
        self.offenders = []
        self.pages = 0

    def check(self, where, shot=True):
        self.pages += 1
        if shot:
            self.b.shot(where.replace(" ", "-").replace("/", "-"))
        for o in self.b.driver.execute_script(UNNAMED):
            self.offenders.append(f"{where}: {o}")

    def form(self, where, opener, dialog=".el-dialog"):
        """The dialog `opener` opens, checked, then closed; `opener` a
        prefix of data-test ("users-reset-"): the first row's."""
        if not opener.startswith("["):
            opener = f"[data-test={visible(self.b, f'[data-test^={opener}]')[0].get_attribute('data-test')}]"
        self.b.click(opener)
        self.b.find(f"{dialog} .el-form")
        self.check(f"{where} form", shot=False)
        self.b.click(f"{dialog} .el-dialog__headerbtn")
        dialog_gone(self.b)


# the management pages: (page, node picked, its tabs, the table of a tab
# whose create form and first row's edit form are checked (a table without
# edit forms: "devices/"), more forms: (tab, opener, dialog))
ADMIN_PAGES = [
    ("config", BRANCH, ["nodes", "windows", "staff", "scales", "stars"],
     {"nodes": "nodes", "windows": "windows", "staff": "staff"},
     [("scales", "[data-test=scales-create]", "[data-test=scale-dialog]"),
      ("stars", "[data-test=star-set]", ".el-dialog"), ("windows", "windows-profile-", ".el-dialog")]),
    ("queues", BRANCH, ["queues", "services"], {"queues": "queues", "services": "services"}, []),
    ("devices", BRANCH, ["settings", "devices", "rejected"], {"devices": "devices/"},
     [("settings", "[data-test=settings-edit]", ".el-dialog"),
      ("devices", "devices-assign-", ".el-dialog")]),
    ("alerts", BRANCH, ["alerts", "rules", "recipients"], {"rules": "rules", "recipients": "recipients"}, []),
    ("users", None, ["users", "roles"], {"users": "users", "roles": "roles"},
     [("users", "users-reset-", ".el-dialog")]),
    ("tokens", None, [], {}, [(None, "[data-test=tokens-create]", ".el-dialog")]),
    ("data", "hq", ["backups", "purges"], {"backups": "backups/"}, []),
    ("audit", None, [], {}, []),
]


def visible(b, css):
    return [e for e in b.driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]


def test_every_control_of_every_page_has_an_accessible_name(console, browser):
    b = browser
    a = Audit(b)
    b.get(console.url + "#/login")
    b.find("#login")
    a.check("login")
    login(b, console)

    b.get(console.url + "#/password")
    b.find("#pw-current")
    a.check("password")
    b.get(console.url + f"#/live?node={BRANCH}")
    b.find("[data-test=window-1]")
    a.check("live hall")
    b.click("[data-test=lang-menu]")
    b.find("[data-test=lang-en]")
    b.click("[data-test=account]")
    b.find("[data-test=logout]")
    a.check("menus open")
    b.get(console.url + "#/live?node=hq")
    b.find(".el-empty")
    a.check("live hall no branch")
    b.get(console.url + "#/stats?node=hq")
    b.find("[data-test=figures]")
    a.check("statistics")

    for page, node, tabs, tables, more in ADMIN_PAGES:
        b.get(console.url + f"#/admin/{page}" + (f"?node={node}" if node else ""))
        b.find(f"li[data-test=menu-{page}].is-active")
        if not tabs:
            b.find(f"[data-test={page}-table]")
            a.check(page)
        for tab in tabs:
            # each tab, its table's create form and its first row's edit form
            b.click(f".el-tabs__item#tab-{tab}")
            b.wait(lambda: b.find(f"#pane-{tab}").is_displayed(), what=f"the {tab} tab")
            a.check(f"{page} {tab}")
            table = tables.get(tab)
            if table:
                a.form(f"{page} {tab} create", f"[data-test={table.rstrip('/')}-create]")
            if table and not table.endswith("/"):
                b.find(f"[data-test^={table}-edit-]")
                a.form(f"{page} {tab} edit", f"{table}-edit-")
        for tab, opener, dialog in more:
            if tab:
                b.click(f".el-tabs__item#tab-{tab}")
            a.form(f"{page} {opener}", opener, dialog)

    # the hall pages, each as its device opens it
    api = console.api
    before_load(b, PRINT_STUB + SPEECH_RECORDER)
    open_device(b, console, "kiosk", token_for(api, ["issue_tickets", "view_live_hall"], "a11y-kiosk"))
    b.find("[data-test=service-cash]")
    a.check("kiosk")
    open_device(b, console, "display", token_for(api, ["view_live_hall"], "a11y-display"))
    a.check("display")
    open_device(b, console, "teller", token_for(api, ["operate_windows", "view_live_hall"], "a11y-teller"))
    b.find("[data-test=pick-1]")
    a.check("teller pick")
    b.click("[data-test=pick-1]")
    b.find("[data-test=act-call-next]")
    a.check("teller")

    assert a.pages >= 40, a.pages
    assert not a.offenders, "controls without an accessible name:\n" + "\n".join(a.offenders)
