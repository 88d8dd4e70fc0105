-- EQMS schema 21: an alert's life after it opened (docs/alerts.md, "Alert
-- lifecycle"): acknowledged (who, when, note), resolved (who, when, root
-- cause), reminders while nobody acknowledges it, escalation to the next
-- level up. The functions are what web-api calls; sms-notifier runs the
-- reminders and escalations (alert_lifecycle_pass).
-- It only adds columns and functions.
-- compatibility: expand

ALTER TABLE alert_rule
    ADD COLUMN remind_after_s int NOT NULL DEFAULT 900,
    ADD COLUMN escalate_after_s int NOT NULL DEFAULT 1800,
    ADD CONSTRAINT alert_rule_times_valid
        CHECK (remind_after_s > 0 AND escalate_after_s > 0);
COMMENT ON COLUMN alert_rule.remind_after_s IS
    'An alert not acknowledged this long after it was raised is reminded once to '
    'the recipients it went to.';
COMMENT ON COLUMN alert_rule.escalate_after_s IS
    'An alert not acknowledged this long after it was raised is escalated once to '
    'the recipients of the next level up (above every node told so far).';

ALTER TABLE alert
    ADD COLUMN stale boolean NOT NULL DEFAULT false,
    ADD COLUMN raised_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN reminded_at timestamptz,
    ADD COLUMN escalated_at timestamptz,
    ADD COLUMN acknowledged_at timestamptz,
    ADD COLUMN acknowledged_by text,
    ADD COLUMN resolved_at timestamptz,
    ADD COLUMN resolved_by text;
-- the open alerts that may still be reminded or escalated, oldest first
CREATE INDEX alert_open_idx ON alert (raised_at)
    WHERE state = 'open' AND NOT stale AND (reminded_at IS NULL OR escalated_at IS NULL);
COMMENT ON COLUMN alert.stale IS
    'The fact was older than EQMS_SMS_STALE_S when the alert was raised (a device '
    'that was offline, a notifier that was down): its SMS go as a summary, and it '
    'is neither reminded nor escalated.';
COMMENT ON COLUMN alert.raised_at IS
    'When sms-notifier wrote the alert (opened_at is when its fact happened: '
    'a device that was offline delivers late): reminders and escalations count '
    'from here.';

-- Reminders and escalations are SMS of their own kinds: like an alert's,
-- they wait for the recipient's quiet hours and rate, and may be summarised.
ALTER TABLE sms_outbox
    DROP CONSTRAINT sms_outbox_kind_valid,
    ADD CONSTRAINT sms_outbox_kind_valid
        CHECK (kind IN ('alert', 'reminder', 'escalation', 'digest', 'customer'));

-- One step of an alert's life, for the two functions below: p_step is
-- 'acknowledged' (from open; a resolved alert refuses it) or 'resolved'
-- (from open or acknowledged). A step the alert has taken already changes
-- nothing; otherwise the state, who and when, and an event with the note.
CREATE FUNCTION alert_step(p_alert uuid, p_actor text, p_step text, p_note text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    fn text := CASE p_step WHEN 'acknowledged' THEN 'alert_acknowledge'
                           ELSE 'alert_resolve' END;
    s text;
BEGIN
    IF p_actor IS NULL OR btrim(p_actor) = '' THEN
        RAISE EXCEPTION '%: an actor is needed', fn USING ERRCODE = '22023';
    END IF;
    SELECT state INTO s FROM alert WHERE id = p_alert FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: no alert %', fn, p_alert USING ERRCODE = 'P0002';
    ELSIF p_step = 'acknowledged' AND s = 'resolved' THEN
        RAISE EXCEPTION '%: alert % is resolved', fn, p_alert USING ERRCODE = '55000';
    ELSIF s <> p_step THEN
        UPDATE alert SET state = p_step,
            acknowledged_at = CASE p_step WHEN 'acknowledged' THEN now() ELSE acknowledged_at END,
            acknowledged_by = CASE p_step WHEN 'acknowledged' THEN p_actor ELSE acknowledged_by END,
            resolved_at = CASE p_step WHEN 'resolved' THEN now() ELSE resolved_at END,
            resolved_by = CASE p_step WHEN 'resolved' THEN p_actor ELSE resolved_by END
        WHERE id = p_alert;
        INSERT INTO alert_event (alert_id, kind, actor, note)
        VALUES (p_alert, p_step, p_actor, coalesce(p_note, ''));
    END IF;
    RETURN p_step;
END
$$;

-- Acknowledges an open alert with a note. Errors: no actor (22023), no
-- such alert (P0002), resolved (55000).
CREATE FUNCTION alert_acknowledge(p_alert uuid, p_actor text, p_note text DEFAULT '')
RETURNS text
LANGUAGE sql AS $$
    SELECT alert_step(p_alert, p_actor, 'acknowledged', p_note)
$$;

-- Resolves an alert with its root cause (required by hand; sms-notifier
-- resolves a threshold alert that cleared with a note saying so). Errors:
-- no actor or no root cause (22023), no such alert (P0002).
CREATE FUNCTION alert_resolve(p_alert uuid, p_actor text, p_root_cause text)
RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    IF p_root_cause IS NULL OR btrim(p_root_cause) = '' THEN
        RAISE EXCEPTION 'alert_resolve: a root cause is needed' USING ERRCODE = '22023';
    END IF;
    RETURN alert_step(p_alert, p_actor, 'resolved', p_root_cause);
END
$$;

-- The rule that governs an alert of p_kind at branch p_branch (the deepest
-- on its path), as a row; no row when there is none.
CREATE FUNCTION alert_rule_of(p_branch bigint, p_kind text)
RETURNS SETOF alert_rule
LANGUAGE sql STABLE AS $$
    SELECT ar.* FROM alert_rule ar JOIN org_node an ON an.id = ar.node_id
    JOIN org_node b ON b.id = p_branch
    WHERE ar.kind = p_kind AND b.path <@ an.path
    ORDER BY nlevel(an.path) DESC LIMIT 1
$$;

-- One pass of reminders and escalations, in the caller's transaction:
-- every open alert past its rule's remind_after_s without a `reminded`
-- event gets one, and an SMS to each recipient it was sent to; past
-- escalate_after_s without an `escalated` event, one, and an SMS to the
-- active recipients (wanting the kind) of the nearest node above every
-- node told so far that has any. Returns the SMS rows made.
CREATE FUNCTION alert_lifecycle_pass(p_now timestamptz DEFAULT now())
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    a record;
    made int := 0;
    n int;
    minutes int;
    body text;
    top ltree;
BEGIN
    FOR a IN
        SELECT al.id, al.kind, al.branch_id, al.raised_at, r.remind_after_s,
               r.escalate_after_s, al.reminded_at IS NOT NULL AS reminded,
               al.escalated_at IS NOT NULL AS escalated
        FROM alert al CROSS JOIN LATERAL alert_rule_of(al.branch_id, al.kind) r
        WHERE al.state = 'open' AND NOT al.stale
          AND (al.reminded_at IS NULL OR al.escalated_at IS NULL)
          -- no rule reminds sooner: the index skips the alerts raised since
          AND al.raised_at <= p_now - make_interval(secs => (
                  SELECT coalesce(min(least(x.remind_after_s, x.escalate_after_s)), 0)
                  FROM alert_rule x))
          AND al.raised_at <= p_now - make_interval(secs => least(r.remind_after_s,
                                                                  r.escalate_after_s))
        ORDER BY al.raised_at
        FOR UPDATE OF al SKIP LOCKED
    LOOP
        minutes := floor(extract(epoch FROM p_now - a.raised_at) / 60);
        SELECT m.body INTO body FROM sms_outbox m
        WHERE m.alert_id = a.id AND m.kind = 'alert' ORDER BY m.created_at LIMIT 1;
        body := coalesce(body, '');
        IF NOT a.reminded AND a.raised_at <= p_now - make_interval(secs => a.remind_after_s)
        THEN
            INSERT INTO alert_event (alert_id, kind, actor, note)
            VALUES (a.id, 'reminded', 'sms-notifier', minutes || ' min without acknowledgement');
            UPDATE alert SET reminded_at = p_now WHERE id = a.id;
            INSERT INTO sms_outbox (id, kind, alert_id, recipient_id, phone, body)
            SELECT gen_random_uuid(), 'reminder', a.id, p.id, p.phone,
                   '【未确认提醒】' || minutes || '分钟前：' || body
            FROM alert_recipient p
            WHERE p.active AND p.id IN (SELECT m.recipient_id FROM sms_outbox m
                                        WHERE m.alert_id = a.id AND m.kind = 'alert');
            GET DIAGNOSTICS n = ROW_COUNT;
            made := made + n;
        END IF;
        IF NOT a.escalated AND a.raised_at <= p_now - make_interval(secs => a.escalate_after_s)
        THEN
            -- the highest node told so far (the branch if nobody was)
            SELECT pn.path INTO top FROM sms_outbox m
            JOIN alert_recipient p ON p.id = m.recipient_id
            JOIN org_node pn ON pn.id = p.node_id
            WHERE m.alert_id = a.id ORDER BY nlevel(pn.path) LIMIT 1;
            IF top IS NULL THEN
                SELECT path INTO top FROM org_node WHERE id = a.branch_id;
            END IF;
            INSERT INTO alert_event (alert_id, kind, actor, note)
            VALUES (a.id, 'escalated', 'sms-notifier',
                    minutes || ' min without acknowledgement, above ' || top::text);
            UPDATE alert SET escalated_at = p_now WHERE id = a.id;
            INSERT INTO sms_outbox (id, kind, alert_id, recipient_id, phone, body)
            SELECT gen_random_uuid(), 'escalation', a.id, p.id, p.phone,
                   '【升级】' || minutes || '分钟未确认：' || body
            FROM alert_recipient p JOIN org_node pn ON pn.id = p.node_id
            WHERE p.active AND a.kind = ANY (p.kinds)
              AND pn.path = (SELECT an.path FROM alert_recipient x
                             JOIN org_node an ON an.id = x.node_id
                             WHERE x.active AND a.kind = ANY (x.kinds)
                               AND an.path @> top AND an.path <> top
                             ORDER BY nlevel(an.path) DESC LIMIT 1);
            GET DIAGNOSTICS n = ROW_COUNT;
            made := made + n;
        END IF;
    END LOOP;
    RETURN made;
END
$$;
COMMENT ON FUNCTION alert_lifecycle_pass(timestamptz) IS
    'Reminders and escalations of the open alerts that are due (sms-notifier '
    'calls it every few seconds, in a transaction); returns the SMS rows made.';
