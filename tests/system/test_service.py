"""The start sequence every service shares (common/service): a service runs
against the schema it was built for or a newer one whose later migrations all
declare themselves compatible (expand), and stops in order on SIGTERM."""
import json
import urllib.request


from servers import free_port, wait_port


def test_service_refuses_an_outdated_schema(fresh_db, start_bin):
    # fresh_db has no migrations at all: version 0
    probe = start_bin("probe", {"EQMS_PG_CONNINFO": fresh_db})
    assert probe.proc.wait(30) == 3
    log = probe.log()
    assert "event=schema_mismatch database=0" in log
    assert "run eqms-migrate" in log
    assert "event=service_refused" in log


def test_service_refuses_a_newer_schema(db, start_bin):
    with db.cursor() as cur:
        cur.execute("INSERT INTO schema_migrations (version, name, checksum) "
                    "VALUES (9999, '9999_future', 'x')")
    probe = start_bin("probe", {"EQMS_PG_CONNINFO": db.conninfo})
    assert probe.proc.wait(30) == 3
    log = probe.log()
    assert "migration=9999 name=9999_future" in log
    assert "is not an expand migration: upgrade the service" in log


def _future_migrations(db, *expand_flags):
    """Records migrations after this build's last one, as a newer eqms-migrate
    would have applied them; each flag says whether it declared itself an
    expand migration (`-- compatibility: expand`)."""
    with db.cursor() as cur:
        cur.execute("SELECT max(version) FROM schema_migrations")
        last = cur.fetchone()[0]
        for i, expand in enumerate(expand_flags, 1):
            cur.execute("INSERT INTO schema_migrations (version, name, checksum, expand) "
                        "VALUES (%s, %s, 'x', %s)",
                        (last + i, f"{last + i:04d}_future", expand))
    return last


def test_service_runs_on_a_newer_schema_that_declares_itself_compatible(db, start_bin):
    built = _future_migrations(db, True, True)
    port = free_port()
    probe = start_bin("probe", {"EQMS_PG_CONNINFO": db.conninfo, "EQMS_HTTP_PORT": str(port)})
    wait_port(port, proc=probe.proc)
    assert probe.stop() == 0
    assert f"event=schema_newer_compatible database={built + 2} built={built}" in probe.log()


def test_service_refuses_a_newer_schema_with_a_contract_migration(db, start_bin):
    built = _future_migrations(db, True, False, True)
    probe = start_bin("probe", {"EQMS_PG_CONNINFO": db.conninfo})
    assert probe.proc.wait(30) == 3
    log = probe.log()
    assert f"event=schema_mismatch database={built + 3} built={built}" in log
    assert f"migration={built + 2} name={built + 2:04d}_future" in log
    assert "upgrade the service" in log


def test_service_runs_on_current_schema_and_stops_on_sigterm(db, start_bin):
    port = free_port()
    probe = start_bin("probe", {"EQMS_PG_CONNINFO": db.conninfo, "EQMS_HTTP_PORT": str(port)})
    wait_port(port, proc=probe.proc)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
        assert r.status == 200
        assert json.loads(r.read())["status"] == "ok"
    assert probe.stop() == 0
    log = probe.log()
    assert "event=started" in log and "event=stopping signal=15" in log


def test_service_without_database_exits_with_reason(start_bin):
    probe = start_bin("probe", {
        "EQMS_PG_CONNINFO": f"postgresql://postgres@127.0.0.1:{free_port()}/x"})
    assert probe.proc.wait(30) == 4
    assert "database unreachable" in probe.log()


def test_bad_log_level_names_the_variable(db, start_bin):
    probe = start_bin("probe", {"EQMS_PG_CONNINFO": db.conninfo, "EQMS_LOG_LEVEL": "loud"})
    assert probe.proc.wait(30) == 2
    assert "EQMS_LOG_LEVEL: 'loud' is not allowed (allowed debug|info|warn|error)" in probe.log()
