-- EQMS schema 20: quiet hours, rate limits and digests of alert SMS
-- (docs/alerts.md, "Quiet hours, rate limits and digests").
-- It only adds: columns with defaults, a state, an index.
-- compatibility: expand

ALTER TABLE alert_recipient
    ADD COLUMN quiet_from time,
    ADD COLUMN quiet_to time,
    ADD COLUMN max_per_hour int NOT NULL DEFAULT 6,
    ADD CONSTRAINT alert_recipient_quiet_pair
        CHECK ((quiet_from IS NULL AND quiet_to IS NULL)
               OR (quiet_from IS NOT NULL AND quiet_to IS NOT NULL AND quiet_from <> quiet_to)),
    ADD CONSTRAINT alert_recipient_max_per_hour_valid CHECK (max_per_hour BETWEEN 1 AND 3600);
COMMENT ON COLUMN alert_recipient.quiet_from IS
    'Quiet hours [quiet_from, quiet_to) in the local time of the recipient''s node '
    '(22:00-07:00 spans midnight): alert SMS wait until they end, then go as one '
    'digest. NULL: none.';
COMMENT ON COLUMN alert_recipient.max_per_hour IS
    'At most this many alert SMS to this recipient in any hour; what comes beyond '
    'waits and goes as one digest when the hour allows.';

ALTER TABLE sms_outbox
    ADD COLUMN kind text NOT NULL DEFAULT 'alert' CONSTRAINT sms_outbox_kind_valid
        CHECK (kind IN ('alert', 'digest', 'customer')),
    ADD COLUMN digest_id uuid CONSTRAINT sms_outbox_digest_fk REFERENCES sms_outbox (id),
    DROP CONSTRAINT sms_outbox_state_valid,
    ADD CONSTRAINT sms_outbox_state_valid
        CHECK (state IN ('queued', 'accepted', 'delivered', 'failed', 'digested'));
COMMENT ON COLUMN sms_outbox.kind IS
    'alert: one alert to one recipient (waits for the recipient''s quiet hours and '
    'rate limit, may be summarised); digest: the summary of several; customer: '
    'to a customer (never held, never summarised).';
COMMENT ON COLUMN sms_outbox.digest_id IS
    'state digested: the digest SMS that summarised this one in its place.';
CREATE INDEX sms_outbox_phone_sent_idx ON sms_outbox (phone, accepted_at)
    WHERE accepted_at IS NOT NULL;
CREATE INDEX sms_outbox_digest_idx ON sms_outbox (digest_id) WHERE digest_id IS NOT NULL;

-- When a recipient may next get an alert SMS, from p_now: p_now itself, the
-- end of their quiet hours, p_gap after their last one, or when their oldest
-- SMS of the last hour leaves the hour (max_per_hour reached), whichever is
-- latest.
CREATE FUNCTION sms_recipient_free_at(p_recipient bigint, p_gap interval,
                                      p_now timestamptz DEFAULT now())
RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    WITH r AS (
        SELECT p.phone, p.quiet_from, p.quiet_to, p.max_per_hour, n.time_zone,
               (p_now AT TIME ZONE n.time_zone) AS local_now
        FROM alert_recipient p JOIN org_node n ON n.id = p.node_id
        WHERE p.id = p_recipient
    ), quiet AS (
        -- the end of the quiet hours p_now is in, if it is in them
        SELECT CASE
            WHEN r.quiet_from IS NULL THEN NULL
            WHEN r.quiet_from < r.quiet_to AND r.local_now::time >= r.quiet_from
                 AND r.local_now::time < r.quiet_to
                THEN (r.local_now::date + r.quiet_to) AT TIME ZONE r.time_zone
            WHEN r.quiet_from > r.quiet_to AND r.local_now::time >= r.quiet_from
                THEN (r.local_now::date + 1 + r.quiet_to) AT TIME ZONE r.time_zone
            WHEN r.quiet_from > r.quiet_to AND r.local_now::time < r.quiet_to
                THEN (r.local_now::date + r.quiet_to) AT TIME ZONE r.time_zone
            END AS until
        FROM r
    ), rate AS (
        SELECT (SELECT s.accepted_at FROM sms_outbox s
                WHERE s.phone = r.phone AND s.accepted_at > p_now - interval '1 hour'
                  AND s.recipient_id IS NOT NULL
                ORDER BY s.accepted_at DESC OFFSET r.max_per_hour - 1 LIMIT 1)
               + interval '1 hour' AS until
        FROM r
    ), gap AS (
        SELECT max(s.accepted_at) + p_gap AS until
        FROM r JOIN sms_outbox s ON s.phone = r.phone
        WHERE s.accepted_at > p_now - p_gap AND s.recipient_id IS NOT NULL
    )
    SELECT greatest(p_now, (SELECT until FROM quiet), (SELECT until FROM rate),
                    (SELECT until FROM gap))
    FROM r
$$;
COMMENT ON FUNCTION sms_recipient_free_at(bigint, interval, timestamptz) IS
    'When recipient p_recipient may next get an alert SMS: now, the end of their '
    'quiet hours, p_gap after their last one, or when the last hour''s count '
    'falls below max_per_hour.';
