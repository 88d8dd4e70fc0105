"""A headless Chromium driven by selenium for the browser tests: 1280x800 (a
10-inch tablet), the browser's console log kept, screenshots into the test's
folder, waits on what a user sees, and the Navigation Timing of every page
load (NAVIGATIONS, summed up at the end of the session by conftest.py)."""
import os
import statistics
import time

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

CHROMIUM = os.environ.get("EQMS_CHROMIUM", "/usr/bin/chromium")
DRIVER = os.environ.get("EQMS_CHROMEDRIVER", "/usr/bin/chromedriver")

# Chromium logs a refused request (401 of a wrong password, 429 of a lock)
# as an error of the page; those are the answers the tests ask for.
EXPECTED = ("Failed to load resource: the server responded with a status of",)

# Every page load of the session: {"test", "page", "type", "dcl_ms", "load_ms"}
# (Navigation Timing Level 2, from the navigation's start). Reported, never
# asserted: a slow machine must not fail a test.
NAVIGATIONS = []

# The current document's navigation entry once it has loaded (null before);
# a change of the hash (the console's routes) is no new document, and a
# blank tab no page.
_NAVIGATION = """
if (!location.protocol.startsWith('http')) return { origin: performance.timeOrigin, blank: true };
const n = performance.getEntriesByType('navigation')[0];
if (!n || !n.loadEventEnd) return null;
return { origin: performance.timeOrigin, type: n.type,
         page: location.hash.split('?')[0] || location.pathname,
         dcl_ms: n.domContentLoadedEventEnd - n.startTime, load_ms: n.loadEventEnd - n.startTime };
"""


class Browser:
    def __init__(self, out_dir, width=1280, height=800):
        self.out_dir = out_dir
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-dev-shm-usage",
                    f"--window-size={width},{height}", "--lang=zh-CN",
                    "--force-device-scale-factor=1"):
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        prefs = {"download.default_directory": os.path.join(out_dir, "downloads"),
                 "download.prompt_for_download": False}
        opts.add_experimental_option("prefs", prefs)
        self.driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
        # the page's viewport itself is width x height (the window's size
        # counts the browser's own bars)
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        self.logs = []
        self.shots = 0
        self.loads = set()      # timeOrigin of the documents recorded

    def get(self, url):
        self.driver.get(url)
        self.record_navigation()

    def record_navigation(self, wait_s=5.0):
        """Adds the current document's Navigation Timing to NAVIGATIONS, once
        per document, waiting up to wait_s for its load event (else nothing)."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                n = self.driver.execute_script(_NAVIGATION)
            except WebDriverException:
                return
            if n or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if not n or n.get("blank") or n["origin"] in self.loads:
            return
        self.loads.add(n["origin"])
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").split("::")[-1].split(" ")[0]
        NAVIGATIONS.append({"test": test, "page": n["page"], "type": n["type"],
                            "dcl_ms": round(n["dcl_ms"]), "load_ms": round(n["load_ms"])})

    def find(self, css, timeout=10.0):
        """The first visible element matching css, waiting for it."""
        return self.wait(lambda: next((e for e in self.driver.find_elements(By.CSS_SELECTOR, css)
                                       if e.is_displayed()), None), timeout, f"no {css}")

    def text(self, css, timeout=10.0):
        return self.find(css, timeout).text

    def texts(self, css):
        return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, css)]

    def type(self, css, value):
        e = self.find(css)
        # as a user would: select what is there and type over it (clear()
        # sends no input event, so Vue's v-model would not see it)
        e.send_keys(Keys.CONTROL, "a")
        e.send_keys(Keys.DELETE)
        e.send_keys(value)

    def click(self, css, timeout=10.0):
        self.wait(lambda: self._click(css), timeout, f"cannot click {css}")

    def _click(self, css):
        try:
            self.find(css, 0.5).click()
            return True
        except (WebDriverException, AssertionError):
            return False

    def wait(self, predicate, timeout=10.0, what="condition"):
        """Polls predicate until it gives a true value; returns it or fails
        (with a screenshot)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = predicate()
            except (StaleElementReferenceException, WebDriverException):
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                self.shot("timeout")
                raise AssertionError(f"{what} within {timeout}s")
            time.sleep(0.1)

    def shot(self, name):
        """A screenshot in the test's folder: its path (and the page's load
        recorded, if it came another way than get(): a reload, a click)."""
        self.record_navigation(wait_s=0)
        self.shots += 1
        path = os.path.join(self.out_dir, f"{self.shots:02d}-{name}.png")
        self.driver.save_screenshot(path)
        return path

    def local(self, key):
        return self.driver.execute_script("return window.localStorage.getItem(arguments[0])", key)

    def console_errors(self):
        """The errors the page logged (severe), less the expected refusals."""
        try:
            self.logs += self.driver.get_log("browser")
        except WebDriverException:
            pass
        return [e["message"] for e in self.logs if e["level"] == "SEVERE"
                and not any(x in e["message"] for x in EXPECTED)]

    def forget_logs(self):
        """Drops what the page logged so far (the errors a test caused on
        purpose, e.g. the requests refused while web-api restarts)."""
        try:
            self.driver.get_log("browser")
        except WebDriverException:
            pass
        self.logs = []

    def quit(self):
        self.record_navigation(wait_s=0)
        self.driver.quit()


def navigation_summary():
    """The lines of a table of NAVIGATIONS by page: loads, median and
    maximum of DOMContentLoaded and load (ms); then every load."""
    by_page = {}
    for n in NAVIGATIONS:
        by_page.setdefault(n["page"], []).append(n)
    by_page["(all)"] = NAVIGATIONS
    head = (f"{'page':<24} {'loads':>5} {'DCL median':>10} {'DCL max':>8} "
            f"{'load median':>11} {'load max':>8}")
    lines = ["navigation timing in ms from the navigation's start (Navigation Timing; "
             "reported, never asserted)", head, "-" * len(head)]
    for page, loads in sorted(by_page.items(), key=lambda kv: (kv[0] == "(all)", kv[0])):
        dcl = [n["dcl_ms"] for n in loads]
        load = [n["load_ms"] for n in loads]
        lines.append(f"{page:<24} {len(loads):>5} {statistics.median(dcl):>10.0f} {max(dcl):>8} "
                     f"{statistics.median(load):>11.0f} {max(load):>8}")
    return lines


def navigation_details():
    """One line per page load, in order: test, page, type, DCL and load (ms)."""
    return [f"{n['test']} {n['page']} {n['type']} dcl_ms={n['dcl_ms']} load_ms={n['load_ms']}"
            for n in NAVIGATIONS]
