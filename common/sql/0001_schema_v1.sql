-- EQMS schema v1: organisation tree, windows, staff, queues, services, rating
-- scales, devices and per-node settings. Every table here is written by web-api.
--
-- Run once by eqms-migrate inside one transaction (no BEGIN/COMMIT here).
-- Conventions: ids are bigint identities; natural codes follow ^[a-z0-9_]{1,32}$
-- so that they are ltree labels and bus topic parts; constraints are named
-- <table>_<what>; rows that facts will reference are deleted only with
-- ON DELETE RESTRICT (deactivate them instead).

DO $$
BEGIN
    IF getdatabaseencoding() <> 'UTF8' THEN
        RAISE EXCEPTION 'EQMS needs a UTF8 database, this one is %',
            getdatabaseencoding()
            USING HINT = 'create it with ENCODING ''UTF8'' TEMPLATE template0';
    END IF;
END
$$;

CREATE EXTENSION IF NOT EXISTS ltree;

-- ---------------------------------------------------------------------------
-- Helpers

CREATE FUNCTION eqms_time_zone_valid(tz text) RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT SET TimeZone = 'UTC' AS $$
BEGIN
    IF tz ~ '^(posix|right)/' OR tz IN ('Factory', 'posixrules', 'localtime') THEN
        RETURN false;
    END IF;
    -- Setting the zone (undone when the function returns, by its SET clause)
    -- rejects unknown names and shows the spelling of the zone database, so
    -- other spellings (asia/shanghai, :Asia/Shanghai) are refused too.
    PERFORM set_config('TimeZone', tz, true);
    IF current_setting('TimeZone') <> tz THEN
        RETURN false;
    END IF;
    IF tz ~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)+$' THEN
        RETURN true;    -- Area/Location: a file of the zone database
    END IF;
    -- UTC, EST5EDT... or a POSIX spec such as FOO+3, which is no IANA zone:
    -- only the list of the zone database tells (it takes ~50 ms to read).
    RETURN EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = tz);
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END
$$;
COMMENT ON FUNCTION eqms_time_zone_valid(text) IS
    'True if tz is an IANA time zone name known to this server, spelt as the '
    'zone database does (Asia/Shanghai); false for abbreviations (CST), POSIX '
    'specs (FOO+3), other spellings and unknown names.';

CREATE FUNCTION eqms_lcd_text_valid(t text, max_chars int) RETURNS boolean
LANGUAGE plpgsql STABLE STRICT AS $$
BEGIN
    -- The device LCD (ST7920) has a GB2312 font: the text must be printable,
    -- non-empty, at most max_chars characters and representable in GB2312.
    IF char_length(t) NOT BETWEEN 1 AND max_chars OR t ~ '[[:cntrl:]]' THEN
        RETURN false;
    END IF;
    PERFORM convert_to(t, 'EUC_CN');
    RETURN true;
EXCEPTION WHEN untranslatable_character THEN
    RETURN false;
END
$$;
COMMENT ON FUNCTION eqms_lcd_text_valid(text, int) IS
    'True if t fits the rating device LCD: 1..max_chars printable characters, '
    'all in the GB2312 font.';

-- Serialises the cross-table scope checks below, so that two concurrent
-- configuration writes cannot each pass a check the other would break.
CREATE FUNCTION eqms_lock_config_scopes() RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtext('eqms.config_scopes'))
$$;

-- ---------------------------------------------------------------------------
-- Organisation tree

CREATE TABLE org_node (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id   bigint CONSTRAINT org_node_parent_fk
                    REFERENCES org_node (id) ON DELETE RESTRICT,
    code        text NOT NULL
                    CONSTRAINT org_node_code_format
                    CHECK (code ~ '^[a-z0-9_]{1,32}$'),
    path        ltree NOT NULL,
    name        text NOT NULL
                    CONSTRAINT org_node_name_present
                    CHECK (btrim(name) <> '' AND char_length(name) <= 64),
    kind        text NOT NULL
                    CONSTRAINT org_node_kind_valid
                    CHECK (kind IN ('head_office', 'region', 'branch',
                                    'area', 'department')),
    time_zone   text NOT NULL DEFAULT 'Asia/Shanghai',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT org_node_not_own_parent CHECK (parent_id <> id),
    CONSTRAINT org_node_code_unique_among_siblings
        UNIQUE NULLS NOT DISTINCT (parent_id, code),
    CONSTRAINT org_node_path_unique UNIQUE (path)
);
CREATE INDEX org_node_path_gist ON org_node USING gist (path);
CREATE INDEX org_node_parent_idx ON org_node (parent_id);

COMMENT ON TABLE org_node IS
    'Owner: web-api. The organisation tree (head office > regions > branches, '
    'any depth). path is the node''s org path in bus topics (hq.r01.b0042).';
COMMENT ON COLUMN org_node.parent_id IS 'NULL only for a root (head office).';
COMMENT ON COLUMN org_node.code IS
    'One path label, ^[a-z0-9_]{1,32}$, unique among siblings.';
COMMENT ON COLUMN org_node.path IS
    'Maintained by trigger from the parent''s path and code, including the '
    'whole subtree when a node is renamed or moved; never written directly.';
COMMENT ON COLUMN org_node.time_zone IS
    'IANA zone; "today", daily resets and day rollups of the node use it.';

-- Before a write: checks the time zone and code, refuses cycles and direct
-- path edits, and derives the path of a new, renamed or moved node.
CREATE FUNCTION org_node_before_write() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    parent_path ltree;
BEGIN
    IF TG_OP = 'INSERT' OR NEW.time_zone IS DISTINCT FROM OLD.time_zone THEN
        IF NEW.time_zone IS NOT NULL
           AND NOT eqms_time_zone_valid(NEW.time_zone) THEN
            RAISE EXCEPTION 'org_node "%": "%" is not an IANA time zone',
                NEW.code, NEW.time_zone
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'org_node_time_zone_valid',
                      TABLE = 'org_node', COLUMN = 'time_zone',
                      HINT = 'use a zone name such as Asia/Shanghai';
        END IF;
    END IF;

    IF TG_OP = 'UPDATE' AND NEW.kind IS DISTINCT FROM OLD.kind
       AND NEW.kind <> 'branch'
       AND EXISTS (SELECT 1 FROM service_window WHERE node_id = NEW.id) THEN
        RAISE EXCEPTION 'org_node "%" has windows, so it must stay a branch',
            NEW.path
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'service_window_node_is_branch';
    END IF;

    IF TG_OP = 'UPDATE' AND NEW.parent_id IS NOT DISTINCT FROM OLD.parent_id
       AND NEW.code IS NOT DISTINCT FROM OLD.code THEN
        IF NEW.path IS DISTINCT FROM OLD.path
           AND current_setting('eqms.org_repath', true) IS DISTINCT FROM 'on' THEN
            RAISE EXCEPTION 'org_node.path is derived from parent_id and code; '
                            'change those instead'
                USING ERRCODE = 'check_violation',
                      CONSTRAINT = 'org_node_path_derived';
        END IF;
        RETURN NEW;
    END IF;

    -- A new node, or one renamed or moved: check the code here, because the
    -- path is computed before CHECK constraints run.
    IF NEW.code IS NULL OR NEW.code !~ '^[a-z0-9_]{1,32}$' THEN
        RAISE EXCEPTION 'org_node code "%" must match ^[a-z0-9_]{1,32}$', NEW.code
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'org_node_code_format',
                  TABLE = 'org_node', COLUMN = 'code';
    END IF;

    IF NEW.parent_id IS NULL THEN
        NEW.path := text2ltree(NEW.code);
        RETURN NEW;
    END IF;

    IF TG_OP = 'UPDATE' AND NEW.parent_id IS DISTINCT FROM OLD.parent_id
       AND EXISTS (
            WITH RECURSIVE up (id, parent_id) AS (
                SELECT id, parent_id FROM org_node WHERE id = NEW.parent_id
                UNION
                SELECT o.id, o.parent_id
                FROM org_node o JOIN up ON o.id = up.parent_id
            )
            SELECT 1 FROM up WHERE up.id = NEW.id) THEN
        RAISE EXCEPTION 'org_node "%" cannot move under its own subtree '
                        '(node %)', OLD.path, NEW.parent_id
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'org_node_no_cycle';
    END IF;

    -- Locking the parent orders this against windows added to it (codes of
    -- a node's children and windows share one topic namespace).
    SELECT path INTO parent_path FROM org_node
    WHERE id = NEW.parent_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'org_node "%": parent % does not exist',
            NEW.code, NEW.parent_id
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'org_node_parent_fk';
    END IF;
    IF EXISTS (SELECT 1 FROM service_window
               WHERE node_id = NEW.parent_id AND code = NEW.code) THEN
        RAISE EXCEPTION 'org path "%.%" is already a window', parent_path, NEW.code
            USING ERRCODE = 'unique_violation',
                  CONSTRAINT = 'org_node_code_not_window_code';
    END IF;
    NEW.path := parent_path || text2ltree(NEW.code);
    RETURN NEW;
END
$$;

-- After a rename or move: re-derive the paths of the node's whole subtree
-- from the parent links (robust even when one statement moves several
-- nested nodes), then re-check the rules that depend on ancestry.
CREATE FUNCTION org_node_after_move() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    new_path ltree;
BEGIN
    PERFORM set_config('eqms.org_repath', 'on', true);
    WITH RECURSIVE sub (id, path) AS (
        SELECT n.id, CASE WHEN n.parent_id IS NULL THEN text2ltree(n.code)
                          ELSE p.path || text2ltree(n.code) END
        FROM org_node n LEFT JOIN org_node p ON p.id = n.parent_id
        WHERE n.id = NEW.id
        UNION ALL
        SELECT c.id, sub.path || text2ltree(c.code)
        FROM org_node c JOIN sub ON c.parent_id = sub.id
    )
    UPDATE org_node o SET path = sub.path
    FROM sub
    WHERE o.id = sub.id AND o.path IS DISTINCT FROM sub.path;
    PERFORM set_config('eqms.org_repath', '', true);

    SELECT path INTO new_path FROM org_node WHERE id = NEW.id;
    PERFORM eqms_check_subtree_scopes(new_path);
    RETURN NULL;
END
$$;

CREATE TRIGGER org_node_before_write
    BEFORE INSERT OR UPDATE ON org_node
    FOR EACH ROW EXECUTE FUNCTION org_node_before_write();

CREATE TRIGGER org_node_after_move
    AFTER UPDATE ON org_node
    FOR EACH ROW
    WHEN (OLD.parent_id IS DISTINCT FROM NEW.parent_id
          OR OLD.code IS DISTINCT FROM NEW.code)
    EXECUTE FUNCTION org_node_after_move();

-- ---------------------------------------------------------------------------
-- Windows (counters). "window" is an SQL reserved word, hence service_window.

CREATE TABLE service_window (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id     bigint NOT NULL CONSTRAINT service_window_node_fk
                    REFERENCES org_node (id) ON DELETE RESTRICT,
    number      int NOT NULL
                    CONSTRAINT service_window_number_range
                    CHECK (number BETWEEN 1 AND 999),
    code        text NOT NULL
                    CONSTRAINT service_window_code_format
                    CHECK (code ~ '^[a-z0-9_]{1,32}$'),
    name        text NOT NULL
                    CONSTRAINT service_window_name_present
                    CHECK (btrim(name) <> '' AND char_length(name) <= 64),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT service_window_number_unique UNIQUE (node_id, number),
    CONSTRAINT service_window_code_unique UNIQUE (node_id, code)
);

COMMENT ON TABLE service_window IS
    'Owner: web-api. Service windows (counters) of a branch: number is the '
    '"3号窗口" number, code the label that extends the branch path in topics.';

CREATE FUNCTION service_window_before_write() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    node org_node;
BEGIN
    SELECT * INTO node FROM org_node WHERE id = NEW.node_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN NEW;     -- the foreign key reports it
    END IF;
    IF node.kind <> 'branch' THEN
        RAISE EXCEPTION 'window % must belong to a branch, "%" is a %',
            NEW.code, node.path, node.kind
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'service_window_node_is_branch';
    END IF;
    IF EXISTS (SELECT 1 FROM org_node
               WHERE parent_id = NEW.node_id AND code = NEW.code) THEN
        RAISE EXCEPTION 'org path "%.%" is already an organisation node',
            node.path, NEW.code
            USING ERRCODE = 'unique_violation',
                  CONSTRAINT = 'org_node_code_not_window_code';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER service_window_before_write
    BEFORE INSERT OR UPDATE OF node_id, code ON service_window
    FOR EACH ROW EXECUTE FUNCTION service_window_before_write();

CREATE VIEW service_window_path AS
    SELECT w.id AS window_id, w.node_id, w.number, w.code, w.name, w.active,
           n.path || text2ltree(w.code) AS org_path
    FROM service_window w JOIN org_node n ON n.id = w.node_id;
COMMENT ON VIEW service_window_path IS
    'Each window with its org path (branch path + window code, e.g. '
    'hq.r01.b0042.w03), the path its bus topics carry.';

CREATE FUNCTION window_org_path(p_window_id bigint) RETURNS ltree
LANGUAGE sql STABLE STRICT AS $$
    SELECT n.path || text2ltree(w.code)
    FROM service_window w JOIN org_node n ON n.id = w.node_id
    WHERE w.id = p_window_id
$$;
COMMENT ON FUNCTION window_org_path(bigint) IS
    'The org path of one window (hq.r01.b0042.w03), NULL if there is no such '
    'window.';

-- ---------------------------------------------------------------------------
-- Staff

CREATE TABLE staff (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    employee_no text NOT NULL
                    CONSTRAINT staff_employee_no_format
                    CHECK (employee_no ~ '^[0-9]{1,16}$'),
    name        text NOT NULL
                    CONSTRAINT staff_name_present
                    CHECK (btrim(name) <> '' AND char_length(name) <= 64),
    node_id     bigint NOT NULL CONSTRAINT staff_node_fk
                    REFERENCES org_node (id) ON DELETE RESTRICT,
    phone       text
                    CONSTRAINT staff_phone_e164
                    CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT staff_employee_no_unique UNIQUE (employee_no)
);
CREATE INDEX staff_node_idx ON staff (node_id);

COMMENT ON TABLE staff IS
    'Owner: web-api. Tellers and other staff. employee_no is what a teller '
    'types on the device keypad to log in (digits only).';
COMMENT ON COLUMN staff.node_id IS 'Home organisation node.';
COMMENT ON COLUMN staff.phone IS 'E.164 with the plus sign (+8613812345678).';

-- ---------------------------------------------------------------------------
-- Queues and services

CREATE TABLE queue (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id       bigint NOT NULL CONSTRAINT queue_node_fk
                      REFERENCES org_node (id) ON DELETE RESTRICT,
    prefix        text NOT NULL
                      CONSTRAINT queue_prefix_format
                      CHECK (prefix ~ '^[A-Z]{1,2}$'),
    name          text NOT NULL
                      CONSTRAINT queue_name_present
                      CHECK (btrim(name) <> '' AND char_length(name) <= 64),
    target_wait_s int NOT NULL DEFAULT 600
                      CONSTRAINT queue_target_wait_positive
                      CHECK (target_wait_s > 0),
    number_max    int NOT NULL DEFAULT 999
                      CONSTRAINT queue_number_max_range
                      CHECK (number_max BETWEEN 1 AND 9999),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT queue_prefix_unique UNIQUE (node_id, prefix)
);

COMMENT ON TABLE queue IS
    'Owner: web-api. A ticket number sequence (A001...) defined at a node and '
    'usable in its subtree; a prefix is unique along every root-to-leaf line, '
    'so a ticket number names one queue in a branch.';
COMMENT ON COLUMN queue.target_wait_s IS
    'Service-level target: a served ticket whose wait <= this is within it.';
COMMENT ON COLUMN queue.number_max IS
    'Highest ticket number before the sequence wraps to 1.';

CREATE TABLE service (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id     bigint NOT NULL CONSTRAINT service_node_fk
                    REFERENCES org_node (id) ON DELETE RESTRICT,
    code        text NOT NULL
                    CONSTRAINT service_code_format
                    CHECK (code ~ '^[a-z0-9_]{1,32}$'),
    name        text NOT NULL
                    CONSTRAINT service_name_present
                    CHECK (btrim(name) <> '' AND char_length(name) <= 64),
    queue_id    bigint NOT NULL CONSTRAINT service_queue_fk
                    REFERENCES queue (id) ON DELETE RESTRICT,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT service_code_unique UNIQUE (node_id, code)
);
CREATE INDEX service_queue_idx ON service (queue_id);

COMMENT ON TABLE service IS
    'Owner: web-api. A business type (个人开户...) defined at a node and '
    'usable in its subtree; its tickets come from queue_id, a queue defined at '
    'the same node or an ancestor.';

-- ---------------------------------------------------------------------------
-- Rating scales

CREATE TABLE rating_scale (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL
                    CONSTRAINT rating_scale_code_format
                    CHECK (code ~ '^[a-z0-9_]{1,32}$'),
    name        text NOT NULL
                    CONSTRAINT rating_scale_name_present
                    CHECK (btrim(name) <> '' AND char_length(name) <= 64),
    node_id     bigint CONSTRAINT rating_scale_node_fk
                    REFERENCES org_node (id) ON DELETE RESTRICT,
    key_count   int NOT NULL
                    CONSTRAINT rating_scale_key_count_range
                    CHECK (key_count BETWEEN 2 AND 6),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rating_scale_code_unique UNIQUE (code)
);

COMMENT ON TABLE rating_scale IS
    'Owner: web-api. A set of rating keys (4-key std4, 6-key std6...). '
    'node_id NULL = usable everywhere, else in that node''s subtree. '
    'Its options are exactly the codes 1..key_count (checked at commit).';

CREATE TABLE rating_option (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scale_id    bigint NOT NULL CONSTRAINT rating_option_scale_fk
                    REFERENCES rating_scale (id) ON DELETE CASCADE,
    code        smallint NOT NULL
                    CONSTRAINT rating_option_code_range
                    CHECK (code BETWEEN 1 AND 6),
    label       text NOT NULL
                    CONSTRAINT rating_option_label_fits_lcd
                    CHECK (eqms_lcd_text_valid(label, 8)),
    satisfied   boolean NOT NULL DEFAULT false,
    unsatisfied boolean NOT NULL DEFAULT false,
    score       numeric(3,1) NOT NULL
                    CONSTRAINT rating_option_score_range
                    CHECK (score BETWEEN 0 AND 5),
    position    smallint NOT NULL
                    CONSTRAINT rating_option_position_positive
                    CHECK (position >= 1),
    CONSTRAINT rating_option_not_both
        CHECK (NOT (satisfied AND unsatisfied)),
    CONSTRAINT rating_option_code_unique UNIQUE (scale_id, code),
    CONSTRAINT rating_option_position_unique UNIQUE (scale_id, position)
        DEFERRABLE INITIALLY DEFERRED
);

COMMENT ON TABLE rating_option IS
    'Owner: web-api. One key of a rating scale: code is what the device sends '
    '(1..key_count), label what its LCD shows (<= 8 GB2312 characters), '
    'satisfied/unsatisfied feed the satisfaction measures, score the mean.';

CREATE FUNCTION rating_scale_check_options() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    sid bigint;
    scale rating_scale;
    codes smallint[];
BEGIN
    IF TG_TABLE_NAME = 'rating_scale' THEN
        sid := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        sid := OLD.scale_id;
    ELSE
        sid := NEW.scale_id;
    END IF;
    SELECT * INTO scale FROM rating_scale WHERE id = sid;
    IF NOT FOUND THEN
        RETURN NULL;    -- the scale itself was deleted
    END IF;
    SELECT array_agg(code ORDER BY code) INTO codes
    FROM rating_option WHERE scale_id = sid;
    IF codes IS DISTINCT FROM
       ARRAY(SELECT generate_series(1, scale.key_count)::smallint) THEN
        RAISE EXCEPTION 'rating scale % has % keys but option codes %; '
                        'it needs exactly 1..%',
            scale.code, scale.key_count, coalesce(codes::text, '{}'),
            scale.key_count
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'rating_scale_options_match_keys';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER rating_scale_options_match_keys
    AFTER INSERT OR UPDATE ON rating_scale
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION rating_scale_check_options();

CREATE CONSTRAINT TRIGGER rating_option_options_match_keys
    AFTER INSERT OR UPDATE OR DELETE ON rating_option
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION rating_scale_check_options();

-- ---------------------------------------------------------------------------
-- Devices

CREATE TABLE device (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial           text NOT NULL
                         CONSTRAINT device_serial_format
                         CHECK (serial ~ '^[A-Za-z0-9-]{4,32}$'),
    window_id        bigint CONSTRAINT device_window_fk
                         REFERENCES service_window (id) ON DELETE SET NULL,
    model            text NOT NULL
                         CONSTRAINT device_model_present
                         CHECK (btrim(model) <> '' AND char_length(model) <= 64),
    firmware_version text
                         CONSTRAINT device_firmware_version_format
                         CHECK (firmware_version ~ '^[0-9A-Za-z._+-]{1,32}$'),
    registered_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT device_serial_unique UNIQUE (serial),
    CONSTRAINT device_window_unique UNIQUE (window_id)
);

COMMENT ON TABLE device IS
    'Owner: web-api. Rating devices by serial; window_id NULL = unassigned '
    '(in stock), at most one device per window.';
COMMENT ON COLUMN device.firmware_version IS
    'As last reported by the device; NULL until it has connected.';

-- ---------------------------------------------------------------------------
-- Settings, inherited down the tree

CREATE TABLE node_settings (
    node_id          bigint PRIMARY KEY CONSTRAINT node_settings_node_fk
                         REFERENCES org_node (id) ON DELETE CASCADE,
    rating_timeout_s int
                         CONSTRAINT node_settings_rating_timeout_range
                         CHECK (rating_timeout_s BETWEEN 5 AND 300),
    repeat_press_s   int
                         CONSTRAINT node_settings_repeat_press_range
                         CHECK (repeat_press_s BETWEEN 0 AND 600),
    rating_scale_id  bigint CONSTRAINT node_settings_rating_scale_fk
                         REFERENCES rating_scale (id) ON DELETE RESTRICT,
    idle_text        text
                         CONSTRAINT node_settings_idle_text_fits_lcd
                         CHECK (eqms_lcd_text_valid(idle_text, 32)),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE node_settings IS
    'Owner: web-api. Device settings set at a node; NULL = inherit from the '
    'nearest ancestor that sets it (see effective_settings).';
COMMENT ON COLUMN node_settings.rating_timeout_s IS
    'Seconds the device waits for a rating before "not rated".';
COMMENT ON COLUMN node_settings.repeat_press_s IS
    'Seconds during which further key presses after a rating are ignored.';
COMMENT ON COLUMN node_settings.idle_text IS
    'Courtesy text on the idle screen: up to 4 lines of 8 GB2312 characters.';

CREATE FUNCTION node_settings_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER node_settings_touch
    BEFORE UPDATE ON node_settings
    FOR EACH ROW EXECUTE FUNCTION node_settings_touch();

CREATE FUNCTION effective_settings(p_node_id bigint)
RETURNS TABLE (
    node_id             bigint,
    rating_timeout_s    int,
    repeat_press_s      int,
    rating_scale_id     bigint,
    rating_scale_code   text,
    idle_text           text,
    rating_timeout_from bigint,
    repeat_press_from   bigint,
    rating_scale_from   bigint,
    idle_text_from      bigint
)
LANGUAGE sql STABLE STRICT AS $$
    WITH chain AS (
        SELECT s.*, nlevel(a.path) AS depth
        FROM org_node n
        JOIN org_node a ON a.path @> n.path
        JOIN node_settings s ON s.node_id = a.id
        WHERE n.id = p_node_id
    ), nearest AS (
        SELECT
            (array_agg(c.rating_timeout_s ORDER BY c.depth DESC)
                FILTER (WHERE c.rating_timeout_s IS NOT NULL))[1] AS timeout_v,
            (array_agg(c.node_id ORDER BY c.depth DESC)
                FILTER (WHERE c.rating_timeout_s IS NOT NULL))[1] AS timeout_n,
            (array_agg(c.repeat_press_s ORDER BY c.depth DESC)
                FILTER (WHERE c.repeat_press_s IS NOT NULL))[1] AS repeat_v,
            (array_agg(c.node_id ORDER BY c.depth DESC)
                FILTER (WHERE c.repeat_press_s IS NOT NULL))[1] AS repeat_n,
            (array_agg(c.rating_scale_id ORDER BY c.depth DESC)
                FILTER (WHERE c.rating_scale_id IS NOT NULL))[1] AS scale_v,
            (array_agg(c.node_id ORDER BY c.depth DESC)
                FILTER (WHERE c.rating_scale_id IS NOT NULL))[1] AS scale_n,
            (array_agg(c.idle_text ORDER BY c.depth DESC)
                FILTER (WHERE c.idle_text IS NOT NULL))[1] AS idle_v,
            (array_agg(c.node_id ORDER BY c.depth DESC)
                FILTER (WHERE c.idle_text IS NOT NULL))[1] AS idle_n
        FROM chain c
    )
    SELECT n.id,
           coalesce(x.timeout_v, 30),
           coalesce(x.repeat_v, 10),
           rs.id,
           rs.code,
           coalesce(x.idle_v, '欢迎光临'),
           x.timeout_n, x.repeat_n, x.scale_n, x.idle_n
    FROM org_node n
    CROSS JOIN nearest x
    LEFT JOIN rating_scale rs
        ON rs.id = coalesce(x.scale_v,
                            (SELECT id FROM rating_scale WHERE code = 'std4'))
    WHERE n.id = p_node_id
$$;
COMMENT ON FUNCTION effective_settings(bigint) IS
    'The settings in force at a node: each value from the nearest node on the '
    'way to the root that sets it, else the built-in default (30 s rating '
    'timeout, 10 s repeat-press guard, scale std4, idle text 欢迎光临). '
    '*_from = the node it came from, NULL for the default. No row if the node '
    'does not exist.';

CREATE VIEW node_effective_settings AS
    SELECT e.* FROM org_node n CROSS JOIN LATERAL effective_settings(n.id) e;
COMMENT ON VIEW node_effective_settings IS
    'effective_settings for every organisation node.';

-- ---------------------------------------------------------------------------
-- Rules that depend on where nodes sit in the tree, checked after each write
-- to any table involved (and for a whole subtree after a node moves):
--   queue_prefix_unique_in_line   no two queues with one prefix on a line
--                                 from the root to a leaf;
--   service_queue_in_scope        a service's queue is defined at the
--                                 service's node or an ancestor;
--   node_settings_scale_in_scope  a scale set at a node is global or scoped
--                                 to that node or an ancestor.

CREATE FUNCTION eqms_raise_scope_violation(rule text, detail text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%: %', rule, detail
        USING ERRCODE = 'check_violation', CONSTRAINT = rule;
END
$$;

-- Checks the three rules for every row at or below root.
CREATE FUNCTION eqms_check_subtree_scopes(root ltree) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    bad text;
BEGIN
    PERFORM eqms_lock_config_scopes();
    SELECT format('queue %s at %s clashes with queue %s at %s',
                  q.prefix, qn.path, a.prefix, an.path)
    INTO bad
    FROM queue q JOIN org_node qn ON qn.id = q.node_id
    JOIN queue a ON a.prefix = q.prefix AND a.id <> q.id
    JOIN org_node an ON an.id = a.node_id
    WHERE qn.path <@ root AND (an.path @> qn.path OR an.path <@ qn.path)
    LIMIT 1;
    IF FOUND THEN
        PERFORM eqms_raise_scope_violation('queue_prefix_unique_in_line', bad);
    END IF;

    SELECT format('service %s at %s uses queue %s of %s, not an ancestor',
                  s.code, sn.path, q.prefix, qn.path)
    INTO bad
    FROM service s JOIN org_node sn ON sn.id = s.node_id
    JOIN queue q ON q.id = s.queue_id JOIN org_node qn ON qn.id = q.node_id
    WHERE (sn.path <@ root OR qn.path <@ root) AND NOT qn.path @> sn.path
    LIMIT 1;
    IF FOUND THEN
        PERFORM eqms_raise_scope_violation('service_queue_in_scope', bad);
    END IF;

    SELECT format('settings of %s use scale %s scoped to %s, not an ancestor',
                  sn.path, r.code, rn.path)
    INTO bad
    FROM node_settings s JOIN org_node sn ON sn.id = s.node_id
    JOIN rating_scale r ON r.id = s.rating_scale_id
    JOIN org_node rn ON rn.id = r.node_id
    WHERE (sn.path <@ root OR rn.path <@ root) AND NOT rn.path @> sn.path
    LIMIT 1;
    IF FOUND THEN
        PERFORM eqms_raise_scope_violation('node_settings_scale_in_scope', bad);
    END IF;
END
$$;

CREATE FUNCTION eqms_check_row_scopes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad text;
BEGIN
    PERFORM eqms_lock_config_scopes();
    IF TG_TABLE_NAME = 'queue' THEN
        SELECT format('queue %s at %s clashes with queue %s at %s',
                      NEW.prefix, qn.path, a.prefix, an.path)
        INTO bad
        FROM org_node qn
        JOIN queue a ON a.prefix = NEW.prefix AND a.id <> NEW.id
        JOIN org_node an ON an.id = a.node_id
        WHERE qn.id = NEW.node_id
          AND (an.path @> qn.path OR an.path <@ qn.path)
        LIMIT 1;
        IF FOUND THEN
            PERFORM eqms_raise_scope_violation('queue_prefix_unique_in_line',
                                               bad);
        END IF;
        IF TG_OP = 'UPDATE' AND NEW.node_id <> OLD.node_id THEN
            SELECT format('service %s at %s would use queue %s of %s',
                          s.code, sn.path, NEW.prefix, qn.path)
            INTO bad
            FROM service s JOIN org_node sn ON sn.id = s.node_id
            JOIN org_node qn ON qn.id = NEW.node_id
            WHERE s.queue_id = NEW.id AND NOT qn.path @> sn.path
            LIMIT 1;
            IF FOUND THEN
                PERFORM eqms_raise_scope_violation('service_queue_in_scope',
                                                   bad);
            END IF;
        END IF;
    ELSIF TG_TABLE_NAME = 'service' THEN
        SELECT format('service %s at %s uses queue %s of %s, not an ancestor',
                      NEW.code, sn.path, q.prefix, qn.path)
        INTO bad
        FROM org_node sn, queue q JOIN org_node qn ON qn.id = q.node_id
        WHERE sn.id = NEW.node_id AND q.id = NEW.queue_id
          AND NOT qn.path @> sn.path;
        IF FOUND THEN
            PERFORM eqms_raise_scope_violation('service_queue_in_scope', bad);
        END IF;
    ELSIF TG_TABLE_NAME = 'node_settings' THEN
        SELECT format('settings of %s use scale %s scoped to %s, not an '
                      'ancestor', sn.path, r.code, rn.path)
        INTO bad
        FROM org_node sn, rating_scale r JOIN org_node rn ON rn.id = r.node_id
        WHERE sn.id = NEW.node_id AND r.id = NEW.rating_scale_id
          AND NOT rn.path @> sn.path;
        IF FOUND THEN
            PERFORM eqms_raise_scope_violation('node_settings_scale_in_scope',
                                               bad);
        END IF;
    ELSIF TG_TABLE_NAME = 'rating_scale' THEN
        SELECT format('settings of %s use scale %s, which would be scoped '
                      'to %s', sn.path, NEW.code, rn.path)
        INTO bad
        FROM node_settings s JOIN org_node sn ON sn.id = s.node_id,
             org_node rn
        WHERE s.rating_scale_id = NEW.id AND rn.id = NEW.node_id
          AND NOT rn.path @> sn.path
        LIMIT 1;
        IF FOUND THEN
            PERFORM eqms_raise_scope_violation('node_settings_scale_in_scope',
                                               bad);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER queue_check_scopes
    AFTER INSERT OR UPDATE OF node_id, prefix ON queue
    FOR EACH ROW EXECUTE FUNCTION eqms_check_row_scopes();
CREATE TRIGGER service_check_scopes
    AFTER INSERT OR UPDATE OF node_id, queue_id ON service
    FOR EACH ROW EXECUTE FUNCTION eqms_check_row_scopes();
CREATE TRIGGER node_settings_check_scopes
    AFTER INSERT OR UPDATE OF node_id, rating_scale_id ON node_settings
    FOR EACH ROW EXECUTE FUNCTION eqms_check_row_scopes();
CREATE TRIGGER rating_scale_check_scopes
    AFTER UPDATE OF node_id ON rating_scale
    FOR EACH ROW EXECUTE FUNCTION eqms_check_row_scopes();

-- ---------------------------------------------------------------------------
-- Seed data: the two standard rating scales.

INSERT INTO rating_scale (code, name, key_count) VALUES
    ('std4', '标准四键', 4),
    ('std6', '标准六键', 6);

INSERT INTO rating_option
    (scale_id, code, label, satisfied, unsatisfied, score, position)
SELECT s.id, o.code, o.label, o.satisfied, o.unsatisfied, o.score, o.code
FROM rating_scale s
JOIN (VALUES
    ('std4', 1, '非常满意', true,  false, 5.0),
    ('std4', 2, '满意',     true,  false, 4.0),
    ('std4', 3, '一般',     false, false, 3.0),
    ('std4', 4, '不满意',   false, true,  1.0),
    ('std6', 1, '非常满意', true,  false, 5.0),
    ('std6', 2, '满意',     true,  false, 4.0),
    ('std6', 3, '态度不好', false, true,  1.0),
    ('std6', 4, '业务不熟', false, true,  1.0),
    ('std6', 5, '效率不高', false, true,  2.0),
    ('std6', 6, '其它',     false, false, 3.0)
) AS o (scale, code, label, satisfied, unsatisfied, score)
    ON o.scale = s.code
ORDER BY s.code, o.code;
