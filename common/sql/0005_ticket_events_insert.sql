-- EQMS schema 5: one statement for a group commit of ticket events, and
-- commits that may overlap.
--
-- queue-manager commits each batch of events (and the tickets they create)
-- as ONE statement, so a commit costs one round trip to PostgreSQL instead
-- of BEGIN, two COPYs and COMMIT (six): at 10,000 operations/s with 16
-- windows every reply must come within ~1.6 ms. Integrity is checked by
-- ticket_branch_head: a batch's events of a branch must continue exactly
-- where that branch's committed events end (first seq = head + 1), so no
-- event is ever stored without the ones before it, even if two
-- queue-managers were wrongly configured to serve the same branch.

CREATE TABLE ticket_branch_head (
    branch_id bigint PRIMARY KEY,
    seq       bigint NOT NULL
);

COMMENT ON TABLE ticket_branch_head IS
    'Owner: queue-manager. The last committed ticket_event seq of each branch '
    '(eqms_ticket_events_insert keeps it).';

INSERT INTO ticket_branch_head (branch_id, seq)
SELECT branch_id, max(seq) FROM ticket_event GROUP BY branch_id;

CREATE FUNCTION eqms_ticket_events_insert(events json) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    n int;
    b record;
    inserted boolean;
BEGIN
    -- First: each branch's events must follow its committed ones (a batch
    -- of the same branch committing at the same time holds the row).
    FOR b IN SELECT r.branch_id, min(r.seq) AS first, max(r.seq) AS last
             FROM json_to_recordset(events) AS r(branch_id bigint, seq bigint)
             GROUP BY r.branch_id ORDER BY r.branch_id LOOP
        INSERT INTO ticket_branch_head AS h (branch_id, seq)
        VALUES (b.branch_id, b.last)
        ON CONFLICT (branch_id) DO UPDATE SET seq = EXCLUDED.seq
            WHERE h.seq = b.first - 1
        RETURNING (xmax = 0) INTO inserted;
        IF NOT FOUND OR (inserted AND b.first <> 1) THEN
            RAISE EXCEPTION 'ticket events of branch % start at seq % and do not follow '
                            'the committed ones', b.branch_id, b.first
                USING ERRCODE = '40001';
        END IF;
    END LOOP;
    -- plpgsql keeps the statement's plan between calls (a LANGUAGE sql
    -- function would plan it on every commit).
    WITH e AS (
        SELECT * FROM json_to_recordset(events) AS r(
            branch_id bigint, seq bigint, at timestamptz, day int, kind text,
            actor text, ticket_id uuid, number text, number_seq int,
            queue_id bigint, service_id bigint, class text, window_id bigint,
            window_no int, staff_id bigint, original_at timestamptz,
            appointment_at timestamptz, phone text, target text, target_id bigint,
            via text, recall int, avg_ms bigint, detail text)
    ), t AS (
        INSERT INTO ticket (id, issued_at, branch_id, day, number, queue_id,
                            service_id, class, appointment_at, phone, walk_in, actor)
        SELECT ticket_id, at, branch_id, day, number, queue_id, service_id, class,
               appointment_at, phone, kind = 'walk_in', actor
        FROM e WHERE kind IN ('issued', 'walk_in')
    )
    INSERT INTO ticket_event (branch_id, seq, at, day, kind, actor, ticket_id,
                              number, number_seq, queue_id, service_id, class,
                              window_id, window_no, staff_id, original_at,
                              appointment_at, phone, target, target_id, via,
                              recall, avg_ms, detail)
    SELECT branch_id, seq, at, day, kind, actor, ticket_id, number, number_seq,
           queue_id, service_id, class, window_id, window_no, staff_id,
           original_at, appointment_at, phone, target, target_id, via, recall,
           avg_ms, detail
    FROM e;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION eqms_ticket_events_insert(json) IS
    'Inserts a batch of ticket events (a JSON array of objects named like '
    'ticket_event''s columns) and the tickets its issued / walk_in events '
    'create, in the caller''s statement, after checking that each branch''s '
    'events follow its committed ones (ticket_branch_head). Returns the number '
    'of events. Used by queue-manager for its group commits.';
