-- EQMS schema 2: the facts rating-ingest owns (ratings, staff sessions,
-- service records, rejected events, gateway cursors).
--
-- Design for insert speed (>= 30,000 ratings/s):
--   * ids are the gateway envelope ids (UUID v7, time-ordered), so every
--     index on them is appended at its right-hand edge;
--   * rating and service_record are partitioned by month of event time; a
--     primary or unique key of a partitioned table must contain the partition
--     key, so the keys are (id, event_time) and (gateway, gateway_seq,
--     event_time). A gateway replays an event byte for byte (same id, seq and
--     event_time), so a repeat always lands in the same partition and hits
--     these keys: uniqueness across partitions needs no extra table and no
--     extra index write per rating. In addition rating-ingest filters every
--     event at or below the gateway's committed cursor before inserting;
--   * no foreign keys (the referenced tables belong to web-api; a fact must
--     be kept even if its window is later deleted), no trigger, narrow rows.

-- ---------------------------------------------------------------------------
-- Ratings

CREATE TABLE rating (
    id            uuid NOT NULL,
    event_time    timestamptz NOT NULL,
    gateway       text NOT NULL,
    gateway_seq   bigint NOT NULL,
    window_id     bigint NOT NULL,
    staff_id      bigint NOT NULL,
    branch_path   ltree NOT NULL,
    device_serial text NOT NULL,
    device_boot   bigint NOT NULL,
    device_seq    bigint NOT NULL,
    option_code   smallint NOT NULL,
    score         numeric(3,1) NOT NULL,
    satisfied     boolean NOT NULL,
    unsatisfied   boolean NOT NULL,
    ticket        text,
    ticket_id     bigint,
    service_ms    integer,
    received_at   timestamptz NOT NULL,
    stored_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rating_pk PRIMARY KEY (id, event_time),
    CONSTRAINT rating_gateway_seq_unique UNIQUE (gateway, gateway_seq, event_time)
) PARTITION BY RANGE (event_time);
CREATE INDEX rating_window_time_idx ON rating (window_id, event_time);
CREATE INDEX rating_staff_time_idx ON rating (staff_id, event_time);

COMMENT ON TABLE rating IS
    'Owner: rating-ingest. One customer rating (rating.submitted) per row, '
    'id = the gateway envelope id. staff_id is the teller logged in at the '
    'window at event_time (staff_session); score/satisfied/unsatisfied are '
    'copied from the scale in force; ticket_id is for queue-manager. '
    'Partitioned by month of event_time (eqms_ensure_partitions).';

-- ---------------------------------------------------------------------------
-- Staff sessions and service records

CREATE TABLE staff_session (
    id          uuid PRIMARY KEY,
    staff_id    bigint NOT NULL,
    window_id   bigint NOT NULL,
    login_at    timestamptz NOT NULL,
    logout_at   timestamptz,
    logout_id   uuid,
    closed_by   text
                    CONSTRAINT staff_session_closed_by_valid
                    CHECK (closed_by IN ('logout', 'login_elsewhere',
                                         'window_taken')),
    gateway     text NOT NULL,
    gateway_seq bigint NOT NULL,
    CONSTRAINT staff_session_gateway_seq_unique UNIQUE (gateway, gateway_seq),
    CONSTRAINT staff_session_order CHECK (logout_at IS NULL OR logout_at >= login_at)
);
CREATE INDEX staff_session_window_time_idx ON staff_session (window_id, login_at);
CREATE INDEX staff_session_staff_time_idx ON staff_session (staff_id, login_at);
CREATE INDEX staff_session_open_idx ON staff_session (window_id) WHERE logout_at IS NULL;

COMMENT ON TABLE staff_session IS
    'Owner: rating-ingest. A teller logged in at a window from login_at to '
    'logout_at (NULL = still open). id = the staff.login envelope id. Not '
    'partitioned: a few rows per teller per day, and a session is updated '
    'at logout, which must find it without knowing its month.';

CREATE TABLE service_record (
    id          uuid NOT NULL,
    ended_at    timestamptz NOT NULL,
    started_at  timestamptz,
    duration_ms integer,
    gateway     text NOT NULL,
    gateway_seq bigint NOT NULL,
    window_id   bigint NOT NULL,
    staff_id    bigint,
    ticket      text,
    ticket_id   bigint,
    CONSTRAINT service_record_pk PRIMARY KEY (id, ended_at),
    CONSTRAINT service_record_gateway_seq_unique UNIQUE (gateway, gateway_seq, ended_at)
) PARTITION BY RANGE (ended_at);
CREATE INDEX service_record_window_time_idx ON service_record (window_id, ended_at);
CREATE INDEX service_record_staff_time_idx ON service_record (staff_id, ended_at);

COMMENT ON TABLE service_record IS
    'Owner: rating-ingest. One service (Start -> End on the device), written '
    'at service.end (id = its envelope id); started_at = ended_at - '
    'duration_ms when the duration is known. Partitioned by month of ended_at.';

-- ---------------------------------------------------------------------------
-- Rejected events and cursors

CREATE TABLE rejected_event (
    id          uuid PRIMARY KEY,
    gateway     text NOT NULL,
    gateway_seq bigint NOT NULL,
    type        text NOT NULL,
    topic       text,
    reason      text NOT NULL,
    data        jsonb NOT NULL,
    rejected_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejected_event_time_idx ON rejected_event (rejected_at);
CREATE INDEX rejected_event_gateway_idx ON rejected_event (gateway, gateway_seq);

COMMENT ON TABLE rejected_event IS
    'Owner: rating-ingest. Every gateway event that did not become a fact, '
    'with the reason (unknown device, option not in scale, nobody logged in, '
    'outside the rating window, repeat press, clock skew, malformed...) and '
    'the event data as received: nothing is dropped silently.';

CREATE TABLE gateway_cursor (
    gateway     text PRIMARY KEY,
    upto        bigint NOT NULL CONSTRAINT gateway_cursor_upto_nonnegative
                    CHECK (upto >= 0),
    branch      text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE gateway_cursor IS
    'Owner: rating-ingest. Per gateway (envelope src): every event with '
    'seq <= upto is committed as a fact or a rejected_event; the value '
    'acknowledged on ack.ingest.<branch>.';

-- ---------------------------------------------------------------------------
-- Partitions

CREATE FUNCTION eqms_ensure_partitions(months_ahead int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    first_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC')
                             - interval '1 month';
    m timestamp;
    t text;
    created int := 0;
BEGIN
    IF months_ahead < 0 OR months_ahead > 36 THEN
        RAISE EXCEPTION 'months_ahead must be 0..36, got %', months_ahead;
    END IF;
    FOREACH t IN ARRAY ARRAY['rating', 'service_record'] LOOP
        IF to_regclass(t || '_default') IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT',
                           t || '_default', t);
        END IF;
        FOR i IN 0 .. months_ahead + 1 LOOP
            m := first_month + make_interval(months => i);
            IF to_regclass(t || '_' || to_char(m, 'YYYY"m"MM')) IS NULL THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES '
                               'FROM (%L) TO (%L)',
                               t || '_' || to_char(m, 'YYYY"m"MM'), t,
                               (m AT TIME ZONE 'UTC'),
                               ((m + interval '1 month') AT TIME ZONE 'UTC'));
                created := created + 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$;
COMMENT ON FUNCTION eqms_ensure_partitions(int) IS
    'Creates the monthly partitions of rating and service_record (UTC months) '
    'from last month to months_ahead months after this one, and a DEFAULT '
    'partition for anything outside. Returns how many it created. Called by '
    'this migration and by rating-ingest at start and daily.';

SELECT eqms_ensure_partitions(3);
