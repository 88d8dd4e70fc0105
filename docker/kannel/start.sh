#!/bin/bash
# The kannel container: docker/kannel/kannel.conf filled in from the
# environment, then bearerbox, smsbox and the fake SMSC's receiving fakesmsc.
# The container ends when any of them does (compose restarts it; messages
# accepted but not yet sent are kept in /var/spool/kannel, a volume).
#
# Environment (defaults):
#   EQMS_KANNEL_USERNAME        sendsms user (eqms-notifier)
#   EQMS_KANNEL_PASSWORD        its password (required)
#   EQMS_KANNEL_ADMIN_PASSWORD  admin and status pages (required)
#   EQMS_KANNEL_INBOUND_URL     where inbound SMS are passed, no query string
#                               (http://sms-notifier:9558/sms/inbound)
#   EQMS_KANNEL_MAX_MESSAGES    parts of a long SMS at most (10)
#   EQMS_KANNEL_LOG_LEVEL       0 debug .. 4 panic (1)
# Ports: 13113 sendsms, 13100 admin, 13111 the fake SMSC's inbound (MO) port,
# 13110 its outbound port (fakesmsc), 13101 smsbox to bearerbox.
# Every SMS sent is printed on the container's output by fakesmsc
# ("Got message N: <from to type text>"): docker compose logs -f kannel.
set -euo pipefail

# Started as root (with NET_ADMIN, compose.yaml): Kannel's box link (smsbox
# to bearerbox over this container's loopback) waits 40 ms on a delayed ACK
# for about a third of the submissions that ask for a delivery report
# (docs/benchmarks.md, "sms"); the loopback routes acknowledge at once.
# Then the rest runs as the kannel user, without capabilities.
if [ "$(id -u)" = 0 ]; then
    if ip route change local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1 \
           table local quickack 1 2>/dev/null \
       && ip route change local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 \
           table local quickack 1 2>/dev/null; then
        echo "kannel: loopback routes acknowledge at once (quickack)"
    else
        echo "kannel: cannot set quickack on the loopback routes (no NET_ADMIN?): " \
             "submissions with delivery reports may wait 40 ms" >&2
    fi
    exec setpriv --reuid=kannel --regid="$(id -g kannel)" --init-groups --inh-caps=-all \
        --bounding-set=-all -- "$0" "$@"
fi

: "${EQMS_KANNEL_PASSWORD:?set EQMS_KANNEL_PASSWORD}"
: "${EQMS_KANNEL_ADMIN_PASSWORD:?set EQMS_KANNEL_ADMIN_PASSWORD}"
inbound=${EQMS_KANNEL_INBOUND_URL:-http://sms-notifier:9558/sms/inbound}
case $inbound in
    *[?%\"\ \|\&]*) echo "kannel: EQMS_KANNEL_INBOUND_URL must have no query: $inbound" >&2; exit 2 ;;
esac
for v in EQMS_KANNEL_USERNAME EQMS_KANNEL_PASSWORD EQMS_KANNEL_ADMIN_PASSWORD; do
    case ${!v:-} in
        *[\"\|\&\\]*) echo "kannel: $v must not contain \", |, & or \\" >&2; exit 2 ;;
    esac
done

conf=/tmp/kannel.conf
sed -e "s|@ADMIN_PORT@|13100|; s|@ADMIN_PASSWORD@|$EQMS_KANNEL_ADMIN_PASSWORD|" \
    -e "s|@LISTEN@|0.0.0.0|; s|@BOX_PORT@|13101|; s|@SMSC_PORT@|13110|; s|@MO_PORT@|13111|" \
    -e "s|@SENDSMS_PORT@|13113|; s|@LOG_DIR@|/var/log/kannel|; s|@SPOOL_DIR@|/var/spool/kannel|" \
    -e "s|@LOG_LEVEL@|${EQMS_KANNEL_LOG_LEVEL:-1}|" \
    -e "s|@USERNAME@|${EQMS_KANNEL_USERNAME:-eqms-notifier}|; s|@PASSWORD@|$EQMS_KANNEL_PASSWORD|" \
    -e "s|@MAX_MESSAGES@|${EQMS_KANNEL_MAX_MESSAGES:-10}|; s|@INBOUND_URL@|$inbound|" \
    -e "s|@HTTP_RETRY@|10|; s|@HTTP_RETRY_DELAY@|5|" \
    /etc/eqms/kannel.conf.in >"$conf"
if grep -q '@[A-Z_]*@' "$conf"; then
    echo "kannel: a placeholder is left in $conf" >&2
    exit 2
fi

status="http://127.0.0.1:13100/status.txt?password=$EQMS_KANNEL_ADMIN_PASSWORD"
# until PATTERN is on bearerbox's status page (10 s)
wait_status() {
    for _ in $(seq 100); do
        curl -fsS "$status" 2>/dev/null | grep -Eq "$1" && return 0
        sleep 0.1
    done
    echo "kannel: no '$1' on the status page after 10 s" >&2
    exit 1
}

/usr/sbin/bearerbox -v 3 "$conf" &
bearerbox=$!
trap 'kill -TERM $bearerbox 2>/dev/null; wait; exit 0' TERM INT
wait_status 'fake\[fake\]'
/usr/sbin/smsbox -v 3 "$conf" &
wait_status '^ +smsbox:'
# -m 0: sends nothing, prints every message it gets
/usr/lib/kannel/test/fakesmsc -H 127.0.0.1 -r 13110 -m 0 "0 0 text unused" 2>&1 &
wait_status 'fake\[fake\] +FAKE:[0-9]+ \(online'
echo "kannel: running; sendsms on :13113, inbound SMS go to $inbound"

wait -n
echo "kannel: a process ended; stopping" >&2
kill -TERM $bearerbox 2>/dev/null || true
wait
exit 1
