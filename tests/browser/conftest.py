"""Fixtures of the browser tests: the console in headless Chromium against the
real stack (PostgreSQL, Redis, bus, queue-manager, web-api; tests/system's
fixtures, loaded here under a name of their own).

stack     queue-manager and web-api on the real bus (test_webapi_live's `live`)
console   the built console (build/console) served by that web-api itself
          (EQMS_WEBAPI_STATIC_DIR) (Console: .url, .api (webapi.WebApi),
          .restart_webapi())
hall_devices  console, plus a branch's device side on the same bus:
          rating-ingest (on web-api's Redis), stats-aggregator, a device
          gateway and an emulated rating device at window w01 of
          hq.r01.b0001 (only for the tests that ask for it)
browser   a headless Chromium at 1280x800 (selenium, Debian's chromium and
          chromium-driver); its console log is checked for errors at teardown
          and every screenshot goes to the test's tmp folder
At the end of the session the page loads' Navigation Timing is printed and
written to navigation-timing.txt in the session's output folder.
"""
import importlib.util
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SYSTEM = os.path.join(ROOT, "tests", "system")
sys.path.insert(0, SYSTEM)

_spec = importlib.util.spec_from_file_location("eqms_system_conftest",
                                               os.path.join(SYSTEM, "conftest.py"))
system = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(system)
# the system tests' fixtures this folder uses
servers, fresh_db, demo_db, bus, start_bin, run_bin = (
    system.servers, system.fresh_db, system.demo_db, system.bus, system.start_bin, system.run_bin)
pytest_configure = system.pytest_configure      # the real_zones marker

from servers import wait_port  # noqa: E402


def system_module(name):
    """A module of tests/system that imports `conftest` (the system tests'),
    e.g. test_stats for start_stats."""
    saved = sys.modules.get("conftest")
    sys.modules["conftest"] = system
    try:
        return importlib.import_module(name)
    finally:
        if saved is None:
            sys.modules.pop("conftest", None)
        else:
            sys.modules["conftest"] = saved


CONSOLE_OUT = os.path.join(ROOT, "build", "console")


class Console:
    """The built console served by web-api itself (EQMS_WEBAPI_STATIC_DIR),
    as in a release: the pages and /api on one origin."""

    def __init__(self, api, start_bin):
        self.api = api
        self.start_bin = start_bin
        if not os.path.exists(os.path.join(CONSOLE_OUT, "index.html")):
            raise RuntimeError("build/console is not built (make console)")
        api.env["EQMS_WEBAPI_STATIC_DIR"] = CONSOLE_OUT
        self.restart_webapi()
        self.url = f"http://127.0.0.1:{api.port}/"

    def restart_webapi(self):
        """Stops web-api (SIGTERM) and starts it again on the same port."""
        self.api.proc.stop()
        self.api.proc = self.start_bin("web-api", self.api.env)
        wait_port(self.api.port, proc=self.api.proc.proc)


# queue-manager and web-api on the real bus sharing a Redis: test_webapi_live's
stack = system_module("test_webapi_live").live


@pytest.fixture
def console(stack, bus, start_bin):
    stack.bus = bus
    return Console(stack, start_bin)


@pytest.fixture
def hall_devices(console, demo_db, bus, start_bin, tmp_path):
    """The device path of tests/system/test_device_path.py beside the console:
    rating-ingest writing the live state into web-api's Redis,
    stats-aggregator, the real device gateway (under libumockdev-preload,
    through real libusb) and eqms-devsim (the firmware core behind an
    emulated USB device) with the serial of window w01's device, assigned by
    the registry snapshot of web-api. A Site: .sim(op=...) drives the device
    and reads its screen, .serial, .window_id, .number, .employee (set it
    before .login()), .ratings()."""
    site = system_module("test_device_path").Site(
        demo_db, bus, start_bin, tmp_path, redis_url=console.api.env["EQMS_REDIS_URL"],
        web_api=False)
    system_module("test_stats").start_stats(start_bin, demo_db, bus)
    site.start_gateway()
    yield site
    site.close()


@pytest.fixture
def browser(tmp_path, request):
    from browser import Browser
    b = Browser(str(tmp_path))
    yield b
    errors = b.console_errors()
    b.quit()
    assert not errors, f"errors in the browser's console: {errors}"


_OUTPUT = {}


@pytest.fixture(scope="session", autouse=True)
def session_output(tmp_path_factory):
    """The session's output folder (pytest's base temp: every test's folder
    is in it), where the navigation timing is written at the end."""
    _OUTPUT["dir"] = tmp_path_factory.getbasetemp()
    return _OUTPUT["dir"]


def pytest_terminal_summary(terminalreporter):
    """The page loads' Navigation Timing of the session: a table on stdout
    and, with every load, in <session output>/navigation-timing.txt."""
    import browser
    if not browser.NAVIGATIONS or "dir" not in _OUTPUT:
        return
    table = browser.navigation_summary()
    path = os.path.join(str(_OUTPUT["dir"]), "navigation-timing.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(table + ["", "every load:"] + browser.navigation_details()) + "\n")
    terminalreporter.write_sep("-", "navigation timing")
    for line in table:
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"(with every load in {path})")
