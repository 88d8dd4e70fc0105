-- EQMS schema 7: group commits of ticket events are synchronous, and the
-- order check of a one-branch batch (nearly all of them) is one aggregate
-- and one UPDATE.
--
-- A ticket is committed before queue-manager returns it. With the
-- cluster's synchronous_commit off (an operator may choose that for the
-- ratings), a crash could lose tickets that customers already hold, and
-- queue-manager would give their numbers out again when it rebuilds. So
-- the commit function asks for a synchronous commit of its transaction,
-- whatever the session's or cluster's default.
--
-- Schema 6 checked the order with a loop over a GROUP BY of the batch and an
-- INSERT .. ON CONFLICT per branch, about 10 us of the server's CPU per
-- ticket operation at 16 windows. A batch of one branch is now checked with
-- one aggregate (no GROUP BY, no cursor) and a plain UPDATE of its head row.
-- Batches of several branches keep schema 6's loop. Both now also refuse a
-- batch whose events of a branch repeat a seq or leave a gap.

CREATE OR REPLACE FUNCTION eqms_ticket_events_insert(events ticket_event[]) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    n int;
    distinct_seqs int;
    lo bigint;
    hi bigint;
    first bigint;
    last bigint;
    b record;
    inserted boolean;
    sync text;
BEGIN
    -- Until the end of this transaction (is_local); an assignment, which
    -- plpgsql evaluates without the executor.
    sync := set_config('synchronous_commit', 'on', true);
    -- First the order: each branch's events must follow its committed ones
    -- (a batch of the same branch committing at the same time holds the
    -- head row until it ends).
    SELECT count(*), count(DISTINCT e.seq), min(e.branch_id), max(e.branch_id), min(e.seq),
           max(e.seq)
    INTO n, distinct_seqs, lo, hi, first, last FROM unnest(events) AS e;
    IF lo = hi THEN
        UPDATE ticket_branch_head SET seq = last
        WHERE branch_id = lo AND seq = first - 1 AND last - first + 1 = n AND distinct_seqs = n;
        IF NOT FOUND AND first = 1 AND last = n AND distinct_seqs = n THEN   -- its first events
            INSERT INTO ticket_branch_head (branch_id, seq) VALUES (lo, last)
            ON CONFLICT (branch_id) DO NOTHING;
        END IF;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'ticket events of branch % (seq % to %, % events) do not '
                            'follow the committed ones', lo, first, last, n
                USING ERRCODE = '40001';
        END IF;
    ELSE
        -- Several branches: in branch order (the order their rows are locked).
        FOR b IN SELECT e.branch_id, min(e.seq) AS first, max(e.seq) AS last, count(*) AS n,
                        count(DISTINCT e.seq) AS distinct_seqs
                 FROM unnest(events) AS e GROUP BY e.branch_id ORDER BY e.branch_id LOOP
            INSERT INTO ticket_branch_head AS h (branch_id, seq)
            VALUES (b.branch_id, b.last)
            ON CONFLICT (branch_id) DO UPDATE SET seq = EXCLUDED.seq
                WHERE h.seq = b.first - 1
            RETURNING (xmax = 0) INTO inserted;
            IF NOT FOUND OR (inserted AND b.first <> 1) OR b.last - b.first + 1 <> b.n
               OR b.distinct_seqs <> b.n THEN
                RAISE EXCEPTION 'ticket events of branch % (seq % to %, % events) do not '
                                'follow the committed ones', b.branch_id, b.first, b.last, b.n
                    USING ERRCODE = '40001';
            END IF;
        END LOOP;
    END IF;
    INSERT INTO ticket (id, issued_at, branch_id, day, number, queue_id,
                        service_id, class, appointment_at, phone, walk_in, actor)
    SELECT e.ticket_id, e.at, e.branch_id, e.day, e.number, e.queue_id, e.service_id,
           e.class, e.appointment_at, e.phone, e.kind = 'walk_in', e.actor
    FROM unnest(events) AS e WHERE e.kind IN ('issued', 'walk_in');
    INSERT INTO ticket_event SELECT * FROM unnest(events);
    RETURN n;
END
$$;
COMMENT ON FUNCTION eqms_ticket_events_insert(ticket_event[]) IS
    'Inserts a batch of ticket events and the tickets its issued / walk_in '
    'events create, in the caller''s statement, and checks that each '
    'branch''s events continue its committed ones without a gap '
    '(ticket_branch_head); the transaction commits synchronously. Returns the '
    'number of events. Used by queue-manager for its group commits, with the '
    'array sent in binary format.';
