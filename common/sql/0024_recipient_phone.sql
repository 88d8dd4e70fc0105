-- EQMS schema 24: a recipient's phone as people write it (docs/alerts.md,
-- "Unsatisfied rating"): E.164 with the plus sign, or a mainland China
-- mobile number with or without 86 / 0086, spaces and dashes allowed; kept
-- as E.164. Anything else is refused with a message that says what is
-- wanted.
-- It only adds a function and a trigger.
-- compatibility: expand

CREATE FUNCTION sms_phone_normal(p_phone text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    d text := regexp_replace(coalesce(p_phone, ''), '[\s()-]', '', 'g');
BEGIN
    IF d ~ '^1[3-9][0-9]{9}$' THEN
        RETURN '+86' || d;
    ELSIF d ~ '^(0086|86)1[3-9][0-9]{9}$' THEN
        RETURN '+86' || right(d, 11);
    ELSIF d ~ '^\+861' AND d !~ '^\+861[3-9][0-9]{9}$' THEN
        RAISE EXCEPTION 'phone "%": a mainland China mobile number has 11 digits starting 13-19 '
            '(+8613800138000)', p_phone USING ERRCODE = '22023';
    ELSIF d ~ '^\+[1-9][0-9]{6,14}$' THEN
        RETURN d;
    END IF;
    RAISE EXCEPTION 'phone "%" is neither E.164 (+8613800138000) nor a mainland China '
        'mobile number (13800138000)', p_phone USING ERRCODE = '22023';
END
$$;
COMMENT ON FUNCTION sms_phone_normal(text) IS
    'A phone number as E.164: E.164 as it is, a mainland China mobile number '
    '(13800138000, 86 13800138000, 0086-138-0013-8000) as +86...; else an error '
    'saying what is wanted (SQLSTATE 22023).';

CREATE FUNCTION alert_recipient_phone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.phone := sms_phone_normal(NEW.phone);
    RETURN NEW;
END
$$;
CREATE TRIGGER alert_recipient_phone BEFORE INSERT OR UPDATE OF phone ON alert_recipient
    FOR EACH ROW EXECUTE FUNCTION alert_recipient_phone();
