-- EQMS schema 35: a stats cell keeps its two histograms cumulative, so that
-- a row's distribution buckets and 90th percentile are read off its array
-- instead of walking its buckets (docs/statistics.md, "How the figures are
-- kept"; docs/benchmarks.md, "stats").
--
-- Up to schema 34 element b of stats_cell.wait_hist and svc_hist counted
-- the values in bucket b. Now it counts the values in buckets 1..b: the
-- running count. Running counts add as the counts do (a cell's running
-- counts plus a delta's are the running counts of the sum), so the
-- aggregator still adds element by element; an array may end early, its
-- last element then standing for every later bucket (the total). For one
-- cell (a day of "by day", a month of a child, ...) the count between two
-- edges is the difference of two elements and the 90th percentile's bucket
-- a binary search (width_bucket) over the array: no unnest, no window, no
-- sort. schema 23's stats_figures walked every row's 99 buckets twice,
-- about 58 us a row (365 rows of "hq by day, a year": 21 ms of 30).
--
-- Not an expand migration: an older stats-aggregator would add plain
-- bucket counts to running ones. Stop stats-aggregator, migrate, start the
-- new one (the older binary refuses to start after this migration,
-- docs/development.md). Readers call the functions, replaced here with
-- their signatures and meaning kept.
--
-- The helpers schema 10 and 23 kept for plain histograms (stats_sum,
-- stats_array_add, stats_hist_percentile, stats_hist_between,
-- stats_hist_figures, stats_derive, stats_sums_sql, type stats_sums) have
-- had no caller since schema 23 and would misread a cell: dropped.

DROP FUNCTION stats_derive(text, bigint, stats_sums, numeric, numeric);
DROP FUNCTION stats_hist_figures(bigint[]);
DROP FUNCTION stats_sums_sql();
DROP TYPE stats_sums;
DROP AGGREGATE stats_sum(int[]);
DROP AGGREGATE stats_sum(bigint[]);
DROP FUNCTION stats_array_add(bigint[], int[]);
DROP FUNCTION stats_array_add(bigint[], bigint[]);
DROP FUNCTION stats_hist_percentile(bigint[], numeric);
DROP FUNCTION stats_hist_between(bigint[], int, int);

-- The running counts of a plain histogram (element b: the values in
-- buckets 1..b); NULL for NULL, empty for empty.
CREATE FUNCTION stats_hist_cumulative(h int[]) RETURNS int[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce((SELECT array_agg(u.upto ORDER BY u.b)
                     FROM (SELECT x.b, sum(x.n) OVER (ORDER BY x.b)::int AS upto
                           FROM unnest(h) WITH ORDINALITY AS x (n, b)) u), '{}')
$$;
COMMENT ON FUNCTION stats_hist_cumulative(int[]) IS
    'The running counts of a plain histogram: how stats_cell keeps its '
    'histograms (schema 35).';

UPDATE stats_cell
SET wait_hist = stats_hist_cumulative(wait_hist), svc_hist = stats_hist_cumulative(svc_hist)
WHERE cardinality(wait_hist) > 0 OR cardinality(svc_hist) > 0;

COMMENT ON COLUMN stats_cell.wait_hist IS
    'Waits by st_hist bucket, cumulative: element b counts the waits in '
    'buckets 1..b; an array that ends early stands for its last element '
    'in every later bucket. NULL: no wait was ever counted.';
COMMENT ON COLUMN stats_cell.svc_hist IS
    'Service times by st_hist bucket, cumulative as wait_hist.';

-- The values of cumulative histogram h in buckets 1..b (b >= 1): its
-- element b, or its last when it ends before b; 0 for an empty one, NULL
-- for NULL. Inlined by the planner. For a cell's int[] and a sum's
-- bigint[] (an int[] given to the bigint[] one would be converted whole at
-- every call).
CREATE FUNCTION stats_cum_upto(h int[], b int) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN h IS NOT NULL THEN coalesce(h[least(b, cardinality(h))], 0) END
$$;
CREATE FUNCTION stats_cum_upto(h bigint[], b int) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN h IS NOT NULL THEN coalesce(h[least(b, cardinality(h))], 0) END
$$;

-- The nearest-rank percentile p (1..100) of cumulative histogram h in
-- seconds, as schema 10's stats_hist_percentile of the plain one: the upper
-- edge of the first bucket whose running count reaches rank ceil(p% of n)
-- (12 h for the last bucket); NULL when h counts nothing. The buckets
-- before it are those whose running count is below the rank, i.e. at most
-- rank - 1: width_bucket counts them (a binary search; running counts never
-- decrease). Inlined by the planner.
CREATE FUNCTION stats_cum_percentile_s(h bigint[], p int) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN stats_cum_upto(h, 99) > 0
        THEN stats_hist_lower_s(least(width_bucket(
                 (p * stats_cum_upto(h, 99) + 99) / 100 - 1, h), 97) + 2) END
$$;

-- Wilson's lower bound as in schema 10, computed in float8 and rounded to
-- the same 4 decimals: 2.2 us a call instead of 4.8 us (numeric's sqrt and
-- divisions), the largest of a row's figures; the same values on every k
-- <= n <= 1,500 and on 2,000,000 random pairs with n up to 10^9.
CREATE OR REPLACE FUNCTION stats_wilson_lower(k numeric, n numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN n IS NULL OR n = 0 THEN NULL ELSE round((
        (k::float8 / n::float8 + 1.9208 / n::float8
         - 1.96 * sqrt(k::float8 / n::float8 * (1 - k::float8 / n::float8) / n::float8
                       + 0.9604 / (n::float8 * n::float8)))
        / (1 + 3.8416 / n::float8))::numeric, 4) END
$$;

-- stats_figures as in schema 23 (same checks, cells, duty, exact
-- percentiles, measures), reading cumulative histograms: a group of one
-- cell takes its arrays as they are; a group of several sums them bucket by
-- bucket up to the group's longest array (each cell's last element standing
-- for its later buckets). Every row's distribution buckets are differences
-- of running counts at the Qmatic edges (buckets 12, 24, 36, 42, 45: 3, 6,
-- 9, 12 and 15 min), its 90th percentiles stats_cum_percentile_s.
CREATE OR REPLACE FUNCTION stats_figures(p_node bigint, p_from date, p_to date,
                              p_group text DEFAULT 'none', p_percentiles boolean DEFAULT true)
RETURNS SETOF stats_row
LANGUAGE plpgsql STABLE AS $$
DECLARE
    zone text;
    node_path ltree;
    node_kind text;
    from_ts timestamptz;
    to_ts timestamptz;
    exact_wait numeric := NULL;
    exact_svc numeric := NULL;
BEGIN
    SELECT n.time_zone, n.path, n.kind INTO zone, node_path, node_kind
    FROM org_node n WHERE n.id = p_node;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF p_to <= p_from THEN
        RAISE EXCEPTION 'empty range % .. %', p_from, p_to USING ERRCODE = '22023';
    END IF;
    IF p_group NOT IN ('none', 'child', 'service', 'class', 'option', 'window', 'teller',
                       'hour_of_day', 'day', 'week', 'month', 'hour') THEN
        RAISE EXCEPTION 'unknown grouping "%" (none, child, service, class, option, '
            'window, teller, hour_of_day, day, week, month, hour)', p_group
            USING ERRCODE = '22023';
    END IF;
    from_ts := p_from::timestamp AT TIME ZONE zone;
    to_ts := p_to::timestamp AT TIME ZONE zone;
    IF p_group = 'none' AND node_kind = 'branch' AND p_to = p_from + 1 AND p_percentiles THEN
        SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM
                   l.call_at - l.start_at))
        INTO exact_wait FROM stats_leg l
        WHERE l.branch_id = p_node AND l.start_at >= from_ts AND l.start_at < to_ts
          AND l.call_at IS NOT NULL AND l.origin <> 1;
        SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY l.serve_ms / 1000.0)
        INTO exact_svc FROM stats_leg l
        WHERE l.branch_id = p_node AND l.start_at >= from_ts AND l.start_at < to_ts
          AND l.outcome = 1;
    END IF;
    RETURN QUERY
    WITH c AS (
        SELECT * FROM stats_figures_cells(p_node, p_from, p_to, p_group, node_path)),
    cs AS (
        SELECT c.g, c.m, sum(c.issued)::bigint AS issued,
            sum(c.walk_ins)::bigint AS walk_ins, sum(c.transferred_in)::bigint AS transferred_in,
            sum(c.served)::bigint AS served, sum(c.no_show)::bigint AS no_show,
            sum(c.abandoned)::bigint AS abandoned, sum(c.transferred)::bigint AS transferred,
            sum(c.wait_n)::bigint AS wait_n, sum(c.wait_sum_ms)::bigint AS wait_sum_ms,
            sum(c.sl_served)::bigint AS sl_served, sum(c.sl_served_in)::bigint AS sl_served_in,
            sum(c.sl_abandoned_in)::bigint AS sl_abandoned_in, sum(c.svc_n)::bigint AS svc_n,
            sum(c.svc_sum_ms)::bigint AS svc_sum_ms, sum(c.rated)::bigint AS rated,
            sum(c.satisfied)::bigint AS satisfied, sum(c.unsatisfied)::bigint AS unsatisfied,
            sum(c.score_x10)::bigint AS score_x10, sum(c.services)::bigint AS services,
            sum(c.serving_ms)::bigint AS serving_ms, sum(c.on_duty_ms)::bigint AS on_duty_ms,
            max(c.wait_max_ms) AS wait_max_ms, max(c.svc_max_ms) AS svc_max_ms,
            -- the categories' counts, element by element (st_category_t order)
            coalesce(sum(c.categories[1]), 0)::bigint AS by_none,
            coalesce(sum(c.categories[2]), 0)::bigint AS by_attitude,
            coalesce(sum(c.categories[3]), 0)::bigint AS by_efficiency,
            coalesce(sum(c.categories[4]), 0)::bigint AS by_skill,
            coalesce(sum(c.categories[5]), 0)::bigint AS by_environment,
            coalesce(sum(c.categories[6]), 0)::bigint AS by_other,
            -- no histogram (NULL figures) unless some cell has a bucket
            p_percentiles AND coalesce(bool_or(cardinality(c.wait_hist) > 0), false) AS wait_has,
            p_percentiles AND coalesce(bool_or(cardinality(c.svc_hist) > 0), false) AS svc_has,
            count(*) AS cells,
            -- a group of one cell: its histograms, its percentiles searched in them
            max(c.wait_hist)::bigint[] AS wait_hist, max(c.svc_hist)::bigint[] AS svc_hist,
            max(cardinality(c.wait_hist)) AS wait_len, max(cardinality(c.svc_hist)) AS svc_len,
            -- the running counts at the Qmatic edges (3, 6, 9, 12, 15 min, all)
            ARRAY[sum(stats_cum_upto(c.wait_hist, 12)), sum(stats_cum_upto(c.wait_hist, 24)),
                  sum(stats_cum_upto(c.wait_hist, 36)), sum(stats_cum_upto(c.wait_hist, 42)),
                  sum(stats_cum_upto(c.wait_hist, 45)), sum(stats_cum_upto(c.wait_hist, 99))]
                AS wait_at,
            ARRAY[sum(stats_cum_upto(c.svc_hist, 12)), sum(stats_cum_upto(c.svc_hist, 24)),
                  sum(stats_cum_upto(c.svc_hist, 36)), sum(stats_cum_upto(c.svc_hist, 42)),
                  sum(stats_cum_upto(c.svc_hist, 45)), sum(stats_cum_upto(c.svc_hist, 99))]
                AS svc_at
        FROM c GROUP BY c.g, c.m),
    k AS (
        -- a group of several cells, per histogram (1 wait, 2 service time): the
        -- nearest rank of its 90th percentile and the Qmatic edges (buckets lo
        -- < hi) whose running counts enclose it: width_bucket counts the edges
        -- below the rank. Past the group's longest array every running count is
        -- the total, so no bucket after len is below the rank.
        SELECT cs.g, cs.m, x.hist, x.rank, x.len,
            (ARRAY[0, 12, 24, 36, 42, 45])[width_bucket(x.rank - 1, x.at) + 1] AS lo,
            (ARRAY[12, 24, 36, 42, 45, 99])[width_bucket(x.rank - 1, x.at) + 1] AS hi
        FROM cs CROSS JOIN LATERAL (VALUES
            (1, cs.wait_len, cs.wait_at, (90 * cs.wait_at[6] + 99) / 100),
            (2, cs.svc_len, cs.svc_at, (90 * cs.svc_at[6] + 99) / 100)) AS x (hist, len, at, rank)
        WHERE cs.cells > 1 AND x.at[6] > 0 AND p_percentiles),
    kb AS (
        -- how many buckets between those edges stay below the rank: the
        -- group's running count at each of them, summed over its cells
        SELECT x.g, x.m, x.hist, count(*) FILTER (WHERE x.upto < x.rank) AS below
        FROM (SELECT k.g, k.m, k.hist, k.rank, u.b, sum(u.n) AS upto
              FROM k JOIN c ON c.g = k.g AND c.m = k.m
              -- OFFSET 0: each bucket's count is taken before the sort by
              -- bucket, which then moves it instead of the cell's arrays
              CROSS JOIN LATERAL (
                  SELECT b.b, CASE k.hist WHEN 1 THEN stats_cum_upto(c.wait_hist, b.b)
                                          ELSE stats_cum_upto(c.svc_hist, b.b) END AS n
                  FROM generate_series(k.lo + 1, least(k.hi, k.len)) AS b (b) OFFSET 0) u
              GROUP BY k.g, k.m, k.hist, k.rank, u.b) x
        GROUP BY x.g, x.m, x.hist),
    h AS (
        -- the 90th percentile's bucket: the first whose running count reaches
        -- the rank, the one after those below it
        SELECT k.g, k.m,
            max(k.lo + 1 + coalesce(kb.below, 0)::int) FILTER (WHERE k.hist = 1) AS wait_b,
            max(k.lo + 1 + coalesce(kb.below, 0)::int) FILTER (WHERE k.hist = 2) AS svc_b
        FROM k LEFT JOIN kb ON kb.g = k.g AND kb.m = k.m AND kb.hist = k.hist
        GROUP BY k.g, k.m),
    d AS (
        SELECT * FROM stats_figures_duty(p_node, p_group, node_path, from_ts, to_ts)),
    s AS (
        SELECT coalesce(cs.g, d.g) AS g, coalesce(cs.m, d.m) AS m,
            cs.issued, cs.walk_ins, cs.transferred_in, cs.served, cs.no_show, cs.abandoned,
            cs.transferred, cs.wait_n, cs.wait_sum_ms, cs.sl_served, cs.sl_served_in,
            cs.sl_abandoned_in, cs.svc_n, cs.svc_sum_ms, cs.rated, cs.satisfied,
            cs.unsatisfied, cs.score_x10, cs.services, cs.serving_ms,
            (coalesce(cs.on_duty_ms, 0) + coalesce(d.ms, 0))::bigint AS on_duty_ms,
            cs.wait_max_ms, cs.svc_max_ms,
            coalesce(cs.by_none, 0) AS by_none, coalesce(cs.by_attitude, 0) AS by_attitude,
            coalesce(cs.by_efficiency, 0) AS by_efficiency, coalesce(cs.by_skill, 0) AS by_skill,
            coalesce(cs.by_environment, 0) AS by_environment,
            coalesce(cs.by_other, 0) AS by_other,
            CASE WHEN cs.wait_has THEN cs.wait_at END AS wait_at,
            CASE WHEN cs.svc_has THEN cs.svc_at END AS svc_at,
            CASE WHEN NOT cs.wait_has THEN NULL
                 WHEN cs.cells = 1 THEN stats_cum_percentile_s(cs.wait_hist, 90)
                 WHEN h.wait_b IS NOT NULL THEN stats_hist_lower_s(least(h.wait_b, 98) + 1)
                 END AS wait_p90_s,
            CASE WHEN NOT cs.svc_has THEN NULL
                 WHEN cs.cells = 1 THEN stats_cum_percentile_s(cs.svc_hist, 90)
                 WHEN h.svc_b IS NOT NULL THEN stats_hist_lower_s(least(h.svc_b, 98) + 1)
                 END AS svc_p90_s
        FROM cs LEFT JOIN h ON h.g = cs.g AND h.m = cs.m
        FULL JOIN d ON d.g = cs.g AND d.m = cs.m)
    SELECT s.g, s.m,
        s.issued, s.walk_ins, s.transferred_in, s.issued + s.walk_ins, s.served,
        stats_ratio(s.served, s.issued + s.walk_ins + s.transferred_in),
        s.no_show, s.abandoned, s.transferred,
        stats_ratio(s.wait_sum_ms, s.wait_n * 1000),
        CASE WHEN s.wait_n > 0 THEN round(s.wait_max_ms / 1000.0, 3) END,
        coalesce(round(exact_wait, 3), s.wait_p90_s),
        stats_ratio(s.svc_sum_ms, s.svc_n * 1000),
        CASE WHEN s.svc_n > 0 THEN round(s.svc_max_ms / 1000.0, 3) END,
        coalesce(round(exact_svc, 3), s.svc_p90_s),
        stats_ratio(s.sl_served_in, s.sl_served),
        stats_ratio(s.sl_served_in + s.sl_abandoned_in, s.sl_served + s.abandoned),
        s.wait_at[1]::bigint, (s.wait_at[2] - s.wait_at[1])::bigint,
        (s.wait_at[3] - s.wait_at[2])::bigint, (s.wait_at[4] - s.wait_at[3])::bigint,
        (s.wait_at[5] - s.wait_at[4])::bigint, (s.wait_at[6] - s.wait_at[5])::bigint,
        s.svc_at[1]::bigint, (s.svc_at[2] - s.svc_at[1])::bigint,
        (s.svc_at[3] - s.svc_at[2])::bigint, (s.svc_at[4] - s.svc_at[3])::bigint,
        (s.svc_at[5] - s.svc_at[4])::bigint, (s.svc_at[6] - s.svc_at[5])::bigint,
        s.rated, stats_ratio(s.rated, s.services), s.satisfied,
        stats_ratio(s.satisfied, s.rated), stats_wilson_lower(s.satisfied, s.rated),
        s.unsatisfied, stats_ratio(s.unsatisfied, s.rated),
        stats_ratio(s.score_x10, s.rated * 10),
        s.by_none, s.by_attitude, s.by_efficiency, s.by_skill, s.by_environment, s.by_other,
        s.services, round(s.on_duty_ms / 1000.0, 3), round(s.serving_ms / 1000.0, 3),
        round(greatest(s.on_duty_ms - s.serving_ms, 0) / 1000.0, 3),
        stats_ratio(s.services * 3600000, s.on_duty_ms),
        stats_ratio(s.serving_ms, s.on_duty_ms)
    FROM s
    ORDER BY 1;
END
$$;
