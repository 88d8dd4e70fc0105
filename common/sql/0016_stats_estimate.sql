-- EQMS schema 16: how good queue-manager's estimated wait is (issue 12,
-- item 8; docs/statistics.md "Estimated wait"): the wait each customer was
-- told at issue (ticket.est_wait_s, schema 15) against the wait that
-- followed (the ticket's first leg in stats_leg), per node, child and local
-- hour of issue, and in every daily and monthly report from now on.
-- It adds a function and replaces the report functions; reports made
-- before keep what they had and are compared on it alone.
-- compatibility: expand

CREATE FUNCTION stats_estimate_error(p_node bigint, p_from date, p_to date,
                                     p_group text DEFAULT 'none')
RETURNS TABLE (grp text, member bigint, tickets bigint, mae_s numeric, bias_s numeric,
               told_mean_s numeric, waited_mean_s numeric)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_group NOT IN ('none', 'child', 'hour_of_day') THEN
        RAISE EXCEPTION 'stats_estimate_error: group must be none, child or hour_of_day, '
                        'got %', p_group USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    WITH top AS (
        SELECT path FROM org_node WHERE id = p_node
    ), branch AS (
        SELECT b.id, b.time_zone,
               CASE WHEN nlevel(b.path) > nlevel(top.path) THEN
                   (SELECT c.id FROM org_node c
                    WHERE c.path = subpath(b.path, 0, nlevel(top.path) + 1)) END AS child
        FROM org_node b, top
        WHERE b.path <@ top.path AND b.kind = 'branch'
    ), told AS (
        SELECT b.child, extract(hour FROM t.issued_at AT TIME ZONE b.time_zone)::bigint AS hour,
               t.est_wait_s::numeric AS told_s,
               extract(epoch FROM l.call_at - l.start_at)::numeric AS waited_s
        FROM branch b
        JOIN ticket t ON t.branch_id = b.id
             AND t.day >= to_char(p_from, 'YYYYMMDD')::int
             AND t.day < to_char(p_to, 'YYYYMMDD')::int
             -- the same days in UTC, widened by the largest zone offsets,
             -- so that only their partitions are read
             AND t.issued_at >= p_from::timestamp AT TIME ZONE 'UTC' - interval '15 hours'
             AND t.issued_at < p_to::timestamp AT TIME ZONE 'UTC' + interval '15 hours'
        JOIN stats_leg l ON l.ticket_id = t.id AND l.leg = 0 AND l.call_at IS NOT NULL
        WHERE t.est_wait_s IS NOT NULL
    )
    SELECT p_group,
           CASE p_group WHEN 'child' THEN told.child WHEN 'hour_of_day' THEN told.hour
                        ELSE 0 END AS m,
           count(*),
           round(avg(abs(told.waited_s - told.told_s)), 1),
           round(avg(told.waited_s - told.told_s), 1),
           round(avg(told.told_s), 1),
           round(avg(told.waited_s), 1)
    FROM told
    WHERE p_group <> 'child' OR told.child IS NOT NULL
    GROUP BY m
    ORDER BY m;
END
$$;
COMMENT ON FUNCTION stats_estimate_error(bigint, date, date, text) IS
    'queue-manager''s estimated wait against the wait that followed, for the '
    'tickets issued at the node''s branches on local days [p_from, p_to) that '
    'were told an estimate and then called: tickets, mean absolute error '
    '(mae_s), mean signed error (bias_s: waited - told, positive when customers '
    'waited longer than told) and the two means, in seconds; grouped by none, '
    'child (the node''s child holding the branch, in today''s tree) or '
    'hour_of_day (local hour of issue).';

-- The report's figures gain "estimate": the rows of stats_estimate_error
-- for none, child and hour_of_day.
CREATE OR REPLACE FUNCTION stats_report_figures(p_node bigint, p_from date, p_to date)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_object_agg(g, coalesce(
        (SELECT jsonb_agg(to_jsonb(f) ORDER BY f.grp) FROM stats_figures(p_node, p_from, p_to, g) f),
        '[]'::jsonb))
        || jsonb_build_object('estimate', (
            SELECT jsonb_object_agg(g, coalesce(
                (SELECT jsonb_agg(to_jsonb(e) ORDER BY e.member)
                 FROM stats_estimate_error(p_node, p_from, p_to, g) e), '[]'::jsonb))
            FROM unnest(ARRAY['none', 'child', 'hour_of_day']) AS g))
    FROM unnest(stats_report_groups()) AS g
$$;

-- A report made before a part was added to the reports is compared on
-- what it has.
CREATE OR REPLACE FUNCTION stats_report_read(p_node bigint, p_kind text, p_start date)
RETURNS TABLE (made_at timestamptz, changed boolean, figures jsonb, now jsonb)
LANGUAGE sql STABLE AS $$
    SELECT r.made_at, r.figures <> live.f, r.figures,
           CASE WHEN r.figures <> live.f THEN live.f END
    FROM stats_report r
    CROSS JOIN LATERAL (
        SELECT jsonb_object_agg(k, v) AS f
        FROM jsonb_each(stats_report_figures(r.node_id, r.start_day,
            CASE r.kind WHEN 'day' THEN r.start_day + 1
                        ELSE (r.start_day + interval '1 month')::date END)) AS x(k, v)
        WHERE r.figures ? k) live
    WHERE r.node_id = p_node AND r.kind = p_kind AND r.start_day = p_start
$$;
