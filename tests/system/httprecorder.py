"""A small HTTP server that records every request it gets, for tests of what a
service calls back: Kannel's delivery reports and inbound messages, later the
SMS notifier's own calls."""
import collections
import http.server
import threading
import time
import urllib.parse

Request = collections.namedtuple("Request", "method path query headers body")
Request.__doc__ = """path: the raw path with its query string; query: the
query as a dict of str (UTF-8, last value wins), None if not UTF-8."""


class HttpRecorder:
    """Answers every request with 200 "ok" unless told otherwise by answer()."""

    def __init__(self):
        self._lock = threading.Lock()
        self._requests = []
        self._answers = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                query = urllib.parse.urlsplit(self.path).query
                try:
                    parsed = dict(urllib.parse.parse_qsl(query, keep_blank_values=True,
                                                         errors="strict"))
                except UnicodeDecodeError:
                    parsed = None
                with recorder._lock:
                    recorder._requests.append(Request(self.command, self.path, parsed,
                                                      dict(self.headers), body))
                    status = recorder._answers.pop(0) if recorder._answers else 200
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, *statuses):
        """The next requests are answered with these statuses, in order."""
        with self._lock:
            self._answers.extend(statuses)

    def requests(self, path=None):
        """Requests so far, oldest first; only those under `path` if given."""
        with self._lock:
            return [r for r in self._requests
                    if path is None or urllib.parse.urlsplit(r.path).path == path]

    def wait(self, count, path=None, timeout=10.0):
        """At least `count` requests (under `path`); fails after timeout s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.requests(path)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{len(self.requests(path))} of {count} requests to "
                             f"{path or 'any path'} within {timeout}s")

    def close(self):
        self.server.shutdown()
        self.server.server_close()
