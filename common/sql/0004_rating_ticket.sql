-- EQMS schema 4: a rating is bound to the ticket it rates (queue-manager's
-- ticket ids are UUIDv7; schema 2 had reserved a bigint column, always NULL).

ALTER TABLE rating ALTER COLUMN ticket_id TYPE uuid USING NULL;

COMMENT ON COLUMN rating.ticket IS
    'The ticket number the device showed when the customer rated (A012), as '
    'the device reported it; NULL if it showed none.';
COMMENT ON COLUMN rating.ticket_id IS
    'The ticket (ticket.id) the rating is bound to: the one last finished at '
    'that window (ticket.finished from queue-manager) before the rating, '
    'within the rating window, and with the same number when the device '
    'reported one. NULL when no such ticket is known (no queue-manager, or the '
    'rating arrived before the finish).';
