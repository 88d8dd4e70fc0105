-- EQMS schema 6: group commits of ticket events as one binary array.
--
-- Schema 5's eqms_ticket_events_insert took the batch as JSON, and
-- json_to_recordset builds a hash table per object: about 12 us of the
-- server's CPU per event, twice (the order check and the insert), which
-- made it the largest cost of a commit. This one takes ticket_event[]:
-- queue-manager sends the array in PostgreSQL's binary format, read by
-- array_recv / record_recv and each column type's _recv, with no text to
-- lex. The order check (ticket_branch_head) is unchanged.

DROP FUNCTION eqms_ticket_events_insert(json);

CREATE FUNCTION eqms_ticket_events_insert(events ticket_event[]) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    n int;
    b record;
    inserted boolean;
BEGIN
    -- First: each branch's events must follow its committed ones (a batch
    -- of the same branch committing at the same time holds the row).
    FOR b IN SELECT e.branch_id, min(e.seq) AS first, max(e.seq) AS last
             FROM unnest(events) AS e GROUP BY e.branch_id ORDER BY e.branch_id LOOP
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
    INSERT INTO ticket (id, issued_at, branch_id, day, number, queue_id,
                        service_id, class, appointment_at, phone, walk_in, actor)
    SELECT e.ticket_id, e.at, e.branch_id, e.day, e.number, e.queue_id, e.service_id,
           e.class, e.appointment_at, e.phone, e.kind = 'walk_in', e.actor
    FROM unnest(events) AS e WHERE e.kind IN ('issued', 'walk_in');
    INSERT INTO ticket_event SELECT * FROM unnest(events);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
COMMENT ON FUNCTION eqms_ticket_events_insert(ticket_event[]) IS
    'Inserts a batch of ticket events and the tickets its issued / walk_in '
    'events create, in the caller''s statement, after checking that each '
    'branch''s events follow its committed ones (ticket_branch_head). Returns '
    'the number of events. Used by queue-manager for its group commits, with '
    'the array sent in binary format.';
