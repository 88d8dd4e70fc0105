-- EQMS schema 22: threshold alerts over a sliding window, HappyOrNot's way
-- (docs/alerts.md, "Threshold rules"): the unsatisfied share of the last M
-- minutes above X % with at least N ratings, per window, teller or branch.
-- A threshold alert opens when its condition holds and resolves by itself
-- when it clears. Also: who an alert of a kind at a branch goes to, in one
-- place.
-- It only adds: a kind, a column, functions.
-- compatibility: expand

ALTER TABLE alert_rule
    DROP CONSTRAINT alert_rule_kind_valid,
    ADD CONSTRAINT alert_rule_kind_valid
        CHECK (kind IN ('unsatisfied_rating', 'unsatisfied_share')),
    ADD COLUMN params jsonb NOT NULL DEFAULT '{}'
        CONSTRAINT alert_rule_params_object CHECK (jsonb_typeof(params) = 'object');
COMMENT ON COLUMN alert_rule.params IS
    'The thresholds of a threshold kind. unsatisfied_share: {"share_pct": 30, '
    '"min_ratings": 5, "minutes": 60, "scopes": ["window", "teller", "branch"]} '
    '(these are the defaults of a member left out).';

-- The active recipients an alert of p_kind at branch p_branch goes to: the
-- branch's own, and those of nodes above it with subtree, wanting the kind.
CREATE FUNCTION alert_recipients_of(p_branch bigint, p_kind text)
RETURNS TABLE (ids bigint[], phones text[])
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(p.id ORDER BY p.id), '{}'),
           coalesce(array_agg(p.phone ORDER BY p.id), '{}')
    FROM alert_recipient p JOIN org_node pn ON pn.id = p.node_id
    JOIN org_node b ON b.id = p_branch
    WHERE p.active AND p_kind = ANY (p.kinds)
      AND (pn.id = b.id OR (p.subtree AND b.path <@ pn.path))
$$;

-- The members (windows, tellers, branches) whose unsatisfied share over
-- the last minutes of their branch's unsatisfied_share rule is above the
-- rule's threshold (firing) and those with an open alert of that kind
-- (to be kept or resolved): one row each, with what the alert's text
-- names. member is "window:<id>", "teller:<id>" or "branch:<id>".
CREATE FUNCTION alert_share_members(p_now timestamptz DEFAULT now())
RETURNS TABLE (branch_id bigint, member text, window_id bigint, staff_id bigint,
               rated bigint, unsatisfied bigint, firing boolean, open_alert uuid,
               minutes int, template text, branch_name text, scope_name text,
               local_time text, recipient_ids bigint[], recipient_phones text[])
LANGUAGE sql STABLE AS $$
    WITH rules AS (
        SELECT b.id AS branch_id, b.name AS branch_name, b.time_zone, r.template,
               coalesce((r.params->>'share_pct')::numeric, 30) AS share_pct,
               coalesce((r.params->>'min_ratings')::int, 5) AS min_ratings,
               coalesce((r.params->>'minutes')::int, 60) AS minutes,
               coalesce(r.params->'scopes', '["window", "teller", "branch"]') AS scopes
        FROM org_node b CROSS JOIN LATERAL alert_rule_of(b.id, 'unsatisfied_share') r
        WHERE b.kind = 'branch' AND r.enabled
    ), counts AS (
        SELECT ru.branch_id, s.scope,
               CASE s.scope WHEN 'window' THEN 'window:' || x.window_id
                            WHEN 'teller' THEN 'teller:' || x.staff_id
                            ELSE 'branch:' || ru.branch_id END AS member,
               CASE WHEN s.scope = 'window' THEN x.window_id END AS window_id,
               CASE WHEN s.scope = 'teller' THEN x.staff_id END AS staff_id,
               count(*) AS rated, count(*) FILTER (WHERE x.unsatisfied) AS unsatisfied,
               ru.share_pct, ru.min_ratings
        FROM rules ru
        CROSS JOIN LATERAL jsonb_array_elements_text(ru.scopes) AS s(scope)
        JOIN LATERAL (SELECT r.window_id, r.staff_id, r.unsatisfied FROM rating r
                      JOIN service_window w ON w.id = r.window_id
                      WHERE w.node_id = ru.branch_id
                        AND r.event_time > p_now - make_interval(mins => ru.minutes)
                        AND r.event_time <= p_now) x
          ON s.scope <> 'teller' OR x.staff_id IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, ru.share_pct, ru.min_ratings
    ), open AS (
        SELECT a.id, a.branch_id, a.facts->>'member' AS member, a.window_id, a.staff_id
        FROM alert a WHERE a.kind = 'unsatisfied_share' AND a.state <> 'resolved'
    )
    SELECT coalesce(c.branch_id, o.branch_id), coalesce(c.member, o.member),
           coalesce(c.window_id, o.window_id), coalesce(c.staff_id, o.staff_id),
           coalesce(c.rated, 0), coalesce(c.unsatisfied, 0),
           coalesce(c.rated >= c.min_ratings
                    AND c.unsatisfied * 100 > c.share_pct * c.rated, false),
           o.id, ru.minutes, ru.template, bn.name,
           CASE split_part(coalesce(c.member, o.member), ':', 1)
               WHEN 'window' THEN (SELECT w.number || '号窗口' FROM service_window w
                                   WHERE w.id = coalesce(c.window_id, o.window_id))
               WHEN 'teller' THEN (SELECT '柜员' || s.name || '(' || s.employee_no || ')'
                                   FROM staff s WHERE s.id = coalesce(c.staff_id, o.staff_id))
               ELSE '全网点' END,
           to_char(p_now AT TIME ZONE bn.time_zone, 'YYYY-MM-DD HH24:MI'),
           rc.ids, rc.phones
    FROM counts c FULL JOIN open o ON o.member = c.member AND o.branch_id = c.branch_id
    JOIN org_node bn ON bn.id = coalesce(c.branch_id, o.branch_id)
    LEFT JOIN rules ru ON ru.branch_id = bn.id
    CROSS JOIN LATERAL alert_recipients_of(bn.id, 'unsatisfied_share') rc
    WHERE o.id IS NOT NULL
       OR (c.rated >= c.min_ratings AND c.unsatisfied * 100 > c.share_pct * c.rated)
$$;
COMMENT ON FUNCTION alert_share_members(timestamptz) IS
    'sms-notifier''s view of the unsatisfied_share rules: each member over its '
    'threshold (firing) or with an open alert (open_alert), with its counts.';
