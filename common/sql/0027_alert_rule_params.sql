-- EQMS schema 27: a threshold rule's params are checked when they are
-- written (docs/alerts.md, "Threshold rules"). Until now a wrong value (a
-- word where a number goes) was only met by sms-notifier's evaluation,
-- which then failed for every rule and branch every second: one typo
-- silenced every threshold alert. Now the row is refused, with a reason
-- that names the member.
-- It only adds a function and a constraint.
-- compatibility: expand

CREATE FUNCTION alert_rule_params_valid(p_kind text, p jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    k text;
    allowed text[] := CASE p_kind
        WHEN 'unsatisfied_share' THEN ARRAY['share_pct', 'min_ratings', 'minutes', 'scopes']
        WHEN 'device_offline' THEN ARRAY['minutes']
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
        ELSIF k IN ('min_ratings', 'minutes') AND NOT (jsonb_typeof(v) = 'number'
                AND (v #>> '{}')::numeric = trunc((v #>> '{}')::numeric)
                AND (v #>> '{}')::numeric BETWEEN 1 AND 10080) THEN
            RAISE EXCEPTION 'alert_rule.params of %: "%" must be a whole number from 1 to 10080',
                p_kind, k USING ERRCODE = '22023';
        ELSIF k = 'scopes' AND NOT (jsonb_typeof(v) = 'array' AND jsonb_array_length(v) > 0
                AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v) e
                                WHERE e NOT IN ('"window"', '"teller"', '"branch"'))) THEN
            RAISE EXCEPTION 'alert_rule.params of %: "scopes" must be a list of "window", '
                '"teller" and "branch"', p_kind USING ERRCODE = '22023';
        END IF;
    END LOOP;
    RETURN true;
END
$$;
COMMENT ON FUNCTION alert_rule_params_valid(text, jsonb) IS
    'True for params a rule of that kind may have; otherwise an error naming the '
    'member and what it must be (SQLSTATE 22023).';

ALTER TABLE alert_rule ADD CONSTRAINT alert_rule_params_valid
    CHECK (alert_rule_params_valid(kind, params));
