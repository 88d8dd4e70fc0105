"""Process helpers shared by the benchmark scripts: CPU time from /proc,
stopping what a benchmark started, and a demo database to start from."""
import os
import subprocess

import psycopg2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def demo_database(servers, name, bindir):
    """A new database `name` on the bench's PostgreSQL (servers.py) with the
    schema (eqms-migrate from `bindir`) and the demo data
    (docker/local/demo.sql): (conninfo, an autocommit connection)."""
    conninfo = servers.pg.create_database(name)
    subprocess.run([os.path.join(bindir, "eqms-migrate")],
                   env=dict(os.environ, EQMS_PG_CONNINFO=conninfo, EQMS_LOG_LEVEL="warn"),
                   check=True)
    conn = psycopg2.connect(conninfo)
    conn.autocommit = True
    with conn.cursor() as cur, open(os.path.join(ROOT, "docker", "local", "demo.sql"),
                                    encoding="utf-8") as f:
        cur.execute(f.read())
    return conninfo, conn


def cpu_seconds(pid):
    """User + system CPU seconds of a live process (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_name(names):
    """User + system CPU seconds of the live processes named (/proc's comm,
    e.g. "postgres", "eqms-stats-aggr" as the kernel cuts it at 15 bytes),
    summed per name: {name: seconds}. Children that exited are not counted."""
    out = {n: 0.0 for n in names}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if comm in out:
            out[comm] += cpu_seconds(pid)
    return out


def stop_all(procs):
    """Terminates the processes, last started first; kills what does not
    stop within 10 s."""
    for p in reversed(procs):
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
