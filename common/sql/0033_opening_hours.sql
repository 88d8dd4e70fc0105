-- EQMS schema 33: opening hours and the kiosk's service documents (issue 15
-- item 3; docs/protocol.md "ticket.issue", docs/openapi.yaml "Opening
-- hours"). A node's opening hours are a week of sessions in the node's
-- local time (several a day: a lunch break closes the hall between two),
-- inherited whole by the nodes below it that set none, special dates
-- (a holiday closed, a make-up working day open with another weekday's
-- sessions) where the nearest node that names a date decides it, and the
-- issue cut-off: tickets stop being issued that many minutes before each
-- session closes (inherited on its own, default 30). No week anywhere
-- above a branch: it is always open, as before this schema.
-- queue-manager refuses ticket.issue outside them (common/hours.h holds
-- the rule); web-api writes them. A service gets the documents a customer
-- must bring, shown and printed by the kiosk.
-- It only adds tables, a column with a default and functions.
-- compatibility: expand

CREATE TABLE opening_hours (
    node_id          bigint PRIMARY KEY CONSTRAINT opening_hours_node_fk
                         REFERENCES org_node (id) ON DELETE CASCADE,
    own_week         boolean NOT NULL DEFAULT false,
    issue_cutoff_min int CONSTRAINT opening_hours_cutoff_range
                         CHECK (issue_cutoff_min BETWEEN 0 AND 240),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE opening_hours IS
    'Owner: web-api (read by queue-manager). A node''s opening hours: own_week '
    'true when its sessions (opening_session) are its week, false to inherit '
    'the week of the nearest ancestor that has one (none: always open); '
    'issue_cutoff_min NULL = inherit (none: 30). See opening_hours_in_force.';
COMMENT ON COLUMN opening_hours.issue_cutoff_min IS
    'Minutes before each session closes from which no ticket is issued.';

CREATE TRIGGER opening_hours_touch
    BEFORE UPDATE ON opening_hours
    FOR EACH ROW EXECUTE FUNCTION node_settings_touch();

CREATE TABLE opening_session (
    node_id  bigint NOT NULL CONSTRAINT opening_session_hours_fk
                 REFERENCES opening_hours (node_id) ON DELETE CASCADE,
    weekday  smallint NOT NULL CONSTRAINT opening_session_weekday_range
                 CHECK (weekday BETWEEN 1 AND 7),
    opens    time NOT NULL,
    closes   time NOT NULL,
    CONSTRAINT opening_session_order CHECK (opens < closes),
    CONSTRAINT opening_session_whole_minutes
        CHECK (extract(second FROM opens) = 0 AND extract(second FROM closes) = 0),
    PRIMARY KEY (node_id, weekday, opens)
);

COMMENT ON TABLE opening_session IS
    'Owner: web-api. One opening session of a node''s week: ISO weekday (1 = '
    'Monday), local wall-clock [opens, closes) in the node''s time zone (closes '
    'may be 24:00). At most 4 a day, none overlapping; a weekday without one '
    'is closed.';

-- At most 4 sessions a day, none overlapping (what common/hours.c checks
-- before, kept here for any writer).
CREATE FUNCTION opening_session_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM opening_session s
               WHERE s.node_id = NEW.node_id AND s.weekday = NEW.weekday
                 AND s.opens <> NEW.opens
                 AND s.opens < NEW.closes AND NEW.opens < s.closes) THEN
        RAISE EXCEPTION 'opening sessions of weekday % overlap at %', NEW.weekday, NEW.opens
            USING ERRCODE = 'check_violation', CONSTRAINT = 'opening_session_overlap';
    END IF;
    IF (SELECT count(*) FROM opening_session s
        WHERE s.node_id = NEW.node_id AND s.weekday = NEW.weekday AND s.opens <> NEW.opens) >= 4 THEN
        RAISE EXCEPTION 'at most 4 opening sessions a day (weekday %)', NEW.weekday
            USING ERRCODE = 'check_violation', CONSTRAINT = 'opening_session_count';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER opening_session_check
    BEFORE INSERT OR UPDATE ON opening_session
    FOR EACH ROW EXECUTE FUNCTION opening_session_check();

CREATE TABLE opening_date (
    node_id   bigint NOT NULL CONSTRAINT opening_date_node_fk
                  REFERENCES org_node (id) ON DELETE CASCADE,
    day       date NOT NULL,
    hours_of  smallint CONSTRAINT opening_date_hours_of_range
                  CHECK (hours_of BETWEEN 1 AND 7),
    note      text NOT NULL DEFAULT '' CONSTRAINT opening_date_note_length
                  CHECK (char_length(note) <= 32),
    PRIMARY KEY (node_id, day)
);

COMMENT ON TABLE opening_date IS
    'Owner: web-api. A special date of a node and the nodes below it: '
    'hours_of NULL = closed all day (a holiday), 1..7 = open with the sessions '
    'of that ISO weekday (a make-up working day, 调休). For a given date the '
    'nearest node that names it decides.';

-- ---------------------------------------------------------------------------
-- Service documents

-- An ordered list of the documents a customer brings for a service: at most
-- 12 entries of 1..40 characters, no control characters, none blank.
CREATE FUNCTION eqms_service_documents_valid(d text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT d IS NOT NULL AND coalesce(array_ndims(d), 1) = 1 AND cardinality(d) <= 12
       AND NOT EXISTS (SELECT 1 FROM unnest(d) x
                       WHERE x IS NULL OR btrim(x) = '' OR char_length(x) > 40
                          OR x ~ '[[:cntrl:]]')
$$;

ALTER TABLE service ADD COLUMN documents text[] NOT NULL DEFAULT '{}'
    CONSTRAINT service_documents_valid CHECK (eqms_service_documents_valid(documents));
COMMENT ON COLUMN service.documents IS
    'What a customer must bring (身份证原件, 户口簿...), in the order the kiosk '
    'shows and prints them: up to 12 entries of 1..40 characters.';

-- ---------------------------------------------------------------------------
-- The hours in force

CREATE FUNCTION eqms_weekday_name(n int) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (ARRAY['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])[n]
$$;

-- The week of node p_node_id's own sessions as the API writes it:
-- {"mon": [{"opens": "08:30", "closes": "12:00"}, ...], ..., "sun": []}.
CREATE FUNCTION opening_week_json(p_node_id bigint) RETURNS json
LANGUAGE sql STABLE STRICT AS $$
    SELECT json_object_agg(eqms_weekday_name(d), coalesce(
               (SELECT json_agg(json_build_object('opens', to_char(s.opens, 'HH24:MI'),
                                                  'closes', to_char(s.closes, 'HH24:MI'))
                                ORDER BY s.opens)
                FROM opening_session s WHERE s.node_id = p_node_id AND s.weekday = d),
               '[]'::json) ORDER BY d)
    FROM generate_series(1, 7) d
$$;

-- The opening hours in force at node p_node_id, as common/hours.h reads
-- them (hours_decode): {"week": <week> or null (no node sets one: always
-- open), "week_from": path or null, "issue_cutoff_min": n, "cutoff_from":
-- path or null (the default), "dates": [{"date": "YYYY-MM-DD", "hours_of":
-- "mon".."sun" or null (closed), "note": text, "from": path}]}, the dates
-- being those in force from the day before the node's local today to 40
-- days after it, in date order.
CREATE FUNCTION opening_hours_in_force(p_node_id bigint) RETURNS json
LANGUAGE sql STABLE STRICT AS $$
    WITH me AS (
        SELECT n.id, n.path, (now() AT TIME ZONE n.time_zone)::date AS today
        FROM org_node n WHERE n.id = p_node_id
    ), chain AS (
        SELECT h.*, a.path AS a_path
        FROM me JOIN org_node a ON a.path @> me.path
        JOIN opening_hours h ON h.node_id = a.id
    ), week AS (
        SELECT c.node_id, c.a_path FROM chain c WHERE c.own_week
        ORDER BY nlevel(c.a_path) DESC LIMIT 1
    ), cutoff AS (
        SELECT c.issue_cutoff_min, c.a_path FROM chain c WHERE c.issue_cutoff_min IS NOT NULL
        ORDER BY nlevel(c.a_path) DESC LIMIT 1
    ), dates AS (
        SELECT DISTINCT ON (d.day) d.day, d.hours_of, d.note, a.path AS a_path
        FROM me JOIN org_node a ON a.path @> me.path
        JOIN opening_date d ON d.node_id = a.id
        WHERE d.day BETWEEN me.today - 1 AND me.today + 40
        ORDER BY d.day, nlevel(a.path) DESC
    )
    SELECT json_build_object(
        'week', (SELECT opening_week_json(w.node_id) FROM week w),
        'week_from', (SELECT w.a_path::text FROM week w),
        'issue_cutoff_min', coalesce((SELECT c.issue_cutoff_min FROM cutoff c), 30),
        'cutoff_from', (SELECT c.a_path::text FROM cutoff c),
        'dates', coalesce((SELECT json_agg(json_build_object(
                               'date', to_char(x.day, 'YYYY-MM-DD'),
                               'hours_of', eqms_weekday_name(x.hours_of),
                               'note', x.note, 'from', x.a_path::text) ORDER BY x.day)
                           FROM dates x), '[]'::json))
    FROM me
$$;
COMMENT ON FUNCTION opening_hours_in_force(bigint) IS
    'The opening hours in force at a node (nearest week, nearest cut-off, '
    'each date''s nearest entry) as JSON for common/hours.c; NULL for no node.';
