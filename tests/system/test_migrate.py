"""eqms-migrate against a real PostgreSQL: apply, re-apply, check, concurrency."""
import threading

import psycopg2


def schema_dump(conninfo):
    """Every table, column and type of the public schema, as a comparable list."""
    with psycopg2.connect(conninfo) as conn, conn.cursor() as cur:
        cur.execute("""SELECT table_name, column_name, data_type, is_nullable
                       FROM information_schema.columns WHERE table_schema = 'public'
                       ORDER BY 1, 2""")
        return cur.fetchall()


def migration_count(run_bin):
    res = run_bin("migrate", ["--list"])
    assert res.returncode == 0
    lines = res.stdout.split("\n")
    return len([line for line in lines if line.strip()])


def test_migrations_apply_to_empty_database_then_reapply_as_noop(fresh_db, run_bin):
    total = migration_count(run_bin)
    assert total >= 1
    first = run_bin("migrate", env={"EQMS_PG_CONNINFO": fresh_db})
    assert first.returncode == 0, first.stderr
    assert f"event=migrate_done applied={total} version={total}" in first.stderr
    before = schema_dump(fresh_db)
    assert any(row[0] == "org_node" for row in before)

    again = run_bin("migrate", env={"EQMS_PG_CONNINFO": fresh_db})
    assert again.returncode == 0, again.stderr
    assert f"event=migrate_done applied=0 version={total}" in again.stderr
    assert schema_dump(fresh_db) == before
    with psycopg2.connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), max(version) FROM schema_migrations")
        assert cur.fetchone() == (total, total)


def test_check_mode_reports_outdated_then_current(fresh_db, run_bin):
    env = {"EQMS_PG_CONNINFO": fresh_db}
    outdated = run_bin("migrate", ["--check"], env=env)
    assert outdated.returncode == 1
    assert "schema is older than this service: run eqms-migrate" in outdated.stderr
    assert run_bin("migrate", env=env).returncode == 0
    assert run_bin("migrate", ["--check"], env=env).returncode == 0


def test_concurrent_runners_apply_each_migration_once(fresh_db, run_bin):
    results = []
    env = {"EQMS_PG_CONNINFO": fresh_db}
    threads = [threading.Thread(target=lambda: results.append(run_bin("migrate", env=env)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    applied = sorted(int(r.stderr.split("applied=")[1].split()[0]) for r in results)
    assert applied == [0, 0, migration_count(run_bin)]


def test_edited_migration_is_refused(fresh_db, run_bin):
    env = {"EQMS_PG_CONNINFO": fresh_db}
    assert run_bin("migrate", env=env).returncode == 0
    with psycopg2.connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
    res = run_bin("migrate", env=env)
    assert res.returncode == 1
    assert "event=migration_changed version=1" in res.stderr


def test_bad_configuration_and_usage_are_refused(fresh_db, run_bin):
    res = run_bin("migrate", env={"EQMS_PG_CONNINFO": fresh_db, "EQMS_PG_WAIT_S": "soon"})
    assert res.returncode == 2
    assert "EQMS_PG_WAIT_S: 'soon' is not an integer (allowed 0..3600)" in res.stderr
    res = run_bin("migrate", env={"EQMS_PG_CONNINFO": "nonsense=1"})
    assert res.returncode == 1
    assert "pg_conninfo_invalid" in res.stderr
    assert run_bin("migrate", ["--frobnicate"]).returncode == 2
    helped = run_bin("migrate", ["--help"])
    assert helped.returncode == 0 and "EQMS_PG_CONNINFO" in helped.stdout


def test_unreachable_database_fails_with_reason(run_bin):
    from servers import free_port
    res = run_bin("migrate", env={
        "EQMS_PG_CONNINFO": f"postgresql://postgres@127.0.0.1:{free_port()}/x",
        "EQMS_PG_WAIT_S": "1"})
    assert res.returncode == 1
    assert "event=pg_unavailable" in res.stderr
    assert "database unreachable" in res.stderr


def test_migrate_binary_exits_cleanly_under_sanitizers(fresh_db, run_bin):
    res = run_bin("migrate", env={"EQMS_PG_CONNINFO": fresh_db})
    assert res.returncode == 0
    assert "ERROR: AddressSanitizer" not in res.stderr
    assert "runtime error" not in res.stderr
