-- EQMS schema 28: alerts on the live hall and praise (docs/alerts.md, "The
-- live hall" and "Praise"):
--   queue_waiting    a queue with too many customers waiting, or one
--                    waiting too long;
--   window_idle      a window idle (open, a teller, no customer) or paused
--                    while customers wait for its services;
--   service_overrun  a customer served past the service's standard time;
--   five_star        a teller's (or window's) grade reaching five stars in
--                    the period of its star rule (once per period).
-- The first three read queue-manager's live state: sms-notifier asks its
-- request endpoint (branch.state) for every branch such a rule covers and
-- keeps the answer here with the time it was read (alert_live); the
-- functions below read it like any table, and a branch whose state is not
-- fresh changes nothing (its alerts neither open nor resolve).
-- It only adds: kinds, a column, a table, functions.
-- compatibility: expand

ALTER TABLE service ADD COLUMN standard_s int
    CONSTRAINT service_standard_range CHECK (standard_s BETWEEN 60 AND 86400);
COMMENT ON COLUMN service.standard_s IS
    'Owner: web-api. The standard handling time of one customer of the service '
    '(s): service_overrun alerts when a service runs past it. NULL: the rule''s '
    '"minutes".';

ALTER TABLE alert_rule
    DROP CONSTRAINT alert_rule_kind_valid,
    ADD CONSTRAINT alert_rule_kind_valid
        CHECK (kind IN ('unsatisfied_rating', 'unsatisfied_share', 'device_offline',
                        'queue_waiting', 'window_idle', 'service_overrun', 'five_star'));
COMMENT ON COLUMN alert_rule.params IS
    'The thresholds of a threshold kind (docs/alerts.md; defaults of a member left '
    'out): unsatisfied_share {"share_pct": 30, "min_ratings": 5, "minutes": 60, '
    '"scopes": ["window", "teller", "branch"]}; device_offline {"minutes": 10}; '
    'queue_waiting {"max_waiting": 20, "max_wait_minutes": 30}; window_idle '
    '{"minutes": 5, "paused": true}; service_overrun {"minutes": 20}; five_star '
    '{"subjects": ["teller"]}.';

CREATE OR REPLACE FUNCTION alert_rule_params_valid(p_kind text, p jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    k text;
    allowed text[] := CASE p_kind
        WHEN 'unsatisfied_share' THEN ARRAY['share_pct', 'min_ratings', 'minutes', 'scopes']
        WHEN 'device_offline' THEN ARRAY['minutes']
        WHEN 'queue_waiting' THEN ARRAY['max_waiting', 'max_wait_minutes']
        WHEN 'window_idle' THEN ARRAY['minutes', 'paused']
        WHEN 'service_overrun' THEN ARRAY['minutes']
        WHEN 'five_star' THEN ARRAY['subjects']
        ELSE ARRAY[]::text[] END;
    v jsonb;
BEGIN
    FOR k IN SELECT jsonb_object_keys(p) LOOP
        IF NOT k = ANY (allowed) THEN
            RAISE EXCEPTION 'alert_rule.params of %: unknown member "%" (allowed: %)',
                p_kind, k, array_to_string(allowed, ', ') USING ERRCODE = '22023';
        END IF;
        v := p -> k;
        IF k = 'share_pct' AND NOT (jsonb_typeof(v) = 'number'
                                    AND (v #>> '{}')::numeric BETWEEN 0 AND 100) THEN
            RAISE EXCEPTION 'alert_rule.params of %: "share_pct" must be a number from 0 to 100',
                p_kind USING ERRCODE = '22023';
        ELSIF k IN ('min_ratings', 'minutes', 'max_waiting', 'max_wait_minutes')
              AND NOT (jsonb_typeof(v) = 'number'
                       AND (v #>> '{}')::numeric = trunc((v #>> '{}')::numeric)
                       AND (v #>> '{}')::numeric BETWEEN 1 AND 10080) THEN
            RAISE EXCEPTION 'alert_rule.params of %: "%" must be a whole number from 1 to 10080',
                p_kind, k USING ERRCODE = '22023';
        ELSIF k = 'paused' AND jsonb_typeof(v) <> 'boolean' THEN
            RAISE EXCEPTION 'alert_rule.params of %: "paused" must be true or false',
                p_kind USING ERRCODE = '22023';
        ELSIF k = 'scopes' AND NOT (jsonb_typeof(v) = 'array' AND jsonb_array_length(v) > 0
                AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v) e
                                WHERE e NOT IN ('"window"', '"teller"', '"branch"'))) THEN
            RAISE EXCEPTION 'alert_rule.params of %: "scopes" must be a list of "window", '
                '"teller" and "branch"', p_kind USING ERRCODE = '22023';
        ELSIF k = 'subjects' AND NOT (jsonb_typeof(v) = 'array' AND jsonb_array_length(v) > 0
                AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v) e
                                WHERE e NOT IN ('"window"', '"teller"'))) THEN
            RAISE EXCEPTION 'alert_rule.params of %: "subjects" must be a list of "teller" '
                'and "window"', p_kind USING ERRCODE = '22023';
        END IF;
    END LOOP;
    RETURN true;
END
$$;

-- ---------------------------------------------------------------------------
-- The live state, as sms-notifier last read it

CREATE TABLE alert_live (
    branch_id   bigint PRIMARY KEY CONSTRAINT alert_live_branch_fk
                    REFERENCES org_node (id) ON DELETE CASCADE,
    read_at     timestamptz NOT NULL,
    state       jsonb NOT NULL CONSTRAINT alert_live_state_object
                    CHECK (jsonb_typeof(state) = 'object')
);
COMMENT ON TABLE alert_live IS
    'Owner: sms-notifier. queue-manager''s reply to branch.state (docs/protocol.md) '
    'for each branch a live-hall rule covers, and when it was read: what the '
    'queue_waiting, window_idle and service_overrun rules judge.';

CREATE FUNCTION alert_live_branches()
RETURNS TABLE (branch_id bigint, path text)
LANGUAGE sql STABLE AS $$
    SELECT b.id, b.path::text FROM org_node b
    WHERE b.kind = 'branch'
      AND EXISTS (SELECT 1 FROM unnest(ARRAY['queue_waiting', 'window_idle',
                                             'service_overrun']) k(kind)
                  CROSS JOIN LATERAL alert_rule_of(b.id, k.kind) r WHERE r.enabled)
    ORDER BY b.id
$$;
COMMENT ON FUNCTION alert_live_branches() IS
    'The branches whose live state sms-notifier reads (an enabled live-hall rule '
    'covers them), with the path queue-manager knows them by.';

-- The branches an enabled rule of a live kind covers, with the rule, the
-- live state and whether it is fresh (read within p_fresh).
CREATE FUNCTION alert_live_rules(p_kind text, p_now timestamptz, p_fresh interval)
RETURNS TABLE (branch_id bigint, template text, params jsonb, state jsonb, fresh boolean)
LANGUAGE sql STABLE AS $$
    SELECT b.id, r.template, r.params, l.state,
           coalesce(l.read_at > p_now - p_fresh, false)
    FROM org_node b CROSS JOIN LATERAL alert_rule_of(b.id, p_kind) r
    LEFT JOIN alert_live l ON l.branch_id = b.id
    WHERE b.kind = 'branch' AND r.enabled
$$;

-- Seconds from an RFC 3339 time in the live state to p_now (NULL: none).
CREATE FUNCTION alert_live_age(p_at text, p_now timestamptz) RETURNS int
LANGUAGE sql STABLE STRICT AS $$
    SELECT greatest(0, floor(extract(epoch FROM p_now - p_at::timestamptz)))::int
$$;

-- The teller at a window in a text ("张三(100101)"), "" for none.
CREATE FUNCTION alert_teller_text(p_staff bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT s.name || '(' || s.employee_no || ')' FROM staff s
                     WHERE s.id = p_staff), '')
$$;

-- Each judges its members like alert_share_members (schema 22): one row per
-- member that fires or has an open alert of the kind. A member of a branch
-- whose rule is on but whose live state is not fresh gives no row: nothing
-- is known, nothing changes. An open alert whose member is no longer in
-- the state (or whose rule is gone) clears.

-- queue_waiting: more than max_waiting customers wait in a queue, or its
-- longest wait is over max_wait_minutes. An open alert clears only when
-- both are at or under 80 % of their limits, so a queue around its line
-- does not open and close alerts all day.
CREATE FUNCTION alert_queue_members(p_now timestamptz DEFAULT now(),
                                    p_fresh interval DEFAULT '30 seconds')
RETURNS TABLE (branch_id bigint, member text, window_id bigint, staff_id bigint,
               firing boolean, open_alert uuid, template text, fields jsonb, note text)
LANGUAGE sql STABLE AS $$
    WITH rules AS MATERIALIZED (
        SELECT * FROM alert_live_rules('queue_waiting', p_now, p_fresh)
    ), queues AS (
        SELECT ru.branch_id, 'queue:' || (e->>'id') AS member, (e->>'id')::bigint AS queue_id,
               (e->>'waiting')::int AS waiting,
               coalesce(alert_live_age(e->>'oldest', p_now), 0) AS longest_s,
               coalesce((ru.params->>'max_waiting')::int, 20) AS max_waiting,
               coalesce((ru.params->>'max_wait_minutes')::int, 30) * 60 AS max_wait_s
        FROM rules ru CROSS JOIN LATERAL jsonb_array_elements(ru.state->'queues') e
        WHERE ru.fresh
    ), open AS (
        SELECT a.id, a.branch_id, a.facts->>'member' AS member, a.facts->>'queue' AS queue
        FROM alert a WHERE a.kind = 'queue_waiting' AND a.state <> 'resolved'
    ), judged AS (
        SELECT coalesce(m.branch_id, o.branch_id) AS branch_id,
               coalesce(m.member, o.member) AS member, m.queue_id, o.id AS open_alert,
               coalesce(m.waiting, 0) AS waiting, coalesce(m.longest_s, 0) AS longest_s,
               coalesce(CASE WHEN o.id IS NULL
                             THEN m.waiting > m.max_waiting OR m.longest_s > m.max_wait_s
                             ELSE m.waiting * 5 > m.max_waiting * 4
                                  OR m.longest_s * 5 > m.max_wait_s * 4 END, false) AS firing,
               m.max_waiting, m.max_wait_s, o.queue AS told_queue
        FROM queues m FULL JOIN open o ON o.member = m.member AND o.branch_id = m.branch_id
    )
    SELECT j.branch_id, j.member, NULL::bigint, NULL::bigint, j.firing, j.open_alert,
           ru.template,
           jsonb_build_object(
               'branch', bn.name,
               'queue', coalesce(qu.prefix || '队列(' || qu.name || ')', j.told_queue, ''),
               'waiting', j.waiting::text, 'longest', (j.longest_s / 60)::text,
               'max_waiting', coalesce(j.max_waiting, 0)::text,
               'max_wait', (coalesce(j.max_wait_s, 0) / 60)::text,
               'time', to_char(p_now AT TIME ZONE bn.time_zone, 'YYYY-MM-DD HH24:MI')),
           '已恢复：' || coalesce(qu.prefix || '队列', j.told_queue, '队列') || '等候'
               || j.waiting || '人，最长等候' || j.longest_s / 60 || '分钟'
    FROM judged j JOIN org_node bn ON bn.id = j.branch_id
    LEFT JOIN rules ru ON ru.branch_id = j.branch_id
    LEFT JOIN queue qu ON qu.id = j.queue_id
    WHERE (j.firing OR j.open_alert IS NOT NULL) AND coalesce(ru.fresh, true)
$$;

-- The windows of the fresh live states of a kind's rules, as rows.
CREATE FUNCTION alert_live_windows(p_kind text, p_now timestamptz, p_fresh interval)
RETURNS TABLE (branch_id bigint, params jsonb, window_id bigint, number int, staff_id bigint,
               state text, pause_reason text, waiting int, current text, service_id bigint,
               idle_s int, serving_s int)
LANGUAGE sql STABLE AS $$
    SELECT ru.branch_id, ru.params, (e->>'id')::bigint, (e->>'number')::int,
           (e->>'staff')::bigint, e->>'state', coalesce(e->>'pause_reason', ''),
           coalesce((e->>'waiting')::int, 0), e->>'current', (e->>'service')::bigint,
           alert_live_age(e->>'since', p_now), alert_live_age(e->>'started', p_now)
    FROM alert_live_rules(p_kind, p_now, p_fresh) ru
    CROSS JOIN LATERAL jsonb_array_elements(ru.state->'windows') e
    WHERE ru.fresh
$$;

-- window_idle: customers wait for a window's services while it is open with
-- a teller and nobody at it, or paused (unless "paused": false), for at
-- least `minutes`. An open alert clears when the window calls someone,
-- closes, or nobody waits for it any more.
CREATE FUNCTION alert_idle_members(p_now timestamptz DEFAULT now(),
                                   p_fresh interval DEFAULT '30 seconds')
RETURNS TABLE (branch_id bigint, member text, window_id bigint, staff_id bigint,
               firing boolean, open_alert uuid, template text, fields jsonb, note text)
LANGUAGE sql STABLE AS $$
    WITH rules AS MATERIALIZED (
        SELECT * FROM alert_live_rules('window_idle', p_now, p_fresh)
    ), windows AS (
        SELECT w.*, 'window:' || w.window_id AS member,
               w.waiting > 0 AND w.current IS NULL
               AND ((w.state = 'open' AND w.staff_id IS NOT NULL)
                    OR (w.state = 'paused' AND coalesce((w.params->>'paused')::boolean, true)))
                   AS idle,
               coalesce((w.params->>'minutes')::int, 5) * 60 AS limit_s
        FROM alert_live_windows('window_idle', p_now, p_fresh) w
    ), open AS (
        SELECT a.id, a.branch_id, a.window_id, a.facts->>'member' AS member FROM alert a
        WHERE a.kind = 'window_idle' AND a.state <> 'resolved'
    ), judged AS (
        SELECT coalesce(w.branch_id, o.branch_id) AS branch_id,
               coalesce(w.member, o.member) AS member,
               coalesce(w.window_id, o.window_id) AS window_id, w.staff_id, o.id AS open_alert,
               coalesce(w.idle AND (o.id IS NOT NULL OR w.idle_s >= w.limit_s), false) AS firing,
               w.state, w.pause_reason, w.waiting, w.current, w.idle_s
        FROM windows w FULL JOIN open o ON o.member = w.member AND o.branch_id = w.branch_id
    )
    SELECT j.branch_id, j.member, j.window_id, j.staff_id, j.firing, j.open_alert, ru.template,
           jsonb_build_object(
               'branch', bn.name, 'window', sw.number::text,
               'state', CASE WHEN j.state = 'paused' AND j.pause_reason <> ''
                             THEN '暂停(' || j.pause_reason || ')'
                             WHEN j.state = 'paused' THEN '暂停' ELSE '空闲' END,
               'minutes', (coalesce(j.idle_s, 0) / 60)::text,
               'waiting', coalesce(j.waiting, 0)::text,
               'teller', alert_teller_text(j.staff_id),
               'time', to_char(p_now AT TIME ZONE bn.time_zone, 'YYYY-MM-DD HH24:MI')),
           '已恢复：' || coalesce(sw.number::text, '') || '号窗口'
               || CASE WHEN j.current IS NOT NULL THEN '已叫号' || j.current
                       WHEN j.state = 'closed' THEN '已关闭'
                       WHEN coalesce(j.waiting, 0) = 0 THEN '已无客户等候'
                       ELSE '已恢复服务' END
    FROM judged j JOIN org_node bn ON bn.id = j.branch_id
    LEFT JOIN service_window sw ON sw.id = j.window_id
    LEFT JOIN rules ru ON ru.branch_id = j.branch_id
    WHERE (j.firing OR j.open_alert IS NOT NULL) AND coalesce(ru.fresh, true)
$$;

-- service_overrun: a window has served its customer for longer than the
-- service's standard_s (else the rule's `minutes`). One alert per window
-- and ticket; it clears when that service ends.
CREATE FUNCTION alert_overrun_members(p_now timestamptz DEFAULT now(),
                                      p_fresh interval DEFAULT '30 seconds')
RETURNS TABLE (branch_id bigint, member text, window_id bigint, staff_id bigint,
               firing boolean, open_alert uuid, template text, fields jsonb, note text)
LANGUAGE sql STABLE AS $$
    WITH rules AS MATERIALIZED (
        SELECT * FROM alert_live_rules('service_overrun', p_now, p_fresh)
    ), serving AS (
        SELECT w.*, 'overrun:' || w.window_id || ':' || w.current AS member,
               coalesce(s.standard_s, coalesce((w.params->>'minutes')::int, 20) * 60)
                   AS standard_s,
               s.name AS service_name
        FROM alert_live_windows('service_overrun', p_now, p_fresh) w
        LEFT JOIN service s ON s.id = w.service_id
        WHERE w.current IS NOT NULL AND w.serving_s IS NOT NULL
    ), open AS (
        SELECT a.id, a.branch_id, a.window_id, a.facts->>'member' AS member,
               a.facts->>'ticket' AS ticket
        FROM alert a WHERE a.kind = 'service_overrun' AND a.state <> 'resolved'
    ), judged AS (
        SELECT coalesce(s.branch_id, o.branch_id) AS branch_id,
               coalesce(s.member, o.member) AS member,
               coalesce(s.window_id, o.window_id) AS window_id, s.staff_id, o.id AS open_alert,
               coalesce(s.serving_s > s.standard_s, false) AS firing,
               coalesce(s.current, o.ticket) AS ticket, s.service_name, s.serving_s,
               s.standard_s
        FROM serving s FULL JOIN open o ON o.member = s.member AND o.branch_id = s.branch_id
    )
    SELECT j.branch_id, j.member, j.window_id, j.staff_id, j.firing, j.open_alert, ru.template,
           jsonb_build_object(
               'branch', bn.name, 'window', sw.number::text, 'ticket', coalesce(j.ticket, ''),
               'service', coalesce(j.service_name, ''),
               'minutes', (coalesce(j.serving_s, 0) / 60)::text,
               'standard', (coalesce(j.standard_s, 0) / 60)::text,
               'teller', alert_teller_text(j.staff_id),
               'time', to_char(p_now AT TIME ZONE bn.time_zone, 'YYYY-MM-DD HH24:MI')),
           '已恢复：' || coalesce(j.ticket, '') || '号已办结'
    FROM judged j JOIN org_node bn ON bn.id = j.branch_id
    LEFT JOIN service_window sw ON sw.id = j.window_id
    LEFT JOIN rules ru ON ru.branch_id = j.branch_id
    WHERE (j.firing OR j.open_alert IS NOT NULL) AND coalesce(ru.fresh, true)
$$;

-- five_star: a teller's (or window's) star grade of the current period of
-- its star rule (stats-aggregator's stats_star_grade) is five: once per
-- member and period. It is praise, not trouble: sms-notifier resolves it
-- as it writes it, so it is never reminded nor escalated.
CREATE FUNCTION alert_star_members(p_now timestamptz DEFAULT now())
RETURNS TABLE (branch_id bigint, member text, window_id bigint, staff_id bigint,
               firing boolean, open_alert uuid, template text, fields jsonb, note text)
LANGUAGE sql STABLE AS $$
    WITH rules AS (
        SELECT b.id AS branch_id, b.name AS branch_name, b.time_zone, r.template,
               coalesce(r.params->'subjects', '["teller"]') AS subjects
        FROM org_node b CROSS JOIN LATERAL alert_rule_of(b.id, 'five_star') r
        WHERE b.kind = 'branch' AND r.enabled
    ), fives AS (
        SELECT ru.*, g.subject, g.member AS member_id, g.period, g.start_day, g.rated,
               g.satisfied,
               g.subject || ':' || g.member || ':' || g.period || ':' || g.start_day AS member
        FROM rules ru JOIN stats_star_grade g ON g.branch_id = ru.branch_id
        WHERE g.grade = 5 AND ru.subjects ? g.subject
          AND g.start_day = stats_period_start(g.period,
                                               (p_now AT TIME ZONE ru.time_zone)::date)
    )
    SELECT f.branch_id, f.member,
           CASE WHEN f.subject = 'window' THEN f.member_id END,
           CASE WHEN f.subject = 'teller' THEN f.member_id END,
           true, NULL::uuid, f.template,
           jsonb_build_object(
               'branch', f.branch_name,
               'subject', CASE f.subject
                   WHEN 'window' THEN (SELECT w.number || '号窗口' FROM service_window w
                                       WHERE w.id = f.member_id)
                   ELSE '柜员' || alert_teller_text(f.member_id) END,
               'period', CASE f.period WHEN 1 THEN '今日' WHEN 2 THEN '本周' WHEN 3 THEN '本月'
                                       WHEN 4 THEN '本季度' ELSE '本年' END,
               'rated', f.rated::text,
               'share', to_char(100.0 * f.satisfied / f.rated, 'FM990.0') || '%',
               'first', CASE WHEN EXISTS (
                            SELECT 1 FROM stats_star_grade e
                            WHERE e.subject = f.subject AND e.member = f.member_id
                              AND e.grade = 5 AND e.start_day < f.start_day)
                        THEN '' ELSE '首次' END,
               'time', to_char(p_now AT TIME ZONE f.time_zone, 'YYYY-MM-DD HH24:MI')),
           '表扬通知，无需处理'
    FROM fives f
    WHERE f.rated > 0
      AND NOT EXISTS (SELECT 1 FROM alert a
                      WHERE a.kind = 'five_star' AND a.facts->>'member' = f.member)
$$;
CREATE INDEX alert_five_star_member_idx ON alert ((facts->>'member')) WHERE kind = 'five_star';

-- Every threshold rule's members, as in schema 22, with the new kinds.
CREATE OR REPLACE FUNCTION alert_threshold_members(p_now timestamptz DEFAULT now())
RETURNS TABLE (kind text, branch_id bigint, member text, window_id bigint, staff_id bigint,
               firing boolean, open_alert uuid, template text, fields jsonb, note text,
               recipient_ids bigint[])
LANGUAGE sql STABLE AS $$
    WITH m AS MATERIALIZED (
        SELECT 'unsatisfied_share' AS kind, * FROM alert_share_members(p_now)
        UNION ALL
        SELECT 'device_offline', * FROM alert_device_members(p_now)
        UNION ALL
        SELECT 'queue_waiting', * FROM alert_queue_members(p_now)
        UNION ALL
        SELECT 'window_idle', * FROM alert_idle_members(p_now)
        UNION ALL
        SELECT 'service_overrun', * FROM alert_overrun_members(p_now)
        UNION ALL
        SELECT 'five_star', * FROM alert_star_members(p_now)
    )
    SELECT m.kind, m.branch_id, m.member, m.window_id, m.staff_id, m.firing, m.open_alert,
           m.template, m.fields, m.note, rc.ids
    FROM m CROSS JOIN LATERAL alert_recipients_of(m.branch_id, m.kind) rc
$$;

-- ---------------------------------------------------------------------------
-- Phone numbers: one reading with sms-notifier's (sn_customer_phone), held
-- to the same list of cases (tests/data/phones.txt). Since schema 24 it
-- also reads 00 as the international prefix and refuses every +86 number
-- that is not a mobile (a landline gets no SMS).
CREATE OR REPLACE FUNCTION sms_phone_normal(p_phone text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    d text := regexp_replace(coalesce(p_phone, ''), '[\s()-]', '', 'g');
BEGIN
    IF d ~ '^1[3-9][0-9]{9}$' THEN
        RETURN '+86' || d;
    ELSIF d ~ '^(0086|86)1[3-9][0-9]{9}$' THEN
        RETURN '+86' || right(d, 11);
    END IF;
    d := regexp_replace(d, '^00', '+');
    IF d ~ '^\+86' AND d !~ '^\+861[3-9][0-9]{9}$' THEN
        RAISE EXCEPTION 'phone "%": a mainland China mobile number has 11 digits starting 13-19 '
            '(+8613800138000)', p_phone USING ERRCODE = '22023';
    ELSIF d ~ '^\+[1-9][0-9]{6,14}$' THEN
        RETURN d;
    END IF;
    RAISE EXCEPTION 'phone "%" is neither E.164 (+8613800138000) nor a mainland China '
        'mobile number (13800138000)', p_phone USING ERRCODE = '22023';
END
$$;
