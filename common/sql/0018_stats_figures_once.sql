-- EQMS schema 18: stats_figures derives each row once (docs/benchmarks.md,
-- "stats"). Its last statement was SELECT (stats_derive(...)).*, which
-- PostgreSQL evaluates once per output column: each row's histograms and
-- ratios were computed about 50 times. Measured on the benchmark's 2 M
-- ratings, head office by day for a year: p99 38 s -> 1 s. The function is
-- schema 10's with that statement as a LATERAL call; nothing else changes.
-- compatibility: expand

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
    RETURN QUERY EXECUTE format(
        'WITH s AS (SELECT k.g, k.m, %s AS sums FROM %s GROUP BY k.g, k.m), '
        'd AS (%s) '
        'SELECT f.* FROM s FULL JOIN d ON d.g = s.g AND d.m = s.m '
        'CROSS JOIN LATERAL stats_derive(coalesce(s.g, d.g), coalesce(s.m, d.m), '
        'ROW((s.sums).issued, (s.sums).walk_ins, (s.sums).transferred_in, '
        '(s.sums).served, (s.sums).no_show, (s.sums).abandoned, (s.sums).transferred, '
        '(s.sums).wait_n, (s.sums).wait_sum_ms, (s.sums).sl_served, (s.sums).sl_served_in, '
        '(s.sums).sl_abandoned_in, (s.sums).svc_n, (s.sums).svc_sum_ms, (s.sums).rated, '
        '(s.sums).satisfied, (s.sums).unsatisfied, (s.sums).score_x10, (s.sums).services, '
        '(s.sums).serving_ms, coalesce((s.sums).on_duty_ms, 0) + coalesce(d.ms, 0), '
        '(s.sums).wait_max_ms, (s.sums).svc_max_ms, (s.sums).categories, '
        '(s.sums).wait_hist, (s.sums).svc_hist)::stats_sums, $8, $9) f ORDER BY 1',
        stats_sums_sql(), sel,
        coalesce(duty, 'SELECT NULL::text AS g, NULL::bigint AS m, NULL::bigint AS ms '
                       'WHERE false'))
    USING p_node, p_from, p_to, node_path, p_percentiles, from_ts, to_ts,
          exact_wait, exact_svc;
END
$$;
