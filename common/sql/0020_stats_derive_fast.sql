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
-- one). One row, always.
CREATE FUNCTION stats_hist_figures(h bigint[])
RETURNS TABLE (b0_3 bigint, b3_6 bigint, b6_9 bigint, b9_12 bigint, b12_15 bigint,
               b15_plus bigint, p90_s int)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN h IS NOT NULL THEN coalesce(sum(u.n) FILTER (WHERE u.lo < 180), 0)::bigint END,
           CASE WHEN h IS NOT NULL THEN coalesce(sum(u.n) FILTER (WHERE u.lo >= 180 AND u.lo < 360), 0)::bigint END,
           CASE WHEN h IS NOT NULL THEN coalesce(sum(u.n) FILTER (WHERE u.lo >= 360 AND u.lo < 540), 0)::bigint END,
           CASE WHEN h IS NOT NULL THEN coalesce(sum(u.n) FILTER (WHERE u.lo >= 540 AND u.lo < 720), 0)::bigint END,
           CASE WHEN h IS NOT NULL THEN coalesce(sum(u.n) FILTER (WHERE u.lo >= 720 AND u.lo < 900), 0)::bigint END,
           CASE WHEN h IS NOT NULL THEN coalesce(sum(u.n) FILTER (WHERE u.lo >= 900), 0)::bigint END,
           CASE WHEN min(u.b) FILTER (WHERE u.total > 0 AND u.upto >= greatest(1, ceil(90::numeric / 100 * u.total))) >= 99
                THEN stats_hist_lower_s(99)
                WHEN min(u.b) FILTER (WHERE u.total > 0 AND u.upto >= greatest(1, ceil(90::numeric / 100 * u.total))) IS NOT NULL
                THEN stats_hist_lower_s(min(u.b) FILTER (WHERE u.total > 0 AND u.upto >= greatest(1, ceil(90::numeric / 100 * u.total)))::int + 1) END
    FROM (SELECT x.b, x.n, stats_hist_lower_s(x.b::int) AS lo,
                 sum(x.n) OVER (ORDER BY x.b) AS upto, sum(x.n) OVER () AS total
          FROM unnest(h) WITH ORDINALITY AS x (n, b)) u
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
    -- c: the cells with their group; s: their sums; h: their histograms
    -- summed bucket by bucket (one unnest of each cell's two histograms), NULL
    -- as stats_sum gives it when no cell has a bucket; d: the open sessions.
    RETURN QUERY EXECUTE format(
        'WITH c AS (SELECT k.g, k.m, c.issued, c.walk_ins, c.transferred_in, c.served, '
        'c.no_show, c.abandoned, c.transferred, c.wait_n, c.wait_sum_ms, c.sl_served, '
        'c.sl_served_in, c.sl_abandoned_in, c.svc_n, c.svc_sum_ms, c.rated, c.satisfied, '
        'c.unsatisfied, c.score_x10, c.services, c.serving_ms, c.on_duty_ms, c.wait_max_ms, '
        'c.svc_max_ms, c.categories, c.wait_hist, c.svc_hist FROM %s), '
        's AS (SELECT c.g, c.m, sum(c.issued) AS issued, sum(c.walk_ins) AS walk_ins, '
        'sum(c.transferred_in) AS transferred_in, sum(c.served) AS served, '
        'sum(c.no_show) AS no_show, sum(c.abandoned) AS abandoned, '
        'sum(c.transferred) AS transferred, sum(c.wait_n) AS wait_n, '
        'sum(c.wait_sum_ms) AS wait_sum_ms, sum(c.sl_served) AS sl_served, '
        'sum(c.sl_served_in) AS sl_served_in, sum(c.sl_abandoned_in) AS sl_abandoned_in, '
        'sum(c.svc_n) AS svc_n, sum(c.svc_sum_ms) AS svc_sum_ms, sum(c.rated) AS rated, '
        'sum(c.satisfied) AS satisfied, sum(c.unsatisfied) AS unsatisfied, '
        'sum(c.score_x10) AS score_x10, sum(c.services) AS services, '
        'sum(c.serving_ms) AS serving_ms, sum(c.on_duty_ms) AS on_duty_ms, '
        'max(c.wait_max_ms) AS wait_max_ms, max(c.svc_max_ms) AS svc_max_ms, '
        'ARRAY[sum(c.categories[1]), sum(c.categories[2]), sum(c.categories[3]), '
        'sum(c.categories[4]), sum(c.categories[5]), sum(c.categories[6])]::bigint[] '
        'AS categories, bool_or(cardinality(c.wait_hist) > 0) AS wait_has, '
        'bool_or(cardinality(c.svc_hist) > 0) AS svc_has FROM c GROUP BY c.g, c.m), '
        'h AS (SELECT x.g, x.m, array_agg(x.w ORDER BY x.b) AS w, '
        'array_agg(x.v ORDER BY x.b) AS v FROM (SELECT c.g, c.m, u.b, sum(u.w) AS w, '
        'sum(u.v) AS v FROM c CROSS JOIN LATERAL unnest(c.wait_hist, c.svc_hist) '
        'WITH ORDINALITY AS u (w, v, b) WHERE $5 GROUP BY c.g, c.m, u.b) x '
        'GROUP BY x.g, x.m), '
        'd AS (%s) '
        'SELECT f.* FROM s LEFT JOIN h ON h.g = s.g AND h.m = s.m '
        'FULL JOIN d ON d.g = s.g AND d.m = s.m '
        'CROSS JOIN LATERAL stats_derive(coalesce(s.g, d.g), coalesce(s.m, d.m), '
        'ROW(s.issued, s.walk_ins, s.transferred_in, s.served, s.no_show, s.abandoned, '
        's.transferred, s.wait_n, s.wait_sum_ms, s.sl_served, s.sl_served_in, '
        's.sl_abandoned_in, s.svc_n, s.svc_sum_ms, s.rated, s.satisfied, s.unsatisfied, '
        's.score_x10, s.services, s.serving_ms, '
        'coalesce(s.on_duty_ms, 0) + coalesce(d.ms, 0), s.wait_max_ms, s.svc_max_ms, '
        's.categories, CASE WHEN s.wait_has THEN h.w END, '
        'CASE WHEN s.svc_has THEN h.v END)::stats_sums, $8, $9) f ORDER BY 1',
        sel,
        coalesce(duty, 'SELECT NULL::text AS g, NULL::bigint AS m, NULL::bigint AS ms '
                       'WHERE false'))
    USING p_node, p_from, p_to, node_path, p_percentiles, from_ts, to_ts,
          exact_wait, exact_svc;
END
$$;
