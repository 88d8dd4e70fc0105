"""eqms-devsim: the real firmware core behind umockdev USB devices, seen by a
real libusb-1.0 program (eqms-usbprobe) in another process, as the device
gateway sees it, and driven through the devsim's JSON control socket."""
import json
import os
import re
import subprocess
import threading

import pytest
import zmq

from conftest import bin_path, wait_for
from servers import free_port


class Devsim:
    def __init__(self, proc, endpoint, umockdev_dir):
        self.proc = proc
        self.endpoint = endpoint
        self.dir = umockdev_dir
        self.sock = zmq.Context.instance().socket(zmq.REQ)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVTIMEO, 10000)
        self.sock.connect(endpoint)

    def raw(self, text):
        self.sock.send_string(text)
        return json.loads(self.sock.recv_string())

    def ctl(self, **req):
        reply = self.raw(json.dumps(req))
        assert reply["ok"], reply
        return reply

    def state(self, device):
        return self.ctl(op="state", device=device)

    def wait_state(self, device, name, timeout=15):
        return wait_for(lambda: self.state(device)["state"] == name, timeout=timeout)


@pytest.fixture
def devsim(start_bin, tmp_path):
    started = []

    def start(count=2, **env):
        port = free_port()
        dir_file = tmp_path / f"devsim{len(started)}.dir"
        full = {"EQMS_DEVSIM_COUNT": str(count),
                "EQMS_DEVSIM_CONTROL": f"tcp://127.0.0.1:{port}",
                "EQMS_DEVSIM_DIR_FILE": str(dir_file),
                "EQMS_DEVSIM_SERIAL_PREFIX": "EQ-T"}
        full.update(env)
        proc = start_bin("devsim", full)
        wait_for(lambda: dir_file.exists() or proc.proc.poll() is not None, timeout=20)
        assert proc.proc.poll() is None, proc.log()
        d = Devsim(proc, f"tcp://127.0.0.1:{port}", dir_file.read_text().strip())
        started.append(d)
        return d

    yield start
    for d in started:
        d.sock.close()


class Probe:
    """eqms-usbprobe under the umockdev preload: a real libusb client."""

    def __init__(self, umockdev_dir, *args):
        env = dict(os.environ, LD_PRELOAD="libumockdev-preload.so.0",
                   UMOCKDEV_DIR=umockdev_dir)
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
                               ).lstrip(":")
        self.proc = subprocess.Popen([bin_path("usbprobe"), *args], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait(self, pattern, timeout=15):
        rx = re.compile(pattern)
        return wait_for(lambda: next((l for l in self.lines if rx.search(l)), None),
                        timeout=timeout)

    def count(self, pattern):
        rx = re.compile(pattern)
        return sum(1 for l in self.lines if rx.search(l))

    def finish(self, timeout=30):
        self.proc.wait(timeout)
        self._reader.join(5)
        summary = next(l for l in self.lines if l.startswith("summary "))
        return dict(kv.split("=") for kv in summary.split()[1:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def probes():
    started = []

    def start(umockdev_dir, *args):
        p = Probe(umockdev_dir, *args)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


def test_libusb_enumerates_reads_serial_and_gets_hello(devsim, probes):
    sim = devsim(count=2)
    probe = probes(sim.dir, "--run-ms", "60000")
    for serial in ("EQ-T-W01", "EQ-T-W02"):
        probe.wait(rf"^open serial={serial} bus=1 dev=\d+$")
        probe.wait(rf"^in serial={serial} type=0x01 seq=0 .*len=64$")
    assert probe.wait(r"^enumerated count=2$")
    assert sim.state(0)["usb"]["clients"] == 1


def test_stored_event_reaches_host_and_ack_empties_ring(devsim, probes):
    sim = devsim(count=2)
    probe = probes(sim.dir, "--run-ms", "60000")
    probe.wait(r"^in serial=EQ-T-W01 type=0x01")
    sim.ctl(op="login", device=0, employee="1234")
    probe.wait(r"^in serial=EQ-T-W01 type=0x10 seq=1 ")
    probe.wait(r"^ack serial=EQ-T-W01 upto=1$")
    st = wait_for(lambda: (lambda s: s if s["ring_used"] == 0 else None)(sim.state(0)))
    assert st["stats"]["commands_applied"] >= 1
    assert st["usb"]["out_reports"] >= 1
    # the other device saw nothing of it
    assert sim.state(1)["ring_used"] == 0
    assert probe.count(r"^in serial=EQ-T-W02 type=0x10") == 0


def test_full_service_flow_shows_prompts_and_sends_rating(devsim, probes):
    sim = devsim(count=1)
    probe = probes(sim.dir, "--run-ms", "60000")
    probe.wait(r"^in serial=EQ-T-W01 type=0x01")
    sim.ctl(op="login", device=0, employee="1234")
    # no LOGIN_REPLY comes from the probe: the firmware accepts locally
    sim.wait_state(0, "idle")
    st = sim.state(0)
    assert any("1234" in (line["text"] or "") for line in st["lcd"])
    sim.ctl(op="service", device=0, rate=2, service_ms=100, rate_after_ms=100)
    probe.wait(r"^in serial=EQ-T-W01 type=0x30 seq=2 ")
    probe.wait(r"^in serial=EQ-T-W01 type=0x31 seq=3 ")
    probe.wait(r"^in serial=EQ-T-W01 type=0x40 seq=4 ")
    st = wait_for(lambda: (lambda s: s if s["ring_used"] == 0 else None)(sim.state(0)))
    assert st["last_prompt"] == 3          # thanks
    assert st["state"] in ("thanks", "idle")


def test_unplug_mid_service_and_replug_resends_kept_events(devsim, probes):
    sim = devsim(count=1)
    probe = probes(sim.dir, "--run-ms", "60000")
    probe.wait(r"^in serial=EQ-T-W01 type=0x01")
    sim.ctl(op="unplug", device=0)
    probe.wait(r"^left bus=1 dev=\d+$")
    assert not sim.state(0)["plugged"]
    # standalone: login accepted at once, service started, both kept
    sim.ctl(op="login", device=0, employee="77")
    sim.wait_state(0, "idle")
    sim.ctl(op="press", device=0, key="start")
    sim.wait_state(0, "serving")
    assert sim.state(0)["ring_used"] == 2
    replug = sim.ctl(op="plug", device=0)
    probe.wait(rf"^arrived bus=1 dev={replug['dev']}$")
    probe.wait(r"^in serial=EQ-T-W01 type=0x10 seq=1 ")
    probe.wait(r"^in serial=EQ-T-W01 type=0x30 seq=2 ")
    wait_for(lambda: sim.state(0)["ring_used"] == 0)
    sim.ctl(op="press", device=0, key="end")
    probe.wait(r"^in serial=EQ-T-W01 type=0x31 seq=3 ")


def test_garbage_report_from_one_device_does_not_disturb_others(devsim, probes):
    sim = devsim(count=2)
    probe = probes(sim.dir, "--run-ms", "60000")
    probe.wait(r"^in serial=EQ-T-W02 type=0x01")
    probe.wait(r"^in serial=EQ-T-W01 type=0x01")
    sim.ctl(op="raw", device=0, hex="ee" * 64)
    sim.ctl(op="raw", device=0, hex="0102030405")
    probe.wait(r"^in serial=EQ-T-W01 type=0xee .*len=64$")
    probe.wait(r"^in serial=EQ-T-W01 type=0x02 .*len=5$")
    assert sim.state(0)["raw_sent"] == 2
    sim.ctl(op="login", device=1, employee="42")
    probe.wait(r"^in serial=EQ-T-W02 type=0x10 seq=1 ")
    probe.wait(r"^ack serial=EQ-T-W02 upto=1$")


def test_idle_libusb_client_does_not_busy_poll(devsim, probes):
    sim = devsim(count=4)
    probe = probes(sim.dir, "--run-ms", "6000", "--quiet-in")
    summary = probe.finish()
    cpu, wall = int(summary["cpu_ms"]), int(summary["wall_ms"])
    print(f"idle probe with 4 devices: cpu_ms={cpu} wall_ms={wall}")
    # a client spinning on poll() would burn about wall_ms of CPU
    assert cpu < wall / 5, summary
    assert int(summary["in"]) >= 4


def test_control_refuses_bad_requests_with_a_reason(devsim):
    sim = devsim(count=1)
    bad = ['not json', '[1,2]', '{"op":"nope","device":0}', '{"op":"plug"}',
           '{"op":"plug","device":5}', '{"op":"press","device":0,"key":"x"}',
           '{"op":"state","device":0,"extra":1}', '{"op":"raw","device":0,"hex":"abc"}',
           '{"op":"login","device":0,"employee":"12a"}', '{"op":"plug","device":0}',
           '{"op":"service","device":0,"rate":9}', '{"op":"model"}']
    for text in bad:
        reply = sim.raw(text)
        assert reply["ok"] is False and reply["error"], (text, reply)
    assert sim.ctl(op="hello")["count"] == 1
    sim.ctl(op="key", device=0, key="5", pressed=True)
    sim.ctl(op="key", device=0, key="5", pressed=False)
    sim.ctl(op="keys", device=0, keys=["6", "ok"])
    wait_for(lambda: sim.state(0)["state"] == "idle")


def test_fast_model_drives_every_device(devsim, probes):
    sim = devsim(count=3, EQMS_DEVSIM_MODE="fast", EQMS_DEVSIM_EMPLOYEES="11,12,13")
    probe = probes(sim.dir, "--run-ms", "60000", "--quiet-in")
    for i in range(3):
        wait_for(lambda: sim.state(i)["state"] in ("serving", "await_rating", "thanks"),
                 timeout=20)
    model = sim.ctl(op="model")
    assert model["stats"]["services"] >= 3
    assert sim.ctl(op="model", enable=False)["enabled"] is False
    probe.stop()
