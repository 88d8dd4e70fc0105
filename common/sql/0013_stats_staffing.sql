-- EQMS schema: staffing advice (docs/statistics.md, "Staffing advice"): the
-- windows a branch needs per weekday and hour for its service-level target,
-- by the Erlang C formula, beside the windows it had open. Functions only.
-- compatibility: expand

-- Erlang C: the probability that a customer waits, with n servers and
-- offered traffic a (Erlangs, a < n), through Erlang B's recursion
-- (B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))), which stays exact where
-- a^n / n! would overflow.
CREATE FUNCTION stats_erlang_c(n int, a double precision) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    b double precision := 1;
BEGIN
    IF a <= 0 THEN
        RETURN 0;
    END IF;
    IF n <= a THEN
        RETURN 1;
    END IF;
    FOR k IN 1 .. n LOOP
        b := a * b / (k + a * b);
    END LOOP;
    RETURN n * b / (n - a * (1 - b));
END
$$;

-- The share of customers served within target_s with n windows, arrivals
-- per hour and a mean handling time of aht_s: 1 - C(n, a) e^(-(n - a) t / aht).
CREATE FUNCTION stats_erlang_level(n int, arrivals_per_h double precision,
                                   aht_s double precision, target_s double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN arrivals_per_h <= 0 OR aht_s <= 0 THEN 1
                WHEN n <= arrivals_per_h * aht_s / 3600 THEN 0
                ELSE 1 - stats_erlang_c(n, arrivals_per_h * aht_s / 3600)
                         * exp(-(n - arrivals_per_h * aht_s / 3600) * target_s / aht_s) END
$$;

-- The fewest windows that reach `level` (at most 500).
CREATE FUNCTION stats_windows_needed(arrivals_per_h double precision, aht_s double precision,
                                     target_s double precision, level double precision)
RETURNS int
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    n int;
BEGIN
    IF arrivals_per_h <= 0 OR aht_s <= 0 THEN
        RETURN 0;
    END IF;
    n := greatest(1, floor(arrivals_per_h * aht_s / 3600)::int + 1);
    WHILE n < 500 AND stats_erlang_level(n, arrivals_per_h, aht_s, target_s) < level LOOP
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

CREATE FUNCTION stats_staffing(p_node bigint, p_from date, p_to date,
                               p_target_s int DEFAULT 600, p_level numeric DEFAULT 0.8)
RETURNS TABLE (weekday int, hour int, days int, arrivals_per_hour numeric, aht_s numeric,
               windows_needed int, level_with_needed numeric, windows_open numeric)
LANGUAGE sql STABLE AS $$
    WITH d AS (            -- how many of each weekday the range holds
        SELECT extract(isodow FROM g)::int AS weekday, count(*)::int AS n
        FROM generate_series(p_from, p_to - 1, interval '1 day') AS g GROUP BY 1
    ), h AS (              -- the hour cells, summed per weekday and hour
        SELECT extract(isodow FROM c.start_day)::int AS weekday, c.hour::int AS hour,
               sum(c.issued + c.walk_ins + c.transferred_in) AS arrivals,
               sum(c.svc_sum_ms) AS svc_ms, sum(c.svc_n) AS svc_n,
               sum(c.on_duty_ms) AS duty_ms
        FROM stats_cell c
        WHERE c.node_id = p_node AND c.period = 0 AND c.dim = 0
          AND c.start_day >= p_from AND c.start_day < p_to
        GROUP BY 1, 2
    ), overall AS (        -- the mean handling time where an hour served nobody
        SELECT CASE WHEN sum(svc_n) > 0 THEN sum(svc_ms) / sum(svc_n) / 1000.0 END AS aht
        FROM h
    ), r AS (
        SELECT h.weekday, h.hour, d.n AS days,
               h.arrivals::numeric / d.n AS per_hour,
               coalesce(CASE WHEN h.svc_n > 0 THEN h.svc_ms / h.svc_n / 1000.0 END,
                        overall.aht) AS aht,
               h.duty_ms::numeric / d.n / 3600000 AS open
        FROM h JOIN d USING (weekday) CROSS JOIN overall
    )
    SELECT r.weekday, r.hour, r.days, round(r.per_hour, 2), round(r.aht, 1),
           stats_windows_needed(r.per_hour, r.aht, p_target_s, p_level),
           round(stats_erlang_level(stats_windows_needed(r.per_hour, r.aht, p_target_s,
                                                         p_level),
                                    r.per_hour, r.aht, p_target_s)::numeric, 4),
           round(r.open, 2)
    FROM r WHERE r.aht IS NOT NULL ORDER BY 1, 2
$$;
COMMENT ON FUNCTION stats_staffing(bigint, date, date, int, numeric) IS
    'Per weekday (ISO, 1 = Monday) and local hour of node p_node over local dates '
    '[p_from, p_to): the mean arrivals per hour, the mean handling time, the '
    'windows needed for p_level of customers to wait at most p_target_s by the '
    'Erlang C formula, the level they give, and the windows actually open (mean '
    'tellers on duty in that hour).';
