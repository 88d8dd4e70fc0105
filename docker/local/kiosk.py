"""The demo's ticket kiosk: issues tickets at the demo branches' queues
through queue-manager's request endpoint (docs/protocol.md, "queue-manager
requests"), as the kiosk page will, with a mix of services and customer
classes, and logs each reply. Started by `make run` (docker/local/run.sh).

Usage: /usr/bin/python3 docker/local/kiosk.py ENDPOINT BRANCH[,BRANCH...] [PER_HOUR]
"""
import json
import random
import sys
import time

import zmq

SERVICES = ["cash", "cash", "cash", "account", "card", "loan", "corp_account"]


def main():
    endpoint, branches = sys.argv[1], sys.argv[2].split(",")
    per_hour = float(sys.argv[3]) if len(sys.argv) > 3 else 240
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    n = 0
    while True:
        time.sleep(random.expovariate(per_hour / 3600.0))
        n += 1
        klass = random.choices(["ordinary", "vip", "green"], [85, 12, 3])[0]
        req = {"v": 1, "id": f"kiosk-{n}", "op": "ticket.issue",
               "branch": random.choice(branches), "actor": "kiosk:demo",
               "service_code": random.choice(SERVICES), "class": klass}
        sock.send(json.dumps(req).encode())
        if not sock.poll(5000):
            print(f"kiosk: no reply to {req['id']}", flush=True)
            continue
        reply = json.loads(sock.recv())
        if reply.get("ok"):
            t = reply["ticket"]
            print(f"kiosk: {req['branch']} {t['number']} ({klass}) position "
                  f"{reply['position']} wait {reply['est_wait_s']} s", flush=True)
        else:
            print(f"kiosk: refused: {reply.get('error')}: {reply.get('reason')}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
