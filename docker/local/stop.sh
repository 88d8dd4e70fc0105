#!/bin/sh
# `make stop`: ends what `make run` started under ./var, services first.
set -u
VAR=$(pwd)/var
PG_BIN=/usr/lib/postgresql/15/bin

stop_pid() {
    name=$1 pidfile=$VAR/run/$1.pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "stop: $name did not end in 10 s; killing it"
            kill -KILL "$pid"
        fi
        echo "stop: $name stopped"
    fi
    rm -f "$pidfile"
}

# Reverse start order: the gateway still reaches the bus to say its devices
# went offline; then anything else started under var/run; then Kannel
# (bearerbox tells smsbox to quit, and fakesmsc loses its link); Redis last.
for name in kiosk device-gateway devsim queue-manager rating-ingest web-api; do
    stop_pid "$name"
done
for pidfile in "$VAR"/run/*.pid; do
    [ -e "$pidfile" ] || continue
    name=$(basename "$pidfile" .pid)
    case $name in
        redis|bus|smsbox|bearerbox|fakesmsc) ;;
        *) stop_pid "$name" ;;
    esac
done
for name in bearerbox smsbox fakesmsc; do
    stop_pid "$name"
done
stop_pid bus
stop_pid redis
if [ -f "$VAR/pg/data/postmaster.pid" ]; then
    as_pg=""
    [ "$(id -u)" = 0 ] && as_pg="runuser -u postgres --"
    $as_pg "$PG_BIN/pg_ctl" -D "$VAR/pg/data" -m fast -w stop >/dev/null && echo "stop: PostgreSQL stopped"
fi
exit 0
