"""The hall pages in a real headless Chromium against the real stack
(tests/browser/conftest.py), each opened as a device is: once with its
branch and an API token in the address. The ticket kiosk issues and prints
a ticket (window.print stubbed), shows a service's documents before issuing
and prints them, and greys every service past the issue cut-off with when
tickets resume; the hall display shows the calls and says
them one at a time with web-api's voice (its audio fetched for real, the
playing recorded; speechSynthesis replaced by a recorder that must stay
unused) and follows again after a restart of web-api, the teller console drives a window through
every action and shows each refusal with its code. Screenshots are kept in
each test's tmp folder (EQMS_SCREENSHOTS=1 also copies them to docs/screenshots)."""
import datetime
import time
import zoneinfo

import pytest
from selenium.webdriver.common.by import By

from openinghours import past_midnight_edge, stopped_week
from test_console import BRANCH, hall_call, issue_and_call, keep

# window.print replaced before the page loads: what was on the ticket when
# the print dialog would have opened
PRINT_STUB = """
window.__prints = [];
window.print = () => {
  const n = document.querySelector('[data-test=ticket-number]');
  window.__prints.push(n ? n.textContent.trim() : null);
};
"""

# the same, with the documents printed on the ticket too
PRINT_DOCUMENTS_STUB = """
window.__printed = [];
window.print = () => {
  const n = document.querySelector('[data-test=ticket-number]');
  const documents = [...document.querySelectorAll('[data-test=ticket-documents] li')]
    .map(li => li.textContent.trim());
  window.__printed.push({ number: n ? n.textContent.trim() : null, documents });
};
"""

# window.speechSynthesis replaced before the page loads by a recorder that
# "speaks" each utterance for 4 s (a slow voice: an announcement said twice
# takes longer than queue-manager's spacing of the next, so the page must
# queue them) and records its start, end and whether another was still
# being spoken
SPEECH_RECORDER = """
(() => {
  const log = [];
  let current = null;
  const synth = {
    get speaking () { return current !== null; },
    pending: false, paused: false, onvoiceschanged: null,
    getVoices: () => [{ lang: 'en-US', name: 'rec-en', voiceURI: 'rec-en', default: true, localService: true },
                      { lang: 'zh-CN', name: 'rec-zh', voiceURI: 'rec-zh', default: false, localService: true }],
    speak (u) {
      const entry = { text: u.text, lang: u.lang, voice: u.voice ? u.voice.name : null,
                      start: Date.now(), end: null, overlap: current !== null };
      log.push(entry);
      current = u;
      setTimeout(() => { entry.end = Date.now(); current = null; if (u.onend) u.onend({}); }, 4000);
    },
    cancel () { log.push({ cancel: Date.now() }); },
    pause () {}, resume () {},
    addEventListener () {}, removeEventListener () {},
  };
  Object.defineProperty(window, 'speechSynthesis', { value: synth, configurable: true });
  window.SpeechSynthesisUtterance = class { constructor (text) { this.text = text; } };
  window.__speech = log;
})();
"""


# The server's voice as the display plays it: fetch() is the page's own
# (the audio really comes from web-api), but what it fetched is recorded
# (ticket, window, lang, status, type, size, the WAV's first bytes), each
# blob: URL made of such a fetch remembered, and HTMLMediaElement.play()
# replaced by a recorder that "plays" a clip for 4 s (as slow as the
# speech recorder, for the same reason) and records its request, start,
# end, the text the page showed as being said, and whether another clip
# was still playing
AUDIO_RECORDER = """
(() => {
  const fetched = [], played = [], urls = new Map();
  const realFetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const r = await realFetch(input, init);
    const url = String(input && input.url ? input.url : input);
    if (url.includes('/announcements/audio')) {
      const q = new URL(url, location.href).searchParams;
      const bytes = new Uint8Array(await r.clone().arrayBuffer());
      fetched.push({ ticket: q.get('ticket'), window: q.get('window'), lang: q.get('lang'),
                     status: r.status, type: r.headers.get('Content-Type'), size: bytes.length,
                     head: String.fromCharCode(...bytes.slice(0, 4)) + String.fromCharCode(...bytes.slice(8, 12)) });
    }
    return r;
  };
  const realBlob = Response.prototype.blob;
  Response.prototype.blob = async function () {
    const b = await realBlob.call(this);
    if (this.url.includes('/announcements/audio')) b.__request = this.url;
    return b;
  };
  const realURL = URL.createObjectURL;
  URL.createObjectURL = (b) => { const u = realURL(b); if (b.__request) urls.set(u, b.__request); return u; };
  let current = null;
  HTMLMediaElement.prototype.play = function () {
    const request = urls.get(this.src) || null;
    const q = request ? new URL(request).searchParams : new URLSearchParams();
    const entry = { ticket: q.get('ticket'), window: q.get('window'), src: this.src,
                    start: Date.now(), end: null, shown: null, overlap: current !== null };
    played.push(entry);
    current = this;
    const el = this;
    setTimeout(() => {
      const s = document.querySelector('[data-test=speaking]');
      entry.shown = s ? s.textContent : null;
      entry.end = Date.now();
      if (current === el) current = null;
      el.dispatchEvent(new Event('ended'));
    }, 4000);
    return Promise.resolve();
  };
  HTMLMediaElement.prototype.pause = function () { if (current === this) current = null; };
  window.__audio = { fetched, played };
})();
"""


def token_for(api, scopes, name):
    r = api.admin.post("/tokens", {"name": name, "scopes": scopes, "node": BRANCH,
                                   "expires_in_days": 30})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def open_device(b, console, page, token, **extra):
    query = "&".join([f"branch={BRANCH}", f"token={token}"] + [f"{k}={v}" for k, v in extra.items()])
    b.get(console.url + f"#/hall/{page}?{query}")
    # the token leaves the address at once and stays on the device
    b.wait(lambda: "token=" not in b.driver.current_url, what="the token out of the address")
    assert token in (b.local(f"eqms.hall.{page}") or "")
    b.wait(lambda: b.find("[data-test=hall-status]").get_attribute("data-status") == "live",
           timeout=15, what="the live stream open")


def before_load(b, script):
    b.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": script})


def db_one(api, sql, *args):
    with api.db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()


def take_first_cash_ticket(b):
    """Cash taken at the kiosk (PRINT_STUB installed), no one ahead: the
    number printed."""
    b.click("[data-test=service-cash]")
    number = b.text("[data-test=ticket-number]")
    assert number.startswith("A"), number
    assert "下一位就是您" in b.text("[data-test=ticket-position]")
    b.wait(lambda: b.driver.execute_script("return window.__prints") == [number],
           what="the print dialog opened with the ticket on the page")
    return number


def test_kiosk_issues_and_prints_a_ticket(console, browser):
    b = browser
    api = console.api
    token = token_for(api, ["issue_tickets", "view_live_hall"], "kiosk-1")
    before_load(b, PRINT_STUB)
    open_device(b, console, "kiosk", token)
    # no window is open yet: every service is unavailable
    b.find("[data-test=service-cash]")
    assert b.find("[data-test=service-cash]").get_attribute("data-available") == "0"
    assert "暂停办理" in b.text("[data-test=service-cash]")
    b.shot("kiosk-closed")

    # window 1 opens serving cash alone: cash can be had, a loan cannot
    window = hall_call(api)
    cash = db_one(api, "SELECT id FROM service WHERE code = 'cash'")[0]
    r = api.admin.request("PUT", f"/windows/{window}/profile",
                          json={"profile": f"strict;vip=1;ordinary=1;services={cash}"})
    assert r.status_code == 200, r.text
    b.wait(lambda: b.find("[data-test=service-cash]").get_attribute("data-available") == "1",
           timeout=10, what="cash available")
    b.wait(lambda: b.find("[data-test=service-loan]").get_attribute("data-available") == "0",
           timeout=10, what="no loan")
    assert "个人存取款" in b.text("[data-test=service-cash]")
    shot = b.shot("kiosk")
    keep(shot, "hall-kiosk.png")

    # a phone number the API refuses: its reason beside the field
    b.type("#kiosk-phone", "12")
    b.click("[data-test=service-cash]")
    assert "手机号码" in b.text("[data-test=phone-error]")
    assert b.driver.execute_script("return window.__prints.length") == 0
    b.shot("kiosk-phone-refused")

    b.type("#kiosk-phone", "+8613912345678")
    number = take_first_cash_ticket(b)
    shot = b.shot("kiosk-ticket")
    keep(shot, "hall-kiosk-ticket.png")
    r = api.admin.get(f"/branches/{BRANCH}/tickets/{number}")
    assert r.status_code == 200 and r.json()["ticket"]["state"] == "waiting", r.text

    # a second ticket has one ahead of it; printing again prints it again
    b.click("[data-test=done]")
    b.click("[data-test=service-cash]")
    second = b.wait(lambda: (lambda n: n if n and n != number else None)(
        b.text("[data-test=ticket-number]")), what="the second ticket")
    assert "前面还有 1 人" in b.text("[data-test=ticket-position]")
    b.click("[data-test=print-again]")
    b.wait(lambda: b.driver.execute_script("return window.__prints") == [number, second, second],
           what="printed again")
    # the page as printed: the ticket alone
    b.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not b.driver.find_element(By.CSS_SELECTOR, ".hall-bar").is_displayed()
    assert not b.driver.find_element(By.CSS_SELECTOR, "[data-test=done]").is_displayed()
    assert b.driver.find_element(By.CSS_SELECTOR, "[data-test=ticket]").is_displayed()
    b.shot("kiosk-print")
    b.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

    # loaded again without the token in the address: still the device's
    b.get("about:blank")
    b.get(console.url + "#/hall/kiosk")
    b.find("[data-test=service-cash]")
    assert "token" not in b.driver.current_url


@pytest.mark.real_zones
def test_kiosk_shows_and_prints_a_service_s_documents_and_greys_it_past_the_cut_off(console,
                                                                                     browser):
    b = browser
    api = console.api
    cash = db_one(api, "SELECT id FROM service WHERE code = 'cash'")[0]
    docs = ["居民身份证原件", "银行卡或存折"]
    r = api.admin.patch(f"/services/{cash}", {"documents": docs})
    assert r.status_code == 200, r.text
    hall_call(api)
    token = token_for(api, ["issue_tickets", "view_live_hall"], "kiosk-2")
    before_load(b, PRINT_DOCUMENTS_STUB)
    open_device(b, console, "kiosk", token)
    b.wait(lambda: b.find("[data-test=service-cash]").get_attribute("data-available") == "1",
           timeout=10, what="cash available")

    # the documents first; back returns to the services, nothing issued
    b.click("[data-test=service-cash]")
    b.find("[data-test=documents]")
    assert b.texts("[data-test=document]") == docs
    keep(b.shot("kiosk-documents"), "hall-kiosk-documents.png")
    b.click("[data-test=documents-back]")
    b.find("[data-test=services]")
    assert db_one(api, "SELECT count(*) FROM ticket")[0] == 0

    # taken: the ticket lists them, and so does the paper
    b.click("[data-test=service-cash]")
    b.click("[data-test=documents-take]")
    number = b.text("[data-test=ticket-number]")
    assert b.texts("[data-test=ticket-documents] li") == docs
    b.wait(lambda: b.driver.execute_script("return window.__printed") == [
        {"number": number, "documents": docs}], what="the ticket printed with its documents")
    b.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert b.driver.find_element(By.CSS_SELECTOR, "[data-test=ticket-documents]").is_displayed()
    assert not b.driver.find_element(By.CSS_SELECTOR, ".hall-bar").is_displayed()
    b.shot("kiosk-documents-print")
    b.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    b.click("[data-test=done]")

    # past the cut-off (issuing resumes tomorrow at 08:00): every service is
    # greyed with the reason, without a reload (the kiosk is told the
    # branch's configuration changed and reads its services again)
    b.driver.execute_script("window.__sameDocument = true")
    week, resumes = stopped_week(past_midnight_edge())
    branch = db_one(api, "SELECT id FROM org_node WHERE path = %s::ltree", BRANCH)[0]
    r = api.admin.patch(f"/nodes/{branch}/opening-hours", {"week": week})
    assert r.status_code == 200 and r.json()["issuing"]["state"] == "issuing_stopped", r.text
    b.wait(lambda: b.find("[data-test=service-cash]").get_attribute("data-reason")
           == "issuing_stopped", timeout=10, what="cash stopped")
    text = b.text("[data-test=service-cash]")
    assert "今日取号已停止" in text and "明天 08:00 恢复取号" in text, text
    buttons = b.driver.find_elements(By.CSS_SELECTOR, "[data-test=services] button")
    assert buttons and all(e.get_attribute("data-available") == "0" and not e.is_enabled()
                           for e in buttons)
    keep(b.shot("kiosk-stopped"), "hall-kiosk-stopped.png")
    # the hours given up: cash again
    r = api.admin.patch(f"/nodes/{branch}/opening-hours", {"week": None})
    assert r.status_code == 200, r.text
    b.wait(lambda: b.find("[data-test=service-cash]").get_attribute("data-available") == "1",
           timeout=10, what="cash available again")
    assert b.driver.execute_script("return window.__sameDocument === true"), "the page reloaded"


def spoken(b):
    return [e for e in b.driver.execute_script("return window.__speech") if "text" in e]


def played(b):
    """The clips the display played ({ticket, window, start, end, shown,
    overlap}) and what it fetched ({ticket, window, lang, status, type,
    size, head})."""
    audio = b.driver.execute_script("return window.__audio")
    return audio["played"], audio["fetched"]


def check_played(b, want, timeout):
    """Waits until the display played the calls `want` ([(number, window)],
    in order) to their end; checks they were web-api's WAV files, one at a
    time, shown as said while they played, and that the browser's own
    voice said nothing. Returns what was played."""
    b.wait(lambda: len(played(b)[0]) >= len(want) and all(e["end"] for e in played(b)[0][:len(want)]),
           timeout=timeout, what=f"{len(want)} clips played")
    log, fetched = played(b)
    assert [(e["ticket"], int(e["window"])) for e in log] == want, log
    assert not any(e["overlap"] for e in log), log
    for a, c in zip(log, log[1:]):
        assert c["start"] >= a["end"], (a, c)
    for e in log:
        assert e["shown"].endswith(f"请{e['ticket']}号到{e['window']}号窗口"), e
    # each call fetched once (its repeats and a recall played from memory),
    # each a real WAV file from web-api
    calls = sorted(set(want))
    assert sorted((f["ticket"], int(f["window"])) for f in fetched) == calls, fetched
    for f in fetched:
        assert (f["status"], f["type"], f["head"], f["lang"]) == (200, "audio/wav", "RIFFWAVE", "zh-CN"), f
        assert f["size"] > 44 + 22050 * 2, f   # more than a second of sound
    assert spoken(b) == [], spoken(b)
    return log


def test_hall_display_shows_and_speaks_calls_one_at_a_time_and_recovers(console, browser):
    b = browser
    api = console.api
    token = token_for(api, ["view_live_hall"], "display-1")
    before_load(b, SPEECH_RECORDER)
    before_load(b, AUDIO_RECORDER)
    open_device(b, console, "display", token)
    assert "欢迎光临" in b.text("[data-test=courtesy]")
    # the clock is the branch's, whatever the browser's zone
    zone, = db_one(api, "SELECT time_zone FROM org_node WHERE path = %s::ltree", BRANCH)
    clocks = {(datetime.datetime.now(zoneinfo.ZoneInfo(zone)) + datetime.timedelta(minutes=m))
              .strftime("%H:%M") for m in (0, 1)}
    b.wait(lambda: b.text(".display-clock") in clocks, what=f"the clock of {zone}")
    w1, w2 = hall_call(api, 1), hall_call(api, 2)
    for _ in range(2):
        assert api.admin.post(f"/branches/{BRANCH}/tickets", {"service_code": "cash"}).status_code == 201
    first = issue_and_call(api, w1)
    second = issue_and_call(api, w2)
    r = api.admin.post(f"/windows/{w1}/recall")
    assert r.status_code == 200, r.text

    # the display: the recall on top, highlighted, the last calls with windows
    b.wait(lambda: b.text("[data-test=current-number]") == first, what=f"{first} on top again")
    assert "1 号窗口" in b.text("[data-test=current-call]")
    rows = [r.split() for r in b.texts("[data-test=recent] tbody tr")]
    assert rows[:2] == [[first, "1"], [second, "2"]], rows
    b.wait(lambda: b.text("[data-test=queue-A]").split()[-1] == "2人", what="2 waiting in A")
    assert "个人存取款" in b.text("[data-test=queue-A]")

    # said with web-api's voice in order (each twice, queue-manager's
    # default; the recall again), never two at once
    check_played(b, [(first, 1)] * 2 + [(second, 2)] * 2 + [(first, 1)] * 2, timeout=90)
    shot = b.shot("hall-display")
    keep(shot, "hall-display.png")

    # web-api restarts: the display reconnects by itself, shows and says the next call
    console.restart_webapi()
    status = lambda: b.find("[data-test=hall-status]").get_attribute("data-status")  # noqa: E731
    b.wait(lambda: status() != "live", timeout=45, what="the drop seen")
    b.shot("hall-display-reconnecting")
    b.wait(lambda: status() == "live", timeout=30, what="live again after the restart")
    b.forget_logs()  # the requests refused while web-api was down
    assert api.admin.post(f"/windows/{w2}/finish").status_code == 200
    third = issue_and_call(api, w2)
    b.wait(lambda: b.text("[data-test=current-number]") == third, timeout=10,
           what=f"{third} after the restart")
    check_played(b, [(first, 1)] * 2 + [(second, 2)] * 2 + [(first, 1)] * 2
                 + [(third, 2)] * 2, timeout=40)
    b.shot("hall-display-after-restart")


def pick(b, select_css, option_css):
    """Chooses an option of an Element Plus select."""
    b.click(select_css)
    b.click(option_css)


def refusal(b, code):
    e = b.find("[data-test=refusal]")
    b.wait(lambda: e.get_attribute("data-code") == code, what=f"refusal {code}")
    return e.text


def test_teller_console_drives_a_window_and_shows_refusals(console, browser):
    b = browser
    api = console.api
    token = token_for(api, ["operate_windows", "view_live_hall"], "teller-1")
    window, number = db_one(api, """SELECT w.id, w.number FROM service_window w
                                    JOIN org_node n ON n.id = w.node_id
                                    WHERE n.path = %s::ltree ORDER BY w.number LIMIT 1""", BRANCH)
    employee_no, staff = db_one(api, """SELECT s.employee_no, s.id FROM staff s
                                        JOIN org_node n ON n.id = s.node_id
                                        WHERE n.path = %s::ltree AND s.active ORDER BY s.id
                                        LIMIT 1""", BRANCH)
    open_device(b, console, "teller", token)
    b.click(f"[data-test=pick-{number}]")
    state = lambda: b.find("[data-test=window-state]").get_attribute("data-state")  # noqa: E731
    assert state() == "closed"
    assert "未知" in b.text("[data-test=device]")

    # a refusal shows queue-manager's code and what it means
    b.click("[data-test=act-call-next]")
    assert "窗口已关闭" in refusal(b, "window_closed")
    b.shot("teller-refused")
    b.click("[data-test=act-open]")
    b.wait(lambda: state() == "open", what="open")
    b.type("#teller-employee", "999999")
    b.click("[data-test=login]")
    assert "没有这个工号" in refusal(b, "unknown_staff")
    b.type("#teller-employee", employee_no)
    b.click("[data-test=login]")
    b.wait(lambda: employee_no in b.text("[data-test=teller]"), what="the teller logged in")
    b.click("[data-test=act-call-next]")
    refusal(b, "no_ticket")

    tickets = []
    for code in ("cash", "cash", "cash", "loan"):
        r = api.admin.post(f"/branches/{BRANCH}/tickets", {"service_code": code})
        assert r.status_code == 201, r.text
        tickets.append(r.json()["ticket"]["number"])
    b.wait(lambda: b.text("[data-test=waiting]") == "4", what="4 waiting for the window")
    current = lambda: (b.texts("[data-test=current]") or [None])[0]  # noqa: E731
    b.click("[data-test=act-call-next]")
    b.wait(lambda: current() == tickets[0], what="the first ticket called")
    b.click("[data-test=act-recall]")
    b.find("[data-test=done]")
    b.click("[data-test=act-start]")
    b.find("[data-test=started]")
    # a customer served cannot be left: closing is refused
    b.click("[data-test=act-close]")
    refusal(b, "busy")
    b.click("[data-test=act-finish]")
    b.wait(lambda: current() is None, what="finished")

    # a given ticket, parked, called back
    b.type("#teller-call-ticket", tickets[2])
    b.click("[data-test=act-call-ticket]")
    b.wait(lambda: current() == tickets[2], what=f"{tickets[2]} called out of order")
    b.click("[data-test=act-park]")
    b.wait(lambda: current() is None and b.text("[data-test=parked]") == "1", what="parked")
    b.click("[data-test=act-call-back]")
    b.wait(lambda: current() == tickets[2], what="called back")
    b.click("[data-test=act-no-show]")
    b.wait(lambda: current() is None, what="no-show")

    # transferred to another service: it waits again
    b.type("#teller-call-ticket", tickets[1])
    b.click("[data-test=act-call-ticket]")
    b.wait(lambda: current() == tickets[1], what=f"{tickets[1]} called")
    b.click("[data-test=act-transfer]")  # no target: the reason beside the field
    b.find("[data-test=form-transfer] .field-error")
    loan = db_one(api, "SELECT id FROM service WHERE code = 'loan'")[0]
    pick(b, "[data-test=transfer-target]", f"li[data-test=target-{loan}]")
    b.click("[data-test=act-transfer]")
    b.wait(lambda: current() is None, what="transferred")
    r = api.admin.get(f"/branches/{BRANCH}/tickets/{tickets[1]}").json()["ticket"]
    assert r["state"] == "waiting" and r["service"] == loan, r

    # a walk-in is served at once
    pick(b, "[data-test=walk-in-service]", "li[data-test=walk-in-cash]")
    b.click("[data-test=act-walk-in]")
    b.wait(lambda: current() is not None, what="the walk-in served")
    shot = b.shot("teller")
    keep(shot, "hall-teller.png")
    b.click("[data-test=act-finish]")
    b.wait(lambda: current() is None, what="walk-in finished")

    # a pause needs its reason; a paused window calls nobody
    b.click("[data-test=act-pause]")
    b.find("[data-test=pause-error]")
    b.type("#teller-pause", "午休")
    b.click("[data-test=act-pause]")
    b.wait(lambda: state() == "paused", what="paused")
    assert "午休" in b.text("[data-test=pause-reason]")
    b.click("[data-test=act-call-next]")
    assert "暂停" in refusal(b, "window_paused")
    b.shot("teller-paused")
    b.click("[data-test=act-resume]")
    b.wait(lambda: state() == "open", what="resumed")
    b.click("[data-test=logout]")
    b.wait(lambda: "未登录" in b.text("[data-test=teller]"), what="logged out")
    b.click("[data-test=act-close]")
    b.wait(lambda: state() == "closed", what="closed")
    w = next(x for x in api.admin.get(f"/branches/{BRANCH}/state").json()["windows"]
             if x["id"] == window)
    assert w["state"] == "closed" and w["staff"] is None, w
    assert staff


def test_a_hall_page_without_a_good_token_says_so(console, browser):
    b = browser
    b.get(console.url + "#/hall/display")
    assert "尚未设置" in b.text("[data-test=no-device]")
    b.get(console.url + f"#/hall/kiosk?branch={BRANCH}&token=eqt_{'x' * 43}")
    assert "令牌无效" in b.text("[data-test=bad-token]", timeout=15)
    b.forget_logs()  # the 401s asked for
