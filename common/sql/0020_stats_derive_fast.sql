-- EQMS schema 20: the figures are derived in one pass over each histogram
-- (docs/benchmarks.md, "stats"). Every figure keeps its value and its type.
--
-- Up to schema 19 each row's 12 distribution buckets and 2 percentiles were
-- 14 calls of SQL functions that PostgreSQL cannot inline (a FROM unnest in
-- their bodies), made from inside stats_derive, itself not inlined: each
-- call was parsed and planned again for every row (~1.6-2 ms a row), and
-- every cell's histograms were summed by stats_sum, a SQL function called
-- (and executed as a query of its own) per cell and histogram.
--
-- Now: stats_hist_figures gives every bucket count and the 90th percentile
-- of one histogram from one scan of its buckets; it is a SQL table function
-- that the planner inlines (as a subquery) wherever it is called, so
-- stats_derive plans it once per query. stats_figures sums a group's
-- histograms bucket by bucket in its own query (one unnest of each cell, no
-- function call per cell) and takes the measures from stats_derive, which
-- stays their only definition. The other helpers keep their definitions and
-- are declared PARALLEL SAFE like the rest.
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

-- stats_figures as in schema 18, but for its last statement: the cells are
-- read once (c), their histograms summed in the query (h) instead of by
-- stats_sum, and each row derived by one call of stats_derive.
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
    sel text;              -- cells: FROM/WHERE, with the group key as g and m
    duty text := NULL;     -- open sessions joined to the groups, or NULL
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
    from_ts := p_from::timestamp AT TIME ZONE zone;
    to_ts := p_to::timestamp AT TIME ZONE zone;
    CASE p_group
    WHEN 'none' THEN
        sel := 'stats_cell c JOIN stats_cover($2, $3) v USING (period, start_day) '
            || 'CROSS JOIN LATERAL (SELECT ''all''::text AS g, 0::bigint AS m) k '
            || 'WHERE c.node_id = $1 AND c.dim = 0 AND c.hour = 0';
        duty := 'SELECT ''all''::text AS g, 0::bigint AS m, sum(d.ms) AS ms '
             || 'FROM stats_open_duty($6, $7) d JOIN org_node b ON b.id = d.branch_id '
             || 'WHERE b.path <@ $4';
        IF node_kind = 'branch' AND p_to = p_from + 1 AND p_percentiles THEN
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
    WHEN 'child' THEN
        sel := 'stats_cell c JOIN stats_cover($2, $3) v USING (period, start_day) '
            || 'JOIN org_node ch ON ch.id = c.node_id AND ch.parent_id = $1 '
            || 'CROSS JOIN LATERAL (SELECT ch.path::text AS g, ch.id AS m) k '
            || 'WHERE c.dim = 0 AND c.hour = 0';
        duty := 'SELECT ch.path::text AS g, ch.id AS m, sum(d.ms) AS ms '
             || 'FROM stats_open_duty($6, $7) d JOIN org_node b ON b.id = d.branch_id '
             || 'JOIN org_node ch ON ch.parent_id = $1 AND b.path <@ ch.path GROUP BY 1, 2';
    WHEN 'service', 'class', 'option' THEN
        sel := 'stats_cell c JOIN stats_cover($2, $3) v USING (period, start_day) '
            || 'CROSS JOIN LATERAL (SELECT c.member::text AS g, c.member AS m) k '
            || 'WHERE c.node_id = $1 AND c.hour = 0 AND c.dim = '
            || CASE p_group WHEN 'service' THEN 1 WHEN 'class' THEN 2 ELSE 6 END;
    WHEN 'window', 'teller' THEN
        sel := 'stats_cell c JOIN stats_cover($2, $3) v USING (period, start_day) '
            || 'JOIN org_node b ON b.id = c.node_id AND b.path <@ $4 '
            || 'CROSS JOIN LATERAL (SELECT c.member::text AS g, c.member AS m) k '
            || 'WHERE c.hour = 0 AND c.dim = ' || CASE p_group WHEN 'window' THEN 4 ELSE 5 END;
        duty := 'SELECT d.' || CASE p_group WHEN 'window' THEN 'window_id' ELSE 'staff_id' END
             || '::text AS g, d.' || CASE p_group WHEN 'window' THEN 'window_id' ELSE 'staff_id' END
             || ' AS m, sum(d.ms) AS ms FROM stats_open_duty($6, $7) d '
             || 'JOIN org_node b ON b.id = d.branch_id WHERE b.path <@ $4 GROUP BY 1, 2';
    WHEN 'hour_of_day' THEN
        sel := 'stats_cell c JOIN stats_cover($2, $3, ''{3,5}'') v USING (period, start_day) '
            || 'CROSS JOIN LATERAL (SELECT c.member::text AS g, c.member AS m) k '
            || 'WHERE c.node_id = $1 AND c.hour = 0 AND c.dim = 3';
    WHEN 'day', 'week', 'month' THEN
        sel := 'stats_cell c CROSS JOIN LATERAL (SELECT c.start_day::text AS g, '
            || '(extract(epoch FROM c.start_day) / 86400)::bigint AS m) k '
            || 'WHERE c.node_id = $1 AND c.dim = 0 AND c.hour = 0 '
            || 'AND c.start_day >= $2 AND c.start_day < $3 AND c.period = '
            || CASE p_group WHEN 'day' THEN 1 WHEN 'week' THEN 2 ELSE 3 END;
    WHEN 'hour' THEN
        sel := 'stats_cell c CROSS JOIN LATERAL (SELECT c.start_day::text || '' '' || '
            || 'lpad(c.hour::text, 2, ''0'') AS g, c.hour::bigint AS m) k '
            || 'WHERE c.node_id = $1 AND c.dim = 0 AND c.period = 0 '
            || 'AND c.start_day >= $2 AND c.start_day < $3';
    ELSE
        RAISE EXCEPTION 'unknown grouping "%" (none, child, service, class, option, '
            'window, teller, hour_of_day, day, week, month, hour)', p_group
            USING ERRCODE = '22023';
    END CASE;
    -- c: the cells with their group; s: their sums (as stats_sums_sql, the
    -- categories summed element by element); h: their histograms summed
    -- bucket by bucket (one unnest of each cell's two histograms) where a
    -- group has more than one cell, NULL as stats_sum gives it when no cell
    -- has a bucket; d: the open sessions.
    -- The measures are stats_derive's expressions, written out here so that
    -- no function is executed per row (stats_hist_figures is inlined).
    RETURN QUERY EXECUTE format(
        'WITH c AS (SELECT k.g, k.m, c.issued, c.walk_ins, c.transferred_in, c.served, '
        'c.no_show, c.abandoned, c.transferred, c.wait_n, c.wait_sum_ms, c.sl_served, '
        'c.sl_served_in, c.sl_abandoned_in, c.svc_n, c.svc_sum_ms, c.rated, c.satisfied, '
        'c.unsatisfied, c.score_x10, c.services, c.serving_ms, c.on_duty_ms, c.wait_max_ms, '
        'c.svc_max_ms, c.categories, c.wait_hist, c.svc_hist FROM %s), '
        'cs AS (SELECT c.g, c.m, sum(c.issued)::bigint AS issued, '
        'sum(c.walk_ins)::bigint AS walk_ins, sum(c.transferred_in)::bigint AS transferred_in, '
        'sum(c.served)::bigint AS served, sum(c.no_show)::bigint AS no_show, '
        'sum(c.abandoned)::bigint AS abandoned, sum(c.transferred)::bigint AS transferred, '
        'sum(c.wait_n)::bigint AS wait_n, sum(c.wait_sum_ms)::bigint AS wait_sum_ms, '
        'sum(c.sl_served)::bigint AS sl_served, sum(c.sl_served_in)::bigint AS sl_served_in, '
        'sum(c.sl_abandoned_in)::bigint AS sl_abandoned_in, sum(c.svc_n)::bigint AS svc_n, '
        'sum(c.svc_sum_ms)::bigint AS svc_sum_ms, sum(c.rated)::bigint AS rated, '
        'sum(c.satisfied)::bigint AS satisfied, sum(c.unsatisfied)::bigint AS unsatisfied, '
        'sum(c.score_x10)::bigint AS score_x10, sum(c.services)::bigint AS services, '
        'sum(c.serving_ms)::bigint AS serving_ms, sum(c.on_duty_ms)::bigint AS on_duty_ms, '
        'max(c.wait_max_ms) AS wait_max_ms, max(c.svc_max_ms) AS svc_max_ms, '
        'coalesce(sum(c.categories[1]), 0)::bigint AS by_none, '
        'coalesce(sum(c.categories[2]), 0)::bigint AS by_attitude, '
        'coalesce(sum(c.categories[3]), 0)::bigint AS by_efficiency, '
        'coalesce(sum(c.categories[4]), 0)::bigint AS by_skill, '
        'coalesce(sum(c.categories[5]), 0)::bigint AS by_environment, '
        'coalesce(sum(c.categories[6]), 0)::bigint AS by_other, '
        '$5 AND coalesce(bool_or(cardinality(c.wait_hist) > 0), false) AS wait_has, '
        '$5 AND coalesce(bool_or(cardinality(c.svc_hist) > 0), false) AS svc_has, '
        'count(*) AS cells, '
        'max(c.wait_hist)::bigint[] AS wait_hist, max(c.svc_hist)::bigint[] AS svc_hist '
        'FROM c GROUP BY c.g, c.m), '
        'h AS (SELECT x.g, x.m, array_agg(x.w ORDER BY x.b) AS w, '
        'array_agg(x.v ORDER BY x.b) AS v FROM (SELECT c.g, c.m, u.b, sum(u.w) AS w, '
        'sum(u.v) AS v FROM c JOIN cs ON cs.g = c.g AND cs.m = c.m AND cs.cells > 1 '
        'CROSS JOIN LATERAL unnest(c.wait_hist, c.svc_hist) '
        'WITH ORDINALITY AS u (w, v, b) WHERE $5 GROUP BY c.g, c.m, u.b) x '
        'GROUP BY x.g, x.m), '
        'd AS (%s), '
        's AS (SELECT row_number() OVER () AS id, coalesce(cs.g, d.g) AS g, coalesce(cs.m, d.m) AS m, cs.issued, '
        'cs.walk_ins, cs.transferred_in, cs.served, cs.no_show, cs.abandoned, cs.transferred, '
        'cs.wait_n, cs.wait_sum_ms, cs.sl_served, cs.sl_served_in, cs.sl_abandoned_in, '
        'cs.svc_n, cs.svc_sum_ms, cs.rated, cs.satisfied, cs.unsatisfied, cs.score_x10, '
        'cs.services, cs.serving_ms, '
        '(coalesce(cs.on_duty_ms, 0) + coalesce(d.ms, 0))::bigint AS on_duty_ms, '
        'cs.wait_max_ms, cs.svc_max_ms, coalesce(cs.by_none, 0) AS by_none, '
        'coalesce(cs.by_attitude, 0) AS by_attitude, '
        'coalesce(cs.by_efficiency, 0) AS by_efficiency, coalesce(cs.by_skill, 0) AS by_skill, '
        'coalesce(cs.by_environment, 0) AS by_environment, '
        'coalesce(cs.by_other, 0) AS by_other, '
        'CASE WHEN NOT cs.wait_has THEN NULL WHEN cs.cells = 1 THEN cs.wait_hist '
        'ELSE h.w END AS wait_hist, '
        'CASE WHEN NOT cs.svc_has THEN NULL WHEN cs.cells = 1 THEN cs.svc_hist '
        'ELSE h.v END AS svc_hist '
        'FROM cs LEFT JOIN h ON h.g = cs.g AND h.m = cs.m '
        'FULL JOIN d ON d.g = cs.g AND d.m = cs.m), '
        'hu AS (SELECT s.id, u.b, u.w, u.v, sum(u.w::float8) OVER o AS w_upto, '
        'sum(u.w::float8) OVER p AS w_total, sum(u.v::float8) OVER o AS v_upto, '
        'sum(u.v::float8) OVER p AS v_total '
        'FROM s CROSS JOIN LATERAL unnest(s.wait_hist, s.svc_hist) WITH ORDINALITY AS u (w, v, b) '
        'WHERE s.wait_hist IS NOT NULL OR s.svc_hist IS NOT NULL '
        'WINDOW p AS (PARTITION BY s.id), o AS (p ORDER BY u.b ROWS UNBOUNDED PRECEDING)), '
        'hs AS (SELECT hu.id, max(hu.w_total) AS w_total, max(hu.v_total) AS v_total, '
        'max(hu.w_upto) FILTER (WHERE hu.b <= 12) AS w12, '
        'max(hu.w_upto) FILTER (WHERE hu.b <= 24) AS w24, '
        'max(hu.w_upto) FILTER (WHERE hu.b <= 36) AS w36, '
        'max(hu.w_upto) FILTER (WHERE hu.b <= 42) AS w42, '
        'max(hu.w_upto) FILTER (WHERE hu.b <= 45) AS w45, '
        'max(hu.v_upto) FILTER (WHERE hu.b <= 12) AS v12, '
        'max(hu.v_upto) FILTER (WHERE hu.b <= 24) AS v24, '
        'max(hu.v_upto) FILTER (WHERE hu.b <= 36) AS v36, '
        'max(hu.v_upto) FILTER (WHERE hu.b <= 42) AS v42, '
        'max(hu.v_upto) FILTER (WHERE hu.b <= 45) AS v45, '
        'min(hu.b) FILTER (WHERE hu.w_total > 0 AND 10 * hu.w_upto >= 9 * hu.w_total) '
        'AS w_p90_b, '
        'min(hu.b) FILTER (WHERE hu.v_total > 0 AND 10 * hu.v_upto >= 9 * hu.v_total) '
        'AS v_p90_b '
        'FROM hu GROUP BY hu.id) '
        'SELECT s.g, s.m, '
        's.issued, s.walk_ins, s.transferred_in, s.issued + s.walk_ins, s.served, '
        'stats_ratio(s.served, s.issued + s.walk_ins + s.transferred_in), '
        's.no_show, s.abandoned, s.transferred, '
        'stats_ratio(s.wait_sum_ms, s.wait_n * 1000), '
        'CASE WHEN s.wait_n > 0 THEN round(s.wait_max_ms / 1000.0, 3) END, '
        'coalesce(round($8, 3), CASE WHEN hs.w_p90_b IS NOT NULL '
        'THEN stats_hist_lower_s(least(hs.w_p90_b, 98)::int + 1) END), '
        'stats_ratio(s.svc_sum_ms, s.svc_n * 1000), '
        'CASE WHEN s.svc_n > 0 THEN round(s.svc_max_ms / 1000.0, 3) END, '
        'coalesce(round($9, 3), CASE WHEN hs.v_p90_b IS NOT NULL '
        'THEN stats_hist_lower_s(least(hs.v_p90_b, 98)::int + 1) END), '
        'stats_ratio(s.sl_served_in, s.sl_served), '
        'stats_ratio(s.sl_served_in + s.sl_abandoned_in, s.sl_served + s.abandoned), '
        'CASE WHEN s.wait_hist IS NOT NULL THEN (coalesce(hs.w12, 0))::bigint END, '
        'CASE WHEN s.wait_hist IS NOT NULL THEN (coalesce(hs.w24, 0) - coalesce(hs.w12, 0))::bigint END, '
        'CASE WHEN s.wait_hist IS NOT NULL THEN (coalesce(hs.w36, 0) - coalesce(hs.w24, 0))::bigint END, '
        'CASE WHEN s.wait_hist IS NOT NULL THEN (coalesce(hs.w42, 0) - coalesce(hs.w36, 0))::bigint END, '
        'CASE WHEN s.wait_hist IS NOT NULL THEN (coalesce(hs.w45, 0) - coalesce(hs.w42, 0))::bigint END, '
        'CASE WHEN s.wait_hist IS NOT NULL THEN (coalesce(hs.w_total, 0) - coalesce(hs.w45, 0))::bigint END, '
        'CASE WHEN s.svc_hist IS NOT NULL THEN (coalesce(hs.v12, 0))::bigint END, '
        'CASE WHEN s.svc_hist IS NOT NULL THEN (coalesce(hs.v24, 0) - coalesce(hs.v12, 0))::bigint END, '
        'CASE WHEN s.svc_hist IS NOT NULL THEN (coalesce(hs.v36, 0) - coalesce(hs.v24, 0))::bigint END, '
        'CASE WHEN s.svc_hist IS NOT NULL THEN (coalesce(hs.v42, 0) - coalesce(hs.v36, 0))::bigint END, '
        'CASE WHEN s.svc_hist IS NOT NULL THEN (coalesce(hs.v45, 0) - coalesce(hs.v42, 0))::bigint END, '
        'CASE WHEN s.svc_hist IS NOT NULL THEN (coalesce(hs.v_total, 0) - coalesce(hs.v45, 0))::bigint END, '
        's.rated, stats_ratio(s.rated, s.services), s.satisfied, '
        'stats_ratio(s.satisfied, s.rated), stats_wilson_lower(s.satisfied, s.rated), '
        's.unsatisfied, stats_ratio(s.unsatisfied, s.rated), '
        'stats_ratio(s.score_x10, s.rated * 10), '
        's.by_none, s.by_attitude, s.by_efficiency, s.by_skill, s.by_environment, s.by_other, '
        's.services, round(s.on_duty_ms / 1000.0, 3), round(s.serving_ms / 1000.0, 3), '
        'round(greatest(s.on_duty_ms - s.serving_ms, 0) / 1000.0, 3), '
        'stats_ratio(s.services * 3600000, s.on_duty_ms), '
        'stats_ratio(s.serving_ms, s.on_duty_ms) '
        'FROM s LEFT JOIN hs ON hs.id = s.id ORDER BY 1',
        sel,
        coalesce(duty, 'SELECT NULL::text AS g, NULL::bigint AS m, NULL::bigint AS ms '
                       'WHERE false'))
    USING p_node, p_from, p_to, node_path, p_percentiles, from_ts, to_ts,
          exact_wait, exact_svc;
END
$$;
