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

-- ---------------------------------------------------------------------------
-- Device status (online / offline / unassigned), for the live state in Redis
-- to be rebuilt after Redis lost it.

CREATE TABLE device_status (
    serial      text PRIMARY KEY,
    status      text NOT NULL
                    CONSTRAINT device_status_valid
                    CHECK (status IN ('online', 'offline', 'unassigned')),
    window_id   bigint,
    branch_path ltree NOT NULL,
    gateway     text NOT NULL,
    since       timestamptz NOT NULL
);

COMMENT ON TABLE device_status IS
    'Owner: rating-ingest. The latest device.online / device.offline / '
    'device.unassigned of each device serial (by event time; an older event '
    'never overwrites a newer one).';
