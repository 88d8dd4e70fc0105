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

    def tabs(self, where, names, each=None):
        """Each tab of the page in turn, checked (and `each(name)` done there)."""
        for name in names:
            self.b.click(f".el-tabs__item#tab-{name}")
            self.b.wait(lambda: self.b.find(f"#pane-{name}").is_displayed(), what=f"the {name} tab")
            self.check(f"{where} {name}")
            if each:
                each(name)

    def form(self, where, opener):
        """The dialog `opener` opens, checked, then closed."""
        self.b.click(opener)
        self.b.find(".el-dialog .el-form")
        self.check(f"{where} form", shot=False)
        self.b.click(".el-dialog .el-dialog__headerbtn")
        dialog_gone(self.b)


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

    def forms(where, tables):
        # each table's create form and, on its first row, its edit form
        def each(name):
            table = tables.get(name)
            if not table:
                return
            if visible(b, f"[data-test={table}-create]"):
                a.form(f"{where} {name} create", f"[data-test={table}-create]")
            edits = visible(b, f"[data-test^={table}-edit-]")
            if edits:
                a.form(f"{where} {name} edit", f"[data-test={edits[0].get_attribute('data-test')}]")
        return each

    b.get(console.url + f"#/admin/config?node={BRANCH}")
    b.find("[data-test=nodes-table]")
    a.tabs("config", ["nodes", "windows", "staff", "scales", "stars"],
           forms("config", {"nodes": "nodes", "windows": "windows", "staff": "staff"}))
    b.click(".el-tabs__item#tab-scales")
    b.click("[data-test=scales-create]")
    b.find("[data-test=scale-dialog] .el-form")
    a.check("config scales form", shot=False)
    b.click("[data-test=scale-dialog] .el-dialog__headerbtn")
    dialog_gone(b)
    b.click(".el-tabs__item#tab-stars")
    a.form("config stars", "[data-test=star-set]")
    b.click(".el-tabs__item#tab-windows")
    profile = visible(b, "[data-test^=windows-profile-]")[0].get_attribute("data-test")
    a.form("config window profile", f"[data-test={profile}]")

    b.get(console.url + f"#/admin/queues?node={BRANCH}")
    b.find("[data-test=queues-table]")
    a.tabs("queues", ["queues", "services"], forms("queues", {"queues": "queues", "services": "services"}))

    b.get(console.url + f"#/admin/devices?node={BRANCH}")
    b.find("[data-test=settings-table]")
    a.tabs("devices", ["settings", "devices", "rejected"], forms("devices", {"devices": "devices"}))
    b.click(".el-tabs__item#tab-settings")
    a.form("devices settings", "[data-test=settings-edit]")
    b.click(".el-tabs__item#tab-devices")
    assign = visible(b, "[data-test^=devices-assign-]")[0].get_attribute("data-test")
    a.form("devices assign", f"[data-test={assign}]")

    b.get(console.url + f"#/admin/alerts?node={BRANCH}")
    b.find("[data-test=alerts-table]")
    a.tabs("alerts", ["alerts", "rules", "recipients"],
           forms("alerts", {"rules": "rules", "recipients": "recipients"}))

    b.get(console.url + "#/admin/users")
    b.find("[data-test=users-table]")
    a.tabs("users", ["users", "roles"], forms("users", {"users": "users", "roles": "roles"}))
    b.click(".el-tabs__item#tab-users")
    reset = visible(b, "[data-test^=users-reset-]")[0].get_attribute("data-test")
    a.form("users reset", f"[data-test={reset}]")

    b.get(console.url + "#/admin/tokens")
    b.find("[data-test=tokens-table]")
    a.check("tokens")
    a.form("tokens create", "[data-test=tokens-create]")

    b.get(console.url + "#/admin/data?node=hq")
    b.find("[data-test=backups-table]")
    a.tabs("data", ["backups", "purges"])
    b.click(".el-tabs__item#tab-backups")
    a.form("data backup", "[data-test=backups-create]")

    b.get(console.url + "#/admin/audit")
    b.find("[data-test=audit-table]")
    a.check("audit")

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
