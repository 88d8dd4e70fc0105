"""Real PostgreSQL, Redis and Kannel servers in temporary directories, on free ports.

Used by the pytest fixtures (conftest.py) and by tests/run.py, which runs the
unit tests that need a server under them. Everything is removed on stop, and
stop runs at exit too, so an interrupted run leaves no server behind.

PostgreSQL refuses to run as root, so as root the cluster belongs to the
`postgres` user that Debian's package creates.

Kannel (the SMS gateway) runs with Kannel's own fake SMSC, fakesmsc, in place
of an operator's SMSC; see the Kannel class.
"""
import atexit
import collections
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

PG_BIN = "/usr/lib/postgresql/15/bin"


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


class Postgres:
    """A throwaway PostgreSQL cluster; superuser `postgres`, trust auth on loopback."""

    def __init__(self, root):
        self.dir = os.path.join(root, "pg")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.as_user = []
        os.makedirs(self.dir)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            os.chmod(root, 0o755)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args):
        subprocess.run(self.as_user + list(args), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)

    def start(self, settings=()):
        """settings: more "name=value" server settings (-c)."""
        self._run(f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200" + "".join(f" -c {s}" for s in settings))
        self._run(f"{PG_BIN}/pg_ctl", "-D", self.data, "-o", opts, "-w", "-t", "60",
                  "-l", os.path.join(self.dir, "log"), "start")
        return self

    def stop(self, mode="immediate"):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run(self.as_user + [f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", mode,
                                           "-w", "stop"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)

    def conninfo(self, dbname="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name):
        import psycopg2
        conn = psycopg2.connect(self.conninfo())
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.conninfo(name)


class Redis:
    def __init__(self, root):
        self.dir = os.path.join(root, "redis")
        self.port = free_port()
        self.proc = None
        os.makedirs(self.dir)

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.dir, "--save", "", "--appendonly", "no"],
            stdout=open(os.path.join(self.dir, "log"), "w"), stderr=subprocess.STDOUT)
        wait_port(self.port, proc=self.proc)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def url(self, db=0):
        return f"redis://127.0.0.1:{self.port}/{db}"


# --- Kannel -------------------------------------------------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KANNEL_CONF = os.path.join(ROOT, "docker", "kannel", "kannel.conf")
BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"

Concat = collections.namedtuple("Concat", "ref total index")
Concat.__doc__ = "The concatenation element of a UDH: reference, parts, this part (1-based)."

Sms = collections.namedtuple("Sms", "sender receiver coding text data udh concat")
Sms.__doc__ = """One message as the fake SMSC got it from Kannel.

coding  0 (GSM 7-bit; Kannel hands fakesmsc the text as UTF-8), 1 (8-bit),
        2 (UCS-2), or None for a part with a UDH whose coding Kannel has not
        logged yet (fakesmsc does not show the coding of such parts; it is
        read from bearerbox's access log, written once every part is out)
text    the text as a str (coding 0 and 2), else None
data    the payload bytes as sent (UCS-2: UTF-16BE)
udh     the User Data Header bytes, or None
concat  Concat(ref, total, index) if the UDH has a concatenation element"""


def kannel_conf(values):
    """docker/kannel/kannel.conf with each @NAME@ replaced by values[NAME]."""
    with open(KANNEL_CONF, encoding="utf-8") as f:
        return re.sub(r"@([A-Z_]+)@", lambda m: str(values[m.group(1)]), f.read())


def _udh_concat(udh):
    """The Concat of a UDH (8- or 16-bit reference), or None."""
    if not udh:
        return None
    i, end = 1, 1 + udh[0]
    while i + 1 < min(end, len(udh)):
        iei, n = udh[i], udh[i + 1]
        v = udh[i + 2:i + 2 + n]
        if iei == 0x00 and n == 3:
            return Concat(v[0], v[1], v[2])
        if iei == 0x08 and n == 4:
            return Concat(v[0] << 8 | v[1], v[2], v[3])
        i += 2 + n
    return None


def _free_ports(n):
    """n distinct free TCP ports on 127.0.0.1."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _url_unquote(b):
    """Kannel's url decoding: '+' is a space, %XX a byte."""
    return urllib.parse.unquote_to_bytes(b.replace(b"+", b" "))


def _alive(proc):
    return proc is not None and proc.poll() is None


def _end(proc, sig=signal.SIGTERM, timeout=10):
    """Sends sig unless proc has exited; kills it after timeout seconds."""
    if not _alive(proc):
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# One line of bearerbox's access log for a message handed to the MT SMSC.
_SENT_RE = re.compile(rb"Sent SMS \[SMSC:fake\] .*? \[to:([^\]]*)\] "
                      rb"\[flags:-?\d+:(-?\d+):[^\]]*\] \[msg:(\d+):")


class Kannel:
    """Kannel's bearerbox and smsbox, with fakesmsc in place of the operator's
    SMSC, on free 127.0.0.1 ports, configured from docker/kannel/kannel.conf.

    sendsms_url(), credentials()    where and as whom the SMS notifier sends
    received()                      what the fake SMSC got (Sms records)
    inject(sender, receiver, text)  a message from a phone; smsbox then calls
                                    inbound_url (the notifier's endpoint)
    stop_smsc() / start_smsc()      the operator link goes down / comes back
    stop_gateway() / start_gateway() bearerbox and smsbox go down / come back
    admin_status(), smsc_state()    bearerbox's status page

    Logs stay in <root>/kannel: bearerbox.log, smsbox.log, kannel-access.log,
    smsbox-access.log, fakesmsc.log (every message the fake SMSC got, as
    "Got message N: <sender receiver type ...>"), fakesmsc-mo.log and
    <program>.stderr (errors and panics).

    fakesmsc is two programs here: smsc_fake serves one client at a time, so a
    long-running one on the MT port receives, and each inject() runs a
    short-lived one on a second fake SMSC (smsc-id fake-mo) that no message
    is routed to.
    """

    USERNAME = "eqms-notifier"
    PASSWORD = "kannel-test"
    ADMIN_PASSWORD = "kannel-admin"

    def __init__(self, root, inbound_url=None, max_messages=10, http_retry=(3, 1)):
        """inbound_url: the sms-service URL, without query (Kannel appends
        from, to, text, coding, charset, smsc, time, id); None: a closed port.
        http_retry: (retries, seconds apart) of smsbox's callbacks."""
        if inbound_url is None:
            inbound_url = "http://127.0.0.1:9/no-inbound-url"
        if re.search(r'[?%"\s]', inbound_url):
            raise ValueError(f"inbound_url must have no query, %, quote or space: {inbound_url}")
        self.dir = os.path.join(root, "kannel")
        os.makedirs(self.dir)
        self.inbound_url = inbound_url
        self.admin_port, self.box_port, self.smsc_port, self.mo_port, self.sendsms_port = \
            _free_ports(5)
        self.conf = os.path.join(self.dir, "kannel.conf")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(kannel_conf({
                "ADMIN_PORT": self.admin_port, "ADMIN_PASSWORD": self.ADMIN_PASSWORD,
                "LISTEN": "127.0.0.1", "BOX_PORT": self.box_port,
                "SMSC_PORT": self.smsc_port, "MO_PORT": self.mo_port,
                "SENDSMS_PORT": self.sendsms_port, "LOG_DIR": self.dir,
                "SPOOL_DIR": self.dir, "LOG_LEVEL": 0,
                "USERNAME": self.USERNAME, "PASSWORD": self.PASSWORD,
                "MAX_MESSAGES": max_messages, "INBOUND_URL": inbound_url,
                "HTTP_RETRY": http_retry[0], "HTTP_RETRY_DELAY": http_retry[1]}))
        self.bearerbox = self.smsbox = self.fakesmsc = None
        self._inject_lock = threading.Lock()
        self._stopped = False
        atexit.register(self.stop)

    def _spawn(self, name, args, log=None):
        err = open(os.path.join(self.dir, log or f"{name}.stderr"), "ab")
        try:
            return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err, cwd=self.dir)
        finally:
            err.close()

    def _wait(self, what, predicate, procs=(), timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in procs:
                if not _alive(p):
                    raise RuntimeError(f"kannel: {p.args[0]} exited with {p.returncode} "
                                       f"waiting for {what}; see {self.dir}")
            try:
                if predicate():
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"kannel: no {what} after {timeout}s; see {self.dir}")

    # --- lifecycle --------------------------------------------------------------

    def start(self):
        try:
            self.start_gateway()
        except BaseException:
            self.stop()
            raise
        return self

    def start_gateway(self, smsc=True):
        """Starts whichever of bearerbox, smsbox and the receiving fakesmsc is
        not running; returns when smsbox is connected and the MT SMSC online.
        smsc=False: the fakesmsc stays away (the operator link is down from
        the start: Kannel accepts and keeps what it is given)."""
        new_bearerbox = not _alive(self.bearerbox)
        if new_bearerbox:
            self.bearerbox = self._spawn("bearerbox", [BEARERBOX, "-v", "3", self.conf])
            self._wait("bearerbox status", lambda: self.smsc_state("fake") is not None,
                       [self.bearerbox])
            wait_port(self.box_port, proc=self.bearerbox)
        for attempt in range(3):
            if new_bearerbox or not _alive(self.smsbox):
                # After a crash of bearerbox, smsbox sleeps 10 s before it
                # re-executes itself: a fresh one is started instead.
                _end(self.smsbox, signal.SIGKILL)
                self.smsbox = self._spawn("smsbox", [SMSBOX, "-v", "3", self.conf])
            try:
                self._wait("smsbox",
                           lambda: re.search(r"^\s+smsbox:", self.admin_status(), re.M),
                           [self.bearerbox, self.smsbox])
                break
            except RuntimeError:
                # Debian's smsbox (Kannel 1.4.5) now and then dies of SIGSEGV
                # while it connects to a bearerbox that has just started: it
                # is started again, as a supervisor would
                if attempt == 2 or _alive(self.smsbox) or not _alive(self.bearerbox):
                    raise
        wait_port(self.sendsms_port, proc=self.smsbox)
        if smsc:
            self.start_smsc()

    def stop_gateway(self, crash=False):
        """Stops bearerbox and smsbox; the receiving fakesmsc loses its link
        and exits. crash=False: SIGTERM to bearerbox, which tells smsbox to
        quit, and waits for all three. crash=True: SIGKILL to bearerbox alone;
        smsbox notices, closes its sendsms port, and re-executes itself 10 s
        later (it exits then if bearerbox is not back)."""
        if crash:
            _end(self.bearerbox, signal.SIGKILL)
        else:
            _end(self.bearerbox, timeout=20)
            _end(self.smsbox)
        _end(self.fakesmsc)

    def start_smsc(self):
        """Connects the receiving fakesmsc (the operator link comes back)."""
        if not _alive(self.fakesmsc):
            # -m 0: sends nothing, prints each message as soon as it arrives
            self.fakesmsc = self._spawn(
                "fakesmsc", [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.smsc_port),
                             "-m", "0", "0 0 text unused"], log="fakesmsc.log")
        self._wait("online MT SMSC", lambda: self.smsc_state("fake") == "online",
                   [self.bearerbox, self.fakesmsc])

    def stop_smsc(self):
        """Disconnects the receiving fakesmsc (the operator link goes down)."""
        _end(self.fakesmsc)
        self._wait("MT SMSC offline", lambda: self.smsc_state("fake") != "online",
                   [self.bearerbox])

    def stop(self):
        if self._stopped:
            return
        self._stopped = True
        _end(self.bearerbox, timeout=20)
        for p in (self.smsbox, self.fakesmsc):
            _end(p)

    # --- what the notifier sees -----------------------------------------------

    def sendsms_url(self):
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    def credentials(self):
        """The sendsms-user, as request parameters."""
        return {"username": self.USERNAME, "password": self.PASSWORD}

    def admin_status(self):
        """bearerbox's status page, as text."""
        url = (f"http://127.0.0.1:{self.admin_port}/status.txt?"
               + urllib.parse.urlencode({"password": self.ADMIN_PASSWORD}))
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode("utf-8", "replace")

    def smsc_state(self, smsc_id="fake"):
        """'online', 'connecting', 're-connecting', ... of an SMSC (fake: MT,
        fake-mo: injection), or None if bearerbox does not answer or list it."""
        try:
            status = self.admin_status()
        except OSError:
            return None
        m = re.search(rf"^\s*{re.escape(smsc_id)}\[[^\]]*\]\s+FAKE:\d+\s+\(([a-z-]+)",
                      status, re.M)
        return m.group(1) if m else None

    # --- the fake SMSC ---------------------------------------------------------

    def _read(self, name):
        try:
            with open(os.path.join(self.dir, name), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def _sent_entries(self):
        """(receiver, coding, logged message) of every message bearerbox
        logged as sent to the MT SMSC: the whole message, not its parts;
        bytes for codings 1 and 2, else the text with non-ASCII bytes as '.'."""
        log = self._read("kannel-access.log")
        out = []
        for m in _SENT_RE.finditer(log):
            coding, n, start = int(m.group(2)), int(m.group(3)), m.end()
            if coding in (1, 2):
                out.append((m.group(1), coding, bytes.fromhex(log[start:start + 2 * n].decode())))
            else:
                out.append((m.group(1), coding, log[start:start + n]))
        return out

    def _part_coding(self, receiver, payload, entries):
        for to, coding, msg in reversed(entries):
            if to != receiver:
                continue
            if coding in (1, 2):
                i = msg.find(payload)
                while i >= 0:
                    if coding == 1 or i % 2 == 0:
                        return coding
                    i = msg.find(payload, i + 1)
            elif bytes(c if 0x20 <= c < 0x7f else 0x2e for c in payload) in msg:
                return coding
        return None

    def received(self):
        """Every message the fake SMSC got, oldest first, across restarts; a
        long text is one Sms per part."""
        out, entries = [], None
        for m in re.finditer(rb"Got message \d+: <(.*)>$", self._read("fakesmsc.log"), re.M):
            sender, receiver, kind, rest = m.group(1).split(b" ", 3)
            udh = concat = text = None
            if kind == b"text":
                coding, data = 0, rest
            elif kind == b"data":
                coding, data = 1, _url_unquote(rest)
            elif kind == b"ucs-2":
                coding, data = 2, _url_unquote(rest)
            elif kind == b"udh":
                udh_enc, _, payload = rest.split(b" ", 2)
                udh, data = _url_unquote(udh_enc), _url_unquote(payload)
                concat = _udh_concat(udh)
                if entries is None:
                    entries = self._sent_entries()
                coding = self._part_coding(receiver, data, entries)
            else:
                raise ValueError(f"fakesmsc line of unknown type: {m.group(0)!r}")
            if coding == 0:
                text = data.decode("utf-8", "replace")
            elif coding == 2:
                text = data.decode("utf-16-be")
            out.append(Sms(sender.decode(), receiver.decode(), coding, text, data, udh, concat))
        return out

    def inject(self, sender, receiver, text, timeout=10.0):
        """The fake SMSC delivers `text` from phone `sender` to `receiver` (the
        service number): printable ASCII as GSM text, anything else as UCS-2,
        as a phone would. Returns once bearerbox has logged it as received;
        smsbox then calls inbound_url."""
        if not sender or not receiver or re.search(r"\s", sender + receiver):
            raise ValueError("sender and receiver: non-empty, no spaces")
        if all(0x20 <= ord(c) < 0x7f for c in text):
            line = f"{sender} {receiver} text {text}".encode()
        else:
            # url-encoded UCS-2; only bytes that would break the line or the
            # decoding are escaped (fakesmsc takes the line from argv)
            data = b"".join(b"%%%02X" % c if c < 0x21 or c in b"%+\x7f" else bytes([c])
                            for c in text.encode("utf-16-be"))
            line = f"{sender} {receiver} ucs2 ".encode() + data
        marker = b"Receive SMS [SMSC:fake-mo]"
        with self._inject_lock:
            before = self._read("kannel-access.log").count(marker)
            proc = self._spawn("fakesmsc-mo", [FAKESMSC.encode(), b"-H", b"127.0.0.1", b"-r",
                                               str(self.mo_port).encode(), b"-m", b"1", line],
                               log="fakesmsc-mo.log")
            try:
                # fakesmsc -m 1 never exits by itself: it waits for replies
                self._wait("injected message in the access log",
                           lambda: self._read("kannel-access.log").count(marker) > before,
                           [self.bearerbox, proc], timeout)
            finally:
                _end(proc, signal.SIGINT)


class Servers:
    """PostgreSQL and Redis together, under one temporary directory."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="eqms-test-")
        self.pg = Postgres(self.root)
        self.redis = Redis(self.root)
        self._stopped = False
        atexit.register(self.stop)

    def start(self, pg_settings=()):
        try:
            self.pg.start(pg_settings)
            self.redis.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        if self._stopped:
            return
        self._stopped = True
        self.redis.stop()
        self.pg.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def env(self):
        """What tests that need a server read from the environment."""
        return {"EQMS_TEST_PG_CONNINFO": self.pg.conninfo(),
                "EQMS_TEST_REDIS_URL": self.redis.url()}
