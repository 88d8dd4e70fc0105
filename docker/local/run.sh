#!/bin/sh
# `make run`: the whole EQMS stack on this machine, without Docker, under ./var.
# PostgreSQL and Redis on their own ports, migrations, demo organisation, Kannel
# (the SMS gateway, with a fake SMSC), then every service that is built, each
# waited for on its health port. Running it again starts only what is not
# running. `make stop` ends it all.
set -eu

BUILD=${1:-build/release}
TOP=$(pwd)
VAR=$TOP/var
PG_PORT=${EQMS_LOCAL_PG_PORT:-55432}
REDIS_PORT=${EQMS_LOCAL_REDIS_PORT:-56379}
PG_BIN=/usr/lib/postgresql/15/bin
DB=eqms
CONNINFO="postgresql://postgres@127.0.0.1:$PG_PORT/$DB"

say() { printf 'run: %s\n' "$*"; }
die() { printf 'run: %s\n' "$*" >&2; exit 1; }

mkdir -p "$VAR/log" "$VAR/run"

# --- PostgreSQL ---------------------------------------------------------------
# initdb refuses root; as root the cluster belongs to Debian's `postgres` user,
# which must be able to reach ./var. If it cannot (a checkout under /root),
# the cluster lives in /var/lib/eqms-local and ./var/pg points to it.
as_pg=""
if [ "$(id -u)" = 0 ]; then
    as_pg="runuser -u postgres --"
    if [ ! -e "$VAR/pg" ]; then
        mkdir -p "$VAR/pg"
        chown postgres:postgres "$VAR/pg"
        if ! $as_pg test -w "$VAR/pg"; then
            rmdir "$VAR/pg"
            alt=/var/lib/eqms-local/$(printf '%s' "$TOP" | md5sum | cut -c1-12)
            mkdir -p "$alt"
            chown postgres:postgres "$alt"
            ln -s "$alt" "$VAR/pg"
            say "postgres cannot reach $VAR; cluster kept in $alt (linked as var/pg)"
        fi
    fi
fi
PGDIR=$VAR/pg
mkdir -p "$PGDIR"
if [ ! -f "$PGDIR/data/PG_VERSION" ]; then
    say "creating PostgreSQL cluster in var/pg"
    $as_pg "$PG_BIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 >"$VAR/log/initdb.log" 2>&1 || die "initdb failed: see var/log/initdb.log"
fi
if $as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/data" status >/dev/null 2>&1; then
    say "PostgreSQL already running"
else
    $as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/data" -w -t 60 -l "$PGDIR/postgresql.log" \
        -o "-p $PG_PORT -k $PGDIR -c listen_addresses=127.0.0.1" start >/dev/null \
        || die "PostgreSQL did not start: see var/pg/postgresql.log"
fi
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@127.0.0.1:$PG_PORT/postgres" "$@"; }
if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
    psql_admin -c "CREATE DATABASE $DB"
fi

# --- Redis --------------------------------------------------------------------
mkdir -p "$VAR/redis"
if [ -f "$VAR/run/redis.pid" ] && kill -0 "$(cat "$VAR/run/redis.pid")" 2>/dev/null; then
    say "Redis already running"
else
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$VAR/redis" \
        --daemonize yes --pidfile "$VAR/run/redis.pid" --logfile "$VAR/log/redis.log" \
        --save 60 1000 --appendonly yes
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || die "Redis did not start: see var/log/redis.log"
fi

# --- schema and demo organisation ----------------------------------------------
EQMS_PG_CONNINFO=$CONNINFO "$BUILD/bin/eqms-migrate" 2>>"$VAR/log/migrate.log" \
    || die "migrations failed: see var/log/migrate.log"
psql -X -q -v ON_ERROR_STOP=1 "$CONNINFO" -f docker/local/demo.sql >/dev/null \
    || die "loading the demo organisation failed"

# --- Kannel: the SMS gateway, with Kannel's fake SMSC in place of an operator -----
# bearerbox, smsbox and fakesmsc, configured from docker/kannel/kannel.conf
# (rendered into var/kannel). Every SMS "sent" ends up in var/log/fakesmsc.log.
# Not the Debian package's own ports (13000, 13002): those of the table in
# docs/development.md. Inbound SMS go to EQMS_LOCAL_SMS_INBOUND_URL.
KANNEL_ADMIN_PORT=13100 KANNEL_BOX_PORT=13101 KANNEL_SMSC_PORT=13110
KANNEL_MO_PORT=13111 KANNEL_SENDSMS_PORT=13113
KANNEL_USER=eqms-notifier KANNEL_PASSWORD=eqms-local KANNEL_ADMIN_PASSWORD=eqms-local
KANNEL_INBOUND_URL=${EQMS_LOCAL_SMS_INBOUND_URL:-http://127.0.0.1:9558/sms/inbound}
KANNEL_STATUS="http://127.0.0.1:$KANNEL_ADMIN_PORT/status.txt?password=$KANNEL_ADMIN_PASSWORD"
FAKESMSC=/usr/lib/kannel/test/fakesmsc

running() { [ -f "$VAR/run/$1.pid" ] && kill -0 "$(cat "$VAR/run/$1.pid")" 2>/dev/null; }
# kannel_wait WHAT PATTERN PROGRAM: until bearerbox's status page matches PATTERN
kannel_wait() {
    for _ in $(seq 100); do
        curl -fsS "$KANNEL_STATUS" 2>/dev/null | grep -Eq "$2" && return
        running "$3" || die "$3 exited: see var/log/$3.*"
        sleep 0.1
    done
    die "Kannel: no $1 after 10 s: see var/log/bearerbox.log"
}
if [ ! -x /usr/sbin/bearerbox ] || [ ! -x "$FAKESMSC" ]; then
    say "kannel or kannel-extras is not installed (make deps); Kannel skipped"
else
    mkdir -p "$VAR/kannel"
    sed -e "s|@ADMIN_PORT@|$KANNEL_ADMIN_PORT|; s|@ADMIN_PASSWORD@|$KANNEL_ADMIN_PASSWORD|" \
        -e "s|@LISTEN@|127.0.0.1|; s|@BOX_PORT@|$KANNEL_BOX_PORT|; s|@SMSC_PORT@|$KANNEL_SMSC_PORT|" \
        -e "s|@MO_PORT@|$KANNEL_MO_PORT|; s|@SENDSMS_PORT@|$KANNEL_SENDSMS_PORT|" \
        -e "s|@LOG_DIR@|$VAR/log|; s|@SPOOL_DIR@|$VAR/kannel|; s|@LOG_LEVEL@|1|" \
        -e "s|@USERNAME@|$KANNEL_USER|; s|@PASSWORD@|$KANNEL_PASSWORD|; s|@MAX_MESSAGES@|10|" \
        -e "s|@INBOUND_URL@|$KANNEL_INBOUND_URL|; s|@HTTP_RETRY@|10|; s|@HTTP_RETRY_DELAY@|5|" \
        docker/kannel/kannel.conf >"$VAR/kannel/kannel.conf"
    ! grep -q '@[A-Z_]*@' "$VAR/kannel/kannel.conf" || die "var/kannel/kannel.conf: a placeholder is left"
    if running bearerbox; then
        say "bearerbox already running"
    else
        nohup /usr/sbin/bearerbox -v 3 "$VAR/kannel/kannel.conf" >>"$VAR/log/bearerbox.stderr" 2>&1 &
        echo $! >"$VAR/run/bearerbox.pid"
        kannel_wait "bearerbox status" "fake\[fake\]" bearerbox
    fi
    if running smsbox; then
        say "smsbox already running"
    else
        nohup /usr/sbin/smsbox -v 3 "$VAR/kannel/kannel.conf" >>"$VAR/log/smsbox.stderr" 2>&1 &
        echo $! >"$VAR/run/smsbox.pid"
        kannel_wait "smsbox connection" "^ +smsbox:" smsbox
    fi
    if running fakesmsc; then
        say "fakesmsc already running"
    else
        # -m 0: sends nothing, prints every message it gets (smsc_fake serves
        # one client at a time; inbound messages are injected on the MO port)
        nohup "$FAKESMSC" -H 127.0.0.1 -r "$KANNEL_SMSC_PORT" -m 0 "0 0 text unused" \
            >>"$VAR/log/fakesmsc.log" 2>&1 &
        echo $! >"$VAR/run/fakesmsc.pid"
        kannel_wait "online fake SMSC" "fake\[fake\] +FAKE:[0-9]+ \(online" fakesmsc
    fi
fi

# --- services -----------------------------------------------------------------
# Every service reads the same environment; each gets its own health port.
export EQMS_PG_CONNINFO="$CONNINFO"
export EQMS_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export EQMS_BUS_PUB="tcp://127.0.0.1:5550"
export EQMS_BUS_SUB="tcp://127.0.0.1:5551"
export EQMS_BUS_XSUB_BIND="tcp://127.0.0.1:5550"
export EQMS_BUS_XPUB_BIND="tcp://127.0.0.1:5551"
export EQMS_HTTP_ADDRESS=127.0.0.1
# web-api's REST API (docs/openapi.yaml)
WEBAPI_PORT=${EQMS_LOCAL_WEBAPI_PORT:-8080}
export EQMS_WEBAPI_ADDRESS=127.0.0.1 EQMS_WEBAPI_PORT=$WEBAPI_PORT
# the console (make console builds it) is served by web-api on the same port
[ -f "$TOP/build/console/index.html" ] || die "build/console is not built: run make (it builds the console)"
export EQMS_WEBAPI_STATIC_DIR="$TOP/build/console" EQMS_WEBAPI_BACKUP_DIR="$VAR/backups"

# name http-port, in start order (the forwarder first: everyone meets there)
SERVICES="bus 9550 web-api 9560 rating-ingest 9552 queue-manager 9554 stats-aggregator 9556 sms-notifier 9557"
export EQMS_QM_ENDPOINT="tcp://127.0.0.1:9553"

# start_service NAME HTTP-PORT [VAR=value ...]: the extra variables are for
# this service only.
start_service() {
    name=$1 port=$2
    shift 2
    pidfile=$VAR/run/$name.pid
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        say "$name already running"
        return
    fi
    [ -x "$BUILD/bin/eqms-$name" ] || { say "$name is not built; skipped"; return; }
    nohup env EQMS_HTTP_PORT="$port" "$@" "$BUILD/bin/eqms-$name" \
        >>"$VAR/log/$name.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 100); do
        curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return
        kill -0 "$(cat "$pidfile")" 2>/dev/null || die "$name exited: see var/log/$name.log"
        sleep 0.1
    done
    die "$name is not healthy after 10 s: see var/log/$name.log"
}

# sms-notifier sends through the local Kannel (when it runs) and takes its
# delivery reports on 9558
if running smsbox; then
    export EQMS_SMS_GATEWAY_URL="http://127.0.0.1:$KANNEL_SENDSMS_PORT/cgi-bin/sendsms"
    export EQMS_SMS_GATEWAY_USER="$KANNEL_USER" EQMS_SMS_GATEWAY_PASSWORD="$KANNEL_PASSWORD"
fi
export EQMS_SMS_CALLBACK_URL="http://127.0.0.1:9558" EQMS_SMS_CALLBACK_PORT=9558

# The demo's administrator (at hq) and a branch manager (at hq.r01.b0001):
# their passwords are EQMS_LOCAL_ADMIN_PASSWORD and EQMS_LOCAL_MANAGER_PASSWORD
# when set, else made at random on the first run and kept in var/ (mode 600).
# Nothing in the code knows a password.
demo_password() {  # FILE [GIVEN]
    if [ -n "${2:-}" ]; then printf '%s' "$2" >"$1"
    elif [ ! -s "$1" ]; then
        # 18 random characters of base64url, then one of each kind the rules count
        printf '%s-Aa1' "$(head -c 14 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-18)" >"$1"
    fi
    chmod 600 "$1"
    cat "$1"
}
ADMIN_PASSWORD=$(demo_password "$VAR/admin-password" "${EQMS_LOCAL_ADMIN_PASSWORD:-}")
MANAGER_PASSWORD=$(demo_password "$VAR/manager-password" "${EQMS_LOCAL_MANAGER_PASSWORD:-}")
EQMS_ADMIN_PASSWORD=$ADMIN_PASSWORD "$BUILD/bin/eqms-web-api" --create-admin admin hq \
    >>"$VAR/log/web-api.log" 2>&1 || die "the demo administrator was not made: see var/log/web-api.log"

set -- $SERVICES
while [ $# -ge 2 ]; do
    start_service "$1" "$2"
    shift 2
done

# --- the demo branch's manager, made through the REST API as the administrator --------
API=http://127.0.0.1:$WEBAPI_PORT/api/v1
api() {  # METHOD PATH [JSON] with the admin's token
    curl -fsS -X "$1" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
        ${3:+--data "$3"} "$API$2"
}
ADMIN_TOKEN=$(curl -fsS -H 'Content-Type: application/json' -X POST "$API/sessions" \
    --data "{\"login\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" \
    | sed -n 's/.*"token":"\([^"]*\)".*/\1/p') || die "the demo administrator cannot log in: see var/log/web-api.log"
if ! api GET /users?limit=200 | grep -q '"login" *: *"b0001.manager"'; then
    role=$(api POST /roles '{"name":"branch manager","node":"hq.r01.b0001","description":"Figures, hall and complaints of the branch; its users","permissions":["view_statistics","view_live_hall","view_complaints","operate_windows","issue_tickets","export","manage_users","read_audit_log"]}' \
        | sed -n 's/^{"id" *: *\([0-9]*\).*/\1/p')
    api POST /users "{\"login\":\"b0001.manager\",\"display_name\":\"浦东支行经理\",\"node\":\"hq.r01.b0001\",\"password\":\"$MANAGER_PASSWORD\",\"roles\":[$role],\"must_change_password\":false}" \
        >/dev/null || die "the demo branch manager was not made: see var/log/web-api.log"
fi

# --- the demo branch's hall devices: an API token each, kept in var/ (mode 600) -----
# The kiosk, the hall display and the teller console are pages of the console
# opened once with their branch and token in the address (docs/development.md).
# A token kept from an earlier run is used again while the API still takes it.
DEMO_BRANCH=hq.r01.b0001
hall_token() {  # FILE NAME SCOPES-JSON: the token, made once
    if [ -s "$1" ] && curl -fsS -o /dev/null -H "Authorization: Bearer $(cat "$1")" \
            "$API/branches/$DEMO_BRANCH/state" 2>/dev/null; then
        cat "$1"
        return
    fi
    ( umask 077
      api POST /tokens "{\"name\":\"$2\",\"node\":\"$DEMO_BRANCH\",\"scopes\":$3,\"expires_in_days\":366}" \
          | sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p' >"$1" )
    chmod 600 "$1"
    [ -s "$1" ] || die "the demo $2 token was not made: see var/log/web-api.log"
    cat "$1"
}
KIOSK_TOKEN=$(hall_token "$VAR/kiosk-token" "demo kiosk" '["issue_tickets","view_live_hall"]')
DISPLAY_TOKEN=$(hall_token "$VAR/display-token" "demo hall display" '["view_live_hall"]')
TELLER_TOKEN=$(hall_token "$VAR/teller-token" "demo teller console" '["operate_windows","view_live_hall"]')
api DELETE /sessions/current >/dev/null || true

# --- emulated rating devices and their gateway (demo branch) ----------------------
# eqms-devsim runs the real firmware core behind emulated USB devices (umockdev)
# with tellers and customers simulated; the gateway reaches them through its
# real libusb code under libumockdev-preload, as it would real hardware.
serials=$(psql -X -tA "$CONNINFO" -c "SELECT string_agg(d.serial, ',' ORDER BY w.number)
    FROM device d JOIN service_window w ON w.id = d.window_id
    JOIN org_node n ON n.id = w.node_id WHERE n.path = '$DEMO_BRANCH'")
employees=$(psql -X -tA "$CONNINFO" -c "SELECT string_agg(s.employee_no, ',' ORDER BY s.employee_no)
    FROM staff s JOIN org_node n ON n.id = s.node_id WHERE n.path = '$DEMO_BRANCH' AND s.active")
count=$(printf '%s' "$serials" | tr ',' '\n' | grep -c .)
if [ -f "$VAR/run/devsim.pid" ] && kill -0 "$(cat "$VAR/run/devsim.pid")" 2>/dev/null; then
    say "devsim already running"
elif [ -x "$BUILD/bin/eqms-devsim" ] && [ "$count" -gt 0 ]; then
    rm -f "$VAR/run/devsim.dir"
    EQMS_DEVSIM_COUNT=$count EQMS_DEVSIM_SERIALS=$serials EQMS_DEVSIM_EMPLOYEES=$employees \
    EQMS_DEVSIM_MODE=simulate EQMS_DEVSIM_ARRIVALS_PER_HOUR=120 EQMS_DEVSIM_SERVICE_S=20 \
    EQMS_DEVSIM_CONTROL=tcp://127.0.0.1:5599 EQMS_DEVSIM_DIR_FILE="$VAR/run/devsim.dir" \
        nohup "$BUILD/bin/eqms-devsim" >>"$VAR/log/devsim.log" 2>&1 &
    echo $! >"$VAR/run/devsim.pid"
    for _ in $(seq 100); do [ -s "$VAR/run/devsim.dir" ] && break; sleep 0.1; done
    [ -s "$VAR/run/devsim.dir" ] || die "eqms-devsim did not start: see var/log/devsim.log"
fi
if [ -s "$VAR/run/devsim.dir" ]; then
    mkdir -p "$VAR/gateway"
    start_service device-gateway 9551 EQMS_GATEWAY_ID=device-gateway.b0001 \
        EQMS_GATEWAY_BRANCH=$DEMO_BRANCH EQMS_GATEWAY_STATE_DIR="$VAR/gateway" \
        LD_PRELOAD=libumockdev-preload.so.0 UMOCKDEV_DIR="$(cat "$VAR/run/devsim.dir")"
fi

# --- the demo kiosk: customers take tickets at the demo branch ---------------------
if [ -f "$VAR/run/kiosk.pid" ] && kill -0 "$(cat "$VAR/run/kiosk.pid")" 2>/dev/null; then
    say "kiosk already running"
else
    nohup /usr/bin/python3 docker/local/kiosk.py "$EQMS_QM_ENDPOINT" "$DEMO_BRANCH" 1200 \
        >>"$VAR/log/kiosk.log" 2>&1 &
    echo $! >"$VAR/run/kiosk.pid"
fi

# --- what runs where ------------------------------------------------------------
nodes=$(psql -X -tA "$CONNINFO" -c "SELECT count(*) FROM org_node")
windows=$(psql -X -tA "$CONNINFO" -c "SELECT count(*) FROM service_window")
staff=$(psql -X -tA "$CONNINFO" -c "SELECT count(*) FROM staff")
version=$(psql -X -tA "$CONNINFO" -c "SELECT max(version) FROM schema_migrations")
cat <<EOT

EQMS is running (logs in var/log, stop with: make stop)
  PostgreSQL   $CONNINFO   (schema v$version)
  Redis        redis://127.0.0.1:$REDIS_PORT/0
  bus          publish to tcp://127.0.0.1:5550, subscribe at tcp://127.0.0.1:5551
               health http://127.0.0.1:9550/health   metrics http://127.0.0.1:9550/metrics
  console      http://127.0.0.1:$WEBAPI_PORT/  (log in as admin or b0001.manager, below)
  hall         the demo branch's devices, each page opened once with its own API token
               (tokens in var/kiosk-token, var/display-token, var/teller-token):
               kiosk    http://127.0.0.1:$WEBAPI_PORT/#/hall/kiosk?branch=$DEMO_BRANCH&token=$KIOSK_TOKEN
               display  http://127.0.0.1:$WEBAPI_PORT/#/hall/display?branch=$DEMO_BRANCH&token=$DISPLAY_TOKEN
               teller   http://127.0.0.1:$WEBAPI_PORT/#/hall/teller?branch=$DEMO_BRANCH&token=$TELLER_TOKEN
  web-api      REST API http://127.0.0.1:$WEBAPI_PORT/api/v1 (docs/openapi.yaml)
               health http://127.0.0.1:9560/health   (and the device registry for the gateways)
               log in as the administrator (hq; password in var/admin-password):
                 curl -s -X POST $API/sessions -H 'Content-Type: application/json' \\
                   -d "{\"login\":\"admin\",\"password\":\"\$(cat var/admin-password)\"}"
               or as the demo branch's manager: login b0001.manager, password in
               var/manager-password; then: curl -H "Authorization: Bearer <token>" $API/me
  rating-ingest health http://127.0.0.1:9552/health   metrics http://127.0.0.1:9552/metrics
               (ratings and staff sessions into PostgreSQL, live counters into Redis)
  queue-manager requests tcp://127.0.0.1:9553 (docs/protocol.md)   health http://127.0.0.1:9554/health
               (tickets, windows, display. and announce. on the bus, live state in Redis)
  stats-aggregator health http://127.0.0.1:9556/health   metrics http://127.0.0.1:9556/metrics
               today's figures of the demo branch: the console's statistics page,
               or GET $API/stats/figures?node=$DEMO_BRANCH&from=<today>&to=<tomorrow>
  sms-notifier health http://127.0.0.1:9557/health   metrics http://127.0.0.1:9557/metrics
               delivery reports http://127.0.0.1:9558/sms/dlr, inbound SMS
               http://127.0.0.1:9558/sms/inbound (from Kannel)
               alerts on the devices' unsatisfied ratings, sent through Kannel to the
               fake SMSC (tail -f var/log/fakesmsc.log), and their SMS rows:
               psql $CONNINFO -c "SELECT m.phone, m.state, m.dlr_status, m.body
                 FROM sms_outbox m ORDER BY m.created_at DESC LIMIT 5"
  kiosk        tickets issued at $DEMO_BRANCH (var/log/kiosk.log); the emulated
               tellers call, serve and finish them, customers rate the ticket served
  devices      $count emulated rating devices of $DEMO_BRANCH (eqms-devsim, control
               tcp://127.0.0.1:5599), tellers and customers simulated
  gateway      health http://127.0.0.1:9551/health   metrics http://127.0.0.1:9551/metrics
               events on the bus: subscribe to rating., staff., service., device.
  demo         $nodes organisation nodes, $windows windows, $staff staff
EOT
if running fakesmsc; then cat <<EOT
  kannel       sendsms http://127.0.0.1:$KANNEL_SENDSMS_PORT/cgi-bin/sendsms?username=$KANNEL_USER&password=$KANNEL_PASSWORD&from=95588&to=13800138000&text=hello
               status $KANNEL_STATUS
               every SMS sent arrives at the fake SMSC: tail -f var/log/fakesmsc.log
               inbound SMS go to $KANNEL_INBOUND_URL; take a ticket by SMS at
               $DEMO_BRANCH (service number 95588, keywords A, B, V, 取号) with
               timeout 2 $FAKESMSC -H 127.0.0.1 -r $KANNEL_MO_PORT -m 1 "13800138000 95588 text A"
               and its reply (number, position, wait) arrives in var/log/fakesmsc.log
EOT
fi
