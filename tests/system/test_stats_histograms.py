"""The distribution buckets and 90th percentiles of stats_figures, read from
histograms written straight into stats_cell (as stats-aggregator keeps
them: running counts, the trailing repeats left out), against the
definition of docs/statistics.md ("Percentiles", "distributions") computed
here from the plain counts: one cell alone, several summed (arrays of
different lengths), empty and absent histograms, the top bucket, a rank that
falls exactly on a bucket."""
import pytest

from qm_client import BRANCH


def q(db, sql, *args):
    with db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def lower_s(b):
    """Lower edge of bucket b (1-based) in seconds (st_hist.h)."""
    if b <= 40:
        return (b - 1) * 15
    if b <= 60:
        return 600 + (b - 41) * 60
    if b <= 78:
        return 1800 + (b - 61) * 300
    if b <= 98:
        return 7200 + (b - 79) * 1800
    return 43200


def running(h):
    """Histogram h (plain counts) as a stats cell keeps it (st_hist_cumulative):
    running counts without the trailing elements equal to the one before."""
    if h is None:
        return None
    upto, total = [], 0
    for n in h:
        total += n
        upto.append(total)
    while len(upto) > 1 and upto[-1] == upto[-2]:
        upto.pop()
    return upto


EDGES = [(0, 180), (180, 360), (360, 540), (540, 720), (720, 900), (900, None)]


def expected(hists):
    """The buckets and the p90 of the sum of `hists` (lists, or None for a
    cell without one): None when no cell has a bucket (as the summed array
    is NULL); the p90 the upper edge of the bucket holding the nearest rank."""
    cells = [h for h in hists if h]
    if not cells:
        return None, None
    n = max(len(h) for h in cells)
    total = [sum(h[i] for h in cells if i < len(h)) for i in range(n)]
    buckets = [sum(c for i, c in enumerate(total)
                   if lower_s(i + 1) >= lo and (hi is None or lower_s(i + 1) < hi))
               for lo, hi in EDGES]
    t = sum(total)
    if t == 0:
        return buckets, None
    rank = max(1, -(-9 * t // 10))
    upto = 0
    for i, c in enumerate(total):
        upto += c
        if upto >= rank:
            b = i + 1
            return buckets, lower_s(99) if b >= 99 else lower_s(b + 1)
    raise AssertionError("unreachable")


# Per local day of January 2020 (before anything the test setup writes):
# (wait histogram, service time histogram); None is a cell without one.
DAYS = {
    1: ([3, 0, 5, 2] + [0] * 40 + [7], [1] * 60),
    2: ([9] + [0] * 48 + [1], None),                       # 0.9 x 10 = 9: bucket 1
    3: ([9] + [0] * 48 + [2], []),                         # 0.9 x 11: bucket 50
    4: ([], [0, 0, 0]),                                    # empty; only zeros
    5: ([0] * 98 + [4], [2] * 99),                         # 12 h and more
    6: (None, None),
    7: ([0] * 12 + [5] * 30, [4, 4, 4, 4] + [0] * 70 + [1]),
}


@pytest.fixture
def cells(demo_db):
    (branch,), = q(demo_db, "SELECT id FROM org_node WHERE path = %s::ltree", BRANCH)
    with demo_db.cursor() as cur:
        for day, (wait, svc) in DAYS.items():
            cur.execute("""INSERT INTO stats_cell (node_id, period, start_day, hour, dim, member,
                                                   issued, served, wait_hist, svc_hist)
                           VALUES (%s, 1, %s, 0, 0, 0, 1, 1, %s::int[], %s::int[])""",
                        (branch, f"2020-01-{day:02d}", running(wait), running(svc)))
    demo_db.commit()
    return branch


def figures(db, branch, day_from, day_to, group, percentiles=True):
    with db.cursor() as cur:
        cur.execute("SELECT * FROM stats_figures(%s, %s::date, %s::date, %s, %s)",
                    (branch, day_from, day_to, group, percentiles))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def seen(row, prefix):
    buckets = [row[f"{prefix}_{a}"] for a in ("0_3", "3_6", "6_9", "9_12", "12_15", "15_plus")]
    p90 = row[f"{prefix}_p90_s"]
    return (None if buckets == [None] * 6 else buckets), (None if p90 is None else int(p90))


def test_each_day_shows_its_own_histogram(demo_db, cells):
    rows = figures(demo_db, cells, "2020-01-01", "2020-01-08", "day")
    assert [r["grp"] for r in rows] == [f"2020-01-{d:02d}" for d in DAYS]
    for row, (wait, svc) in zip(rows, DAYS.values()):
        assert seen(row, "wait") == expected([wait]), row["grp"]
        assert seen(row, "svc") == expected([svc]), row["grp"]
    assert seen(rows[1], "wait")[1] == 15 and seen(rows[2], "wait")[1] == lower_s(51)
    assert seen(rows[3], "wait") == (None, None)          # an empty histogram is none
    assert seen(rows[3], "svc") == ([0] * 6, None)        # zeros count, but no rank
    assert seen(rows[4], "wait")[1] == 43200


@pytest.mark.parametrize("first,last", [(1, 7), (2, 4), (4, 6), (6, 6), (3, 5)])
def test_a_range_sums_its_days_bucket_by_bucket(demo_db, cells, first, last):
    (row,) = figures(demo_db, cells, f"2020-01-{first:02d}", f"2020-01-{last + 1:02d}", "none")
    days = [DAYS[d] for d in range(first, last + 1)]
    assert seen(row, "wait") == expected([w for w, _s in days])
    assert seen(row, "svc") == expected([s for _w, s in days])


def test_without_percentiles_no_bucket_is_shown(demo_db, cells):
    for group in ("day", "none"):
        for row in figures(demo_db, cells, "2020-01-01", "2020-01-08", group, False):
            assert seen(row, "wait") == (None, None) and seen(row, "svc") == (None, None)
            assert row["served"] is not None


def test_the_migration_keeps_running_counts(demo_db):
    """stats_hist_cumulative, which schema 35 turned the cells' plain counts
    into running counts with."""
    rows = q(demo_db, """SELECT stats_hist_cumulative('{3,0,5,-1,0}'), stats_hist_cumulative('{}'),
                                stats_hist_cumulative(NULL)""")
    assert rows == [([3, 3, 8, 7, 7], [], None)]


def test_wilson_lower_bound_keeps_the_values_of_its_numeric_formula(demo_db):
    """stats_wilson_lower, computed in float8 since schema 35, against the
    numeric formula of schema 10 (z = 1.96, 4 decimals): every k <= n <= 120
    and pairs up to n = 10^9."""
    rows = q(demo_db, """
        WITH p AS (SELECT k, n FROM generate_series(1, 120) n, generate_series(0, 120) k
                   WHERE k <= n
                   UNION ALL SELECT (n * f)::bigint, n
                   FROM unnest('{999,65536,1000003,123456789,1000000000}'::bigint[]) n,
                        unnest('{0,0.0001,0.3,0.5,0.977,0.99999,1}'::numeric[]) f)
        SELECT count(*), count(*) FILTER (WHERE stats_wilson_lower(k, n) IS DISTINCT FROM
            round(((k::numeric / n) + 1.9208 / n - 1.96 * sqrt((k::numeric / n)
                   * (1 - k::numeric / n) / n + 0.9604 / (n::numeric * n)))
                  / (1 + 3.8416 / n), 4))
        FROM p""")
    assert rows[0][0] > 7000 and rows[0][1] == 0, rows
    assert q(demo_db, "SELECT stats_wilson_lower(0, 0), stats_wilson_lower(3, NULL)") \
        == [(None, None)]
