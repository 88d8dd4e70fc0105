"""The README's screens (docs/screenshots, 1280x800) taken from `make run`'s
demo in headless Chromium (tests/browser/browser.py): the live hall and the
statistics of the demo branch as its manager, then the kiosk, the hall
display and the teller console opened with the tokens run.sh made. Let the
demo run a few minutes first so that the emulated devices have made traffic.

Usage (from the top of the tree, `make run` running):
    /usr/bin/python3 docker/local/screenshots.py [OUT-DIR]
"""
import os
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "browser"))
from browser import Browser  # noqa: E402

URL = "http://127.0.0.1:" + os.environ.get("EQMS_LOCAL_WEBAPI_PORT", "8080") + "/"
BRANCH = "hq.r01.b0001"
VAR = os.path.join(TOP, "var")


def secret(name):
    with open(os.path.join(VAR, name)) as f:
        return f.read().strip()


def live(b):
    b.wait(lambda: b.find("[data-test=hall-status]").get_attribute("data-status") == "live",
           timeout=15, what="the live stream open")


def main():
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "docs", "screenshots"))
    os.makedirs(out, exist_ok=True)
    b = Browser(out)
    try:
        b.get(URL + "#/login")
        b.type("#login", "b0001.manager")
        b.type("#password", secret("manager-password"))
        b.click("button[data-test=submit]")
        b.wait(lambda: "#/live" in b.driver.current_url, what="logged in")
        b.get(URL + f"#/live?node={BRANCH}")
        b.find("[data-test=window-1]")
        b.wait(lambda: b.find("[data-test=live-status]").get_attribute("data-status") == "live",
               what="the live hall live")
        time.sleep(1)
        b.driver.save_screenshot(os.path.join(out, "console-live.png"))
        b.get(URL + f"#/stats?node={BRANCH}")
        b.find("[data-test=figures] .el-table__row")
        b.find("canvas")
        time.sleep(2)  # the chart's animation
        b.driver.save_screenshot(os.path.join(out, "console-statistics.png"))

        for page in ("kiosk", "display", "teller"):
            b.get(URL + f"#/hall/{page}?branch={BRANCH}&token={secret(page + '-token')}")
            live(b)
            if page == "teller":
                b.click("[data-test=pick-1]")
                b.find("[data-test=window-state]")
            time.sleep(2)
            b.driver.save_screenshot(os.path.join(out, f"hall-{page}.png"))
        errors = b.console_errors()
        if errors:
            sys.exit(f"errors in the browser's console: {errors}")
    finally:
        b.quit()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
