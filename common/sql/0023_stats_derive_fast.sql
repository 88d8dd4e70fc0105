-- EQMS schema 23: stats_figures derives its rows in one static statement,
-- every histogram in one pass (docs/benchmarks.md, "stats"; docs/
-- statistics.md, "Reading the figures"). Every figure keeps its value and
-- its type; the functions keep their signatures.
--
-- Up to schema 22 each row's 12 distribution buckets and 2 percentiles were
-- 14 calls of SQL functions that PostgreSQL cannot inline (a FROM unnest in
-- their bodies), made from stats_derive, itself not inlined: each was parsed
-- and planned again for every row (~1.6-2 ms a row). Every cell's
-- histograms were summed by stats_sum, a SQL function executed as a query
-- of its own per cell, and stats_figures' last statement was dynamic SQL,
-- planned at every call, as was the cells' selection, whose plan read all
-- of a node's cells because stats_cover was estimated at 1,000 rows.
--
-- Now: stats_figures sums the cells and derives every row's measures (the
-- expressions of stats_derive) and histogram figures in one static
-- statement, whose plan PL/pgSQL keeps for the session (generic from the
-- sixth call); the cells of a grouping and the open sessions' duty come
-- from stats_figures_cells and stats_figures_duty (schema 18's selections,
-- as static statements);
-- stats_cover is estimated at 10 rows, so the cells are read by their key.
-- stats_derive stays for other callers, one pass over each histogram
-- through stats_hist_figures, an inlined SQL table function.
-- compatibility: expand

-- Every figure of one histogram (stats_cell.wait_hist, svc_hist summed), in
-- one scan of its buckets: the values counted in 0-3, 3-6, 6-9, 9-12, 12-15
-- and 15+ minutes (as stats_hist_between: NULL for a NULL histogram) and
-- the 90th percentile (as stats_hist_percentile(h, 90): NULL for an empty
-- one). One row, always. The buckets by index: bucket b holds
-- [stats_hist_lower_s(b), stats_hist_lower_s(b + 1)), so 0-3 min is
-- buckets 1-12, 3-6 13-24, 6-9 25-36, 9-12 37-42, 12-15 43-45, 15+ 46-99.
-- The percentile: the first bucket whose running count reaches the nearest
-- rank, its upper edge (a bucket at or above 99 gives 12 h).
CREATE FUNCTION stats_hist_figures(h bigint[])
RETURNS TABLE (b0_3 bigint, b3_6 bigint, b6_9 bigint, b9_12 bigint, b12_15 bigint,
               b15_plus bigint, p90_s int)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN h IS NOT NULL THEN coalesce(sum(u.n) FILTER (WHERE u.b <= 12), 0)::bigint END,
           CASE WHEN h IS NOT NULL THEN coalesce(sum(u.n) FILTER (WHERE u.b BETWEEN 13 AND 24), 0)::bigint END,
           CASE WHEN h IS NOT NULL THEN coalesce(sum(u.n) FILTER (WHERE u.b BETWEEN 25 AND 36), 0)::bigint END,
           CASE WHEN h IS NOT NULL THEN coalesce(sum(u.n) FILTER (WHERE u.b BETWEEN 37 AND 42), 0)::bigint END,
           CASE WHEN h IS NOT NULL THEN coalesce(sum(u.n) FILTER (WHERE u.b BETWEEN 43 AND 45), 0)::bigint END,
           CASE WHEN h IS NOT NULL THEN coalesce(sum(u.n) FILTER (WHERE u.b >= 46), 0)::bigint END,
           CASE WHEN min(u.b) FILTER (WHERE u.upto >= t.rank) IS NOT NULL
                THEN stats_hist_lower_s(least(min(u.b) FILTER (WHERE u.upto >= t.rank), 98)::int + 1) END
    FROM (SELECT x.b, x.n, sum(x.n) OVER (ORDER BY x.b ROWS UNBOUNDED PRECEDING) AS upto
          FROM unnest(h) WITH ORDINALITY AS x (n, b)) u,
         (SELECT CASE WHEN sum(y.n) > 0 THEN greatest(1, ceil(90::numeric / 100 * sum(y.n))) END
          FROM unnest(h) AS y (n)) t (rank)
$$;
COMMENT ON FUNCTION stats_hist_figures(bigint[]) IS
    'The distribution buckets (stats_hist_between of 0, 180, 360, 540, 720, '
    '900 s) and the 90th percentile (stats_hist_percentile(h, 90)) of a '
    'histogram, from one scan of its buckets; inlined by the planner.';

CREATE OR REPLACE FUNCTION stats_derive(grp text, member bigint, s stats_sums,
                                        exact_wait_p90_s numeric, exact_svc_p90_s numeric)
RETURNS stats_row
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT grp, member,
        s.issued, s.walk_ins, s.transferred_in, s.issued + s.walk_ins, s.served,
        stats_ratio(s.served, s.issued + s.walk_ins + s.transferred_in),
        s.no_show, s.abandoned, s.transferred,
        stats_ratio(s.wait_sum_ms, s.wait_n * 1000),
        CASE WHEN s.wait_n > 0 THEN round(s.wait_max_ms / 1000.0, 3) END,
        coalesce(round(exact_wait_p90_s, 3), w.p90_s),
        stats_ratio(s.svc_sum_ms, s.svc_n * 1000),
        CASE WHEN s.svc_n > 0 THEN round(s.svc_max_ms / 1000.0, 3) END,
        coalesce(round(exact_svc_p90_s, 3), v.p90_s),
        stats_ratio(s.sl_served_in, s.sl_served),
        stats_ratio(s.sl_served_in + s.sl_abandoned_in, s.sl_served + s.abandoned),
        w.b0_3, w.b3_6, w.b6_9, w.b9_12, w.b12_15, w.b15_plus,
        v.b0_3, v.b3_6, v.b6_9, v.b9_12, v.b12_15, v.b15_plus,
        s.rated, stats_ratio(s.rated, s.services), s.satisfied,
        stats_ratio(s.satisfied, s.rated), stats_wilson_lower(s.satisfied, s.rated),
        s.unsatisfied, stats_ratio(s.unsatisfied, s.rated),
        stats_ratio(s.score_x10, s.rated * 10),
        coalesce(s.categories[1], 0), coalesce(s.categories[2], 0),
        coalesce(s.categories[3], 0), coalesce(s.categories[4], 0),
        coalesce(s.categories[5], 0), coalesce(s.categories[6], 0),
        s.services, round(s.on_duty_ms / 1000.0, 3), round(s.serving_ms / 1000.0, 3),
        round(greatest(s.on_duty_ms - s.serving_ms, 0) / 1000.0, 3),
        stats_ratio(s.services * 3600000, s.on_duty_ms),
        stats_ratio(s.serving_ms, s.on_duty_ms)
    FROM stats_hist_figures(s.wait_hist) w, stats_hist_figures(s.svc_hist) v
$$;

-- A cover is a handful of periods (a year in at most ~15, a month in 1 to
-- ~7): the estimate lets the planner read each period's cells by the key
-- instead of every cell of the node (a region's tellers: 9 ms -> 0.3 ms).
ALTER FUNCTION stats_cover(date, date, int[]) ROWS 10;

-- The cells of a stats_figures grouping with their group (g, m): schema
-- 18's selection, unchanged, as static statements (PL/pgSQL keeps their
-- plans for the session; schema 18 planned a dynamic statement per call).
CREATE FUNCTION stats_figures_cells(p_node bigint, p_from date, p_to date, p_group text,
                                    p_path ltree)
RETURNS TABLE (g text, m bigint, issued bigint, walk_ins bigint, transferred_in bigint,
               served bigint, no_show bigint, abandoned bigint, transferred bigint,
               wait_n bigint, wait_sum_ms bigint, sl_served bigint, sl_served_in bigint,
               sl_abandoned_in bigint, svc_n bigint, svc_sum_ms bigint, rated bigint,
               satisfied bigint, unsatisfied bigint, score_x10 bigint, services bigint,
               serving_ms bigint, on_duty_ms bigint, wait_max_ms bigint, svc_max_ms bigint,
               categories bigint[], wait_hist int[], svc_hist int[])
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
#variable_conflict use_column
DECLARE
    p_dim smallint := CASE p_group WHEN 'service' THEN 1 WHEN 'class' THEN 2 WHEN 'option' THEN 6
                                   WHEN 'window' THEN 4 WHEN 'teller' THEN 5 ELSE 0 END;
    p_period smallint := CASE p_group WHEN 'day' THEN 1 WHEN 'week' THEN 2 ELSE 3 END;
BEGIN
    CASE p_group
    WHEN 'none' THEN
        RETURN QUERY
        SELECT 'all'::text, 0::bigint, c.issued, c.walk_ins, c.transferred_in, c.served,
            c.no_show, c.abandoned, c.transferred, c.wait_n, c.wait_sum_ms, c.sl_served,
            c.sl_served_in, c.sl_abandoned_in, c.svc_n, c.svc_sum_ms, c.rated, c.satisfied,
            c.unsatisfied, c.score_x10, c.services, c.serving_ms, c.on_duty_ms,
            c.wait_max_ms, c.svc_max_ms, c.categories, c.wait_hist, c.svc_hist
        FROM stats_cell c JOIN stats_cover(p_from, p_to) v USING (period, start_day)
        WHERE c.node_id = p_node AND c.dim = 0 AND c.hour = 0;
    WHEN 'child' THEN
        RETURN QUERY
        SELECT ch.path::text, ch.id, c.issued, c.walk_ins, c.transferred_in, c.served,
            c.no_show, c.abandoned, c.transferred, c.wait_n, c.wait_sum_ms, c.sl_served,
            c.sl_served_in, c.sl_abandoned_in, c.svc_n, c.svc_sum_ms, c.rated, c.satisfied,
            c.unsatisfied, c.score_x10, c.services, c.serving_ms, c.on_duty_ms,
            c.wait_max_ms, c.svc_max_ms, c.categories, c.wait_hist, c.svc_hist
        FROM stats_cell c JOIN stats_cover(p_from, p_to) v USING (period, start_day)
        JOIN org_node ch ON ch.id = c.node_id AND ch.parent_id = p_node
        WHERE c.dim = 0 AND c.hour = 0;
    WHEN 'service', 'class', 'option' THEN
        RETURN QUERY
        SELECT c.member::text, c.member, c.issued, c.walk_ins, c.transferred_in, c.served,
            c.no_show, c.abandoned, c.transferred, c.wait_n, c.wait_sum_ms, c.sl_served,
            c.sl_served_in, c.sl_abandoned_in, c.svc_n, c.svc_sum_ms, c.rated, c.satisfied,
            c.unsatisfied, c.score_x10, c.services, c.serving_ms, c.on_duty_ms,
            c.wait_max_ms, c.svc_max_ms, c.categories, c.wait_hist, c.svc_hist
        FROM stats_cell c JOIN stats_cover(p_from, p_to) v USING (period, start_day)
        WHERE c.node_id = p_node AND c.hour = 0 AND c.dim = p_dim;
    WHEN 'window', 'teller' THEN
        RETURN QUERY
        SELECT c.member::text, c.member, c.issued, c.walk_ins, c.transferred_in, c.served,
            c.no_show, c.abandoned, c.transferred, c.wait_n, c.wait_sum_ms, c.sl_served,
            c.sl_served_in, c.sl_abandoned_in, c.svc_n, c.svc_sum_ms, c.rated, c.satisfied,
            c.unsatisfied, c.score_x10, c.services, c.serving_ms, c.on_duty_ms,
            c.wait_max_ms, c.svc_max_ms, c.categories, c.wait_hist, c.svc_hist
        FROM stats_cell c JOIN stats_cover(p_from, p_to) v USING (period, start_day)
        JOIN org_node b ON b.id = c.node_id AND b.path <@ p_path
        WHERE c.hour = 0 AND c.dim = p_dim;
    WHEN 'hour_of_day' THEN
        RETURN QUERY
        SELECT c.member::text, c.member, c.issued, c.walk_ins, c.transferred_in, c.served,
            c.no_show, c.abandoned, c.transferred, c.wait_n, c.wait_sum_ms, c.sl_served,
            c.sl_served_in, c.sl_abandoned_in, c.svc_n, c.svc_sum_ms, c.rated, c.satisfied,
            c.unsatisfied, c.score_x10, c.services, c.serving_ms, c.on_duty_ms,
            c.wait_max_ms, c.svc_max_ms, c.categories, c.wait_hist, c.svc_hist
        FROM stats_cell c JOIN stats_cover(p_from, p_to, '{3,5}') v USING (period, start_day)
        WHERE c.node_id = p_node AND c.hour = 0 AND c.dim = 3;
    WHEN 'day', 'week', 'month' THEN
        RETURN QUERY
        SELECT c.start_day::text, (extract(epoch FROM c.start_day) / 86400)::bigint,
            c.issued, c.walk_ins, c.transferred_in, c.served,
            c.no_show, c.abandoned, c.transferred, c.wait_n, c.wait_sum_ms, c.sl_served,
            c.sl_served_in, c.sl_abandoned_in, c.svc_n, c.svc_sum_ms, c.rated, c.satisfied,
            c.unsatisfied, c.score_x10, c.services, c.serving_ms, c.on_duty_ms,
            c.wait_max_ms, c.svc_max_ms, c.categories, c.wait_hist, c.svc_hist
        FROM stats_cell c
        WHERE c.node_id = p_node AND c.dim = 0 AND c.hour = 0
          AND c.start_day >= p_from AND c.start_day < p_to AND c.period = p_period;
    WHEN 'hour' THEN
        RETURN QUERY
        SELECT c.start_day::text || ' ' || lpad(c.hour::text, 2, '0'), c.hour::bigint,
            c.issued, c.walk_ins, c.transferred_in, c.served,
            c.no_show, c.abandoned, c.transferred, c.wait_n, c.wait_sum_ms, c.sl_served,
            c.sl_served_in, c.sl_abandoned_in, c.svc_n, c.svc_sum_ms, c.rated, c.satisfied,
            c.unsatisfied, c.score_x10, c.services, c.serving_ms, c.on_duty_ms,
            c.wait_max_ms, c.svc_max_ms, c.categories, c.wait_hist, c.svc_hist
        FROM stats_cell c
        WHERE c.node_id = p_node AND c.dim = 0 AND c.period = 0
          AND c.start_day >= p_from AND c.start_day < p_to;
    ELSE
        RAISE EXCEPTION 'unknown grouping "%" (none, child, service, class, option, '
            'window, teller, hour_of_day, day, week, month, hour)', p_group
            USING ERRCODE = '22023';
    END CASE;
END
$$;
COMMENT ON FUNCTION stats_figures_cells(bigint, date, date, text, ltree) IS
    'The stats_cell rows stats_figures(p_node, p_from, p_to, p_group) sums, each '
    'with its group (g, m); p_path is the node''s path.';

-- The on-duty time of the sessions still open in [from_ts, to_ts) by group of
-- a stats_figures grouping (schema 18's, unchanged): one row (ms NULL when
-- there is none) for none, a row per child, window or teller with some, no
-- row for the groupings that have no duty time of their own.
CREATE FUNCTION stats_figures_duty(p_node bigint, p_group text, p_path ltree,
                                   from_ts timestamptz, to_ts timestamptz)
RETURNS TABLE (g text, m bigint, ms bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
#variable_conflict use_column
BEGIN
    CASE p_group
    WHEN 'none' THEN
        RETURN QUERY
        SELECT 'all'::text, 0::bigint, sum(d.ms)::bigint
        FROM stats_open_duty(from_ts, to_ts) d JOIN org_node b ON b.id = d.branch_id
        WHERE b.path <@ p_path;
    WHEN 'child' THEN
        RETURN QUERY
        SELECT ch.path::text, ch.id, sum(d.ms)::bigint
        FROM stats_open_duty(from_ts, to_ts) d JOIN org_node b ON b.id = d.branch_id
        JOIN org_node ch ON ch.parent_id = p_node AND b.path <@ ch.path
        GROUP BY 1, 2;
    WHEN 'window' THEN
        RETURN QUERY
        SELECT d.window_id::text, d.window_id, sum(d.ms)::bigint
        FROM stats_open_duty(from_ts, to_ts) d JOIN org_node b ON b.id = d.branch_id
        WHERE b.path <@ p_path GROUP BY 1, 2;
    WHEN 'teller' THEN
        RETURN QUERY
        SELECT d.staff_id::text, d.staff_id, sum(d.ms)::bigint
        FROM stats_open_duty(from_ts, to_ts) d JOIN org_node b ON b.id = d.branch_id
        WHERE b.path <@ p_path GROUP BY 1, 2;
    ELSE
        RETURN;
    END CASE;
END
$$;
COMMENT ON FUNCTION stats_figures_duty(bigint, text, ltree, timestamptz, timestamptz) IS
    'The on-duty time of open staff sessions that stats_figures adds to a '
    'grouping''s rows (stats_open_duty summed by group).';

-- stats_figures as in schema 18 (same checks, cells, exact percentiles),
-- but its rows are derived by one static statement: the cells' sums (cs),
-- the histograms summed bucket by bucket where a group has more than one
-- cell (h; NULL, as stats_sum gives it, when no cell has a bucket), the
-- open sessions (d), and every row's buckets and percentiles at once (hu:
-- running counts, in float8, exact for counts below 2^53; hs). The
-- measures are stats_derive's expressions; a bucket range's count is the
-- difference of two running counts, the 90th percentile's bucket the first
-- whose running count c has 10 c >= 9 total (c >= ceil(0.9 total), counts
-- being integers). No function is executed per row (the helpers it calls
-- are inlined).
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
            -- stats_sum(categories), element by element; stats_derive reads 1..6
            coalesce(sum(c.categories[1]), 0)::bigint AS by_none,
            coalesce(sum(c.categories[2]), 0)::bigint AS by_attitude,
            coalesce(sum(c.categories[3]), 0)::bigint AS by_efficiency,
            coalesce(sum(c.categories[4]), 0)::bigint AS by_skill,
            coalesce(sum(c.categories[5]), 0)::bigint AS by_environment,
            coalesce(sum(c.categories[6]), 0)::bigint AS by_other,
            -- stats_sum(hist) is NULL unless some cell has a bucket
            p_percentiles AND coalesce(bool_or(cardinality(c.wait_hist) > 0), false) AS wait_has,
            p_percentiles AND coalesce(bool_or(cardinality(c.svc_hist) > 0), false) AS svc_has,
            count(*) AS cells,
            max(c.wait_hist)::bigint[] AS wait_hist, max(c.svc_hist)::bigint[] AS svc_hist
        FROM c GROUP BY c.g, c.m),
    h AS (
        SELECT x.g, x.m, array_agg(x.w ORDER BY x.b) AS w, array_agg(x.v ORDER BY x.b) AS v
        FROM (SELECT c.g, c.m, u.b, sum(u.w) AS w, sum(u.v) AS v
              FROM c JOIN cs ON cs.g = c.g AND cs.m = c.m AND cs.cells > 1
              CROSS JOIN LATERAL unnest(c.wait_hist, c.svc_hist) WITH ORDINALITY AS u (w, v, b)
              WHERE p_percentiles
              GROUP BY c.g, c.m, u.b) x
        GROUP BY x.g, x.m),
    d AS (
        SELECT * FROM stats_figures_duty(p_node, p_group, node_path, from_ts, to_ts)),
    s AS (
        SELECT row_number() OVER () AS id, coalesce(cs.g, d.g) AS g, coalesce(cs.m, d.m) AS m,
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
            CASE WHEN NOT cs.wait_has THEN NULL WHEN cs.cells = 1 THEN cs.wait_hist
                 ELSE h.w END AS wait_hist,
            CASE WHEN NOT cs.svc_has THEN NULL WHEN cs.cells = 1 THEN cs.svc_hist
                 ELSE h.v END AS svc_hist
        FROM cs LEFT JOIN h ON h.g = cs.g AND h.m = cs.m
        FULL JOIN d ON d.g = cs.g AND d.m = cs.m),
    hu AS (
        SELECT s.id, u.b, sum(u.w::float8) OVER o AS w_upto, sum(u.w::float8) OVER p AS w_total,
               sum(u.v::float8) OVER o AS v_upto, sum(u.v::float8) OVER p AS v_total
        FROM s CROSS JOIN LATERAL unnest(s.wait_hist, s.svc_hist) WITH ORDINALITY AS u (w, v, b)
        WHERE s.wait_hist IS NOT NULL OR s.svc_hist IS NOT NULL
        WINDOW p AS (PARTITION BY s.id), o AS (p ORDER BY u.b ROWS UNBOUNDED PRECEDING)),
    hs AS (
        -- running counts at the last bucket of 0-3, 3-6, 6-9, 9-12, 12-15 min
        -- (buckets 12, 24, 36, 42, 45: stats_hist_figures)
        SELECT hu.id, max(hu.w_total) AS w_total, max(hu.v_total) AS v_total,
            max(hu.w_upto) FILTER (WHERE hu.b <= 12) AS w12,
            max(hu.w_upto) FILTER (WHERE hu.b <= 24) AS w24,
            max(hu.w_upto) FILTER (WHERE hu.b <= 36) AS w36,
            max(hu.w_upto) FILTER (WHERE hu.b <= 42) AS w42,
            max(hu.w_upto) FILTER (WHERE hu.b <= 45) AS w45,
            max(hu.v_upto) FILTER (WHERE hu.b <= 12) AS v12,
            max(hu.v_upto) FILTER (WHERE hu.b <= 24) AS v24,
            max(hu.v_upto) FILTER (WHERE hu.b <= 36) AS v36,
            max(hu.v_upto) FILTER (WHERE hu.b <= 42) AS v42,
            max(hu.v_upto) FILTER (WHERE hu.b <= 45) AS v45,
            min(hu.b) FILTER (WHERE hu.w_total > 0 AND 10 * hu.w_upto >= 9 * hu.w_total)
                AS w_p90_b,
            min(hu.b) FILTER (WHERE hu.v_total > 0 AND 10 * hu.v_upto >= 9 * hu.v_total)
                AS v_p90_b
        FROM hu GROUP BY hu.id)
    SELECT s.g, s.m,
        s.issued, s.walk_ins, s.transferred_in, s.issued + s.walk_ins, s.served,
        stats_ratio(s.served, s.issued + s.walk_ins + s.transferred_in),
        s.no_show, s.abandoned, s.transferred,
        stats_ratio(s.wait_sum_ms, s.wait_n * 1000),
        CASE WHEN s.wait_n > 0 THEN round(s.wait_max_ms / 1000.0, 3) END,
        coalesce(round(exact_wait, 3), CASE WHEN hs.w_p90_b IS NOT NULL
            THEN stats_hist_lower_s(least(hs.w_p90_b, 98)::int + 1) END),
        stats_ratio(s.svc_sum_ms, s.svc_n * 1000),
        CASE WHEN s.svc_n > 0 THEN round(s.svc_max_ms / 1000.0, 3) END,
        coalesce(round(exact_svc, 3), CASE WHEN hs.v_p90_b IS NOT NULL
            THEN stats_hist_lower_s(least(hs.v_p90_b, 98)::int + 1) END),
        stats_ratio(s.sl_served_in, s.sl_served),
        stats_ratio(s.sl_served_in + s.sl_abandoned_in, s.sl_served + s.abandoned),
        CASE WHEN s.wait_hist IS NOT NULL THEN coalesce(hs.w12, 0)::bigint END,
        CASE WHEN s.wait_hist IS NOT NULL THEN (coalesce(hs.w24, 0) - coalesce(hs.w12, 0))::bigint END,
        CASE WHEN s.wait_hist IS NOT NULL THEN (coalesce(hs.w36, 0) - coalesce(hs.w24, 0))::bigint END,
        CASE WHEN s.wait_hist IS NOT NULL THEN (coalesce(hs.w42, 0) - coalesce(hs.w36, 0))::bigint END,
        CASE WHEN s.wait_hist IS NOT NULL THEN (coalesce(hs.w45, 0) - coalesce(hs.w42, 0))::bigint END,
        CASE WHEN s.wait_hist IS NOT NULL THEN (coalesce(hs.w_total, 0) - coalesce(hs.w45, 0))::bigint END,
        CASE WHEN s.svc_hist IS NOT NULL THEN coalesce(hs.v12, 0)::bigint END,
        CASE WHEN s.svc_hist IS NOT NULL THEN (coalesce(hs.v24, 0) - coalesce(hs.v12, 0))::bigint END,
        CASE WHEN s.svc_hist IS NOT NULL THEN (coalesce(hs.v36, 0) - coalesce(hs.v24, 0))::bigint END,
        CASE WHEN s.svc_hist IS NOT NULL THEN (coalesce(hs.v42, 0) - coalesce(hs.v36, 0))::bigint END,
        CASE WHEN s.svc_hist IS NOT NULL THEN (coalesce(hs.v45, 0) - coalesce(hs.v42, 0))::bigint END,
        CASE WHEN s.svc_hist IS NOT NULL THEN (coalesce(hs.v_total, 0) - coalesce(hs.v45, 0))::bigint END,
        s.rated, stats_ratio(s.rated, s.services), s.satisfied,
        stats_ratio(s.satisfied, s.rated), stats_wilson_lower(s.satisfied, s.rated),
        s.unsatisfied, stats_ratio(s.unsatisfied, s.rated),
        stats_ratio(s.score_x10, s.rated * 10),
        s.by_none, s.by_attitude, s.by_efficiency, s.by_skill, s.by_environment, s.by_other,
        s.services, round(s.on_duty_ms / 1000.0, 3), round(s.serving_ms / 1000.0, 3),
        round(greatest(s.on_duty_ms - s.serving_ms, 0) / 1000.0, 3),
        stats_ratio(s.services * 3600000, s.on_duty_ms),
        stats_ratio(s.serving_ms, s.on_duty_ms)
    FROM s LEFT JOIN hs ON hs.id = s.id
    ORDER BY 1;
END
$$;
