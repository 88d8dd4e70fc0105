"""A headless Chromium driven by selenium for the browser tests: 1280x800 (a
10-inch tablet), the browser's console log kept, screenshots into the test's
folder, and waits on what a user sees."""
import os
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

    def get(self, url):
        self.driver.get(url)

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
        """A screenshot in the test's folder: its path."""
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

    def navigation_ms(self):
        """The page's load time from the Navigation Timing API (reported)."""
        return self.driver.execute_script(
            "const n = performance.getEntriesByType('navigation')[0];"
            "return n ? Math.round(n.loadEventEnd - n.startTime) : null")

    def quit(self):
        self.driver.quit()
