-- EQMS schema 29: web-api's identity and access tables (issue 14;
-- docs/security.md): users bound to an organisation node, roles made of
-- permissions, the roles users hold, API tokens for machine consumers, and
-- the audit log. Sessions are not here: they live in Redis (common/session).
-- It only adds tables and functions.
-- compatibility: expand

-- ---------------------------------------------------------------------------
-- Permissions

-- The one list of permissions: role_permission.permission and
-- api_token.scopes are checked against it. A release that adds one replaces
-- this function with a longer list (an expand change); one that removes
-- one needs a contract migration.
CREATE FUNCTION eqms_permissions() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY[
        'view_statistics', 'view_complaints', 'view_live_hall', 'operate_windows',
        'issue_tickets', 'manage_queues', 'manage_configuration', 'manage_devices',
        'manage_users', 'manage_alerts', 'export', 'purge_data', 'backup',
        'manage_api_tokens', 'read_audit_log'
    ]::text[]
$$;
COMMENT ON FUNCTION eqms_permissions() IS
    'Every permission a role may hold or an API token may be scoped to: '
    'view_statistics, view_complaints (complaint details), view_live_hall, '
    'operate_windows, issue_tickets, manage_queues (queues and services), '
    'manage_configuration, manage_devices, manage_users (users and roles), '
    'manage_alerts, export, purge_data, backup, manage_api_tokens, '
    'read_audit_log.';

-- ---------------------------------------------------------------------------
-- Users

CREATE TABLE app_user (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login       text NOT NULL CONSTRAINT app_user_login_format
                    CHECK (login ~ '^[a-z0-9][a-z0-9._@-]{0,63}$'),
    display_name text NOT NULL CONSTRAINT app_user_display_name_present
                    CHECK (btrim(display_name) <> '' AND char_length(display_name) <= 64),
    password_hash text NOT NULL CONSTRAINT app_user_password_hash_argon2
                    CHECK (password_hash ~ '^\$argon2(id|i)\$' AND length(password_hash) < 128),
    node_id     bigint NOT NULL CONSTRAINT app_user_node_fk
                    REFERENCES org_node (id) ON DELETE RESTRICT,
    disabled    boolean NOT NULL DEFAULT false,
    deleted_at  timestamptz,
    must_change_password boolean NOT NULL DEFAULT false,
    failed_logins integer NOT NULL DEFAULT 0 CONSTRAINT app_user_failed_logins_valid
                    CHECK (failed_logins >= 0),
    locked_until timestamptz,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    created_by  bigint CONSTRAINT app_user_created_by_fk
                    REFERENCES app_user (id) ON DELETE RESTRICT,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT app_user_login_unique UNIQUE (login),
    CONSTRAINT app_user_deleted_is_disabled CHECK (deleted_at IS NULL OR disabled)
);
CREATE INDEX app_user_node_idx ON app_user (node_id);

COMMENT ON TABLE app_user IS
    'Owner: web-api. A person who signs in to the console or the API. '
    'login is lowercase ASCII (letters, digits, . _ @ -), unique for ever: a '
    'deleted user is disabled with deleted_at set, never erased, so that the '
    'audit log and every fact they touched still name them. node_id bounds '
    'what they see and change: that node''s subtree.';
COMMENT ON COLUMN app_user.password_hash IS
    'argon2id in libsodium''s string form, parameters included '
    '(common/password, docs/security.md); never the password.';
COMMENT ON COLUMN app_user.must_change_password IS
    'Set by an administrator''s reset: the next login may only change the '
    'password.';
COMMENT ON COLUMN app_user.failed_logins IS
    'Failed logins since the last success; past the limit locked_until is '
    'set (the time is shown to the user) and the count starts again.';
COMMENT ON COLUMN app_user.password_changed_at IS
    'Sessions begun before it are ended (web-api revokes them in Redis when '
    'it changes).';

-- node_settings_touch (schema 1) for any table with an updated_at column.
CREATE FUNCTION eqms_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER app_user_touch
    BEFORE UPDATE ON app_user
    FOR EACH ROW EXECUTE FUNCTION eqms_touch_updated_at();

-- ---------------------------------------------------------------------------
-- Roles

CREATE TABLE role (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id     bigint NOT NULL CONSTRAINT role_node_fk
                    REFERENCES org_node (id) ON DELETE RESTRICT,
    name        text NOT NULL CONSTRAINT role_name_present
                    CHECK (btrim(name) <> '' AND char_length(name) <= 64),
    description text NOT NULL DEFAULT '' CONSTRAINT role_description_fits
                    CHECK (char_length(description) <= 500),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT role_name_unique UNIQUE (node_id, name)
);

COMMENT ON TABLE role IS
    'Owner: web-api. A named set of permissions (role_permission), defined '
    'at a node by an administrator of that node and given to users of its '
    'subtree (user_role).';

CREATE TRIGGER role_touch
    BEFORE UPDATE ON role
    FOR EACH ROW EXECUTE FUNCTION eqms_touch_updated_at();

CREATE TABLE role_permission (
    role_id     bigint NOT NULL CONSTRAINT role_permission_role_fk
                    REFERENCES role (id) ON DELETE CASCADE,
    permission  text NOT NULL CONSTRAINT role_permission_known
                    CHECK (permission = ANY (eqms_permissions())),
    CONSTRAINT role_permission_pk PRIMARY KEY (role_id, permission)
);

COMMENT ON TABLE role_permission IS
    'Owner: web-api. The permissions ticked in a role, one row each, from '
    'eqms_permissions().';

CREATE TABLE user_role (
    user_id     bigint NOT NULL CONSTRAINT user_role_user_fk
                    REFERENCES app_user (id) ON DELETE CASCADE,
    role_id     bigint NOT NULL CONSTRAINT user_role_role_fk
                    REFERENCES role (id) ON DELETE CASCADE,
    granted_by  bigint CONSTRAINT user_role_granted_by_fk
                    REFERENCES app_user (id) ON DELETE RESTRICT,
    granted_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_role_pk PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_role_role_idx ON user_role (role_id);

COMMENT ON TABLE user_role IS
    'Owner: web-api. The roles a user holds. A role applies to the user''s '
    'own subtree, and only a role defined at the user''s node or above it '
    'may be given (checked by user_role_before_write).';

-- A role is given only to a user at or below the role's node.
CREATE FUNCTION user_role_before_write() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM app_user u
        JOIN org_node un ON un.id = u.node_id
        JOIN role r ON r.id = NEW.role_id
        JOIN org_node rn ON rn.id = r.node_id
        WHERE u.id = NEW.user_id AND rn.path @> un.path
    ) THEN
        RAISE EXCEPTION 'role % is not defined at the node of user % or above it',
            NEW.role_id, NEW.user_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'user_role_in_scope';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER user_role_before_write
    BEFORE INSERT OR UPDATE ON user_role
    FOR EACH ROW EXECUTE FUNCTION user_role_before_write();

-- ---------------------------------------------------------------------------
-- API tokens

CREATE TABLE api_token (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  bytea NOT NULL CONSTRAINT api_token_hash_sha256
                    CHECK (octet_length(token_hash) = 32),
    name        text NOT NULL CONSTRAINT api_token_name_present
                    CHECK (btrim(name) <> '' AND char_length(name) <= 64),
    scopes      text[] NOT NULL CONSTRAINT api_token_scopes_known
                    CHECK (cardinality(scopes) >= 1 AND scopes <@ eqms_permissions()
                           AND array_position(scopes, NULL) IS NULL),
    node_id     bigint NOT NULL CONSTRAINT api_token_node_fk
                    REFERENCES org_node (id) ON DELETE RESTRICT,
    expires_at  timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at  timestamptz,
    created_by  bigint NOT NULL CONSTRAINT api_token_created_by_fk
                    REFERENCES app_user (id) ON DELETE RESTRICT,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_token_hash_unique UNIQUE (token_hash),
    CONSTRAINT api_token_expires_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX api_token_node_idx ON api_token (node_id);
CREATE INDEX api_token_created_by_idx ON api_token (created_by);

COMMENT ON TABLE api_token IS
    'Owner: web-api. A token for another system (HR, data warehouse): what it '
    'may do (scopes, permissions from eqms_permissions()), which subtree '
    '(node_id) and until when. The token is shown once when made; only its '
    'SHA-256 is kept (token_hash = sha256(convert_to(token, ''UTF8''))). '
    'A revoked token keeps its row (revoked_at) for the audit log.';
COMMENT ON COLUMN api_token.last_used_at IS
    'Written by web-api at most about once a minute per token.';

-- ---------------------------------------------------------------------------
-- Audit log

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_user_id bigint CONSTRAINT audit_log_actor_user_fk
                    REFERENCES app_user (id) ON DELETE RESTRICT,
    actor_token_id bigint CONSTRAINT audit_log_actor_token_fk
                    REFERENCES api_token (id) ON DELETE RESTRICT,
    actor       text NOT NULL CONSTRAINT audit_log_actor_present
                    CHECK (btrim(actor) <> '' AND char_length(actor) <= 128),
    address     inet,
    action      text NOT NULL CONSTRAINT audit_log_action_format
                    CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,3}$'),
    object_type text CONSTRAINT audit_log_object_type_format
                    CHECK (object_type ~ '^[a-z][a-z0-9_]{0,63}$'),
    object_id   text CONSTRAINT audit_log_object_id_fits
                    CHECK (char_length(object_id) <= 128),
    node_id     bigint CONSTRAINT audit_log_node_fk
                    REFERENCES org_node (id) ON DELETE RESTRICT,
    detail      jsonb NOT NULL DEFAULT '{}' CONSTRAINT audit_log_detail_object
                    CHECK (jsonb_typeof(detail) = 'object'),
    CONSTRAINT audit_log_one_actor CHECK (actor_user_id IS NULL OR actor_token_id IS NULL)
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_node_at_idx ON audit_log (node_id, at);
CREATE INDEX audit_log_actor_user_at_idx ON audit_log (actor_user_id, at)
    WHERE actor_user_id IS NOT NULL;

COMMENT ON TABLE audit_log IS
    'Owner: web-api. Append-only: every change made through web-api and every '
    'sign-in, by whom (a user, an API token, or "system" with neither), from '
    'which address, what (action such as user.create, the object and the '
    'node whose subtree it belongs to) and detail (before and after). Rows '
    'are never updated or deleted (audit_log_append_only).';
COMMENT ON COLUMN audit_log.actor IS
    'The actor as shown at the time: the user''s login, the token''s name, or '
    '"system"; kept so that the row reads the same after renames.';

CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
