-- EQMS schema 30: web-api's data management (issue 14 item 8;
-- docs/backup.md): backup and purge jobs, the mark a purge leaves on a node
-- (statistics that read raw data say where it starts), and the one function
-- through which web-api deletes other services' raw data.
-- It only adds tables and functions.
-- compatibility: expand

CREATE TABLE backup_job (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id     bigint NOT NULL CONSTRAINT backup_job_node_fk
                    REFERENCES org_node (id) ON DELETE RESTRICT,
    whole       boolean NOT NULL,
    state       text NOT NULL DEFAULT 'queued' CONSTRAINT backup_job_state_valid
                    CHECK (state IN ('queued', 'running', 'completed', 'failed')),
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz,
    snapshot_at timestamptz,
    rows_done   bigint NOT NULL DEFAULT 0,
    rows_total  bigint,
    file        text,
    size        bigint,
    sha256      text,
    error       text
);
CREATE INDEX backup_job_queued_idx ON backup_job (id) WHERE state = 'queued';

COMMENT ON TABLE backup_job IS
    'Owner: web-api. A backup of a node''s subtree (whole: a root, with the '
    'tables that belong to no node) as an archive file (docs/backup.md) in '
    'EQMS_WEBAPI_BACKUP_DIR. snapshot_at: the time of the consistent '
    'snapshot it holds (every row committed before it).';

CREATE TABLE purge_job (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id     bigint NOT NULL CONSTRAINT purge_job_node_fk
                    REFERENCES org_node (id) ON DELETE RESTRICT,
    older_than  text NOT NULL CONSTRAINT purge_job_older_than_valid
                    CHECK (older_than IN ('month', 'year', 'all')),
    cut         timestamptz NOT NULL,
    backup_id   bigint NOT NULL CONSTRAINT purge_job_backup_fk
                    REFERENCES backup_job (id) ON DELETE RESTRICT,
    state       text NOT NULL DEFAULT 'queued' CONSTRAINT purge_job_state_valid
                    CHECK (state IN ('queued', 'running', 'completed', 'failed')),
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz,
    tables_done int NOT NULL DEFAULT 0,
    tables_total int NOT NULL DEFAULT 0,
    rows_deleted bigint NOT NULL DEFAULT 0,
    deleted     jsonb NOT NULL DEFAULT '{}',
    error       text
);
CREATE INDEX purge_job_queued_idx ON purge_job (id) WHERE state = 'queued';

COMMENT ON TABLE purge_job IS
    'Owner: web-api. A purge of raw data older than cut in a node''s subtree, '
    'allowed by the completed backup backup_id (which holds that data). '
    'deleted: rows deleted by table.';

CREATE TABLE purge_mark (
    node_id       bigint PRIMARY KEY CONSTRAINT purge_mark_node_fk
                      REFERENCES org_node (id) ON DELETE CASCADE,
    purged_before timestamptz NOT NULL
);

COMMENT ON TABLE purge_mark IS
    'Owner: web-api. Raw data (eqms_purge_tables) of the node''s subtree '
    'older than purged_before has been deleted; rollups keep the totals. '
    'Written before the rows are deleted.';

-- The raw tables a purge deletes from, in the order it does.
CREATE FUNCTION eqms_purge_tables() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY['ticket_event', 'ticket_event_cause', 'ticket', 'rating',
                 'service_record', 'staff_session', 'alert', 'sms_notice',
                 'sms_inbound', 'rejected_event']
$$;

-- The earliest time from which the raw data under or above `p_path` is whole
-- (the latest purge mark of the node, its ancestors and its descendants);
-- NULL when nothing there was ever purged.
CREATE FUNCTION eqms_purged_before(p_path ltree) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT max(m.purged_before) FROM purge_mark m JOIN org_node n ON n.id = m.node_id
    WHERE n.path <@ p_path OR n.path @> p_path
$$;

-- Marks `p_node` as purged before `p_before` (never moving the mark back).
CREATE FUNCTION eqms_purge_mark(p_node bigint, p_before timestamptz) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO purge_mark (node_id, purged_before) VALUES (p_node, p_before)
    ON CONFLICT (node_id) DO UPDATE
        SET purged_before = greatest(purge_mark.purged_before, EXCLUDED.purged_before)
$$;

-- Deletes the rows of raw table `p_table` (one of eqms_purge_tables) of the
-- subtree of `p_node` older than `p_before`; returns how many. The one place
-- where web-api deletes data that other services own (architecture.md):
-- queue-manager's tickets, rating-ingest's ratings, service records and
-- closed staff sessions, sms-notifier's resolved alerts (their events go with
-- them) and SMS records. Rejected events belong to no node: only a purge of a
-- root deletes them. Partitioned tables are cut by their partition key.
CREATE FUNCTION eqms_purge_raw(p_node bigint, p_before timestamptz, p_table text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    root ltree;
    n bigint := 0;
BEGIN
    SELECT path INTO root FROM org_node WHERE id = p_node;
    IF root IS NULL THEN
        RAISE EXCEPTION 'no org node %', p_node USING ERRCODE = '22023';
    END IF;
    CREATE TEMP TABLE IF NOT EXISTS purge_scope (id bigint PRIMARY KEY) ON COMMIT DROP;
    TRUNCATE purge_scope;
    INSERT INTO purge_scope SELECT id FROM org_node WHERE path <@ root;
    CASE p_table
    WHEN 'ticket_event' THEN
        DELETE FROM ticket_event WHERE at < p_before
            AND branch_id IN (SELECT id FROM purge_scope);
    WHEN 'ticket_event_cause' THEN
        DELETE FROM ticket_event_cause WHERE at < p_before
            AND branch_id IN (SELECT id FROM purge_scope);
    WHEN 'ticket' THEN
        DELETE FROM ticket WHERE issued_at < p_before
            AND branch_id IN (SELECT id FROM purge_scope);
    WHEN 'rating' THEN
        DELETE FROM rating WHERE event_time < p_before AND branch_path <@ root;
    WHEN 'service_record' THEN
        DELETE FROM service_record WHERE ended_at < p_before
            AND window_id IN (SELECT w.id FROM service_window w
                              WHERE w.node_id IN (SELECT id FROM purge_scope));
    WHEN 'staff_session' THEN
        DELETE FROM staff_session WHERE logout_at < p_before
            AND window_id IN (SELECT w.id FROM service_window w
                              WHERE w.node_id IN (SELECT id FROM purge_scope));
    WHEN 'alert' THEN
        DELETE FROM alert WHERE opened_at < p_before AND state = 'resolved'
            AND branch_id IN (SELECT id FROM purge_scope)
            AND NOT EXISTS (SELECT 1 FROM sms_outbox o WHERE o.alert_id = alert.id);
    WHEN 'sms_notice' THEN
        DELETE FROM sms_notice WHERE at < p_before
            AND branch_id IN (SELECT id FROM purge_scope);
    WHEN 'sms_inbound' THEN
        DELETE FROM sms_inbound WHERE received_at < p_before
            AND branch_id IN (SELECT id FROM purge_scope);
    WHEN 'rejected_event' THEN
        IF nlevel(root) > 1 THEN
            RETURN 0;             -- (ROW_COUNT would be purge_scope's)
        END IF;
        DELETE FROM rejected_event WHERE rejected_at < p_before;
    ELSE
        RAISE EXCEPTION 'no raw table "%" to purge', p_table USING ERRCODE = '22023';
    END CASE;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

COMMENT ON FUNCTION eqms_purge_raw(bigint, timestamptz, text) IS
    'web-api''s purge (docs/backup.md): the only way it deletes raw data.';
