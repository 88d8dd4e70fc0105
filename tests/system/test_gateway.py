"""The real eqms-device-gateway driving emulated rating devices (eqms-devsim:
the real firmware core behind umockdev USB devices) through its real libusb
code, with a real forwarder. The gateway runs under libumockdev-preload with
the devsim's UMOCKDEV_DIR; nothing in it is replaced by a test double."""
import datetime
import json
import os
import shutil
import signal
import threading
import time
import urllib.request

import pytest
import zmq

from conftest import BUILD, make_envelope, wait_for
from servers import free_port

BRANCH = "hq.r01.b0001"
GW = "device-gateway.b0001"


def now_rfc3339():
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class Listener:
    """Collects every envelope on the bus from the moment it is created."""

    def __init__(self, bus, prefixes=("",)):
        self.ctx = zmq.Context.instance()
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.connect(bus.xpub)
        for p in prefixes:
            self.sub.setsockopt(zmq.SUBSCRIBE, p.encode())
        self.pub = self.ctx.socket(zmq.PUB)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.connect(bus.xsub)
        self.messages = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        time.sleep(0.3)
        self.seq = 0

    def _run(self):
        while self.running:
            if self.sub.poll(50):
                topic, body = self.sub.recv_multipart()
                with self.lock:
                    self.messages.append((topic.decode(), json.loads(body)))

    def close(self):
        self.running = False
        self.thread.join()
        self.sub.close()
        self.pub.close()

    def of(self, type_, **data):
        with self.lock:
            return [(t, e) for t, e in self.messages if e["type"] == type_
                    and all(e["data"].get(k) == v for k, v in data.items())]

    def wait(self, type_, timeout=15.0, **data):
        return wait_for(lambda: self.of(type_, **data), timeout=timeout)

    def publish(self, type_, path, data):
        self.seq += 1
        self.pub.send_multipart([f"{type_}.{path}".encode(),
                                 make_envelope(type_, data, seq=self.seq)])


class Devsim:
    def __init__(self, start_bin, tmp_path, count, serials=None, env=None):
        self.port = free_port()
        dir_file = str(tmp_path / f"devsim-{self.port}.dir")
        env = dict(env or {}, EQMS_DEVSIM_COUNT=str(count),
                   EQMS_DEVSIM_CONTROL=f"tcp://127.0.0.1:{self.port}",
                   EQMS_DEVSIM_DIR_FILE=dir_file)
        if serials:
            env["EQMS_DEVSIM_SERIALS"] = ",".join(serials)
        self.proc = start_bin("devsim", env)
        wait_for(lambda: os.path.exists(dir_file) and open(dir_file).read().strip(),
                 timeout=20)
        self.dir = open(dir_file).read().strip()
        if self.dir.startswith("UMOCKDEV_DIR="):
            self.dir = self.dir[len("UMOCKDEV_DIR="):]
        self.req = zmq.Context.instance().socket(zmq.REQ)
        self.req.setsockopt(zmq.LINGER, 0)
        self.req.connect(f"tcp://127.0.0.1:{self.port}")

    def __call__(self, **request):
        self.req.send_string(json.dumps(request))
        assert self.req.poll(10000), "devsim did not answer"
        reply = json.loads(self.req.recv_string())
        assert reply["ok"], reply
        return reply


def start_gateway(start_bin, bus, devsim, state_dir, http_port=0, env_extra=None):
    asan = os.environ.get("ASAN_OPTIONS", "")
    env = {"EQMS_BUS_PUB": bus.xsub, "EQMS_BUS_SUB": bus.xpub,
           "EQMS_GATEWAY_ID": GW, "EQMS_GATEWAY_BRANCH": BRANCH,
           "EQMS_GATEWAY_STATE_DIR": str(state_dir), "EQMS_GATEWAY_RESCAN_MS": "500",
           "EQMS_HTTP_ADDRESS": "127.0.0.1", "EQMS_HTTP_PORT": str(http_port),
           "LD_PRELOAD": "libumockdev-preload.so.0", "UMOCKDEV_DIR": devsim.dir,
           # the preload library comes before the ASan runtime of the debug build
           "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0"}
    env.update(env_extra or {})
    return start_bin("device-gateway", env)


def scale():
    return {"code": "four", "options": [
        {"code": 1, "label": "非常满意", "score": 5}, {"code": 2, "label": "满意", "score": 4},
        {"code": 3, "label": "一般", "score": 3}, {"code": 4, "label": "不满意", "score": 1}]}


def snapshot(serials):
    devices = []
    for i, s in enumerate(serials, 1):
        devices.append({"serial": s, "window": {"id": 100 + i, "number": i, "code": f"w{i:02d}",
                                                "path": f"{BRANCH}.w{i:02d}"},
                        "scale": scale(), "rating_timeout_s": 30, "repeat_press_s": 0,
                        "idle_text": ["欢迎光临", f"{i}号窗口"]})
    return {"branch": BRANCH, "generated": now_rfc3339(), "devices": devices,
            "staff": [{"employee_no": "1001", "name": "张三", "active": True}]}


@pytest.fixture
def rig(bus, start_bin, tmp_path):
    """Two emulated devices, a listener and a gateway with a fresh state dir."""
    serials = ["EQ-B0001-W01", "EQ-B0001-W02"]
    sim = Devsim(start_bin, tmp_path, 2, serials)
    listener = Listener(bus)
    state = tmp_path / "state"
    state.mkdir()
    http = free_port()
    gw = start_gateway(start_bin, bus, sim, state, http)

    class Rig:
        pass
    r = Rig()
    r.bus, r.sim, r.listener, r.state, r.gw, r.http = bus, sim, listener, state, gw, http
    r.serials = serials
    r.start_gateway = lambda: start_gateway(start_bin, bus, sim, state, http)
    yield r
    listener.close()


def assign(r):
    r.listener.wait("registry.request")
    r.listener.publish("registry.snapshot", BRANCH, snapshot(r.serials))
    wait_for(lambda: (r.state / "registry.json").exists())


def test_plug_online_then_login_with_window(rig):
    online = rig.listener.wait("device.online", serial="EQ-B0001-W01")
    topic, env = online[0]
    assert env["src"] == GW
    assert env["data"]["firmware"] and env["data"]["boot"] > 0
    # not yet in the registry: unassigned, published under the branch
    assert topic == f"device.online.{BRANCH}"
    rig.listener.wait("device.unassigned", serial="EQ-B0001-W01")
    assign(rig)
    # the assignment is pushed to the device: SET_CONFIG, four idle-text lines
    # and SET_TIME on top of the SET_TIME it got at its hello
    wait_for(lambda: rig.sim(op="state", device=0)["stats"]["commands_applied"] >= 7)
    assert rig.sim(op="state", device=0)["stats"]["commands_rejected"] == 0
    rig.sim(op="login", device=0, employee="1001")
    topic, env = rig.listener.wait("staff.login", serial="EQ-B0001-W01")[0]
    assert topic == f"staff.login.{BRANCH}.w01"
    d = env["data"]
    assert d["employee_no"] == "1001"
    assert d["window"] == {"id": 101, "number": 1, "code": "w01"}
    assert d["branch"] == BRANCH and d["device_seq"] >= 1
    # the staff list came with the registry: the gateway accepted the login
    assert "login_reply" in rig.gw.log() and "accepted=1" in rig.gw.log()
    health = urllib.request.urlopen(f"http://127.0.0.1:{rig.http}/health", timeout=5)
    assert health.status == 200


def test_full_flow_rating_with_staff_window_and_seq(rig):
    assign(rig)
    rig.listener.wait("device.online", serial="EQ-B0001-W02")
    rig.sim(op="login", device=1, employee="1001")
    rig.listener.wait("staff.login", serial="EQ-B0001-W02")
    rig.sim(op="service", device=1, rate=2, service_ms=400, rate_after_ms=200, call=True)
    topic, env = rig.listener.wait("rating.submitted", serial="EQ-B0001-W02")[0]
    assert topic == f"rating.submitted.{BRANCH}.w02"
    d = env["data"]
    assert d["option_code"] == 2 and d["label"] == "满意" and d["score"] == 4
    assert d["employee_no"] == "1001"
    assert d["window"]["number"] == 2
    start = rig.listener.of("service.start", serial="EQ-B0001-W02")[0][1]["data"]
    end = rig.listener.of("service.end", serial="EQ-B0001-W02")[0][1]["data"]
    assert rig.listener.of("call.request", serial="EQ-B0001-W02")
    assert start["device_seq"] < end["device_seq"] < d["device_seq"]
    assert end["duration_ms"] is not None and end["duration_ms"] >= 300
    # the device got its ACK: nothing left in its ring
    wait_for(lambda: rig.sim(op="state", device=1)["ring_used"] == 0)


def stored_events(listener, serial):
    """(boot, device_seq) -> set of envelope ids, for the device's stored events."""
    out = {}
    with listener.lock:
        msgs = list(listener.messages)
    for _, e in msgs:
        d = e["data"]
        if e.get("src") == GW and d.get("serial") == serial and d.get("device_seq", 0) > 0:
            out.setdefault((d["boot"], d["device_seq"]), set()).add(e["id"])
    return out


def test_sigkill_and_restart_loses_and_doubles_nothing(rig):
    assign(rig)
    rig.sim(op="login", device=0, employee="1001")
    rig.listener.wait("staff.login", serial="EQ-B0001-W01")

    def rating_ids():
        return {e["id"] for _, e in rig.listener.of("rating.submitted", serial="EQ-B0001-W01")}
    for round_ in range(3):
        wait_for(lambda: rig.sim(op="state", device=0)["state"] == "idle", timeout=20)
        rig.sim(op="service", device=0, rate=1 + round_, service_ms=150, rate_after_ms=100)
        time.sleep(0.25 + 0.1 * round_)   # somewhere in the middle of the flow
        rig.gw.proc.send_signal(signal.SIGKILL)
        rig.gw.proc.wait()
        rig.gw = rig.start_gateway()
        wait_for(lambda: len(rating_ids()) >= round_ + 1, timeout=20)
    wait_for(lambda: rig.sim(op="state", device=0)["ring_used"] == 0, timeout=20)

    def contiguous():
        seqs = sorted(s for _, s in stored_events(rig.listener, "EQ-B0001-W01"))
        return seqs == list(range(1, len(seqs) + 1)) and seqs
    # nothing lost: every stored event 1..n of the power-up arrives (an event
    # stored but not yet published when the gateway died comes with the replay)
    # login, then start, end and rating per round
    try:
        wait_for(contiguous, timeout=20)
    except AssertionError:
        raise AssertionError(sorted(stored_events(rig.listener, "EQ-B0001-W01")))
    events = stored_events(rig.listener, "EQ-B0001-W01")
    # nothing doubled: one envelope id per device event, however often replayed
    assert all(len(ids) == 1 for ids in events.values()), events
    ratings = rig.listener.of("rating.submitted", serial="EQ-B0001-W01")
    assert len({e["id"] for _, e in ratings}) == 3
    # the teller's session survived the gateway's restarts (sessions.json)
    assert all(e["data"]["employee_no"] == "1001" for _, e in ratings), ratings
    assert all(e["data"]["window"]["number"] == 1 for _, e in ratings)
    # the gateway seqs of one producer never repeat with another id
    by_seq = {}
    for _, e in rig.listener.messages:
        if e.get("src") == GW:
            by_seq.setdefault(e["seq"], set()).add(e["id"])
    assert all(len(ids) == 1 for ids in by_seq.values())


def incarnation(listener):
    """The journal incarnation the gateway's events carry (all the same)."""
    with listener.lock:
        found = {e["data"]["incarnation"] for _, e in listener.messages if e.get("src") == GW}
    assert len(found) == 1, found
    return found.pop()


def test_ack_empties_outbox_and_replay_stops(rig):
    assign(rig)
    rig.sim(op="login", device=0, employee="1001")
    _, env = rig.listener.wait("staff.login", serial="EQ-B0001-W01")[0]
    metrics = lambda: urllib.request.urlopen(  # noqa: E731
        f"http://127.0.0.1:{rig.http}/metrics", timeout=5).read().decode()
    assert "eqms_device_gateway_outbox_depth 0" not in metrics()
    last = max(e["seq"] for _, e in rig.listener.messages if e.get("src") == GW)
    rig.listener.publish("ack.ingest", BRANCH, {"gateway": GW, "incarnation": incarnation(
        rig.listener), "upto": last})
    wait_for(lambda: "eqms_device_gateway_outbox_depth 0" in metrics())


def test_unassigned_device_events_kept(rig):
    # no registry at all: the events are published under the branch, window null
    rig.sim(op="login", device=0, employee="1001")
    topic, env = rig.listener.wait("staff.login", serial="EQ-B0001-W01")[0]
    assert topic == f"staff.login.{BRANCH}"
    assert env["data"]["window"] is None


def test_garbage_reports_do_not_disturb_others(rig):
    assign(rig)
    rig.listener.wait("device.online", serial="EQ-B0001-W02")
    # version 1 but of no power-up of the device; a short report
    rig.sim(op="raw", device=0, hex="01" + "ff" * 63)
    rig.sim(op="raw", device=0, hex="0110")
    rig.sim(op="login", device=1, employee="1001")
    rig.listener.wait("staff.login", serial="EQ-B0001-W02")
    wait_for(lambda: rig.gw.log().count("event=report_rejected") >= 2)
    # the device that sent garbage keeps working too
    rig.sim(op="login", device=0, employee="1001")
    rig.listener.wait("staff.login", serial="EQ-B0001-W01")


def test_unplug_mid_service_and_replug_every_event_once(rig):
    assign(rig)
    rig.sim(op="login", device=0, employee="1001")
    rig.listener.wait("staff.login", serial="EQ-B0001-W01")
    rig.sim(op="service", device=0, rate=1, service_ms=400, rate_after_ms=200)
    time.sleep(0.2)
    rig.sim(op="unplug", device=0)
    rig.listener.wait("device.offline", serial="EQ-B0001-W01")
    time.sleep(1.0)   # the customer rates while the device is unplugged
    rig.sim(op="plug", device=0)
    rig.listener.wait("rating.submitted", serial="EQ-B0001-W01")
    wait_for(lambda: rig.sim(op="state", device=0)["ring_used"] == 0)
    time.sleep(0.5)
    events = stored_events(rig.listener, "EQ-B0001-W01")
    seqs = sorted(s for _, s in events)
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 4
    assert all(len(ids) == 1 for ids in events.values())


def test_text_command_reaches_the_lcd(rig):
    assign(rig)
    rig.listener.wait("device.online", serial="EQ-B0001-W01")
    rig.listener.publish("cmd.device", f"{BRANCH}.w01",
                         {"serial": "EQ-B0001-W01", "command": "text", "target": "now",
                          "lines": ["请稍候😀"]})
    wait_for(lambda: rig.sim(op="state", device=0)["lcd"][0]["text"] == "请稍候□")
    assert "event=text_marked" in rig.gw.log()
    rig.listener.publish("cmd.device", f"{BRANCH}.w01",
                         {"serial": "EQ-NOBODY", "command": "stars", "stars": 3})
    wait_for(lambda: "no such device" in rig.gw.log())


def rating_line(sim, device=0):
    """The LCD's third line, where the keys' labels take turns while a
    rating is awaited."""
    return sim(op="state", device=device)["lcd"][2]["text"]


def test_the_scale_labels_take_turns_on_the_rating_screen(rig):
    """The registry's labels reach the device (SET_LABEL) and show, one key
    after the other, while the customer is asked to rate; a label changed
    in a later snapshot replaces the old one on the screen."""
    assign(rig)
    rig.listener.wait("device.online", serial="EQ-B0001-W01")
    rig.sim(op="login", device=0, employee="1001")
    rig.listener.wait("staff.login", serial="EQ-B0001-W01")
    wait_for(lambda: rig.sim(op="state", device=0)["state"] == "idle", timeout=10)
    rig.sim(op="keys", device=0, keys=["start", "end"])
    wait_for(lambda: rig.sim(op="state", device=0)["state"] == "await_rating", timeout=10)
    labels = [f"{o['code']} {o['label']}" for o in scale()["options"]]
    seen = set()
    wait_for(lambda: seen.add(rating_line(rig.sim)) or set(labels) <= seen, timeout=10)
    assert seen <= set(labels) | {""}, seen

    changed = snapshot(rig.serials)
    changed["devices"][0]["scale"]["options"][3]["label"] = "很不满意"
    rig.listener.publish("registry.snapshot", BRANCH, changed)
    wait_for(lambda: rating_line(rig.sim) == "4 很不满意", timeout=10)
    rig.sim(op="press", device=0, key="rate4")
    _, env = rig.listener.wait("rating.submitted", serial="EQ-B0001-W01")[0]
    assert env["data"]["label"] == "很不满意"
    assert rig.sim(op="state", device=0)["stats"]["commands_rejected"] == 0


def test_shutdown_publishes_offline(rig):
    rig.listener.wait("device.online", serial="EQ-B0001-W01")
    rig.listener.wait("device.online", serial="EQ-B0001-W02")
    assert rig.gw.stop() == 0
    for s in rig.serials:
        _, env = rig.listener.wait("device.offline", serial=s)[0]
        assert env["data"]["reason"] == "shutdown"


def test_hub_of_32_devices_on_one_gateway(bus, start_bin, tmp_path):
    serials = [f"EQ-B0001-W{i:02d}" for i in range(1, 33)]
    sim = Devsim(start_bin, tmp_path, 32, serials)
    listener = Listener(bus)
    try:
        state = tmp_path / "state32"
        state.mkdir()
        gw = start_gateway(start_bin, bus, sim, state)
        wait_for(lambda: {e["data"]["serial"] for _, e in listener.of("device.online")}
                 == set(serials), timeout=30)
        listener.wait("registry.request")
        listener.publish("registry.snapshot", BRANCH, snapshot(serials))
        wait_for(lambda: (state / "registry.json").exists())
        for i in range(32):
            sim(op="login", device=i, employee=f"{1001 + i}")
        logins = wait_for(lambda: len(listener.of("staff.login")) >= 32
                          and listener.of("staff.login"), timeout=30)
        by_serial = {e["data"]["serial"]: (t, e) for t, e in logins}
        assert set(by_serial) == set(serials)
        for i, s in enumerate(serials, 1):
            topic, env = by_serial[s]
            assert topic == f"staff.login.{BRANCH}.w{i:02d}"
            assert env["data"]["employee_no"] == f"{1000 + i}"
            assert env["data"]["window"]["number"] == i
        assert gw.stop() == 0
    finally:
        listener.close()


def test_replay_request_republishes_the_range_at_once(rig):
    assign(rig)
    rig.listener.wait("device.online", serial="EQ-B0001-W02")
    metrics = lambda: urllib.request.urlopen(  # noqa: E731
        f"http://127.0.0.1:{rig.http}/metrics", timeout=5).read().decode()

    def counter(name):
        for line in metrics().splitlines():
            if line.startswith(f"eqms_device_gateway_{name} "):
                return int(float(line.split()[1]))
        raise AssertionError(f"no metric {name}")

    def gw_seqs():
        with rig.listener.lock:
            return [e["seq"] for _, e in rig.listener.messages if e.get("src") == GW]
    # acknowledge what is there: the outbox then holds only the events below,
    # and the periodic replay cannot send them before 5 s after their publication
    acked = max(gw_seqs())
    inc = incarnation(rig.listener)
    rig.listener.publish("ack.ingest", BRANCH, {"gateway": GW, "incarnation": inc,
                                                "upto": acked})
    wait_for(lambda: counter("outbox_depth") == 0)
    mark = len(gw_seqs())
    first = time.monotonic()   # before the first publication of any of them
    rig.sim(op="login", device=0, employee="1001")
    rig.listener.wait("staff.login", serial="EQ-B0001-W01")
    rig.sim(op="service", device=0, rate=2, service_ms=150, rate_after_ms=100, call=True)
    rig.listener.wait("rating.submitted", serial="EQ-B0001-W01")
    new = gw_seqs()[mark:]
    # login, call, start, end, rating: each published once, in seq order
    assert len(new) >= 5 and new == list(range(acked + 1, acked + 1 + len(new))), new
    replayed_before = counter("events_replayed_total")
    sub = new[1:4]
    # ignored: another gateway, another incarnation of this one, to < from, an
    # extra member; nothing left to send for seqs already acknowledged. Sent
    # ahead of the valid request on the same socket, so the gateway has
    # handled them before it.
    other = "01a2038e-0000-7000-8000-000000000001"
    rig.listener.publish("replay.request", BRANCH,
                         {"gateway": "device-gateway.b0002", "incarnation": inc,
                          "from": new[0], "to": new[-1]})
    rig.listener.publish("replay.request", BRANCH,
                         {"gateway": GW, "incarnation": other, "from": new[0], "to": new[-1]})
    rig.listener.publish("replay.request", BRANCH,
                         {"gateway": GW, "incarnation": inc, "from": new[-1], "to": new[0]})
    rig.listener.publish("replay.request", BRANCH,
                         {"gateway": GW, "incarnation": inc, "from": new[0], "to": new[-1],
                          "all": True})
    rig.listener.publish("replay.request", BRANCH,
                         {"gateway": GW, "incarnation": inc, "from": 1, "to": acked})
    rig.listener.publish("replay.request", BRANCH,
                         {"gateway": GW, "incarnation": inc, "from": sub[0], "to": sub[-1]})

    def again():
        return sorted(gw_seqs()[mark + len(new):])
    wait_for(lambda: again() == sub, timeout=2.0)
    time.sleep(0.5)
    # well before the periodic replay could have sent any of them (5 s)
    assert time.monotonic() - first < 4.5
    assert again() == sub
    assert counter("events_replayed_total") - replayed_before == len(sub)
    assert counter("replay_requests_total") == 2
    log = rig.gw.log()
    assert log.count("event=replay_request_rejected") == 2
    assert f"event=outbox_replay_requested gateway={GW} from={sub[0]} to={sub[-1]} " \
           f"events={len(sub)}" in log
    health = urllib.request.urlopen(f"http://127.0.0.1:{rig.http}/health", timeout=5)
    assert health.status == 200


def test_failed_fsync_is_never_acknowledged_to_the_device(bus, start_bin, tmp_path):
    """Item 4: one fdatasync of the journal fails (tests/shim/failshim.c, a
    test-only LD_PRELOAD library, makes it fail as a dying disk would: the
    kernel drops those pages and a later sync succeeds without them). The
    device must not be acknowledged for what that sync covered. Then the
    power is pulled: the journal is what the disk held (the shim's image).
    Every event the device was acknowledged for (its ring is empty) must be
    in that journal: the restarted gateway replays all of them."""
    serial = "EQ-B0001-W01"
    sim = Devsim(start_bin, tmp_path, 1, [serial])
    listener = Listener(bus)
    try:
        state = tmp_path / "state"
        state.mkdir()
        ctl = tmp_path / "failshim.ctl"
        shim = os.path.join(BUILD, "testlib", "eqms-failshim.so")
        assert os.path.exists(shim), "make test builds the shim"
        faulty = {"LD_PRELOAD": "libumockdev-preload.so.0:" + shim,
                  "EQMS_FAILSHIM_CTL": str(ctl), "EQMS_FAILSHIM_IMAGE": "1"}
        gw = start_gateway(start_bin, bus, sim, state, env_extra=faulty)
        listener.wait("registry.request")
        listener.publish("registry.snapshot", BRANCH, snapshot([serial]))
        wait_for(lambda: (state / "registry.json").exists())
        sim(op="login", device=0, employee="1001")
        listener.wait("staff.login", serial=serial)
        wait_for(lambda: sim(op="state", device=0)["ring_used"] == 0)

        # the next sync of the journal fails; two presses follow it
        ctl.write_text("fdatasync 0 1\n")
        sim(op="press", device=0, key="call")
        wait_for(lambda: not ctl.exists())
        sim(op="press", device=0, key="call")
        listener.wait("call.request", serial=serial, timeout=20)
        wait_for(lambda: len({e["data"]["device_seq"] for _, e in
                              listener.of("call.request", serial=serial)}) == 2, timeout=30)
        wait_for(lambda: sim(op="state", device=0)["ring_used"] == 0, timeout=30)
        assert "event=outbox_sync_failed" in gw.log()
        stored = {(e["data"]["boot"], e["data"]["device_seq"]) for _, e in listener.messages
                  if e["src"] == GW and e["data"]["device_seq"] > 0}
        assert len(stored) == 3       # login and two calls, all acknowledged to the device

        # the power goes: the process dies and the disk keeps what it kept
        gw.proc.kill()
        gw.proc.wait()
        shutil.copyfile(state / "outbox.journal.durable", state / "outbox.journal")
        mark = len(listener.messages)
        start_gateway(start_bin, bus, sim, state)

        def replayed():
            with listener.lock:
                msgs = listener.messages[mark:]
            return {(e["data"]["boot"], e["data"]["device_seq"]) for _, e in msgs
                    if e["src"] == GW and e["data"]["device_seq"] > 0}
        try:
            wait_for(lambda: replayed() == stored, timeout=20)
        except AssertionError:
            raise AssertionError(f"acknowledged to the device but lost: {stored - replayed()}")
    finally:
        listener.close()


def ms_of(rfc3339):
    t = datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def test_event_time_across_the_uptime_wrap(bus, start_bin, tmp_path):
    """Item 1: the device's 32-bit uptime wraps (eqms-devsim started 15 s
    before it). Events made live after the wrap, and events the device
    kept while unplugged across it, get the time they happened, not one
    49.7 days earlier."""
    serial = "EQ-B0001-W01"
    sim = Devsim(start_bin, tmp_path, 1, [serial],
                 env={"EQMS_DEVSIM_UPTIME_START_MS": str(2**32 - 15000)})
    listener = Listener(bus)
    try:
        state = tmp_path / "state"
        state.mkdir()
        start_gateway(start_bin, bus, sim, state)
        listener.wait("registry.request")
        listener.publish("registry.snapshot", BRANCH, snapshot([serial]))
        wait_for(lambda: (state / "registry.json").exists())
        sim(op="login", device=0, employee="1001")
        _, login = listener.wait("staff.login", serial=serial)[0]
        d = login["data"]
        assert d["uptime_ms"] > 2**32 - 15000          # not wrapped yet
        assert abs(ms_of(d["event_time"]) - ms_of(d["received"])) < 1000
        wrap_at = ms_of(d["received"]) + (2**32 - d["uptime_ms"])

        # unplugged before the wrap; one press before it, one after it
        sim(op="unplug", device=0)
        listener.wait("device.offline", serial=serial)
        before = int(time.time() * 1000)
        sim(op="press", device=0, key="call")
        wait_for(lambda: sim(op="state", device=0)["ring_used"] == 1)
        assert int(time.time() * 1000) < wrap_at - 500, "the test machine is too slow"
        time.sleep(max(0, wrap_at - time.time() * 1000 + 1000) / 1000)
        after = int(time.time() * 1000)
        sim(op="press", device=0, key="call")
        wait_for(lambda: sim(op="state", device=0)["ring_used"] == 2)
        time.sleep(1.0)
        sim(op="plug", device=0)
        calls = wait_for(lambda: len(listener.of("call.request", serial=serial)) >= 2
                         and sorted((e["data"]["device_seq"], e["data"]) for _, e in
                                    listener.of("call.request", serial=serial)), timeout=20)
        (_, kept_before), (_, kept_after) = calls[:2]
        assert kept_after["uptime_ms"] < 60000            # wrapped
        # kept while unplugged: the time they were made, before the receipt
        assert before - 100 <= ms_of(kept_before["event_time"]) < wrap_at
        assert wrap_at <= ms_of(kept_after["event_time"]) <= after + 2000
        assert ms_of(kept_after["event_time"]) < ms_of(kept_after["received"]) - 500

        # made live after the wrap
        sim(op="service", device=0, rate=2, service_ms=300, rate_after_ms=100)
        _, rating = listener.wait("rating.submitted", serial=serial)[0]
        r = rating["data"]
        assert r["uptime_ms"] < 120000
        assert abs(ms_of(r["event_time"]) - ms_of(r["received"])) < 1000, r
        _, end = listener.wait("service.end", serial=serial)[0]
        assert 250 <= end["data"]["duration_ms"] < 2000
    finally:
        listener.close()


def test_report_of_an_unknown_version_acknowledges_nothing_of_the_device(rig):
    """Item 2, version skew: a report of a version the gateway does not
    speak is not read; nothing of that device is acknowledged, so every
    event stays in its ring, even those the gateway could read after it,
    until a gateway that speaks the version reads them (here: the emulator
    sends it as version 1 again). The other devices go on."""
    assign(rig)
    rig.listener.wait("device.online", serial="EQ-B0001-W01")
    rig.sim(op="unplug", device=0)
    rig.listener.wait("device.offline", serial="EQ-B0001-W01")
    # standalone: the login and a Start wait in the device's ring
    rig.sim(op="login", device=0, employee="1001")
    wait_for(lambda: rig.sim(op="state", device=0)["state"] == "idle")
    rig.sim(op="press", device=0, key="start")
    wait_for(lambda: rig.sim(op="state", device=0)["ring_used"] == 2)
    # a newer firmware's login: report version 2
    rig.sim(op="mutate", device=0, match=0x10, version=2)
    rig.sim(op="plug", device=0)
    # not acknowledged: the device sends it again after its ack timeout
    try:
        wait_for(lambda: rig.sim(op="state", device=0)["mutated_sent"] >= 2, timeout=20)
    except AssertionError:
        raise AssertionError("the device dropped what it held: %s" % rig.sim(op="state", device=0))
    assert rig.sim(op="state", device=0)["ring_used"] == 2
    assert "event=report_version_unsupported" in rig.gw.log()
    assert not rig.listener.of("service.start", serial="EQ-B0001-W01")
    assert not rig.listener.of("staff.login", serial="EQ-B0001-W01")
    # the other device is not held up
    rig.sim(op="login", device=1, employee="1001")
    rig.listener.wait("staff.login", serial="EQ-B0001-W02")
    wait_for(lambda: rig.sim(op="state", device=1)["ring_used"] == 0)
    # the gateway is upgraded to one that speaks the version (here: the
    # emulator sends the report as version 1 again): it reads them all
    rig.sim(op="mutate", device=0, match=0)
    assert rig.gw.stop() == 0
    rig.gw = rig.start_gateway()
    rig.listener.wait("staff.login", serial="EQ-B0001-W01", timeout=30)
    rig.listener.wait("service.start", serial="EQ-B0001-W01", timeout=30)
    wait_for(lambda: rig.sim(op="state", device=0)["ring_used"] == 0, timeout=30)
    seqs = sorted(s for _, s in stored_events(rig.listener, "EQ-B0001-W01"))
    assert seqs == [1, 2]
