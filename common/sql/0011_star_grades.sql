-- EQMS schema: star grades of windows and tellers (docs/statistics.md,
-- "Star grades"): the rule per node (inherited) and the grades per period.
-- It only adds tables and functions.
-- compatibility: expand

-- ---------------------------------------------------------------------------
-- Star grades (docs/statistics.md, "Star grades")

CREATE TABLE star_rule (
    node_id     bigint PRIMARY KEY CONSTRAINT star_rule_node_fk
                    REFERENCES org_node (id) ON DELETE CASCADE,
    period      text NOT NULL DEFAULT 'month'
                    CONSTRAINT star_rule_period_valid
                    CHECK (period IN ('day', 'week', 'month', 'quarter', 'year')),
    min_rated   int NOT NULL DEFAULT 30
                    CONSTRAINT star_rule_min_rated_range CHECK (min_rated BETWEEN 1 AND 100000),
    five        numeric(5,4) NOT NULL DEFAULT 0.98,
    four        numeric(5,4) NOT NULL DEFAULT 0.95,
    three       numeric(5,4) NOT NULL DEFAULT 0.90,
    CONSTRAINT star_rule_thresholds_order
        CHECK (1 >= five AND five >= four AND four >= three AND three >= 0)
);
COMMENT ON TABLE star_rule IS
    'Owner: web-api (configuration); read by stats-aggregator. The star grade '
    'rule of a node and the nodes below it that have none of their own: over '
    'the period, fewer than min_rated ratings give no grade (0 stars), else 5 '
    'stars at satisfaction >= five, 4 at >= four, 3 at >= three, else 2. No row '
    'anywhere above a node: the defaults.';

CREATE TABLE stats_star_grade (
    subject     text NOT NULL CONSTRAINT stats_star_grade_subject_valid
                    CHECK (subject IN ('window', 'teller')),
    member      bigint NOT NULL,
    branch_id   bigint NOT NULL,
    period      smallint NOT NULL,
    start_day   date NOT NULL,
    grade       smallint NOT NULL CONSTRAINT stats_star_grade_range
                    CHECK (grade BETWEEN 0 AND 5),
    rated       bigint NOT NULL,
    satisfied   bigint NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject, member, branch_id, period, start_day)
);
COMMENT ON TABLE stats_star_grade IS
    'Owner: stats-aggregator. The star grade of a window or teller (member) at '
    'a branch for one period of its rule (period kind as stats_cell, start_day '
    'local), kept with the cells it is computed from; changed_at is when the '
    'grade last changed. One row per period: the history.';

-- The rule in force at a node: its own, or its nearest ancestor's, or the
-- defaults.
CREATE FUNCTION stats_star_rule_for(p_node bigint)
RETURNS TABLE (period smallint, min_rated int, five numeric, four numeric, three numeric)
LANGUAGE sql STABLE AS $$
    SELECT (CASE r.period WHEN 'day' THEN 1 WHEN 'week' THEN 2 WHEN 'month' THEN 3
                          WHEN 'quarter' THEN 4 ELSE 5 END)::smallint,
           r.min_rated, r.five, r.four, r.three
    FROM (SELECT nlevel(a.path) AS depth, s.period, s.min_rated, s.five, s.four, s.three
          FROM org_node n JOIN org_node a ON a.path @> n.path
          JOIN star_rule s ON s.node_id = a.id WHERE n.id = p_node
          UNION ALL
          SELECT 0, 'month', 30, 0.98, 0.95, 0.90) r
    ORDER BY r.depth DESC
    LIMIT 1
$$;

CREATE FUNCTION stats_star_grade_of(rated bigint, satisfied bigint, min_rated int,
                                    five numeric, four numeric, three numeric)
RETURNS smallint LANGUAGE sql IMMUTABLE AS $$
    SELECT (CASE WHEN rated < min_rated OR rated = 0 THEN 0
                 WHEN satisfied::numeric / rated >= five THEN 5
                 WHEN satisfied::numeric / rated >= four THEN 4
                 WHEN satisfied::numeric / rated >= three THEN 3
                 ELSE 2 END)::smallint
$$;

-- The first local day of the period of kind p (stats_cell's kinds) that
-- holds local date d.
CREATE FUNCTION stats_period_start(p smallint, d date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p WHEN 1 THEN d
                  WHEN 2 THEN date_trunc('week', d)::date
                  WHEN 3 THEN date_trunc('month', d)::date
                  WHEN 4 THEN date_trunc('quarter', d)::date
                  ELSE date_trunc('year', d)::date END
$$;
