-- EQMS schema 32: where a rating device is kept (issue 14 item 5;
-- docs/security.md, "Devices"). A bank keeps spare devices in the stock of a
-- branch (or of a region's store), and its device managers there see and
-- assign that stock, not another branch's: device.node_id is the node whose
-- stock holds a device. An assigned device belongs to its window's branch
-- (set by a trigger), so that a device taken off its window stays in that
-- branch's stock. A row written without a node (by a writer older than this
-- schema) is kept at the root of the organisation.
-- compatibility: expand

ALTER TABLE device ADD COLUMN node_id bigint
    CONSTRAINT device_node_fk REFERENCES org_node (id) ON DELETE RESTRICT;
CREATE INDEX device_node_idx ON device (node_id);

COMMENT ON COLUMN device.node_id IS
    'The node whose stock holds the device: its window''s branch while it is '
    'assigned (kept by the trigger device_node), else where it was registered '
    'or last assigned. NULL only when no organisation node existed.';

-- The root of the organisation, for a device registered without a node.
CREATE FUNCTION eqms_org_root() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT id FROM org_node WHERE parent_id IS NULL ORDER BY id LIMIT 1
$$;
COMMENT ON FUNCTION eqms_org_root() IS
    'The first root of the organisation tree (the head office), or NULL.';

UPDATE device d
SET node_id = coalesce((SELECT w.node_id FROM service_window w WHERE w.id = d.window_id),
                       eqms_org_root());

CREATE FUNCTION device_node() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.window_id IS NOT NULL THEN
        SELECT w.node_id INTO NEW.node_id FROM service_window w WHERE w.id = NEW.window_id;
    ELSIF NEW.node_id IS NULL THEN
        NEW.node_id := eqms_org_root();
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER device_node
    BEFORE INSERT OR UPDATE OF window_id, node_id ON device
    FOR EACH ROW EXECUTE FUNCTION device_node();

-- A window moved to another branch takes its device along.
CREATE FUNCTION service_window_device_node() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE device SET node_id = NEW.node_id WHERE window_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER service_window_device_node
    AFTER UPDATE OF node_id ON service_window
    FOR EACH ROW WHEN (OLD.node_id IS DISTINCT FROM NEW.node_id)
    EXECUTE FUNCTION service_window_device_node();
