"""Schema 29 (common/sql/0029_webapi_identity.sql): web-api's users, roles,
permissions, API tokens and audit log, as eqms-migrate applies them."""
import psycopg2
import psycopg2.errors
import pytest

from test_schema import code, node, one, q, refused

HASH = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
PERMISSIONS = ["view_statistics", "view_complaints", "view_live_hall", "operate_windows",
               "issue_tickets", "manage_queues", "manage_configuration", "manage_devices",
               "manage_users", "manage_alerts", "export", "purge_data", "backup",
               "manage_api_tokens", "read_audit_log"]


def user(conn, node_id, login=None):
    return one(conn, "INSERT INTO app_user (login, display_name, password_hash, node_id) "
                     "VALUES (%s, '张三', %s, %s) RETURNING id", login or code(), HASH, node_id)


def tree(conn):
    """head office > region > two branches; returns their ids."""
    hq = node(conn, None, code(), "head_office")
    region = node(conn, hq, "r01", "region")
    return hq, region, node(conn, region, "b01"), node(conn, region, "b02")


def test_users(db):
    hq, _, b1, _ = tree(db)
    u = user(db, b1, "li.si@bank")
    for login in ["Li.Si", "li si", "", ".x", "x" * 65, "李四"]:
        refused(db, "app_user_login_format",
                "INSERT INTO app_user (login, display_name, password_hash, node_id) "
                "VALUES (%s, 'x', %s, %s)", login, HASH, b1)
    refused(db, "app_user_login_unique",
            "INSERT INTO app_user (login, display_name, password_hash, node_id) "
            "VALUES ('li.si@bank', 'x', %s, %s)", HASH, hq)
    for bad in ["plain", "$2b$10$abc", "$argon2d$v=19$x"]:
        refused(db, "app_user_password_hash_argon2",
                "INSERT INTO app_user (login, display_name, password_hash, node_id) "
                "VALUES (%s, 'x', %s, %s)", code(), bad, b1)
    refused(db, "app_user_display_name_present",
            "INSERT INTO app_user (login, display_name, password_hash, node_id) "
            "VALUES (%s, ' ', %s, %s)", code(), HASH, b1)
    # deleted users are disabled, not erased; updated_at follows changes
    refused(db, "app_user_deleted_is_disabled",
            "UPDATE app_user SET deleted_at = now() WHERE id = %s", u)
    before = one(db, "SELECT updated_at FROM app_user WHERE id = %s", u)
    q(db, "UPDATE app_user SET disabled = true, deleted_at = now() WHERE id = %s", u)
    assert one(db, "SELECT updated_at > %s FROM app_user WHERE id = %s", before, u)
    refused(db, "app_user_failed_logins_valid",
            "UPDATE app_user SET failed_logins = -1 WHERE id = %s", u)
    # a node with users is not deleted
    with pytest.raises(psycopg2.IntegrityError):
        q(db, "DELETE FROM org_node WHERE id = %s", b1)


def test_roles_and_permissions(db):
    hq, region, b1, b2 = tree(db)
    r = one(db, "INSERT INTO role (node_id, name) VALUES (%s, '柜员') RETURNING id", region)
    assert one(db, "SELECT eqms_permissions()") == PERMISSIONS
    for p in PERMISSIONS:
        q(db, "INSERT INTO role_permission (role_id, permission) VALUES (%s, %s)", r, p)
    for p in ["root", "VIEW_STATISTICS", ""]:
        refused(db, "role_permission_known",
                "INSERT INTO role_permission (role_id, permission) VALUES (%s, %s)", r, p)
    refused(db, "role_name_unique",
            "INSERT INTO role (node_id, name) VALUES (%s, '柜员')", region)
    q(db, "INSERT INTO role (node_id, name) VALUES (%s, '柜员')", b1)   # another node's
    # a role is given at or below its node, never beside or above it
    below, other, above = user(db, b1), user(db, b2), user(db, hq)
    q(db, "INSERT INTO user_role (user_id, role_id) VALUES (%s, %s)", below, r)
    r_b1 = one(db, "SELECT id FROM role WHERE node_id = %s", b1)
    refused(db, "user_role_in_scope",
            "INSERT INTO user_role (user_id, role_id) VALUES (%s, %s)", other, r_b1,
            error=psycopg2.errors.CheckViolation)
    refused(db, "user_role_in_scope",
            "INSERT INTO user_role (user_id, role_id) VALUES (%s, %s)", above, r,
            error=psycopg2.errors.CheckViolation)
    # deleting a role takes its permissions and grants with it
    q(db, "DELETE FROM role WHERE id = %s", r)
    assert one(db, "SELECT count(*) FROM role_permission WHERE role_id = %s", r) == 0
    assert one(db, "SELECT count(*) FROM user_role WHERE role_id = %s", r) == 0


def test_api_tokens(db):
    _, region, b1, _ = tree(db)
    admin = user(db, region)
    token = "eqs_" + "A" * 43
    # the hash web-api computes (common/session) is PostgreSQL's sha256 of the text
    assert one(db, "SELECT encode(sha256(convert_to(%s, 'UTF8')), 'hex')", token) == \
        "6e6d82fa2792bf5c24efb7eacbe23ff9bc6f794b3d2af44fbc0244a404c5f7a9"
    insert = ("INSERT INTO api_token (token_hash, name, scopes, node_id, expires_at, created_by)"
              " VALUES (sha256(convert_to(%s, 'UTF8')), %s, %s, %s, now() + interval '1 year',"
              " %s) RETURNING id")
    t = one(db, insert, token, "数据仓库", ["view_statistics", "export"], b1, admin)
    assert t
    refused(db, "api_token_hash_unique", insert, token, "again", ["export"], b1, admin)
    for scopes in [[], ["export", "root"], ["export", None]]:
        refused(db, "api_token_scopes_known", insert, code(), "x", scopes, b1, admin)
    refused(db, "api_token_hash_sha256",
            "INSERT INTO api_token (token_hash, name, scopes, node_id, expires_at, created_by)"
            " VALUES ('\\x00', 'x', '{export}', %s, now() + interval '1 day', %s)", b1, admin)
    refused(db, "api_token_expires_after_creation",
            "INSERT INTO api_token (token_hash, name, scopes, node_id, expires_at, created_by)"
            " VALUES (sha256('x'), 'x', '{export}', %s, now(), %s)", b1, admin)


def test_audit_log_is_append_only(db):
    _, _, b1, _ = tree(db)
    u = user(db, b1)
    a = one(db, "INSERT INTO audit_log (actor_user_id, actor, address, action, object_type, "
                "object_id, node_id, detail) VALUES (%s, 'li.si', '10.1.2.3', 'user.create', "
                "'app_user', '42', %s, '{\"after\": {\"login\": \"wang\"}}') RETURNING id", u, b1)
    q(db, "INSERT INTO audit_log (actor, action) VALUES ('system', 'data.purge')")
    for sql in ["UPDATE audit_log SET action = 'user.delete' WHERE id = %s" % a,
                "DELETE FROM audit_log WHERE id = %s" % a, "TRUNCATE audit_log"]:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege) as exc:
            q(db, sql)
        assert "append-only" in exc.value.pgerror
    assert one(db, "SELECT count(*) FROM audit_log") == 2
    for action in ["User.Create", "user create", "", "a.b.c.d.e"]:
        refused(db, "audit_log_action_format",
                "INSERT INTO audit_log (actor, action) VALUES ('system', %s)", action)
    refused(db, "audit_log_detail_object",
            "INSERT INTO audit_log (actor, action, detail) VALUES ('system', 'x', '[1]')")
    refused(db, "audit_log_actor_present",
            "INSERT INTO audit_log (actor, action) VALUES ('', 'x')")
