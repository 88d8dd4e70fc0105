-- EQMS schema 15: the place and wait a customer was told at ticket issue
-- (issue 12, item 8), kept with the ticket so that stats-aggregator can
-- measure queue-manager's estimate against the wait that followed
-- (stats_estimate_error, docs/statistics.md "Estimated wait").
--
-- The estimate is written by the INSERT that creates the ticket, not by an
-- UPDATE after it: the commit function gets it as three more arrays (the
-- tickets, their positions and their waits). The body of schema 7's commit
-- function moves here, extended; the one- and three-argument forms stay as
-- wrappers, so binaries of schema 14 keep working (their tickets have no
-- estimate).
-- compatibility: expand

ALTER TABLE ticket ADD COLUMN est_position int,
                   ADD COLUMN est_wait_s int;
COMMENT ON COLUMN ticket.est_position IS
    'Tickets ahead of this one when it was issued, as queue-manager told the '
    'customer (NULL: not told, e.g. a walk-in, or issued by schema 14).';
COMMENT ON COLUMN ticket.est_wait_s IS
    'The estimated wait in seconds told at issue (NULL: not told).';

CREATE FUNCTION eqms_ticket_events_insert(events ticket_event[], causes uuid[],
                                          cause_branches bigint[], est_tickets uuid[],
                                          est_positions int[], est_waits int[])
RETURNS int
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
                        service_id, class, appointment_at, phone, walk_in, actor,
                        est_position, est_wait_s)
    SELECT e.ticket_id, e.at, e.branch_id, e.day, e.number, e.queue_id, e.service_id,
           e.class, e.appointment_at, e.phone, e.kind = 'walk_in', e.actor, x.pos, x.wait
    FROM unnest(events) AS e
    LEFT JOIN unnest(est_tickets, est_positions, est_waits) AS x(id, pos, wait)
           ON x.id = e.ticket_id AND e.kind = 'issued'
    WHERE e.kind IN ('issued', 'walk_in');
    INSERT INTO ticket_event SELECT * FROM unnest(events);
    INSERT INTO ticket_event_cause (id, branch_id)
    SELECT c.id, c.branch_id FROM unnest(causes, cause_branches) AS c(id, branch_id)
    ON CONFLICT (id) DO NOTHING;
    RETURN n;
END
$$;
COMMENT ON FUNCTION eqms_ticket_events_insert(ticket_event[], uuid[], bigint[], uuid[],
                                              int[], int[]) IS
    'Inserts a batch of ticket events, the tickets its issued / walk_in events '
    'create (with the position and wait each issued ticket was told: '
    'est_tickets, est_positions, est_waits, element by element) and the device '
    'key events that caused them (causes, cause_branches), and checks that '
    'each branch''s events continue its committed ones without a gap '
    '(ticket_branch_head); the transaction commits synchronously. Returns the '
    'number of events. Used by queue-manager for its group commits, with the '
    'events array sent in binary format.';

CREATE OR REPLACE FUNCTION eqms_ticket_events_insert(events ticket_event[]) RETURNS int
LANGUAGE sql AS $$
    SELECT eqms_ticket_events_insert(events, '{}', '{}', '{}', '{}', '{}')
$$;
COMMENT ON FUNCTION eqms_ticket_events_insert(ticket_event[]) IS
    'Schema 7''s form: eqms_ticket_events_insert(events) with no causes and no '
    'estimates.';

CREATE OR REPLACE FUNCTION eqms_ticket_events_insert(events ticket_event[], causes uuid[],
                                                     cause_branches bigint[]) RETURNS int
LANGUAGE sql AS $$
    SELECT eqms_ticket_events_insert(events, causes, cause_branches, '{}', '{}', '{}')
$$;
COMMENT ON FUNCTION eqms_ticket_events_insert(ticket_event[], uuid[], bigint[]) IS
    'Schema 14''s form: eqms_ticket_events_insert with causes and no estimates.';
