-- EQMS schema 22: threshold alerts (docs/alerts.md, "Threshold rules"):
-- HappyOrNot's sliding window (the unsatisfied share of the last M minutes
-- above X % with at least N ratings, per window, teller or branch) and a
-- device offline for more than K minutes.
-- A threshold alert opens when its condition holds and resolves by itself
-- when it clears. Also: who an alert of a kind at a branch goes to, in one
-- place.
-- It only adds: a kind, a column, functions.
-- compatibility: expand

ALTER TABLE alert_rule
    DROP CONSTRAINT alert_rule_kind_valid,
    ADD CONSTRAINT alert_rule_kind_valid
        CHECK (kind IN ('unsatisfied_rating', 'unsatisfied_share', 'device_offline')),
    ADD COLUMN params jsonb NOT NULL DEFAULT '{}'
        CONSTRAINT alert_rule_params_object CHECK (jsonb_typeof(params) = 'object');
COMMENT ON COLUMN alert_rule.params IS
    'The thresholds of a threshold kind. unsatisfied_share: {"share_pct": 30, '
    '"min_ratings": 5, "minutes": 60, "scopes": ["window", "teller", "branch"]} '
    '(these are the defaults of a member left out); device_offline: {"minutes": 10}.';

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

-- What a threshold rule watches, one row per member that fires or has an
-- open alert of the kind (to keep or to resolve): the member ("window:12",
-- "teller:7", "branch:4", "device:EQ-0001"), whether it fires, its open
-- alert, the rule's template (NULL: the rule is gone or off), the fields
-- its text may name, and the note an alert gets when it clears. (Each
-- finds its own open alerts through alert_open_kind_idx: joining every
-- open alert's member afterwards read them all, 100 ms and more.)

-- unsatisfied_share: the unsatisfied share of the member's ratings of the
-- last `minutes` is above share_pct with at least min_ratings ratings.
CREATE FUNCTION alert_share_members(p_now timestamptz DEFAULT now())
RETURNS TABLE (branch_id bigint, member text, window_id bigint, staff_id bigint,
               firing boolean, open_alert uuid, template text, fields jsonb, note text)
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
        SELECT ru.branch_id,
               CASE s.scope WHEN 'window' THEN 'window:' || x.window_id
                            WHEN 'teller' THEN 'teller:' || x.staff_id
                            ELSE 'branch:' || ru.branch_id END AS member,
               CASE WHEN s.scope = 'window' THEN x.window_id END AS window_id,
               CASE WHEN s.scope = 'teller' THEN x.staff_id END AS staff_id,
               count(*) AS rated, count(*) FILTER (WHERE x.unsatisfied) AS unsatisfied
        FROM rules ru
        CROSS JOIN LATERAL jsonb_array_elements_text(ru.scopes) AS s(scope)
        JOIN LATERAL (SELECT r.window_id, r.staff_id, r.unsatisfied FROM rating r
                      JOIN service_window w ON w.id = r.window_id
                      WHERE w.node_id = ru.branch_id
                        AND r.event_time > p_now - make_interval(mins => ru.minutes)
                        AND r.event_time <= p_now) x
          ON s.scope <> 'teller' OR x.staff_id IS NOT NULL
        GROUP BY 1, 2, 3, 4
    ), open AS (
        SELECT a.id, a.branch_id, a.facts->>'member' AS member, a.window_id, a.staff_id
        FROM alert a WHERE a.kind = 'unsatisfied_share' AND a.state <> 'resolved'
    ), members AS (
        SELECT coalesce(c.branch_id, o.branch_id) AS branch_id,
               coalesce(c.member, o.member) AS member,
               coalesce(c.window_id, o.window_id) AS window_id,
               coalesce(c.staff_id, o.staff_id) AS staff_id,
               coalesce(c.rated, 0) AS rated, coalesce(c.unsatisfied, 0) AS unsatisfied,
               o.id AS open_alert
        FROM counts c FULL JOIN open o ON o.member = c.member AND o.branch_id = c.branch_id
    ), judged AS (
        SELECT m.*, ru.template, ru.minutes,
               coalesce(m.rated >= ru.min_ratings
                        AND m.unsatisfied * 100 > ru.share_pct * m.rated, false) AS firing
        FROM members m LEFT JOIN rules ru ON ru.branch_id = m.branch_id
    )
    SELECT m.branch_id, m.member, m.window_id, m.staff_id, m.firing, m.open_alert,
           m.template,
           jsonb_build_object(
               'branch', bn.name,
               'scope', CASE split_part(m.member, ':', 1)
                   WHEN 'window' THEN (SELECT w.number || '号窗口' FROM service_window w
                                       WHERE w.id = m.window_id)
                   WHEN 'teller' THEN (SELECT '柜员' || s.name || '(' || s.employee_no || ')'
                                       FROM staff s WHERE s.id = m.staff_id)
                   ELSE '全网点' END,
               'unsatisfied', m.unsatisfied::text, 'rated', m.rated::text,
               'share', to_char(CASE WHEN m.rated > 0 THEN 100.0 * m.unsatisfied / m.rated
                                     ELSE 0 END, 'FM990.0') || '%',
               'minutes', coalesce(m.minutes, 0)::text,
               'time', to_char(p_now AT TIME ZONE bn.time_zone, 'YYYY-MM-DD HH24:MI')),
           '已恢复：近' || coalesce(m.minutes, 0) || '分钟评价' || m.rated || '次，不满意'
               || m.unsatisfied || '次'
    FROM judged m JOIN org_node bn ON bn.id = m.branch_id
    WHERE m.firing OR m.open_alert IS NOT NULL
$$;

-- device_offline: a device assigned to a window of the branch has been
-- offline for more than `minutes` (device_status, rating-ingest's).
CREATE FUNCTION alert_device_members(p_now timestamptz DEFAULT now())
RETURNS TABLE (branch_id bigint, member text, window_id bigint, staff_id bigint,
               firing boolean, open_alert uuid, template text, fields jsonb, note text)
LANGUAGE sql STABLE AS $$
    WITH devices AS (
        SELECT d.serial, d.window_id, w.number, w.node_id AS branch_id, ds.status, ds.since
        FROM device d JOIN service_window w ON w.id = d.window_id
        LEFT JOIN device_status ds ON ds.serial = d.serial
    ), rules AS (
        SELECT b.id AS branch_id, r.template,
               coalesce((r.params->>'minutes')::int, 10) AS minutes
        FROM org_node b CROSS JOIN LATERAL alert_rule_of(b.id, 'device_offline') r
        WHERE b.kind = 'branch' AND r.enabled
    ), open AS (
        SELECT a.id, a.facts->>'member' AS member FROM alert a
        WHERE a.kind = 'device_offline' AND a.state <> 'resolved'
    )
    SELECT dv.branch_id, 'device:' || dv.serial, dv.window_id, NULL::bigint,
           coalesce(dv.status = 'offline'
                    AND dv.since <= p_now - make_interval(mins => ru.minutes), false),
           o.id, ru.template,
           jsonb_build_object(
               'branch', bn.name, 'window', dv.number::text, 'serial', dv.serial,
               'minutes', floor(extract(epoch FROM p_now - dv.since) / 60)::int::text,
               'since', to_char(dv.since AT TIME ZONE bn.time_zone, 'HH24:MI'),
               'time', to_char(p_now AT TIME ZONE bn.time_zone, 'YYYY-MM-DD HH24:MI')),
           '已恢复：设备' || dv.serial || '已' || CASE dv.status WHEN 'online' THEN '重新上线'
               ELSE '不再离线' END
    FROM devices dv JOIN org_node bn ON bn.id = dv.branch_id
    LEFT JOIN rules ru ON ru.branch_id = dv.branch_id
    LEFT JOIN open o ON o.member = 'device:' || dv.serial
    WHERE (dv.status = 'offline' AND ru.branch_id IS NOT NULL
           AND dv.since <= p_now - make_interval(mins => ru.minutes))
       OR o.id IS NOT NULL
$$;

-- Every threshold rule's members, with the kind, the open alert and the
-- recipients: what sms-notifier evaluates every second.
CREATE FUNCTION alert_threshold_members(p_now timestamptz DEFAULT now())
RETURNS TABLE (kind text, branch_id bigint, member text, window_id bigint, staff_id bigint,
               firing boolean, open_alert uuid, template text, fields jsonb, note text,
               recipient_ids bigint[])
LANGUAGE sql STABLE AS $$
    WITH m AS MATERIALIZED (
        SELECT 'unsatisfied_share' AS kind, * FROM alert_share_members(p_now)
        UNION ALL
        SELECT 'device_offline', * FROM alert_device_members(p_now)
    )
    SELECT m.kind, m.branch_id, m.member, m.window_id, m.staff_id, m.firing, m.open_alert,
           m.template, m.fields, m.note, rc.ids
    FROM m CROSS JOIN LATERAL alert_recipients_of(m.branch_id, m.kind) rc
$$;
COMMENT ON FUNCTION alert_threshold_members(timestamptz) IS
    'sms-notifier''s view of the threshold rules: each member firing or with an '
    'open alert of the kind, with the fields its text names and the note it '
    'gets when it clears.';
CREATE INDEX alert_open_kind_idx ON alert (kind, (facts->>'member')) WHERE state <> 'resolved';
