"""web-api's data management (issue 14 item 8; docs/backup.md) against a real
eqms-web-api on PostgreSQL with traffic through a real queue-manager placed by
a real stats-aggregator: a backup of everything downloaded as a zip whose
manifest's SHA-256 and row counts hold, restored by eqms-restore into a second
empty database where the statistics read through the API are identical; a
tampered archive refused naming the file; purges refused without a covering
backup, without the confirmation, without the permission, and another
subtree's jobs answering 404; a purge deleting raw data while the totals stay
and the service list says where its data starts."""
import csv
import datetime
import hashlib
import io
import json
import os
import time
import zipfile

import pytest

from conftest import _migrated
from test_webapi_stats import rows, traffic  # noqa: F401 (a fixture)
from webapi import WebApi, problem

B1 = "hq.r01.b0001"


@pytest.fixture
def data(traffic, start_bin, run_bin, servers, demo_db, tmp_path):  # noqa: F811
    """The traffic's database behind a web-api keeping its backups in tmp_path."""
    api, node, w, s = traffic
    api.proc.stop()               # one web-api runs the jobs: this one
    backups = tmp_path / "backups"
    api = WebApi(start_bin, run_bin, demo_db, servers.redis.url(13),
                 EQMS_WEBAPI_BACKUP_DIR=str(backups))
    api.backups = backups
    return api, node


def finished(client, path, timeout=60):
    """The job at `path` once it is completed or failed."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = client.get(path)
        assert r.status_code == 200, r.text
        if r.json()["state"] in ("completed", "failed"):
            return r.json()
        time.sleep(0.2)
    raise AssertionError(f"{path} did not finish: {r.text}")


def backup(client, node):
    r = client.post("/backups", {"node": node} if node else {})
    assert r.status_code == 202, r.text
    assert r.headers["Location"] == f"/api/v1/backups/{r.json()['id']}"
    job = finished(client, r.headers["Location"][len("/api/v1"):])
    assert job["state"] == "completed", job
    return job


def figures(client, node):
    today, tomorrow = node["today"], node["today"] + datetime.timedelta(days=1)
    r = client.get("/stats/figures", params={"node": B1, "from": today.isoformat(),
                                             "to": tomorrow.isoformat()})
    assert r.status_code == 200, r.text
    # the figures, not the instant they were read at
    return {k: v for k, v in r.json().items() if k != "as_of"}


def services(client):
    r = client.get("/stats/services", params={"node": B1, "limit": "200"})
    assert r.status_code == 200, r.text
    return r.json()


def test_backup_restored_into_an_empty_database_gives_the_same_statistics(
        data, run_bin, servers, start_bin, tmp_path):
    api, node = data
    keeper = api.make_user("bk-keeper", "hq", ["backup", "view_statistics"])
    job = backup(keeper, None)
    assert job["node"] == "hq" and job["whole"] and job["created_by"] == "bk-keeper"
    assert job["progress"]["rows_done"] == job["progress"]["rows_total"] > 0
    assert keeper.get("/backups").json()["items"][0] == job
    # the archive: a zip whose manifest states each file's rows and SHA-256
    r = keeper.get(f"/backups/{job['id']}/archive")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    assert hashlib.sha256(r.content).hexdigest() == job["sha256"]
    assert len(r.content) == job["size"]
    archive = tmp_path / "hq.zip"
    archive.write_bytes(r.content)
    with zipfile.ZipFile(archive) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert manifest["format"] == 1 and manifest["node"] == "hq"
        assert manifest["created_by"] == "bk-keeper" and manifest["rows"] == job["progress"]["rows_done"]
        for name, entry in manifest["files"].items():
            body = z.read(name)
            assert hashlib.sha256(body).hexdigest() == entry["sha256"], name
            assert body.decode("utf-8").count("\n") >= entry["rows"], name
        assert manifest["files"]["ticket.csv"]["rows"] == 3
        assert "app_user.csv" not in manifest["files"]   # identities stay out
        names = set(z.namelist())
    assert {"ticket_event.csv", "rating.csv", "stats_cell.csv", "org_node.csv"} <= names
    audit = api.admin.get("/audit", params={"action": "backup.download"}).json()["items"]
    assert audit[0]["object_id"] == str(job["id"]) and audit[0]["actor"]["name"] == "bk-keeper"
    # restored into a second, empty database: the same statistics through the API
    conninfo = servers.pg.create_database(f"restored{os.getpid()}")
    db2 = _migrated(conninfo)
    res = run_bin("restore", [str(archive)], env={"EQMS_PG_CONNINFO": conninfo})
    assert res.returncode == 0, res.stderr
    assert f"{manifest['rows']} rows restored" in res.stdout
    api2 = WebApi(start_bin, run_bin, db2, servers.redis.url(12),
                  EQMS_WEBAPI_BACKUP_DIR=str(tmp_path / "b2"))
    reader = api.make_user("bk-reader", "hq", ["view_statistics"])
    reader2 = api2.make_user("bk-reader", "hq", ["view_statistics"])
    assert figures(reader2, node) == figures(reader, node)
    assert figures(reader, node)["rows"][0]["served"] == 2
    assert services(reader2) == services(reader)
    # a second restore into what is no longer empty is refused, nothing changed
    res = run_bin("restore", [str(archive)], env={"EQMS_PG_CONNINFO": conninfo})
    assert res.returncode == 1 and "not empty" in res.stderr
    db2.close()


def test_a_tampered_archive_is_refused_naming_the_file(data, run_bin, tmp_path):
    api, _ = data
    job = backup(api.admin, "hq.r01")
    assert not job["whole"]
    archive = tmp_path / "r01.zip"
    archive.write_bytes(api.admin.get(f"/backups/{job['id']}/archive").content)
    res = run_bin("restore", ["--check", str(archive)])
    assert res.returncode == 0, res.stderr
    # one byte of ticket_event.csv changed, the zip itself well-formed
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            body = bytearray(src.read(item))
            if item.filename == "ticket_event.csv":
                body[-2] = ord("9") if body[-2] != ord("9") else ord("8")
            dst.writestr(item, bytes(body))
    res = run_bin("restore", ["--check", str(tampered)])
    assert res.returncode == 1
    assert "ticket_event.csv" in res.stderr and "SHA-256" in res.stderr, res.stderr
    # a member the manifest does not list
    extra = tmp_path / "extra.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(extra, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("app_user.csv", "id\n1\n")
    res = run_bin("restore", ["--check", str(extra)])
    assert res.returncode == 1 and "app_user.csv" in res.stderr, res.stderr


def plain(upto):
    """Running counts (a cell's histogram since schema 35) as plain counts."""
    return [n - (upto[i - 1] if i else 0) for i, n in enumerate(upto)]


def as_made_before_schema_35(archive, old):
    """`archive` as a build before schema 35 made it: no "schema" in the
    manifest, a stats cell's histograms as plain counts per bucket."""
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(old, "w") as dst:
        manifest = json.loads(src.read("manifest.json"))
        del manifest["schema"]
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "stats_cell.csv":
                table = list(csv.reader(io.StringIO(body.decode("utf-8"))))
                for col in (table[0].index("wait_hist"), table[0].index("svc_hist")):
                    for row in table[1:]:
                        if row[col] not in ("", "{}"):
                            upto = [int(n) for n in row[col].strip("{}").split(",")]
                            row[col] = "{" + ",".join(map(str, plain(upto))) + "}"
                out = io.StringIO()
                csv.writer(out, lineterminator="\n").writerows(table)
                body = out.getvalue().encode("utf-8")
                manifest["files"][item.filename]["sha256"] = hashlib.sha256(body).hexdigest()
            if item.filename != "manifest.json":
                dst.writestr(item, body)
        dst.writestr("manifest.json", json.dumps(manifest))


def with_schema(archive, out, schema):
    """`archive` copied to `out` with its manifest's "schema" set to `schema`
    (any JSON value); returns out's path."""
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "manifest.json":
                body = json.dumps(dict(json.loads(body), schema=schema)).encode()
            dst.writestr(item, body)
    return str(out)


def test_an_archive_of_an_older_schema_is_restored_as_this_schema_keeps_it(
        data, demo_db, run_bin, servers, tmp_path):
    """An archive made before schema 35 holds plain bucket counts: restored,
    its cells' histograms are running counts and every figure is the same;
    an archive of a schema newer than the build is refused."""
    api, _ = data
    with demo_db.cursor() as cur:        # a day of several buckets, besides the traffic's
        cur.execute("""INSERT INTO stats_cell (node_id, period, start_day, hour, dim, member,
                                               issued, served, wait_hist, svc_hist)
                       SELECT id, 1, '2020-01-02', 0, 0, 0, 7, 7, '{1,1,3,3,3,4}', '{0,2,2,7}'
                       FROM org_node WHERE path = %s::ltree""", (B1,))
        cur.execute("SELECT max(version) FROM schema_migrations")
        (schema,), = cur.fetchall()
    demo_db.commit()
    archive = tmp_path / "now.zip"
    archive.write_bytes(api.admin.get(f"/backups/{backup(api.admin, None)['id']}/archive").content)
    with zipfile.ZipFile(archive) as z:
        assert json.loads(z.read("manifest.json"))["schema"] == schema
    old = tmp_path / "old.zip"
    as_made_before_schema_35(archive, old)
    res = run_bin("restore", ["--check", str(old)])
    assert res.returncode == 0, res.stderr
    conninfo = servers.pg.create_database(f"old{os.getpid()}")
    db2 = _migrated(conninfo)
    res = run_bin("restore", [str(old)], env={"EQMS_PG_CONNINFO": conninfo})
    assert res.returncode == 0, res.stderr
    cells = """SELECT node_id, period, start_day, hour, dim, member, wait_hist, svc_hist
               FROM stats_cell ORDER BY 1, 2, 3, 4, 5, 6"""
    day = """SELECT f.* FROM org_node n, stats_figures(n.id, '2020-01-01', '2020-01-08', 'day') f
             WHERE n.path = %s::ltree"""
    with demo_db.cursor() as a, db2.cursor() as b:
        a.execute(cells)
        b.execute(cells)
        assert b.fetchall() == a.fetchall()
        a.execute(day, (B1,))
        b.execute(day, (B1,))
        (row,) = b.fetchall()
        assert [row] == a.fetchall()
    names = [d[0] for d in a.description]
    got = dict(zip(names, row))
    assert [got[f"wait_{e}"] for e in ("0_3", "3_6", "6_9", "9_12", "12_15", "15_plus")] \
        == [4, 0, 0, 0, 0, 0]
    assert got["wait_p90_s"] == 90 and got["svc_p90_s"] == 60   # buckets 6 and 4
    db2.close()
    # a newer schema than this build's
    res = run_bin("restore", ["--check", with_schema(archive, tmp_path / "new.zip", schema + 1)])
    assert res.returncode == 1
    assert f"made at schema {schema + 1}, newer than this build's {schema}" in res.stderr
    # a schema that is not a version
    res = run_bin("restore", ["--check", with_schema(archive, tmp_path / "bad.zip", "35")])
    assert res.returncode == 1
    assert "manifest.json: schema is not a schema version" in res.stderr, res.stderr


def test_purge_refusals_and_a_purge_that_keeps_the_totals(data, demo_db):
    api, node = data
    purger = api.make_user("pg-purger", "hq.r01", ["purge_data", "view_statistics"])
    keeper = api.make_user("pg-keeper", "hq.r01", ["backup"])
    other = api.make_user("pg-other", "hq.r02", ["purge_data", "backup"])
    ask = {"node": B1, "older_than": "all", "confirm": B1}
    # no permission
    problem(keeper.post("/purges", ask), 403)
    # wrong confirmation: 422 naming it
    body = problem(purger.post("/purges", dict(ask, confirm="hq.r01")), 422)
    assert [e["member"] for e in body["errors"]] == ["confirm"]
    problem(purger.post("/purges", dict(ask, older_than="week")), 400)
    # another subtree's node
    body = problem(other.post("/purges", ask), 422)
    assert [e["member"] for e in body["errors"]] == ["node"]
    # no backup yet: 409, nothing asked
    problem(purger.post("/purges", ask), 409)
    assert purger.get("/purges").json()["items"] == []
    # a backup of another subtree does not cover it
    backup(other, "hq.r02")
    problem(purger.post("/purges", ask), 409)
    before = figures(purger, node)
    bk = backup(keeper, "hq.r01")
    problem(other.get(f"/backups/{bk['id']}"), 404)
    problem(other.get(f"/backups/{bk['id']}/archive"), 404)
    # older than a month: today's traffic stays
    r = purger.post("/purges", dict(ask, older_than="month"))
    assert r.status_code == 202, r.text
    job = finished(purger, f"/purges/{r.json()['id']}")
    assert job["state"] == "completed" and job["progress"]["rows_deleted"] == 0, job
    assert rows(demo_db, "SELECT count(*) AS n FROM ticket")[0]["n"] == 3
    # all: what the backup holds goes, the rollups stay
    r = purger.post("/purges", ask)
    assert r.status_code == 202, r.text
    job = finished(purger, f"/purges/{r.json()['id']}")
    assert job["state"] == "completed", job
    assert job["cut"] == bk["snapshot_at"][:23] + "Z" and job["backup"] == bk["id"]
    assert job["progress"]["tables_done"] == job["progress"]["tables_total"] > 0
    assert job["deleted"]["ticket"] == 3 and job["progress"]["rows_deleted"] >= 3
    assert rows(demo_db, "SELECT count(*) AS n FROM ticket")[0]["n"] == 0
    assert rows(demo_db, "SELECT count(*) AS n FROM ticket_event")[0]["n"] == 0
    assert figures(purger, node) == before
    listed = services(purger)
    assert listed["purged_before"] == job["cut"] and listed["items"], listed
    problem(other.get(f"/purges/{job['id']}"), 404)
    audit = api.admin.get("/audit", params={"action": "purge.create"}).json()["items"]
    assert audit[0]["object_id"] == str(job["id"]) and audit[0]["actor"]["name"] == "pg-purger"
    assert audit[0]["detail"]["after"]["older_than"] == "all"
