"""A TCP relay between a service and PostgreSQL, for tests of a database that
goes away (cut), answers nothing (mute, at once or from a given request on)
or comes back (restore)."""
from servers import free_port


class TcpProxy:
    """A TCP relay to the PostgreSQL of `conninfo` that the test can cut,
    mute and restore; services reach the database through `self.conninfo`."""

    def __init__(self, conninfo, host="127.0.0.1"):
        """Listens on `host` (an address of this host, e.g. the host side of
        a netns.NetNs) and relays to the upstream on 127.0.0.1."""
        import socket
        import threading
        from urllib.parse import urlparse
        self.upstream_port = urlparse(conninfo).port
        self.port = free_port()
        self.conninfo = conninfo.replace(f"127.0.0.1:{self.upstream_port}/",
                                         f"{host}:{self.port}/")
        self.down = False
        self.muted = False
        self.mute_marker = None
        self.conns = []
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, self.port))
        self.listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket
        import threading
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self.lock:
                self.conns += [client, upstream]
            for a, b, reply in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(target=self._pump, args=(a, b, reply), daemon=True).start()

    def _pump(self, src, dst, reply):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not reply and self.mute_marker and self.mute_marker in data:
                    self.muted = True     # before the server can answer it
                    self.mute_marker = None
                if not (reply and self.muted):
                    dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass

    def mute(self):
        """From now on the server's answers are dropped (requests still pass)."""
        self.muted = True

    def mute_after(self, marker):
        """Mutes from the first request that contains `marker` (bytes) on:
        that request reaches the server, its answer and all later ones are
        dropped. E.g. b"COMMIT\\0": a commit done whose outcome the client
        never learns."""
        self.mute_marker = marker

    def cut(self):
        import socket
        self.down = True
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.conns = []

    def restore(self):
        self.down = False
        self.muted = False
        self.mute_marker = None

    def close(self):
        self.cut()
        self.listener.close()
