-- EQMS schema: stats-aggregator's tables (docs/statistics.md). It only adds:
-- new tables, functions, an optional column and indexes for its readers.
-- compatibility: expand

-- ---------------------------------------------------------------------------
-- Reason categories of rating options (web-api configures them)

ALTER TABLE rating_option
    ADD COLUMN category text NOT NULL DEFAULT 'none'
        CONSTRAINT rating_option_category_valid
        CHECK (category IN ('none', 'attitude', 'efficiency', 'skill',
                            'environment', 'other'));
COMMENT ON COLUMN rating_option.category IS
    'Why a customer chose the option, for "unsatisfied by reason": attitude, '
    'efficiency, skill, environment, other, or none (a plain grade).';

-- The seeded 6-key scale names its reasons (an option edited since keeps
-- what it was given).
UPDATE rating_option o SET category = v.category
FROM rating_scale s, (VALUES (3, 'attitude'), (4, 'skill'), (5, 'efficiency'), (6, 'other'))
    AS v (code, category)
WHERE s.id = o.scale_id AND s.code = 'std6' AND o.code = v.code AND o.category = 'none';

-- ---------------------------------------------------------------------------
-- Readers' indexes on rating-ingest's facts: stats-aggregator reads each
-- gateway journal's facts in seq order up to its committed cursor.

CREATE INDEX rating_gateway_seq_idx
    ON rating (gateway, gateway_incarnation, gateway_seq);
CREATE INDEX service_record_gateway_seq_idx
    ON service_record (gateway, gateway_incarnation, gateway_seq);

-- ---------------------------------------------------------------------------
-- The tree as it was

CREATE TABLE stats_node_version (
    node_id     bigint NOT NULL,
    valid_from  timestamptz NOT NULL,
    valid_to    timestamptz NOT NULL DEFAULT 'infinity',
    path        ltree NOT NULL,
    ancestors   bigint[] NOT NULL,
    time_zone   text NOT NULL,
    CONSTRAINT stats_node_version_pk PRIMARY KEY (node_id, valid_from),
    CONSTRAINT stats_node_version_order CHECK (valid_to > valid_from)
);
COMMENT ON TABLE stats_node_version IS
    'Owner: stats-aggregator. Each organisation node as it was from valid_from '
    'to valid_to: its path, its ancestors'' ids from the root down to itself, '
    'its time zone. A fact belongs to the ancestors of its branch as the tree '
    'was at the fact''s time (docs/statistics.md, "Periods and the tree").';

-- ---------------------------------------------------------------------------
-- Cursors

CREATE TABLE stats_cursor (
    source      text NOT NULL
                    CONSTRAINT stats_cursor_source_valid
                    CHECK (source IN ('ticket_event', 'gateway')),
    stream      text NOT NULL,
    position    bigint NOT NULL CONSTRAINT stats_cursor_position_nonnegative
                    CHECK (position >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stats_cursor_pk PRIMARY KEY (source, stream)
);
COMMENT ON TABLE stats_cursor IS
    'Owner: stats-aggregator. How far each stream of facts has been turned '
    'into figures, moved in the transaction that wrote them: ticket_event '
    'per branch (stream = branch id, position = seq), rating-ingest''s facts '
    'per gateway journal (stream = gateway "/" incarnation, position = seq).';

-- ---------------------------------------------------------------------------
-- Ticket legs

CREATE TABLE stats_leg (
    ticket_id    uuid NOT NULL,
    leg          smallint NOT NULL,
    branch_id    bigint NOT NULL,
    service_id   bigint NOT NULL,
    class        smallint NOT NULL,
    origin       smallint NOT NULL,
    start_at     timestamptz NOT NULL,
    target_s     int NOT NULL,
    call_at      timestamptz,
    window_id    bigint,
    staff_id     bigint,
    started      boolean NOT NULL,
    serving_since timestamptz,
    serve_ms     bigint NOT NULL,
    outcome      smallint NOT NULL,
    outcome_at   timestamptz,
    CONSTRAINT stats_leg_pk PRIMARY KEY (ticket_id, leg)
);
CREATE INDEX stats_leg_branch_start_idx ON stats_leg (branch_id, start_at);
CREATE INDEX stats_leg_open_idx ON stats_leg (ticket_id) WHERE outcome = 0;
COMMENT ON TABLE stats_leg IS
    'Owner: stats-aggregator. Every ticket leg (docs/statistics.md, "Ticket '
    'legs") in its present state: origin 0 issued, 1 walk-in, 2 transfer; '
    'class 0 ordinary, 1 vip, 2 green; outcome 0 open, 1 served, 2 no-show, '
    '3 abandoned, 4 transferred. The exact percentiles of one branch''s day '
    'are computed from it.';

CREATE TABLE stats_open_session (
    session_id  uuid PRIMARY KEY,
    branch_id   bigint NOT NULL
);
COMMENT ON TABLE stats_open_session IS
    'Owner: stats-aggregator. Staff sessions seen open: their on-duty time is '
    'counted when they close.';

-- ---------------------------------------------------------------------------
-- Cells

CREATE TABLE stats_cell (
    node_id          bigint NOT NULL,
    period           smallint NOT NULL,   -- 0 hour 1 day 2 week 3 month 4 quarter 5 year
    start_day        date NOT NULL,       -- local date of the period's first day
    hour             smallint NOT NULL,   -- hour of that day (period 0), else 0
    dim              smallint NOT NULL,   -- 0 all 1 service 2 class 3 hour of day
                                          -- 4 window 5 teller 6 option
    member           bigint NOT NULL,     -- the dimension's member, 0 for all
    issued           bigint NOT NULL DEFAULT 0,
    walk_ins         bigint NOT NULL DEFAULT 0,
    transferred_in   bigint NOT NULL DEFAULT 0,
    served           bigint NOT NULL DEFAULT 0,
    no_show          bigint NOT NULL DEFAULT 0,
    abandoned        bigint NOT NULL DEFAULT 0,
    transferred      bigint NOT NULL DEFAULT 0,
    wait_n           bigint NOT NULL DEFAULT 0,
    wait_sum_ms      bigint NOT NULL DEFAULT 0,
    sl_served        bigint NOT NULL DEFAULT 0,
    sl_served_in     bigint NOT NULL DEFAULT 0,
    sl_abandoned_in  bigint NOT NULL DEFAULT 0,
    svc_n            bigint NOT NULL DEFAULT 0,
    svc_sum_ms       bigint NOT NULL DEFAULT 0,
    rated            bigint NOT NULL DEFAULT 0,
    satisfied        bigint NOT NULL DEFAULT 0,
    unsatisfied      bigint NOT NULL DEFAULT 0,
    score_x10        bigint NOT NULL DEFAULT 0,
    services         bigint NOT NULL DEFAULT 0,
    serving_ms       bigint NOT NULL DEFAULT 0,
    on_duty_ms       bigint NOT NULL DEFAULT 0,
    wait_max_ms      bigint NOT NULL DEFAULT 0,
    svc_max_ms       bigint NOT NULL DEFAULT 0,
    categories       bigint[],            -- ratings per category (st_category_t order)
    wait_hist        int[],               -- st_hist buckets, trailing zeros cut
    svc_hist         int[],
    CONSTRAINT stats_cell_pk PRIMARY KEY (node_id, period, start_day, hour, dim, member)
);
COMMENT ON TABLE stats_cell IS
    'Owner: stats-aggregator. The summable parts of every measure for one '
    'node, period and dimension member (docs/statistics.md, "How the figures '
    'are kept"). Read through the stats_* functions.';

-- ---------------------------------------------------------------------------
-- Facts that could not be placed

CREATE TABLE stats_unplaced (
    source      text NOT NULL,
    fact        text NOT NULL,
    reason      text NOT NULL,
    seen_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stats_unplaced_pk PRIMARY KEY (source, fact)
);
COMMENT ON TABLE stats_unplaced IS
    'Owner: stats-aggregator. A fact it could not place in the figures (an '
    'unknown window or branch, a time far in the future, an event of a '
    'ticket it never saw issued), with the reason: counted in its metrics '
    'and listed for web-api, never silently skipped.';

-- ---------------------------------------------------------------------------
-- Reading: helpers

CREATE FUNCTION stats_array_add(a bigint[], b int[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN b IS NULL THEN a
                ELSE (SELECT array_agg(coalesce(x, 0) + coalesce(y, 0))
                      FROM unnest(a, b) AS u(x, y)) END
$$;
CREATE FUNCTION stats_array_add(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN b IS NULL THEN a
                ELSE (SELECT array_agg(coalesce(x, 0) + coalesce(y, 0))
                      FROM unnest(a, b) AS u(x, y)) END
$$;
CREATE AGGREGATE stats_sum(int[]) (SFUNC = stats_array_add, STYPE = bigint[]);
CREATE AGGREGATE stats_sum(bigint[]) (SFUNC = stats_array_add, STYPE = bigint[]);
COMMENT ON AGGREGATE stats_sum(int[]) IS
    'Element-wise sum of histograms (stats_cell.wait_hist, svc_hist).';

-- The histogram's buckets (services/stats-aggregator/st_hist.h): lower edge
-- of bucket b (1-based, as PostgreSQL arrays are) in seconds.
CREATE FUNCTION stats_hist_lower_s(b int) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN b <= 40 THEN (b - 1) * 15
                WHEN b <= 60 THEN 600 + (b - 41) * 60
                WHEN b <= 78 THEN 1800 + (b - 61) * 300
                WHEN b <= 98 THEN 7200 + (b - 79) * 1800
                ELSE 43200 END
$$;

-- The nearest-rank percentile p (0 < p <= 100) of a histogram, in seconds:
-- the upper edge of the bucket holding the rank (docs/statistics.md,
-- "Percentiles"); NULL for an empty one.
CREATE FUNCTION stats_hist_percentile(h bigint[], p numeric) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH c AS (SELECT b, sum(n) OVER (ORDER BY b) AS upto, sum(n) OVER () AS total
               FROM unnest(h) WITH ORDINALITY AS u(n, b))
    SELECT CASE WHEN b >= 99 THEN stats_hist_lower_s(99) ELSE stats_hist_lower_s(b::int + 1) END
    FROM c WHERE total > 0 AND upto >= greatest(1, ceil(p / 100 * total))
    ORDER BY b LIMIT 1
$$;

-- Values counted in [from_s, to_s) (to_s NULL: no limit); both are bucket edges.
CREATE FUNCTION stats_hist_between(h bigint[], from_s int, to_s int) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN h IS NULL THEN NULL ELSE coalesce(sum(n), 0)::bigint END
    FROM unnest(h) WITH ORDINALITY AS u(n, b)
    WHERE stats_hist_lower_s(b::int) >= from_s
      AND (to_s IS NULL OR stats_hist_lower_s(b::int) < to_s)
$$;

-- The fewest periods that cover the local dates [p_from, p_to): greedily
-- the longest period of `kinds` (2 week .. 5 year; day 1 is always allowed)
-- that starts at the first uncovered date and ends within the range.
CREATE FUNCTION stats_cover(p_from date, p_to date, kinds int[] DEFAULT '{2,3,4,5}')
RETURNS TABLE (period smallint, start_day date)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    d date := p_from;
    e date;
BEGIN
    WHILE d < p_to LOOP
        IF 5 = ANY(kinds) AND d = date_trunc('year', d)::date
           AND (d + interval '1 year')::date <= p_to THEN
            period := 5; e := (d + interval '1 year')::date;
        ELSIF 4 = ANY(kinds) AND d = date_trunc('quarter', d)::date
              AND (d + interval '3 months')::date <= p_to THEN
            period := 4; e := (d + interval '3 months')::date;
        ELSIF 3 = ANY(kinds) AND d = date_trunc('month', d)::date
              AND (d + interval '1 month')::date <= p_to THEN
            period := 3; e := (d + interval '1 month')::date;
        ELSIF 2 = ANY(kinds) AND extract(isodow FROM d) = 1 AND d + 7 <= p_to THEN
            period := 2; e := d + 7;
        ELSE
            period := 1; e := d + 1;
        END IF;
        start_day := d;
        RETURN NEXT;
        d := e;
    END LOOP;
END
$$;
COMMENT ON FUNCTION stats_cover(date, date, int[]) IS
    'The stats_cell periods (kind, first day) that exactly cover local dates '
    '[p_from, p_to), as few as possible.';

-- ---------------------------------------------------------------------------
-- Reading: the figures

-- The sums of the cells one figure is made of (stats_figures' inner rows).
CREATE TYPE stats_sums AS (
    issued bigint, walk_ins bigint, transferred_in bigint, served bigint,
    no_show bigint, abandoned bigint, transferred bigint, wait_n bigint,
    wait_sum_ms bigint, sl_served bigint, sl_served_in bigint, sl_abandoned_in bigint,
    svc_n bigint, svc_sum_ms bigint, rated bigint, satisfied bigint, unsatisfied bigint,
    score_x10 bigint, services bigint, serving_ms bigint, on_duty_ms bigint,
    wait_max_ms bigint, svc_max_ms bigint, categories bigint[], wait_hist bigint[],
    svc_hist bigint[]);

CREATE FUNCTION stats_ratio(n numeric, d numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN d IS NULL OR d = 0 THEN NULL ELSE round(n / d, 4) END
$$;

-- Wilson score interval's lower bound (z = 1.96) of k successes in n.
CREATE FUNCTION stats_wilson_lower(k numeric, n numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN n IS NULL OR n = 0 THEN NULL ELSE round(
        ((k / n) + 1.9208 / n - 1.96 * sqrt((k / n) * (1 - k / n) / n + 0.9604 / (n * n)))
        / (1 + 3.8416 / n), 4) END
$$;

CREATE TYPE stats_row AS (
    grp text, member bigint,
    issued bigint, walk_ins bigint, transferred_in bigint, visits bigint, served bigint,
    pct_served numeric, no_show bigint, abandoned bigint, transferred bigint,
    wait_avg_s numeric, wait_max_s numeric, wait_p90_s numeric,
    svc_avg_s numeric, svc_max_s numeric, svc_p90_s numeric,
    service_level numeric, service_level_abandoned numeric,
    wait_0_3 bigint, wait_3_6 bigint, wait_6_9 bigint, wait_9_12 bigint,
    wait_12_15 bigint, wait_15_plus bigint,
    svc_0_3 bigint, svc_3_6 bigint, svc_6_9 bigint, svc_9_12 bigint,
    svc_12_15 bigint, svc_15_plus bigint,
    rated bigint, rated_share numeric, satisfied bigint, satisfaction numeric,
    satisfaction_lower numeric, unsatisfied bigint, unsatisfied_ratio numeric,
    mean_score numeric,
    by_none bigint, by_attitude bigint, by_efficiency bigint, by_skill bigint,
    by_environment bigint, by_other bigint,
    services bigint, on_duty_s numeric, serving_s numeric, idle_s numeric,
    customers_per_hour numeric, busy_ratio numeric);
COMMENT ON TYPE stats_row IS
    'One row of figures (docs/statistics.md, "Measures"): grp names the group '
    '(a node id, a member id, a date, an hour) and member its id.';

CREATE FUNCTION stats_derive(grp text, member bigint, s stats_sums, exact_wait_p90_s numeric,
                             exact_svc_p90_s numeric) RETURNS stats_row
LANGUAGE sql IMMUTABLE AS $$
    SELECT grp, member,
        s.issued, s.walk_ins, s.transferred_in, s.issued + s.walk_ins, s.served,
        stats_ratio(s.served, s.issued + s.walk_ins + s.transferred_in),
        s.no_show, s.abandoned, s.transferred,
        stats_ratio(s.wait_sum_ms, s.wait_n * 1000),
        CASE WHEN s.wait_n > 0 THEN round(s.wait_max_ms / 1000.0, 3) END,
        coalesce(round(exact_wait_p90_s, 3), stats_hist_percentile(s.wait_hist, 90)),
        stats_ratio(s.svc_sum_ms, s.svc_n * 1000),
        CASE WHEN s.svc_n > 0 THEN round(s.svc_max_ms / 1000.0, 3) END,
        coalesce(round(exact_svc_p90_s, 3), stats_hist_percentile(s.svc_hist, 90)),
        stats_ratio(s.sl_served_in, s.sl_served),
        stats_ratio(s.sl_served_in + s.sl_abandoned_in, s.sl_served + s.abandoned),
        stats_hist_between(s.wait_hist, 0, 180), stats_hist_between(s.wait_hist, 180, 360),
        stats_hist_between(s.wait_hist, 360, 540), stats_hist_between(s.wait_hist, 540, 720),
        stats_hist_between(s.wait_hist, 720, 900), stats_hist_between(s.wait_hist, 900, NULL),
        stats_hist_between(s.svc_hist, 0, 180), stats_hist_between(s.svc_hist, 180, 360),
        stats_hist_between(s.svc_hist, 360, 540), stats_hist_between(s.svc_hist, 540, 720),
        stats_hist_between(s.svc_hist, 720, 900), stats_hist_between(s.svc_hist, 900, NULL),
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
$$;

-- The sums over a set of cells, as SQL text for stats_figures.
CREATE FUNCTION stats_sums_sql() RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'ROW(sum(c.issued), sum(c.walk_ins), sum(c.transferred_in), sum(c.served), '
        || 'sum(c.no_show), sum(c.abandoned), sum(c.transferred), sum(c.wait_n), '
        || 'sum(c.wait_sum_ms), sum(c.sl_served), sum(c.sl_served_in), '
        || 'sum(c.sl_abandoned_in), sum(c.svc_n), sum(c.svc_sum_ms), sum(c.rated), '
        || 'sum(c.satisfied), sum(c.unsatisfied), sum(c.score_x10), sum(c.services), '
        || 'sum(c.serving_ms), sum(c.on_duty_ms), max(c.wait_max_ms), max(c.svc_max_ms), '
        || 'stats_sum(c.categories), '
        || 'CASE WHEN $5 THEN stats_sum(c.wait_hist) END, '
        || 'CASE WHEN $5 THEN stats_sum(c.svc_hist) END)::stats_sums'
$$;

-- The on-duty time of the sessions still open, inside [from_ts, to_ts), by
-- branch, window and teller (docs/statistics.md: an open session counts up
-- to now).
CREATE FUNCTION stats_open_duty(from_ts timestamptz, to_ts timestamptz)
RETURNS TABLE (branch_id bigint, window_id bigint, staff_id bigint, ms bigint)
LANGUAGE sql STABLE AS $$
    SELECT o.branch_id, s.window_id, s.staff_id,
           (extract(epoch FROM least(now(), to_ts) - greatest(s.login_at, from_ts))
            * 1000)::bigint
    FROM stats_open_session o JOIN staff_session s ON s.id = o.session_id
    WHERE s.logout_at IS NULL AND s.login_at < least(now(), to_ts)
$$;

CREATE FUNCTION stats_figures(p_node bigint, p_from date, p_to date,
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
        'SELECT (stats_derive(coalesce(s.g, d.g), coalesce(s.m, d.m), '
        'ROW((s.sums).issued, (s.sums).walk_ins, (s.sums).transferred_in, '
        '(s.sums).served, (s.sums).no_show, (s.sums).abandoned, (s.sums).transferred, '
        '(s.sums).wait_n, (s.sums).wait_sum_ms, (s.sums).sl_served, (s.sums).sl_served_in, '
        '(s.sums).sl_abandoned_in, (s.sums).svc_n, (s.sums).svc_sum_ms, (s.sums).rated, '
        '(s.sums).satisfied, (s.sums).unsatisfied, (s.sums).score_x10, (s.sums).services, '
        '(s.sums).serving_ms, coalesce((s.sums).on_duty_ms, 0) + coalesce(d.ms, 0), '
        '(s.sums).wait_max_ms, (s.sums).svc_max_ms, (s.sums).categories, '
        '(s.sums).wait_hist, (s.sums).svc_hist)::stats_sums, $8, $9)).* '
        'FROM s FULL JOIN d ON d.g = s.g AND d.m = s.m ORDER BY 1',
        stats_sums_sql(), sel,
        coalesce(duty, 'SELECT NULL::text AS g, NULL::bigint AS m, NULL::bigint AS ms '
                       'WHERE false'))
    USING p_node, p_from, p_to, node_path, p_percentiles, from_ts, to_ts,
          exact_wait, exact_svc;
END
$$;
COMMENT ON FUNCTION stats_figures(bigint, date, date, text, boolean) IS
    'Every measure of docs/statistics.md for node p_node over its local dates '
    '[p_from, p_to), one row per group: none (the node), child (each child '
    'node), service, class, option, window, teller (their ids), hour_of_day '
    '(0..23, whole months and years, else days), day / week / month (each '
    'period starting in the range), hour (each hour of the days in the range). '
    'p_percentiles false skips the histograms (faster). No row for an '
    'unknown node.';

-- ---------------------------------------------------------------------------
-- Rankings and comparisons (docs/statistics.md, "Reading the figures")

-- The sample a measure's value rests on: a member with fewer is not ranked.
CREATE FUNCTION stats_sample_of(measure text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN measure IN ('satisfaction', 'satisfaction_lower', 'unsatisfied_ratio',
                         'mean_score', 'satisfied', 'unsatisfied')
             OR measure LIKE 'by\_%' THEN 'rated'
        WHEN measure IN ('rated_share', 'customers_per_hour', 'busy_ratio', 'on_duty_s',
                         'serving_s', 'idle_s', 'rated') THEN 'services'
        WHEN measure LIKE 'wait\_%' OR measure LIKE 'svc\_%'
             OR measure LIKE 'service\_level%' THEN 'served'
        ELSE 'visits' END
$$;

CREATE FUNCTION stats_rank(p_node bigint, p_from date, p_to date, p_group text,
                           p_measure text, p_n int DEFAULT 10, p_min_sample int DEFAULT 30,
                           p_top boolean DEFAULT true)
RETURNS TABLE (rank int, grp text, member bigint, value numeric, sample bigint,
               rank_key numeric)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    sample_col text := stats_sample_of(p_measure);
    key text;
BEGIN
    IF p_group NOT IN ('child', 'service', 'class', 'option', 'window', 'teller',
                       'hour_of_day', 'day', 'week', 'month', 'hour') THEN
        RAISE EXCEPTION 'cannot rank by grouping "%" (child, service, class, option, '
            'window, teller, hour_of_day, day, week, month, hour)', p_group
            USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute a
                   WHERE a.attrelid = 'stats_row'::regclass AND a.attname = p_measure
                     AND a.attnum > 0 AND NOT a.attisdropped
                     AND a.atttypid IN ('numeric'::regtype, 'bigint'::regtype)) THEN
        RAISE EXCEPTION 'unknown measure "%" (a numeric column of stats_row)', p_measure
            USING ERRCODE = '22023';
    END IF;
    IF p_n < 1 OR p_min_sample < 0 THEN
        RAISE EXCEPTION 'p_n must be >= 1 and p_min_sample >= 0' USING ERRCODE = '22023';
    END IF;
    -- A proportion is ranked by how sure it is (Wilson's interval over its
    -- sample): the bound toward the bottom of the list for the top, the
    -- bound toward the top for the bottom.
    key := CASE p_measure
        WHEN 'satisfaction' THEN CASE WHEN p_top
            THEN 'stats_wilson_lower(f.satisfied, f.rated)'
            ELSE '1 - stats_wilson_lower(f.rated - f.satisfied, f.rated)' END
        WHEN 'unsatisfied_ratio' THEN CASE WHEN p_top
            THEN 'stats_wilson_lower(f.unsatisfied, f.rated)'
            ELSE '1 - stats_wilson_lower(f.rated - f.unsatisfied, f.rated)' END
        ELSE format('f.%I::numeric', p_measure) END;
    RETURN QUERY EXECUTE format(
        'SELECT (row_number() OVER (ORDER BY k %s, f.grp))::int, f.grp, f.member, '
        '       f.%I::numeric, f.%I, k '
        'FROM stats_figures($1, $2, $3, $4, $5) f '
        'CROSS JOIN LATERAL (SELECT %s AS k) r '
        'WHERE f.%I >= $6 AND k IS NOT NULL '
        'ORDER BY 1 LIMIT $7',
        CASE WHEN p_top THEN 'DESC' ELSE 'ASC' END, p_measure, sample_col, key, sample_col)
    USING p_node, p_from, p_to, p_group, p_measure LIKE '%p90%', p_min_sample, p_n;
END
$$;
COMMENT ON FUNCTION stats_rank(bigint, date, date, text, text, int, int, boolean) IS
    'The top (p_top) or bottom p_n members of a grouping of stats_figures by '
    'p_measure, among those with at least p_min_sample in the measure''s sample '
    '(stats_sample_of: rated for rating measures, services for teller duty, '
    'served for waits and service times, else visits). satisfaction and '
    'unsatisfied_ratio are ranked by the Wilson score bound (rank_key), so a '
    'member with 3 ratings does not top the list; value is the measure itself.';

-- The period before [p_from, p_to) of the same kind: the previous whole
-- months when the range is whole months (so March compares with February),
-- else the same number of days just before.
CREATE FUNCTION stats_previous_range(p_from date, p_to date, OUT from_day date,
                                     OUT to_day date)
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN extract(day FROM p_from) = 1 AND extract(day FROM p_to) = 1
                THEN (p_from - (age(p_to, p_from)))::date
                ELSE p_from - (p_to - p_from) END,
           p_from
$$;

CREATE FUNCTION stats_compare(p_node bigint, p_from date, p_to date,
                              p_group text DEFAULT 'none')
RETURNS TABLE (period text, from_day date, to_day date, figures stats_row)
LANGUAGE sql STABLE AS $$
    WITH r (period, from_day, to_day) AS (
        VALUES ('current', p_from, p_to)
        UNION ALL SELECT 'previous', p.from_day, p.to_day
                  FROM stats_previous_range(p_from, p_to) p
        UNION ALL VALUES ('year_before', (p_from - interval '1 year')::date,
                          (p_to - interval '1 year')::date))
    SELECT r.period, r.from_day, r.to_day, f
    FROM r CROSS JOIN LATERAL stats_figures(p_node, r.from_day, r.to_day, p_group) f
$$;
COMMENT ON FUNCTION stats_compare(bigint, date, date, text) IS
    'stats_figures of [p_from, p_to) (current), of the period before it '
    '(previous: the previous whole months for whole months, else as many days '
    'just before) and of the same dates a year earlier (year_before).';
