"""web-api's live streams (GET /api/v1/live/branches/{branch}, GET /api/v1/live)
with the real bus, queue-manager and web-api: the snapshot then the stream,
calls arriving with their data, Last-Event-ID resumes, subtrees, a client
that does not read, and a restart of web-api."""
import datetime
import json
import queue
import socket
import threading
import time

import openapi
import pytest
import requests
from conftest import BusClient, wait_for
from qm_client import Client as QmClient
from qm_client import start_qm
from servers import wait_port
from webapi import WebApi, make_alert, problem

BRANCH, OTHER, OUTSIDE = "hq.r01.b0001", "hq.r01.b0002", "hq.r02.b0003"
SCHEMAS = {"queues": "LiveQueues", "display": "LiveDisplay", "announce": "LiveAnnounce",
           "rating.stored": "LiveRating", "device.online": "LiveDevice",
           "device.offline": "LiveDevice", "reload": "LiveReload", "figures": "LiveFigures"}
SCHEMAS.update({f"alert.{step}": "LiveAlert"
                for step in ("opened", "acknowledged", "resolved", "reminded", "escalated")})


class Stream:
    """One live stream read by a thread of its own into a queue of events
    ({"id", "event", "data"}); None in the queue when the stream ended."""

    def __init__(self, client, path, last_id=None, params=None):
        headers = {"Accept": "text/event-stream"}
        if last_id:
            headers["Last-Event-ID"] = last_id
        self.r = client.request("GET", path, headers=headers, params=params, stream=True)
        self.status = self.r.status_code
        self.events = queue.Queue()
        self.ended = False
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        event = {}
        try:
            for line in self.r.iter_lines(chunk_size=1, decode_unicode=True):
                if line == "":
                    if "event" in event:
                        event["data"] = json.loads(event["data"])
                        self.events.put(event)
                    event = {}
                elif not line.startswith(":") and ":" in line:
                    name, _, value = line.partition(":")
                    event[name] = value[1:] if value.startswith(" ") else value
        except Exception:  # noqa: BLE001 - the connection closed under us
            pass
        self.ended = True
        self.events.put(None)

    def next(self, kind, timeout=5.0, where=lambda e: True):
        """The next event of `kind` (a prefix of its name) meeting `where`,
        skipping the others; fails after `timeout` s or when the stream ends."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no {kind} event within {timeout} s"
            try:
                e = self.events.get(timeout=left)
            except queue.Empty:
                continue
            assert e is not None, f"the stream ended before a {kind} event"
            if e["event"].startswith(kind) and where(e):
                return e

    def close(self):
        self.r.close()


def check_schema(doc, e):
    name = "LiveTicketEvent" if e["event"].startswith("ticket.") else SCHEMAS[e["event"]]
    openapi.validate(doc, e["data"], {"$ref": f"#/components/schemas/{name}"})


@pytest.fixture
def live(demo_db, bus, start_bin, run_bin, servers):
    """queue-manager and web-api on the real bus, sharing a Redis (the queue
    counts come from queue-manager's mirror)."""
    redis_url = servers.redis.url(14)
    _, endpoint, _ = start_qm(start_bin, demo_db, bus, redis_url=redis_url)
    webapi = WebApi(start_bin, run_bin, demo_db, redis_url, EQMS_QM_ENDPOINT=endpoint,
                    EQMS_BUS_PUB=bus.xsub, EQMS_BUS_SUB=bus.xpub, EQMS_WEBAPI_LIVE_CHECK_S="1")
    webapi.start_bin = start_bin
    return webapi


@pytest.fixture
def kept(demo_db, bus, start_bin, run_bin, servers):
    """As `live`, but a branch's state is kept for a minute unless its
    branch changes, and queue-manager looks for new windows every second:
    (web-api, queue-manager's endpoint)."""
    redis_url = servers.redis.url(12)
    _, endpoint, _ = start_qm(start_bin, demo_db, bus, redis_url=redis_url,
                              EQMS_QM_REFRESH_S=1)
    webapi = WebApi(start_bin, run_bin, demo_db, redis_url, EQMS_QM_ENDPOINT=endpoint,
                    EQMS_BUS_PUB=bus.xsub, EQMS_BUS_SUB=bus.xpub,
                    EQMS_WEBAPI_STATE_CACHE_MS="60000")
    return webapi, endpoint


class Hall:
    """The windows of a branch with their tellers, driven through web-api."""

    def __init__(self, webapi, branch):
        self.admin, self.branch = webapi.admin, branch
        with webapi.db.cursor() as cur:
            cur.execute("""SELECT w.id, w.number FROM service_window w
                           JOIN org_node n ON n.id = w.node_id
                           WHERE n.path = %s::ltree AND w.active ORDER BY w.number""", (branch,))
            self.windows = cur.fetchall()
            cur.execute("""SELECT s.id FROM staff s JOIN org_node n ON n.id = s.node_id
                           WHERE n.path = %s::ltree AND s.active ORDER BY s.id""", (branch,))
            self.tellers = [r[0] for r in cur.fetchall()]

    def staffed(self, i=0):
        """Window i opened with its teller logged in: (id, number)."""
        window, number = self.windows[i]
        for step, body in (("open", None), ("login", {"staff": self.tellers[i]})):
            r = self.admin.post(f"/windows/{window}/{step}", body)
            assert r.status_code == 200, r.text
        return window, number

    def issue(self):
        r = self.admin.post(f"/branches/{self.branch}/tickets", {"service_code": "cash"})
        assert r.status_code == 201, r.text
        return r.json()["ticket"]["number"]

    def snapshot(self):
        r = self.admin.get(f"/branches/{self.branch}/state")
        assert r.status_code == 200, r.text
        return r.json()


def test_a_call_arrives_on_the_branch_and_subtree_streams_within_a_second(live):
    doc = openapi.load()
    hall = Hall(live, BRANCH)
    window, window_no = hall.staffed()
    state = hall.snapshot()
    assert state["live_event_id"].isdigit()
    branch = Stream(live.admin, f"/live/branches/{BRANCH}", last_id=state["live_event_id"])
    subtree = Stream(live.admin, "/live", params={"node": "hq.r01"},
                     last_id=state["live_event_id"])
    assert branch.status == subtree.status == 200
    assert branch.r.headers["Content-Type"].startswith("text/event-stream")
    number = hall.issue()
    issued = branch.next("ticket.issued", where=lambda e: e["data"]["number"] == number)
    check_schema(doc, issued)
    counts = branch.next("queues")
    check_schema(doc, counts)
    now = hall.snapshot()
    assert ({q["id"]: q["waiting"] for q in counts["data"]["queues"]}
            == {q["id"]: q["waiting"] for q in now["queues"]})
    r = live.admin.post(f"/windows/{window}/call-next")
    assert r.status_code == 200, r.text
    answered = time.monotonic()
    called = branch.next("ticket.called", timeout=1.0,
                         where=lambda e: e["data"]["number"] == number)
    assert time.monotonic() - answered < 1.0
    assert called["data"]["branch"] == BRANCH
    assert called["data"]["window"] == window and called["data"]["window_no"] == window_no
    assert int(called["id"]) > int(issued["id"]) > int(state["live_event_id"])
    check_schema(doc, called)
    display = branch.next("display", timeout=1.0)
    check_schema(doc, display)
    assert display["data"]["called"][0] == {"number": number, "window_no": window_no,
                                            "at": display["data"]["called"][0]["at"]}
    announce = branch.next("announce", timeout=2.0)
    check_schema(doc, announce)
    assert announce["data"]["number"] == number and announce["data"]["window_no"] == window_no
    assert number in announce["data"]["text"]
    # the subtree's stream has the same call, saying whose it is
    called_r01 = subtree.next("ticket.called", timeout=1.0,
                              where=lambda e: e["data"]["number"] == number)
    assert called_r01["data"]["branch"] == BRANCH and called_r01["data"]["window"] == window
    branch.close()
    subtree.close()


def test_a_reconnect_with_last_event_id_gets_what_it_missed(live):
    hall = Hall(live, BRANCH)
    s = Stream(live.admin, f"/live/branches/{BRANCH}",
               last_id=hall.snapshot()["live_event_id"])
    first = hall.issue()
    seen = s.next("ticket.issued", where=lambda e: e["data"]["number"] == first)
    s.close()
    missed = [hall.issue() for _ in range(3)]
    again = Stream(live.admin, f"/live/branches/{BRANCH}", last_id=seen["id"])
    got = [again.next("ticket.issued")["data"]["number"] for _ in missed]
    assert got == missed
    # and then it follows
    after = hall.issue()
    assert again.next("ticket.issued")["data"]["number"] == after
    again.close()
    # an id that is not one of this web-api's: told to reload, and the end
    for bad in ("12", "abc"):
        s = Stream(live.admin, f"/live/branches/{BRANCH}", last_id=bad)
        e = s.next("reload")
        assert e["data"] == {"reason": "too_old"} and "id" not in e
        assert s.events.get(timeout=5) is None
        s.close()


def test_a_branch_outside_the_subtree_is_not_found(live):
    r01 = live.make_user("r01live", "hq.r01", ["view_live_hall"])
    s = Stream(r01, f"/live/branches/{OUTSIDE}")
    assert s.status == 404
    assert "no such branch" in problem(s.r, 404)["detail"]
    s = Stream(r01, "/live", params={"node": "hq.r02"})
    assert s.status == 404
    for path, params in ((f"/live/branches/{OTHER}", None), ("/live", None),
                         ("/live", {"node": "hq.r01"})):
        s = Stream(r01, path, params=params)
        assert s.status == 200, path
        s.close()
    # a node that is not a branch has no branch stream; the subtree's is
    # default the caller's node, and an unknown argument is refused
    assert Stream(r01, "/live/branches/hq.r01").status == 404
    assert Stream(r01, "/live", params={"nodes": "hq.r01"}).status == 400
    nobody = live.make_user("r01stats", "hq.r01", ["view_statistics"])
    assert Stream(nobody, f"/live/branches/{BRANCH}").status == 403


def test_a_client_that_does_not_read_holds_nobody_back(live):
    hall = Hall(live, BRANCH)
    # a stream whose client never reads, with the smallest receive buffer
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    stuck.connect(("127.0.0.1", live.port))
    stuck.sendall((f"GET /api/v1/live/branches/{BRANCH} HTTP/1.1\r\nHost: x\r\n"
                   f"Authorization: Bearer {live.admin.token}\r\n\r\n").encode())
    reader = Stream(live.admin, f"/live/branches/{BRANCH}",
                    last_id=hall.snapshot()["live_event_id"])
    numbers = [hall.issue() for _ in range(20)]
    got = [reader.next("ticket.issued")["data"]["number"] for _ in numbers]
    assert got == numbers
    reader.close()
    stuck.close()


def test_a_stream_ends_when_its_session_or_token_is_revoked(live):
    """An open stream does not outlive its credential: a logout, a revoked
    API token, a disabled user end their streams (told to reload, which
    then answers 401) within EQMS_WEBAPI_LIVE_CHECK_S (1 s here); other
    streams go on."""
    hall = Hall(live, BRANCH)
    bob = live.make_user("bob", "hq.r01", ["view_live_hall"])
    carol = live.make_user("carol", "hq.r01", ["view_live_hall"])
    r = live.admin.post("/tokens", {"name": "wall", "scopes": ["view_live_hall"],
                                    "node": "hq.r01", "expires_in_days": 1})
    assert r.status_code == 201, r.text
    made = r.json()
    machine = type(bob)(bob.base, made["token"])
    streams = {who: Stream(client, f"/live/branches/{BRANCH}")
               for who, client in (("bob", bob), ("carol", carol), ("machine", machine),
                                   ("admin", live.admin))}
    assert all(s.status == 200 for s in streams.values())
    assert bob.delete("/sessions/current").status_code == 204
    assert live.admin.delete(f"/tokens/{made['id']}").status_code == 204
    assert live.admin.post(f"/users/{carol.user['id']}/disable").status_code == 200
    for who in ("bob", "carol", "machine"):
        assert streams[who].next("reload", timeout=5)["data"] == {"reason": "unauthorized"}
        assert streams[who].events.get(timeout=5) is None, who
    # reading the snapshot again is refused; the administrator's stream goes on
    problem(bob.get(f"/branches/{BRANCH}/state"), 401)
    problem(machine.get(f"/branches/{BRANCH}/state"), 401)
    number = hall.issue()
    streams["admin"].next("ticket.issued", where=lambda e: e["data"]["number"] == number)
    streams["admin"].close()


def test_todays_figures_arrive_on_the_streams_that_are_followed(live):
    """A stream gets its node's figures of today (what GET /stats/figures
    answers for that day) without asking, a branch's and a subtree's."""
    doc = openapi.load()
    branch = Stream(live.admin, f"/live/branches/{BRANCH}")
    region = Stream(live.admin, "/live", params={"node": "hq.r01"})
    for s, node in ((branch, BRANCH), (region, "hq.r01")):
        e = s.next("figures", timeout=12)
        check_schema(doc, e)
        assert e["data"]["node"] == node
        day = e["data"]["day"]
        rest = live.admin.get("/stats/figures", params={
            "node": node, "from": day, "to": (datetime.date.fromisoformat(day)
                                              + datetime.timedelta(days=1)).isoformat(),
            "percentiles": "false"})
        assert rest.status_code == 200, rest.text
        assert rest.json()["rows"] == [e["data"]["figures"]]
        s.close()


def test_after_a_restart_of_web_api_a_client_is_told_to_reload(live):
    hall = Hall(live, BRANCH)
    s = Stream(live.admin, f"/live/branches/{BRANCH}",
               last_id=hall.snapshot()["live_event_id"])
    number = hall.issue()
    last = s.next("ticket.issued", where=lambda e: e["data"]["number"] == number)["id"]
    live.proc.stop()
    wait_for(lambda: s.ended)
    live.proc = live.start_bin("web-api", live.env)
    wait_port(live.port, proc=live.proc.proc)
    # the browser reconnects with the id it had: from another process, reload
    again = Stream(live.admin, f"/live/branches/{BRANCH}", last_id=last)
    assert again.next("reload")["data"] == {"reason": "too_old"}
    assert again.events.get(timeout=5) is None
    # it reads the snapshot again and goes on from there
    state = hall.snapshot()
    assert int(state["live_event_id"]) > int(last)
    resumed = Stream(live.admin, f"/live/branches/{BRANCH}", last_id=state["live_event_id"])
    number = hall.issue()
    resumed.next("ticket.issued", where=lambda e: e["data"]["number"] == number)
    resumed.close()


def test_alerts_raised_and_acknowledged_arrive_from_the_tables(live):
    """sms-notifier writes alerts to the tables only: web-api reads their
    steps every second."""
    doc = openapi.load()
    s = Stream(live.admin, "/live", params={"node": "hq.r01"},
               last_id=Hall(live, BRANCH).snapshot()["live_event_id"])
    time.sleep(1.5)     # web-api's first look at the tables sets where it starts
    aid = make_alert(live.db, BRANCH)
    opened = s.next("alert.opened", where=lambda e: e["data"]["alert"] == aid)
    check_schema(doc, opened)
    assert opened["data"]["branch"] == BRANCH
    assert opened["data"]["kind"] == "unsatisfied_rating"
    assert "facts" not in opened["data"] and "option" not in opened["data"]
    r = live.admin.post(f"/alerts/{aid}/acknowledge", {"note": "on it"})
    assert r.status_code == 200, r.text
    acked = s.next("alert.acknowledged", where=lambda e: e["data"]["alert"] == aid)
    assert acked["data"]["actor"]
    # each step once
    time.sleep(2.5)
    while not s.events.empty():
        e = s.events.get()
        assert e is None or not (e["event"].startswith("alert.") and e["data"]["alert"] == aid)
    s.close()


RATING = {"id": "01a2038e-a3b4-740f-a053-e884efc69913", "gateway": "device-gateway.b0001",
          "window_id": 1, "staff_id": 3, "employee_no": "100103", "serial": "EQ-B0001-W01",
          "event_time": "2026-11-22T14:00:09.396Z", "option_code": 4, "score": 1.0,
          "satisfied": False, "unsatisfied": True, "ticket": "A012", "ticket_id": None,
          "teller_today": {"total": 17, "satisfied": 15, "unsatisfied": 1}}
DEVICE = {"incarnation": "019ad5e2-7c1b-7a3d-9e4f-0a1b2c3d4e5f", "serial": "EQ-B0001-W01",
          "boot": 1, "device_seq": 0, "uptime_ms": 5, "received": "2026-11-22T14:00:09.396Z",
          "event_time": "2026-11-22T14:00:09.396Z",
          "window": {"id": 1, "number": 1, "code": "w01"}, "branch": BRANCH,
          "employee_no": None, "ticket": None, "reason": "unplugged"}


def test_ratings_and_devices_of_the_bus_arrive_with_their_branch(live, bus):
    """rating.stored (rating-ingest) and device.* (the gateways), as they
    publish them on the bus."""
    doc = openapi.load()
    s = Stream(live.admin, f"/live/branches/{BRANCH}",
               last_id=Hall(live, BRANCH).snapshot()["live_event_id"])
    client = BusClient(bus)
    for type_, path, data in (("rating.stored", f"{BRANCH}.w01", RATING),
                              ("device.offline", f"{BRANCH}.w01", DEVICE)):
        def arrived():
            client.publish(type_, path, data)
            try:
                return s.next(type_, timeout=0.5)
            except AssertionError:
                return None
        e = wait_for(arrived, timeout=10)
        check_schema(doc, e)
        assert e["data"]["branch"] == BRANCH and e["data"]["window_path"] == f"{BRANCH}.w01"
        assert e["data"]["serial"] == "EQ-B0001-W01"
    s.close()


def threads(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        return int(next(line for line in f if line.startswith("Threads:")).split()[1])


def test_a_thousand_streams_need_no_more_threads(live):
    """Streams are parked connections (common/httpd): 1,000 open streams
    run on the threads web-api had before them."""
    hall = Hall(live, BRANCH)
    pid = live.proc.proc.pid
    before = threads(pid)
    request = (f"GET /api/v1/live/branches/{BRANCH} HTTP/1.1\r\nHost: x\r\n"
               f"Authorization: Bearer {live.admin.token}\r\n\r\n").encode()
    socks = []
    try:
        for _ in range(1000):
            s = socket.create_connection(("127.0.0.1", live.port))
            s.sendall(request)
            socks.append(s)
        for s in socks:
            s.settimeout(20)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                assert chunk, head
                head += chunk
            assert head.startswith(b"HTTP/1.1 200"), head[:200]
        during = threads(pid)
        print(f"web-api threads: {before} before, {during} with {len(socks)} streams")
        assert during == before
        wait_for(lambda: "eqms_web_api_live_streams 1000\n" in requests.get(
            f"http://127.0.0.1:{live.http_port}/metrics", timeout=5).text)
        # and they all get the next event
        number = hall.issue()
        for s in socks[::100]:
            data = b""
            while f'"number":"{number}"'.encode() not in data:
                chunk = s.recv(65536)
                assert chunk, data[-300:]
                data += chunk
        # one more than the limit is refused, not served late
        extra = Stream(live.admin, f"/live/branches/{BRANCH}")
        assert extra.status == 503 and extra.r.headers["Retry-After"]
    finally:
        for s in socks:
            s.close()


def waiting(state):
    return sum(q["waiting"] for q in state["queues"])


def test_the_kept_snapshot_follows_every_change_of_its_branch(kept):
    """The snapshot is kept between changes (wa_snap): a change made through
    web-api shows at once, one made elsewhere (queue-manager's own clients,
    its own configuration reloads) as soon as its bus event arrives."""
    webapi, endpoint = kept
    hall = Hall(webapi, BRANCH)
    first = hall.snapshot()
    again = webapi.admin.get(f"/branches/{BRANCH}/state")
    assert again.json() == first
    # through web-api: the next read has it, without waiting for the bus
    hall.issue()
    assert waiting(hall.snapshot()) == waiting(first) + 1
    # elsewhere: a kiosk's ticket through queue-manager directly
    qm = QmClient(endpoint, branch=BRANCH)
    try:
        assert qm.call("ticket.issue", service_code="cash")["ok"]
    finally:
        qm.close()
    wait_for(lambda: waiting(hall.snapshot()) == waiting(first) + 2, timeout=2.0)
    # another branch's change leaves this one's state as it was
    other = Hall(webapi, OTHER)
    before = other.snapshot()
    hall.issue()
    assert other.snapshot() == before
    # a window added at run time: in the state once queue-manager took it
    # (its window_set event), though the state was read in between
    r = webapi.admin.post("/windows", {"branch": BRANCH, "number": 77, "name": "77号窗口"})
    assert r.status_code == 201, r.text
    hall.snapshot()
    wait_for(lambda: 77 in [w["number"] for w in hall.snapshot()["windows"]], timeout=10.0)
