-- EQMS schema 36: a ranking by a count or a rating proportion reads only the
-- sums it ranks by (docs/statistics.md, "Query interface"; docs/benchmarks.md,
-- "stats").
--
-- stats_rank derived every figure of every member with stats_figures and
-- kept ten: "the top 10 unsatisfied tellers of a region, a quarter" at a
-- region of 100 branches derived ~50 figures of 800 tellers (cells read in
-- 2 ms, the figures in 15) for 10 rows. The rankings managers run are by
-- satisfaction, unsatisfied ratio or a count. Those measures are plain sums
-- of the cells, or a ratio of two (stats_figures' own expressions:
-- stats_ratio of the sums), and their samples are sums too, so they are
-- ranked from the cells' sums alone, grouped as stats_figures groups them
-- (stats_figures_cells). Every other measure (waits, percentiles, service
-- levels, duty, which also counts sessions still open) keeps the path
-- through stats_figures. Same signature, same rows: tested against the
-- ranking of stats_figures' rows for every lean measure and grouping.

-- compatibility: expand

CREATE OR REPLACE FUNCTION stats_rank(p_node bigint, p_from date, p_to date, p_group text,
                                      p_measure text, p_n int DEFAULT 10,
                                      p_min_sample int DEFAULT 30, p_top boolean DEFAULT true)
RETURNS TABLE (rank int, grp text, member bigint, value numeric, sample bigint,
               rank_key numeric)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    sample_col text := stats_sample_of(p_measure);
    node_path ltree;
    key text;
    value text;
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
    IF p_measure IN ('satisfaction', 'unsatisfied_ratio', 'issued', 'walk_ins', 'served',
                     'no_show', 'abandoned', 'transferred', 'rated', 'satisfied',
                     'unsatisfied', 'services') THEN
        SELECT n.path INTO node_path FROM org_node n WHERE n.id = p_node;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        IF p_to <= p_from THEN
            RAISE EXCEPTION 'empty range % .. %', p_from, p_to USING ERRCODE = '22023';
        END IF;
        -- the measure as stats_figures derives it from the same sums
        value := CASE p_measure
            WHEN 'satisfaction' THEN 'stats_ratio(f.satisfied, f.rated)'
            WHEN 'unsatisfied_ratio' THEN 'stats_ratio(f.unsatisfied, f.rated)'
            ELSE key END;
        RETURN QUERY EXECUTE format(
            'SELECT (row_number() OVER (ORDER BY k %s, f.grp))::int, f.grp, f.member, '
            '       %s, f.%I, k '
            'FROM (SELECT c.g AS grp, c.m AS member, sum(c.issued)::bigint AS issued, '
            '             sum(c.walk_ins)::bigint AS walk_ins, '
            '             sum(c.issued + c.walk_ins)::bigint AS visits, '
            '             sum(c.served)::bigint AS served, sum(c.no_show)::bigint AS no_show, '
            '             sum(c.abandoned)::bigint AS abandoned, '
            '             sum(c.transferred)::bigint AS transferred, '
            '             sum(c.rated)::bigint AS rated, sum(c.satisfied)::bigint AS satisfied, '
            '             sum(c.unsatisfied)::bigint AS unsatisfied, '
            '             sum(c.services)::bigint AS services '
            '      FROM stats_figures_cells($1, $2, $3, $4, $5) c GROUP BY c.g, c.m) f '
            'CROSS JOIN LATERAL (SELECT %s AS k) r '
            'WHERE f.%I >= $6 AND k IS NOT NULL '
            'ORDER BY 1 LIMIT $7',
            CASE WHEN p_top THEN 'DESC' ELSE 'ASC' END, value, sample_col, key, sample_col)
        USING p_node, p_from, p_to, p_group, node_path, p_min_sample, p_n;
        RETURN;
    END IF;
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
