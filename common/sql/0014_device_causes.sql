-- EQMS schema: the device key events queue-manager acted on (issue 11, item
-- 14): one row per gateway event (its envelope id) that caused ticket
-- events, committed with them, so that after a restart a replayed key press
-- is recognised and not acted on twice. It only adds a table and an
-- overload of the commit function (binaries of the previous schema keep
-- calling the one-argument form).
-- compatibility: expand

CREATE TABLE ticket_event_cause (
    id          uuid PRIMARY KEY,
    branch_id   bigint NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_event_cause_at_idx ON ticket_event_cause (at);
COMMENT ON TABLE ticket_event_cause IS
    'Owner: queue-manager. The envelope id of a device key event (call.request, '
    'service.end, ...) that caused ticket events, committed in their '
    'transaction; read back at start for the last minutes (a key event older '
    'than 60 s is never acted on) and pruned after a day.';

CREATE FUNCTION eqms_ticket_events_insert(events ticket_event[], causes uuid[],
                                          cause_branches bigint[]) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    n := eqms_ticket_events_insert(events);
    INSERT INTO ticket_event_cause (id, branch_id)
    SELECT c.id, c.branch_id FROM unnest(causes, cause_branches) AS c(id, branch_id)
    ON CONFLICT (id) DO NOTHING;
    RETURN n;
END
$$;
COMMENT ON FUNCTION eqms_ticket_events_insert(ticket_event[], uuid[], bigint[]) IS
    'eqms_ticket_events_insert(events) and, in the same transaction, the device '
    'key events (causes, with their branches) that caused them.';
