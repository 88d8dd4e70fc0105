"""A queue-manager client for system tests and benchmarks: a DEALER on the
request ROUTER (docs/protocol.md, "queue-manager requests")."""
import itertools
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import free_port, wait_port  # noqa: E402

BRANCH = "hq.r01.b0001"
_ids = itertools.count(1)


def start_qm(start_bin, db, bus, redis_url="", **extra):
    """Starts eqms-queue-manager on the demo database; returns (proc, endpoint, http_port)."""
    port, http = free_port(), free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    env = {"EQMS_PG_CONNINFO": db.conninfo, "EQMS_BUS_PUB": bus.xsub,
           "EQMS_BUS_SUB": bus.xpub, "EQMS_HTTP_ADDRESS": "127.0.0.1",
           "EQMS_HTTP_PORT": str(http), "EQMS_REDIS_URL": redis_url,
           "EQMS_QM_ENDPOINT": endpoint}
    env.update({k: str(v) for k, v in extra.items()})
    proc = start_bin("queue-manager", env)
    wait_port(http, proc=proc.proc)
    return proc, endpoint, http


class Client:
    """Sends requests and waits for their replies (matched by id)."""

    def __init__(self, endpoint, branch=BRANCH, actor="test:1"):
        import zmq
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.endpoint = endpoint
        self.branch = branch
        self.actor = actor

    def send(self, op, **members):
        rid = f"r{next(_ids)}"
        req = {"v": 1, "id": rid, "op": op, "branch": members.pop("branch", self.branch),
               "actor": members.pop("actor", self.actor)}
        req.update(members)
        self.sock.send(json.dumps(req).encode())
        return rid

    def recv(self, timeout=10.0):
        if not self.sock.poll(int(timeout * 1000)):
            raise AssertionError(f"no reply within {timeout}s")
        return json.loads(self.sock.recv())

    def call(self, op, timeout=10.0, **members):
        rid = self.send(op, **members)
        reply = self.recv(timeout)
        assert reply["id"] == rid, reply
        return reply

    def raw(self, frame, timeout=10.0):
        self.sock.send(frame)
        return self.recv(timeout)

    def close(self):
        self.sock.close()



def pipeline(clients, requests, chunk=400, timeout=60.0):
    """Sends requests [(op, members), ...] spread over several clients, at most
    `chunk` in flight per client; returns the replies in request order."""
    import time
    import zmq
    replies = [None] * len(requests)
    pending = [dict() for _ in clients]        # per client: rid -> index
    poller = zmq.Poller()
    for c in clients:
        poller.register(c.sock, zmq.POLLIN)
    by_sock = {c.sock: ci for ci, c in enumerate(clients)}
    nxt = 0
    last = time.monotonic()
    while nxt < len(requests) or any(pending):
        for ci, c in enumerate(clients):
            while nxt < len(requests) and len(pending[ci]) < chunk:
                op, members = requests[nxt]
                pending[ci][c.send(op, **dict(members))] = nxt
                nxt += 1
        ready = dict(poller.poll(1000))
        if not ready and time.monotonic() - last > timeout:
            raise AssertionError(f"no reply within {timeout}s")
        for sock in ready:
            ci = by_sock[sock]
            while sock.poll(0):
                reply = json.loads(sock.recv())
                replies[pending[ci].pop(reply["id"])] = reply
                last = time.monotonic()
    return replies
