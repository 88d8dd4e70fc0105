-- EQMS schema 25: reports made one at a time (docs/benchmarks.md, "stats";
-- docs/statistics.md, "Reports"). stats_make_reports made every due report
-- of every node in one statement: at a bank's size it outlasted the
-- statement timeout, was rolled back and made nothing, every minute.
-- stats_reports_due lists the due reports (cheap: no figures), and
-- stats_make_report makes one; the aggregator calls the second once per
-- report, each in its own transaction. stats_make_reports stays, now made
-- of the two (still one statement: for a manual catch-up only).
-- It only adds functions and replaces one with the same signature.
-- compatibility: expand

-- The reports missing for the periods that had closed in each node's zone
-- at p_at: the p_days local days before that day and the month before
-- that month. Deepest nodes first (branches, whose reports are the
-- cheapest), then days before months, the latest first.
CREATE FUNCTION stats_reports_due(p_at timestamptz, p_days int DEFAULT 3)
RETURNS TABLE (node_id bigint, kind text, start_day date)
LANGUAGE sql STABLE AS $$
    WITH local AS (
        SELECT n.id, nlevel(n.path) AS depth, (p_at AT TIME ZONE n.time_zone)::date AS today
        FROM org_node n
    ), due AS (
        SELECT l.id, l.depth, 'day'::text AS kind, (l.today - k)::date AS start_day
        FROM local l, generate_series(1, p_days) AS k
        UNION ALL
        SELECT l.id, l.depth, 'month', (date_trunc('month', l.today) - interval '1 month')::date
        FROM local l
    )
    SELECT d.id, d.kind, d.start_day
    FROM due d
    WHERE NOT EXISTS (SELECT 1 FROM stats_report r WHERE r.node_id = d.id
                      AND r.kind = d.kind AND r.start_day = d.start_day)
    ORDER BY d.depth DESC, d.kind, d.start_day DESC, d.id
$$;
COMMENT ON FUNCTION stats_reports_due(timestamptz, int) IS
    'The reports (node, kind day or month, first local day) not yet made of the '
    'periods that had closed in each node''s zone at p_at: the p_days days before '
    'that local day and the month before. Computes no figure.';

-- Makes one report if it is missing. True if it made it.
CREATE FUNCTION stats_make_report(p_node bigint, p_kind text, p_start date)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF p_kind NOT IN ('day', 'month') THEN
        RAISE EXCEPTION 'unknown report kind %', p_kind;
    END IF;
    INSERT INTO stats_report (node_id, kind, start_day, figures)
    SELECT p_node, p_kind, p_start, stats_report_figures(p_node, p_start,
        CASE p_kind WHEN 'day' THEN p_start + 1
                    ELSE (p_start + interval '1 month')::date END)
    WHERE NOT EXISTS (SELECT 1 FROM stats_report r WHERE r.node_id = p_node
                      AND r.kind = p_kind AND r.start_day = p_start)
    ON CONFLICT DO NOTHING;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION stats_make_report(bigint, text, date) IS
    'Makes the report of one node for one local day or month (kind day or month, '
    'its first local day) unless it exists; true if it made it. Never rewrites one.';

-- As before: every due report in one statement (the aggregator no longer
-- calls it).
CREATE OR REPLACE FUNCTION stats_make_reports(p_delay interval DEFAULT '10 minutes',
                                              p_days int DEFAULT 3)
RETURNS int
LANGUAGE sql AS $$
    SELECT count(*) FILTER (WHERE stats_make_report(d.node_id, d.kind, d.start_day))::int
    FROM stats_reports_due(now() - p_delay, p_days) d
$$;
