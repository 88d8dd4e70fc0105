-- EQMS schema: report snapshots (docs/statistics.md, "Reports"): the daily
-- and monthly figures of every node, stored once the period closed in the
-- node's zone, so that a report shows what it showed when it was made.
-- It only adds a table and functions.
-- compatibility: expand

CREATE TABLE stats_report (
    node_id     bigint NOT NULL,
    kind        text NOT NULL CONSTRAINT stats_report_kind_valid
                    CHECK (kind IN ('day', 'month')),
    start_day   date NOT NULL,
    made_at     timestamptz NOT NULL DEFAULT now(),
    figures     jsonb NOT NULL,
    PRIMARY KEY (node_id, kind, start_day)
);
COMMENT ON TABLE stats_report IS
    'Owner: stats-aggregator. The report of a node for one local day or month, '
    'made after the period closed: figures holds the stats_figures rows of the '
    'groupings none, child, service, class, teller, window, option and '
    'hour_of_day as they were at made_at ({"none": [...], "child": [...], ...}). '
    'Never rewritten: stats_report_read compares it with the live figures.';

CREATE FUNCTION stats_report_groups() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['none', 'child', 'service', 'class', 'teller', 'window', 'option',
                 'hour_of_day']
$$;

-- The figures of one node and range as a report's jsonb.
CREATE FUNCTION stats_report_figures(p_node bigint, p_from date, p_to date) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_object_agg(g, coalesce(
        (SELECT jsonb_agg(to_jsonb(f) ORDER BY f.grp) FROM stats_figures(p_node, p_from, p_to, g) f),
        '[]'::jsonb))
    FROM unnest(stats_report_groups()) AS g
$$;

-- Makes the missing reports of every node for the periods that closed in the
-- node's zone at least p_delay ago: the last p_days days and the last month.
-- Returns how many it made.
CREATE FUNCTION stats_make_reports(p_delay interval DEFAULT '10 minutes', p_days int DEFAULT 3)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    made int;
BEGIN
    WITH local AS (
        SELECT n.id, ((now() - p_delay) AT TIME ZONE n.time_zone)::date AS today
        FROM org_node n
    ), due AS (
        SELECT l.id, 'day'::text AS kind, (l.today - k)::date AS start_day,
               (l.today - k + 1)::date AS end_day
        FROM local l, generate_series(1, p_days) AS k
        UNION ALL
        SELECT l.id, 'month', (date_trunc('month', l.today) - interval '1 month')::date,
               date_trunc('month', l.today)::date
        FROM local l
    )
    INSERT INTO stats_report (node_id, kind, start_day, figures)
    SELECT d.id, d.kind, d.start_day, stats_report_figures(d.id, d.start_day, d.end_day)
    FROM due d
    WHERE NOT EXISTS (SELECT 1 FROM stats_report r WHERE r.node_id = d.id
                      AND r.kind = d.kind AND r.start_day = d.start_day)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS made = ROW_COUNT;
    RETURN made;
END
$$;

-- A report with the live figures beside it: `changed` is true when late
-- facts changed the node's figures since the report was made (then `now`
-- holds the recomputed ones).
CREATE FUNCTION stats_report_read(p_node bigint, p_kind text, p_start date)
RETURNS TABLE (made_at timestamptz, changed boolean, figures jsonb, now jsonb)
LANGUAGE sql STABLE AS $$
    SELECT r.made_at, r.figures <> live.f, r.figures,
           CASE WHEN r.figures <> live.f THEN live.f END
    FROM stats_report r
    CROSS JOIN LATERAL (SELECT stats_report_figures(r.node_id, r.start_day,
        CASE r.kind WHEN 'day' THEN r.start_day + 1
                    ELSE (r.start_day + interval '1 month')::date END) AS f) live
    WHERE r.node_id = p_node AND r.kind = p_kind AND r.start_day = p_start
$$;
COMMENT ON FUNCTION stats_report_read(bigint, text, date) IS
    'The stored report of a node (kind day or month, its first local day) as it '
    'was made, whether late facts changed the figures since (changed), and the '
    'recomputed figures when they did (now).';
