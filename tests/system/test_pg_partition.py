"""A silent network partition between a service and PostgreSQL (packets
dropped, no reset) must fail the service's database calls within seconds,
not hang its loop for TCP's 15 minutes of retransmissions; once the network
heals, the service reconnects by itself. common/pgstore gives every
connection keepalives, a TCP user timeout and a statement timeout; the probe
runs its queries through it as every service does."""
import re
import time

from conftest import wait_for
from tcpproxy import TcpProxy


def _outcomes(proc):
    return [(int(ok), int(ms)) for ok, ms in
            re.findall(r"event=probe_query ok=(\d) ms=(\d+)", proc.log())]


def test_a_silent_partition_fails_a_query_in_seconds_and_heals(db, start_bin, netns):
    proxy = TcpProxy(db.conninfo, host=netns.host_ip)
    try:
        probe = start_bin("probe", {"EQMS_PG_CONNINFO": proxy.conninfo,
                                    "EQMS_PROBE_QUERY_MS": "200"}, wrap=netns.prefix)
        wait_for(lambda: sum(ok for ok, _ in _outcomes(probe)) >= 3, timeout=30)
        netns.partition()
        before = len(_outcomes(probe))
        started = time.monotonic()
        # Without the timeouts the query in flight waits ~15 min for TCP.
        failed = wait_for(lambda: [ms for ok, ms in _outcomes(probe)[before:] if not ok],
                          timeout=60, interval=0.5)
        assert failed[0] <= 40000, failed
        assert time.monotonic() - started <= 45
        netns.heal()
        failures = len(_outcomes(probe))
        wait_for(lambda: any(ok for ok, _ in _outcomes(probe)[failures:]), timeout=30)
        assert "event=pg_connection_lost" in probe.log()
    finally:
        proxy.close()
