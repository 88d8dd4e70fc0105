"""Runs every test of EQMS and ends with one line: `N passed, N failed`.

1. the cmocka unit tests in <build>/unit (with a real PostgreSQL and Redis
   started for the ones that need them, named in EQMS_TEST_* variables);
2. the system tests in tests/system with pytest;
3. the console's JavaScript unit tests (node --test, services/web-api/console/test);
4. the browser tests in tests/browser with pytest (headless Chromium against
   the real stack and the built console, build/console).

Usage: /usr/bin/python3 tests/run.py --build build/debug [-k PATTERN]
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "system"))
import servers  # noqa: E402

SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:strict_string_checks=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "LSAN_OPTIONS": "suppressions=" + os.path.join(HERE, "lsan.supp"),
}


def run_unit(binary, env):
    """Runs one cmocka binary; returns (passed, failed, output)."""
    name = os.path.basename(binary)
    started = time.monotonic()
    try:
        proc = subprocess.run([binary], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=300)
        out, code = proc.stdout.decode(errors="replace"), proc.returncode
    except subprocess.TimeoutExpired as e:
        out, code = (e.stdout or b"").decode(errors="replace") + "\nTIMEOUT", -1
    passed = len(re.findall(r"^\[       OK \] ", out, re.M))
    m = re.search(r"^\[  FAILED  \] (\d+) test\(s\), listed below", out, re.M)
    failed = int(m.group(1)) if m else 0
    if code != 0 and failed == 0:
        failed = 1   # crashed, sanitizer report, or failed outside a test
    took = time.monotonic() - started
    status = "ok" if failed == 0 else "FAILED"
    print(f"unit {name}: {passed} passed, {failed} failed ({took:.1f}s) {status}", flush=True)
    if failed:
        print(out)
    return passed, failed


def run_system(build, pattern, folder="system"):
    cmd = ["/usr/bin/python3", "-m", "pytest", os.path.join(HERE, folder), "-q",
           "-p", "no:cacheprovider", "-rfE"]
    if pattern:
        cmd += ["-k", pattern]
    env = dict(os.environ, EQMS_BUILD=os.path.abspath(build), **SAN_ENV)
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.decode(errors="replace")
    print(out, flush=True)
    counts = {k: 0 for k in ("passed", "failed", "error", "errors")}
    tail = out.strip().splitlines()[-1] if out.strip() else ""
    for n, what in re.findall(r"(\d+) (passed|failed|errors?)", tail):
        counts[what] += int(n)
    failed = counts["failed"] + counts["error"] + counts["errors"]
    if proc.returncode not in (0, 5) and failed == 0:
        failed = 1   # pytest itself failed (collection, usage)
    return counts["passed"], failed


def run_js(pattern):
    """The console's JavaScript unit tests (node's test runner), when the
    pattern names none or matches "console"."""
    if pattern and pattern not in "console_js":
        return 0, 0
    folder = os.path.join(os.path.dirname(HERE), "services", "web-api", "console")
    proc = subprocess.run(["node", "--test", "test/"], cwd=folder, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    out = proc.stdout.decode(errors="replace")
    passed = sum(int(n) for n in re.findall(r"^# pass (\d+)", out, re.M))
    failed = sum(int(n) for n in re.findall(r"^# fail (\d+)", out, re.M))
    if proc.returncode != 0 and failed == 0:
        failed = 1
    print(f"console_js: {passed} passed, {failed} failed {'ok' if not failed else 'FAILED'}",
          flush=True)
    if failed:
        print(out)
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build/debug")
    ap.add_argument("-k", dest="pattern", default=None, help="only tests matching")
    args = ap.parse_args()

    passed = failed = 0
    srv = servers.Servers().start()
    try:
        env = dict(os.environ, **srv.env(), **SAN_ENV)
        for binary in sorted(glob.glob(os.path.join(args.build, "unit", "test_*"))):
            if args.pattern and args.pattern not in os.path.basename(binary):
                continue
            p, f = run_unit(binary, env)
            passed, failed = passed + p, failed + f
    finally:
        srv.stop()
    for p, f in (run_system(args.build, args.pattern), run_js(args.pattern),
                 run_system(args.build, args.pattern, "browser")):
        passed, failed = passed + p, failed + f
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
