"""bench_gateway: events per second from 32 emulated rating devices through one
device gateway, and the gateway's CPU per 1,000 events.

Real parts only: eqms-bus, eqms-devsim --fast (the real firmware core behind
umockdev USB devices, pressing as fast as the firmware allows) and
eqms-device-gateway with its real libusb code under libumockdev-preload. This
script plays the centre: it answers the gateway's registry request (32
assigned windows, repeat-press interval 0 so that every press counts) and
acknowledges committed events as rating-ingest will (naming the journal
incarnation its events carry), so the outbox stays short. It counts distinct envelope ids of the gateway's events on the bus over
a measured window after a warm-up, reads the gateway's CPU time from /proc,
and the firmware image's size from `make firmware`.

Usage: /usr/bin/python3 tests/bench/bench_gateway.py --bin build/release/bin
       [--devices 32] [--seconds 20] [--warmup 5]
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import zmq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
from conftest import make_envelope  # noqa: E402  (the system tests' envelope builder)
from servers import free_port  # noqa: E402
from benchproc import cpu_seconds, stop_all  # noqa: E402
BRANCH = "hq.r01.b0001"
GATEWAY = "device-gateway.b0001"
EVENT_PREFIXES = ("device.", "staff.", "service.", "call.", "rating.")


def snapshot(devices):
    options = [{"code": c, "label": l, "score": s}
               for c, l, s in ((1, "非常满意", 5), (2, "满意", 4), (3, "一般", 3), (4, "不满意", 1))]
    return {"branch": BRANCH,
            "generated": datetime.datetime.now(datetime.timezone.utc)
                         .strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "devices": [{"serial": f"EQ-SIM-W{i + 1:02d}",
                         "window": {"id": i + 1, "number": i + 1, "code": f"w{i + 1:02d}",
                                    "path": f"{BRANCH}.w{i + 1:02d}"},
                         "scale": {"code": "std4", "options": options},
                         "rating_timeout_s": 5, "repeat_press_s": 0,
                         "idle_text": ["欢迎光临"]} for i in range(devices)],
            "staff": [{"employee_no": str(1001 + i), "name": f"柜员{i + 1}", "active": True}
                      for i in range(devices)]}


class Centre(threading.Thread):
    """Answers registry requests, counts the gateway's events, acks them."""

    def __init__(self, xsub, xpub, devices):
        super().__init__(daemon=True)
        ctx = zmq.Context.instance()
        self.sub = ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.RCVHWM, 0)
        self.sub.connect(xpub)
        for p in EVENT_PREFIXES + ("registry.request.",):
            self.sub.setsockopt(zmq.SUBSCRIBE, p.encode())
        self.pub = ctx.socket(zmq.PUB)
        self.pub.connect(xsub)
        self.devices = devices
        self.ids = set()
        self.counting = False
        self.counted = 0
        self.by_type = {}
        self.upto = 0
        self.incarnation = None   # of the gateway's journal, from its events
        self.seq = 0
        self.running = True
        self.lock = threading.Lock()

    def send(self, type_, data):
        self.seq += 1
        self.pub.send_multipart([f"{type_}.{BRANCH}".encode(),
                                 make_envelope(type_, data, src="bench-centre", seq=self.seq)])

    def run(self):
        last_ack = 0.0
        while self.running:
            if self.sub.poll(50):
                topic, body = self.sub.recv_multipart()
                env = json.loads(body)
                if env["type"] == "registry.request":
                    self.send("registry.snapshot", snapshot(self.devices))
                    continue
                with self.lock:
                    if env["src"] == GATEWAY and env["id"] not in self.ids:
                        self.ids.add(env["id"])
                        self.upto = max(self.upto, env["seq"])
                        self.incarnation = env["data"]["incarnation"]
                        if self.counting:
                            self.counted += 1
                            self.by_type[env["type"]] = self.by_type.get(env["type"], 0) + 1
            now = time.monotonic()
            if now - last_ack > 0.2 and self.upto:
                self.send("ack.ingest", {"gateway": GATEWAY, "incarnation": self.incarnation,
                                         "upto": self.upto})
                last_ack = now


def firmware_size():
    res = subprocess.run(["make", "-s", "firmware"], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        sys.exit(f"bench_gateway: make firmware failed:\n{res.stdout}")
    with open(os.path.join(ROOT, "build", "firmware", "size.txt")) as f:
        sizes = dict(line.strip().split("=") for line in f if "=" in line)
    return int(sizes["flash_bytes"]), int(sizes["ram_bytes"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--devices", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=5)
    args = ap.parse_args()
    flash, ram = firmware_size()

    tmp = tempfile.mkdtemp(prefix="eqms-bench-gw-")
    procs = []

    def start(name, env, log):
        p = subprocess.Popen([os.path.join(args.bin, f"eqms-{name}")],
                             env=dict(os.environ, EQMS_LOG_LEVEL="warn", **env),
                             stdout=subprocess.DEVNULL, stderr=open(log, "w"))
        procs.append(p)
        return p

    try:
        xsub, xpub = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
        start("bus", {"EQMS_BUS_XSUB_BIND": xsub, "EQMS_BUS_XPUB_BIND": xpub,
                      "EQMS_HTTP_PORT": "0"}, os.path.join(tmp, "bus.log"))
        centre = Centre(xsub, xpub, args.devices)
        centre.start()
        dir_file = os.path.join(tmp, "devsim.dir")
        devsim = start("devsim", {"EQMS_DEVSIM_COUNT": str(args.devices),
                                  "EQMS_DEVSIM_MODE": "fast", "EQMS_DEVSIM_DIR_FILE": dir_file},
                       os.path.join(tmp, "devsim.log"))
        deadline = time.monotonic() + 30
        while not (os.path.exists(dir_file) and open(dir_file).read().strip()):
            if devsim.poll() is not None or time.monotonic() > deadline:
                sys.exit("bench_gateway: eqms-devsim did not start; see " + tmp)
            time.sleep(0.1)
        umockdev_dir = open(dir_file).read().strip().split("=", 1)[-1]
        state = os.path.join(tmp, "gw")
        os.makedirs(state)
        gateway = start("device-gateway",
                        {"EQMS_BUS_PUB": xsub, "EQMS_BUS_SUB": xpub,
                         "EQMS_GATEWAY_ID": GATEWAY, "EQMS_GATEWAY_BRANCH": BRANCH,
                         "EQMS_GATEWAY_STATE_DIR": state, "EQMS_HTTP_PORT": "0",
                         "LD_PRELOAD": "libumockdev-preload.so.0",
                         "UMOCKDEV_DIR": umockdev_dir},
                        os.path.join(tmp, "gateway.log"))
        time.sleep(args.warmup)
        if gateway.poll() is not None:
            sys.exit("bench_gateway: the gateway exited; see " + tmp)
        with centre.lock:
            centre.counting = True
        cpu0, t0 = cpu_seconds(gateway.pid), time.monotonic()
        devsim_cpu0 = cpu_seconds(devsim.pid)
        time.sleep(args.seconds)
        with centre.lock:
            centre.counting = False
            events, by_type = centre.counted, dict(centre.by_type)
        cpu1, t1 = cpu_seconds(gateway.pid), time.monotonic()
        devsim_cpu = cpu_seconds(devsim.pid) - devsim_cpu0
        centre.running = False
    finally:
        stop_all(procs)
        shutil.rmtree(tmp, ignore_errors=True)

    seconds = t1 - t0
    rate = events / seconds
    cpu_ms = (cpu1 - cpu0) * 1000
    per_1k = cpu_ms / (events / 1000) if events else 0
    print(f"bench_gateway: {args.devices} devices, {seconds:.1f} s measured after "
          f"{args.warmup:.0f} s warm-up")
    print("events by type: " + ", ".join(f"{k}={v}" for k, v in sorted(by_type.items())))
    print(f"gateway cpu {cpu_ms:.0f} ms ({cpu_ms / seconds / 10:.1f} % of one core), "
          f"eqms-devsim cpu {devsim_cpu * 1000:.0f} ms")
    print(f"BENCH gateway events_per_s={rate:.0f} cpu_per_1k_events={per_1k:.1f} "
          f"fw_flash_bytes={flash} fw_ram_bytes={ram}")
    return 0 if events else 1


if __name__ == "__main__":
    sys.exit(main())
