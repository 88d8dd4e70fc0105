-- EQMS schema 3: queueing. Tickets and ticket events (owner: queue-manager),
-- work profiles and hall settings (owner: web-api).
--
-- queue-manager is event sourced (services/queue-manager/qm_model.h): every
-- decision is a numbered event of its branch, appended here in group
-- commits; the live state (queues, windows, display) is rebuilt by replaying
-- a branch's events from its latest day_start. Both tables are append-only,
-- partitioned by month like rating (eqms_ensure_partitions), keys contain
-- the partition key, ids are UUIDv7 (right-hand index inserts).

-- ---------------------------------------------------------------------------
-- Configuration read by queue-manager (written by web-api)

CREATE TABLE work_profile (
    window_id   bigint PRIMARY KEY CONSTRAINT work_profile_window_fk
                    REFERENCES service_window (id) ON DELETE CASCADE,
    profile     text NOT NULL
                    CONSTRAINT work_profile_format
                    CHECK (profile ~ '^(strict|longest_wait|weighted);vip=[0-9]{1,3};'
                                     'ordinary=[0-9]{1,3};services=[0-9,]*$'),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE work_profile IS
    'Owner: web-api. A window''s work profile: strategy, weights (weighted '
    'rotation, vip:ordinary) and the services it serves in priority order, '
    'in queue-manager''s text form ("weighted;vip=2;ordinary=1;services=3,1"). '
    'A window without a row serves every service of its branch, longest '
    'waiting first. queue-manager also changes profiles at run time '
    '(window.set_profile) as events; this row is the start of each day.';

CREATE TABLE hall_settings (
    node_id           bigint PRIMARY KEY CONSTRAINT hall_settings_node_fk
                          REFERENCES org_node (id) ON DELETE CASCADE,
    recall_limit      int CONSTRAINT hall_settings_recall_range
                          CHECK (recall_limit BETWEEN 0 AND 20),
    display_size      int CONSTRAINT hall_settings_display_range
                          CHECK (display_size BETWEEN 1 AND 50),
    announce_repeat   int CONSTRAINT hall_settings_repeat_range
                          CHECK (announce_repeat BETWEEN 1 AND 5),
    default_service_s int CONSTRAINT hall_settings_service_range
                          CHECK (default_service_s BETWEEN 10 AND 7200),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE hall_settings IS
    'Owner: web-api. Queueing settings set at a node; NULL = inherit from the '
    'nearest ancestor that sets it, else queue-manager''s default (recall '
    'limit 3, display 6, announcement repeated 2 times, 300 s service time '
    'to start the moving average). See effective_hall_settings.';

CREATE FUNCTION effective_hall_settings(p_node_id bigint)
RETURNS TABLE (recall_limit int, display_size int, announce_repeat int,
               default_service_s int)
LANGUAGE sql STABLE STRICT AS $$
    SELECT
        (array_agg(s.recall_limit ORDER BY nlevel(a.path) DESC)
            FILTER (WHERE s.recall_limit IS NOT NULL))[1],
        (array_agg(s.display_size ORDER BY nlevel(a.path) DESC)
            FILTER (WHERE s.display_size IS NOT NULL))[1],
        (array_agg(s.announce_repeat ORDER BY nlevel(a.path) DESC)
            FILTER (WHERE s.announce_repeat IS NOT NULL))[1],
        (array_agg(s.default_service_s ORDER BY nlevel(a.path) DESC)
            FILTER (WHERE s.default_service_s IS NOT NULL))[1]
    FROM org_node n
    JOIN org_node a ON a.path @> n.path
    LEFT JOIN hall_settings s ON s.node_id = a.id
    WHERE n.id = p_node_id
$$;
COMMENT ON FUNCTION effective_hall_settings(bigint) IS
    'The hall settings in force at a node (nearest setting ancestor wins); '
    'NULL where nothing sets one.';

-- ---------------------------------------------------------------------------
-- Tickets and ticket events (queue-manager)

CREATE TABLE ticket (
    id             uuid NOT NULL,
    issued_at      timestamptz NOT NULL,
    branch_id      bigint NOT NULL,
    day            int NOT NULL,
    number         text NOT NULL,
    queue_id       bigint NOT NULL,
    service_id     bigint NOT NULL,
    class          text NOT NULL
                       CONSTRAINT ticket_class_valid
                       CHECK (class IN ('ordinary', 'vip', 'green')),
    appointment_at timestamptz,
    phone          text,
    walk_in        boolean NOT NULL,
    actor          text NOT NULL,
    CONSTRAINT ticket_pk PRIMARY KEY (id, issued_at)
) PARTITION BY RANGE (issued_at);
CREATE INDEX ticket_branch_day_idx ON ticket (branch_id, day);

COMMENT ON TABLE ticket IS
    'Owner: queue-manager. One row per ticket (issued, or a walk-in served '
    'without one), written in the same transaction as its first event. What '
    'happened to it is in ticket_event. day is the branch-local yyyymmdd. '
    'No foreign keys: a ticket outlives renamed services and windows.';

CREATE TABLE ticket_event (
    branch_id      bigint NOT NULL,
    seq            bigint NOT NULL,
    at             timestamptz NOT NULL,
    day            int NOT NULL,
    kind           text NOT NULL,
    actor          text NOT NULL,
    ticket_id      uuid,
    number         text,
    number_seq     int NOT NULL DEFAULT 0,
    queue_id       bigint,
    service_id     bigint,
    class          text,
    window_id      bigint,
    window_no      int,
    staff_id       bigint,
    original_at    timestamptz,
    appointment_at timestamptz,
    phone          text,
    target         text,
    target_id      bigint,
    via            text,
    recall         int NOT NULL DEFAULT 0,
    avg_ms         bigint NOT NULL DEFAULT 0,
    detail         text NOT NULL DEFAULT '',
    CONSTRAINT ticket_event_pk PRIMARY KEY (branch_id, seq, at)
) PARTITION BY RANGE (at);
CREATE INDEX ticket_event_ticket_idx ON ticket_event (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX ticket_event_day_start_idx ON ticket_event (branch_id, seq)
    WHERE kind = 'day_start';

COMMENT ON TABLE ticket_event IS
    'Owner: queue-manager. Every action on tickets and windows of a branch, '
    'numbered by seq (strictly increasing per branch, never reused): issued, '
    'called, recalled, started, finished, no_show, transferred, parked, '
    'returned, abandoned, walk_in, window_opened/closed/paused/resumed, '
    'staff_login/logout, window_set, profile_set, day_start. actor is who '
    'did it (kiosk:3, staff:1001, device:EQ-..., web:...). Replaying a '
    'branch''s events from its latest day_start rebuilds its live state.';

-- ---------------------------------------------------------------------------
-- Partitions: the rating tables and now the ticket tables

CREATE OR REPLACE FUNCTION eqms_ensure_partitions(months_ahead int) RETURNS int
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
    FOREACH t IN ARRAY ARRAY['rating', 'service_record', 'ticket', 'ticket_event'] LOOP
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
    'Creates the monthly partitions of rating, service_record, ticket and '
    'ticket_event (UTC months) from last month to months_ahead months after '
    'this one, and a DEFAULT partition for anything outside. Returns how many '
    'it created. Called by migrations, rating-ingest and queue-manager at '
    'start and daily.';

SELECT eqms_ensure_partitions(3);
