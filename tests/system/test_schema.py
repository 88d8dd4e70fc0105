"""Schema v1 (common/sql) as applied by eqms-migrate, and the demo data.

Each test builds what it needs under its own root node, so the tests hold
whether a database is shared or not.
"""
import json
import os
import uuid

import psycopg2
import psycopg2.errors
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
DEMO_SQL = os.path.join(ROOT, "docker", "local", "demo.sql")


def q(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args or None)
        return cur.fetchall() if cur.description else None


def one(conn, sql, *args):
    rows = q(conn, sql, *args)
    assert len(rows) == 1, rows
    return rows[0][0] if len(rows[0]) == 1 else rows[0]


def refused(conn, constraint, sql, *args, error=psycopg2.IntegrityError):
    """Runs sql, expecting it to fail on the named constraint."""
    with pytest.raises(error) as exc:
        q(conn, sql, *args)
    assert exc.value.diag.constraint_name == constraint, exc.value.pgerror
    return exc.value


def code():
    return "t" + uuid.uuid4().hex[:12]


def node(conn, parent, code_, kind="branch", name="测试", tz=None):
    """Inserts an org node under parent (id or None); returns its id."""
    cols, vals = "parent_id, code, name, kind", [parent, code_, name, kind]
    if tz is not None:
        cols, vals = cols + ", time_zone", vals + [tz]
    return one(conn, f"INSERT INTO org_node ({cols}) VALUES ({', '.join(['%s'] * len(vals))})"
                     " RETURNING id", *vals)


def path(conn, node_id):
    return one(conn, "SELECT path::text FROM org_node WHERE id = %s", node_id)


def window(conn, node_id, number, code_=None):
    code_ = code_ or "w%02d" % number
    return one(conn, "INSERT INTO service_window (node_id, number, code, name) "
                     "VALUES (%s, %s, %s, %s) RETURNING id", node_id, number, code_,
               f"{number}号窗口")


@pytest.fixture
def tree(db):
    """root > r1 > b1 (window w01, child area a1 > d1), root > r2 > b2."""
    t = {"root": node(db, None, code(), "head_office")}
    t["r1"] = node(db, t["root"], "r1", "region")
    t["r2"] = node(db, t["root"], "r2", "region")
    t["b1"] = node(db, t["r1"], "b1")
    t["b2"] = node(db, t["r2"], "b2")
    t["a1"] = node(db, t["b1"], "a1", "area")
    t["d1"] = node(db, t["a1"], "d1", "department")
    t["w1"] = window(db, t["b1"], 1)
    t["db"] = db
    return t


# --- seeds ------------------------------------------------------------------

def test_rating_scales_are_seeded(db):
    rows = q(db, "SELECT s.code, s.key_count, o.code, o.label, o.satisfied, o.unsatisfied, "
                 "o.score::float FROM rating_option o JOIN rating_scale s ON s.id = o.scale_id "
                 "WHERE s.code IN ('std4', 'std6') ORDER BY s.code, o.position")
    assert rows == [
        ("std4", 4, 1, "非常满意", True, False, 5.0),
        ("std4", 4, 2, "满意", True, False, 4.0),
        ("std4", 4, 3, "一般", False, False, 3.0),
        ("std4", 4, 4, "不满意", False, True, 1.0),
        ("std6", 6, 1, "非常满意", True, False, 5.0),
        ("std6", 6, 2, "满意", True, False, 4.0),
        ("std6", 6, 3, "态度不好", False, True, 1.0),
        ("std6", 6, 4, "业务不熟", False, True, 1.0),
        ("std6", 6, 5, "效率不高", False, True, 2.0),
        ("std6", 6, 6, "其它", False, False, 3.0),
    ]


def test_every_table_names_its_owner(db):
    rows = q(db, "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
                 "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' "
                 "AND NOT c.relispartition AND c.relname <> 'schema_migrations'")
    assert {r[0] for r in rows} >= {"org_node", "service_window", "staff", "queue", "service",
                                    "rating_scale", "rating_option", "device", "node_settings"}
    for table, comment in rows:
        assert comment and comment.startswith("Owner: "), table


# --- organisation tree ----------------------------------------------------------

def test_default_time_zone_is_shanghai(db):
    n = node(db, None, code(), "head_office")
    assert one(db, "SELECT time_zone FROM org_node WHERE id = %s", n) == "Asia/Shanghai"


@pytest.mark.parametrize("tz", ["Mars/Olympus", "CST", "FOO+3", "asia/shanghai",
                                "posix/Asia/Shanghai", "", "Asia/Shanghai "])
def test_bad_time_zone_is_refused(db, tz):
    refused(db, "org_node_time_zone_valid",
            "INSERT INTO org_node (code, name, kind, time_zone) VALUES (%s, 'x', 'head_office', %s)",
            code(), tz)


def test_time_zone_is_checked_on_update_and_real_zones_pass(db):
    n = node(db, None, code(), "head_office", tz="Asia/Urumqi")
    q(db, "UPDATE org_node SET time_zone = 'America/Argentina/Buenos_Aires' WHERE id = %s", n)
    q(db, "UPDATE org_node SET time_zone = 'UTC' WHERE id = %s", n)
    refused(db, "org_node_time_zone_valid",
            "UPDATE org_node SET time_zone = 'Asia/Atlantis' WHERE id = %s", n)
    assert one(db, "SELECT time_zone FROM org_node WHERE id = %s", n) == "UTC"


@pytest.mark.parametrize("bad", ["B0001", "b-1", "", "a" * 33, "分行", "a.b", "a b"])
def test_org_code_grammar(db, bad):
    refused(db, "org_node_code_format",
            "INSERT INTO org_node (code, name, kind) VALUES (%s, 'x', 'head_office')", bad)


def test_org_code_of_32_characters_is_accepted(db):
    n = node(db, None, "a" * 31 + "_", "head_office")
    assert path(db, n) == "a" * 31 + "_"


def test_paths_follow_parents_and_codes_are_unique_among_siblings(tree):
    db = tree["db"]
    root = path(db, tree["root"])
    assert path(db, tree["d1"]) == f"{root}.r1.b1.a1.d1"
    refused(db, "org_node_code_unique_among_siblings",
            "INSERT INTO org_node (parent_id, code, name, kind) VALUES (%s, 'b1', 'x', 'branch')",
            tree["r1"])
    node(db, tree["r2"], "b1")   # the same code under another parent is fine


def test_moving_a_node_repaths_its_subtree(tree):
    db = tree["db"]
    root = path(db, tree["root"])
    q(db, "UPDATE org_node SET parent_id = %s WHERE id = %s", tree["r2"], tree["b1"])
    got = dict(q(db, "SELECT id, path::text FROM org_node WHERE path <@ %s::ltree", root))
    assert got[tree["b1"]] == f"{root}.r2.b1"
    assert got[tree["a1"]] == f"{root}.r2.b1.a1"
    assert got[tree["d1"]] == f"{root}.r2.b1.a1.d1"
    assert got[tree["b2"]] == f"{root}.r2.b2"
    assert got[tree["r1"]] == f"{root}.r1"
    assert one(db, "SELECT window_org_path(%s)::text", tree["w1"]) == f"{root}.r2.b1.w01"
    assert one(db, "SELECT count(*) FROM org_node WHERE path <@ %s::ltree", f"{root}.r1") == 1


def test_renaming_a_node_repaths_its_subtree(tree):
    db = tree["db"]
    root = path(db, tree["root"])
    q(db, "UPDATE org_node SET code = 'r9' WHERE id = %s", tree["r1"])
    assert path(db, tree["d1"]) == f"{root}.r9.b1.a1.d1"
    assert one(db, "SELECT org_path::text FROM service_window_path WHERE window_id = %s",
               tree["w1"]) == f"{root}.r9.b1.w01"


def test_moving_a_node_into_a_sibling_code_is_refused(tree):
    db = tree["db"]
    node(db, tree["r2"], "a1", "area")
    refused(db, "org_node_code_unique_among_siblings",
            "UPDATE org_node SET parent_id = %s WHERE id = %s", tree["r2"], tree["a1"])


@pytest.mark.parametrize("new_parent", ["r1", "b1", "d1"])
def test_cycles_are_refused(tree, new_parent):
    db = tree["db"]
    before = q(db, "SELECT id, parent_id, path::text FROM org_node ORDER BY id")
    refused(db, "org_node_no_cycle", "UPDATE org_node SET parent_id = %s WHERE id = %s",
            tree[new_parent], tree["r1"])
    assert q(db, "SELECT id, parent_id, path::text FROM org_node ORDER BY id") == before


def test_path_cannot_be_written_directly(tree):
    db = tree["db"]
    refused(db, "org_node_path_derived",
            "UPDATE org_node SET path = 'elsewhere' WHERE id = %s", tree["b1"])
    # a path given on insert is ignored: the trigger derives it
    n = one(db, "INSERT INTO org_node (parent_id, code, name, kind, path) "
                "VALUES (%s, 'b3', 'x', 'branch', 'bogus') RETURNING id", tree["r1"])
    assert path(db, n) == path(db, tree["r1"]) + ".b3"


def test_node_in_use_cannot_be_deleted(tree):
    with pytest.raises(psycopg2.errors.ForeignKeyViolation):
        q(tree["db"], "DELETE FROM org_node WHERE id = %s", tree["b1"])


# --- windows --------------------------------------------------------------------

def test_window_org_path_extends_the_branch_path(tree):
    db = tree["db"]
    w3 = window(db, tree["b2"], 3, "w03")
    b2 = path(db, tree["b2"])
    assert one(db, "SELECT window_org_path(%s)::text", w3) == f"{b2}.w03"
    assert one(db, "SELECT number, org_path::text FROM service_window_path WHERE window_id = %s",
               w3) == (3, f"{b2}.w03")
    assert one(db, "SELECT window_org_path(-1)") is None


def test_window_number_and_code_are_unique_per_branch(tree):
    db = tree["db"]
    refused(db, "service_window_number_unique",
            "INSERT INTO service_window (node_id, number, code, name) VALUES (%s, 1, 'wx', 'x')",
            tree["b1"])
    refused(db, "service_window_code_unique",
            "INSERT INTO service_window (node_id, number, code, name) VALUES (%s, 2, 'w01', 'x')",
            tree["b1"])
    window(db, tree["b2"], 1)    # another branch may reuse both


@pytest.mark.parametrize("bad", ["W01", "w-1", "", "w" * 33])
def test_window_code_grammar(tree, bad):
    refused(tree["db"], "service_window_code_format",
            "INSERT INTO service_window (node_id, number, code, name) VALUES (%s, 7, %s, 'x')",
            tree["b1"], bad)


def test_windows_belong_to_branches(tree):
    db = tree["db"]
    refused(db, "service_window_node_is_branch",
            "INSERT INTO service_window (node_id, number, code, name) VALUES (%s, 1, 'w01', 'x')",
            tree["r1"])
    refused(db, "service_window_node_is_branch",
            "UPDATE org_node SET kind = 'region' WHERE id = %s", tree["b1"])


def test_window_and_child_node_cannot_share_a_topic_path(tree):
    db = tree["db"]
    refused(db, "org_node_code_not_window_code",
            "INSERT INTO service_window (node_id, number, code, name) VALUES (%s, 5, 'a1', 'x')",
            tree["b1"])
    refused(db, "org_node_code_not_window_code",
            "INSERT INTO org_node (parent_id, code, name, kind) VALUES (%s, 'w01', 'x', 'area')",
            tree["b1"])


# --- staff, queues, services ------------------------------------------------------

@pytest.mark.parametrize("column,value,constraint", [
    ("employee_no", "A123", "staff_employee_no_format"),
    ("employee_no", "", "staff_employee_no_format"),
    ("employee_no", "1" * 17, "staff_employee_no_format"),
    ("phone", "13812345678", "staff_phone_e164"),
    ("phone", "+86 138 1234 5678", "staff_phone_e164"),
])
def test_staff_grammar(tree, column, value, constraint):
    row = {"employee_no": "900001", "phone": None, column: value}
    refused(tree["db"], constraint,
            "INSERT INTO staff (employee_no, name, node_id, phone) VALUES (%s, '张三', %s, %s)",
            row["employee_no"], tree["b1"], row["phone"])


def test_employee_numbers_are_unique(tree):
    db = tree["db"]
    no = str(uuid.uuid4().int)[:16]
    q(db, "INSERT INTO staff (employee_no, name, node_id, phone) "
          "VALUES (%s, '张三', %s, '+8613812345678')", no, tree["b1"])
    refused(db, "staff_employee_no_unique",
            "INSERT INTO staff (employee_no, name, node_id) VALUES (%s, '李四', %s)",
            no, tree["b2"])


def queue(conn, node_id, prefix, name="个人业务"):
    return one(conn, "INSERT INTO queue (node_id, prefix, name, target_wait_s) "
                     "VALUES (%s, %s, %s, 600) RETURNING id", node_id, prefix, name)


@pytest.mark.parametrize("bad", ["a", "ABC", "", "A1"])
def test_queue_prefix_grammar(tree, bad):
    refused(tree["db"], "queue_prefix_format",
            "INSERT INTO queue (node_id, prefix, name) VALUES (%s, %s, 'x')", tree["r1"], bad)


def test_queue_defaults_and_target(tree):
    db = tree["db"]
    qid = one(db, "INSERT INTO queue (node_id, prefix, name) VALUES (%s, 'A', 'x') RETURNING id",
              tree["root"])
    assert one(db, "SELECT number_max FROM queue WHERE id = %s", qid) == 999
    refused(db, "queue_target_wait_positive",
            "INSERT INTO queue (node_id, prefix, name, target_wait_s) VALUES (%s, 'B', 'x', 0)",
            tree["root"])


def test_queue_prefix_is_unique_along_each_line_of_the_tree(tree):
    db = tree["db"]
    queue(db, tree["r1"], "A")
    queue(db, tree["r2"], "A")                       # another line: fine
    for n in ("b1", "root"):                         # below and above r1's A: not
        refused(db, "queue_prefix_unique_in_line",
                "INSERT INTO queue (node_id, prefix, name) VALUES (%s, 'A', 'x')", tree[n])
    queue(db, tree["b1"], "B")
    refused(db, "queue_prefix_unique_in_line",
            "UPDATE queue SET prefix = 'A' WHERE node_id = %s", tree["b1"])
    # b1 (queue B) may move under r2 (queue A); a1 with queue C may then not
    # move back under r1 once r1 has a C
    q(db, "UPDATE org_node SET parent_id = %s WHERE id = %s", tree["r2"], tree["b1"])
    queue(db, tree["a1"], "C")
    queue(db, tree["r1"], "C")
    refused(db, "queue_prefix_unique_in_line",
            "UPDATE org_node SET parent_id = %s WHERE id = %s", tree["r1"], tree["a1"])
    assert path(db, tree["a1"]) == path(db, tree["r2"]) + ".b1.a1"


def test_service_uses_a_queue_of_its_node_or_an_ancestor(tree):
    db = tree["db"]
    qa = queue(db, tree["r1"], "A")
    q(db, "INSERT INTO service (node_id, code, name, queue_id) VALUES (%s, 'cash', '存取款', %s)",
      tree["b1"], qa)
    refused(db, "service_queue_in_scope",
            "INSERT INTO service (node_id, code, name, queue_id) VALUES (%s, 'cash', '存取款', %s)",
            tree["b2"], qa)
    refused(db, "service_queue_in_scope",        # the branch would leave its queue's region
            "UPDATE org_node SET parent_id = %s WHERE id = %s", tree["r2"], tree["b1"])
    refused(db, "service_code_unique",
            "INSERT INTO service (node_id, code, name, queue_id) VALUES (%s, 'cash', 'x', %s)",
            tree["b1"], qa)


# --- rating scales ------------------------------------------------------------------

def test_rating_option_rules(db):
    std4 = one(db, "SELECT id FROM rating_scale WHERE code = 'std4'")
    ins = ("UPDATE rating_option SET {} WHERE scale_id = %s AND code = 1")
    refused(db, "rating_option_not_both", ins.format("unsatisfied = true"), std4)
    refused(db, "rating_option_label_fits_lcd", ins.format("label = '非常非常非常满意了'"), std4)
    refused(db, "rating_option_label_fits_lcd", ins.format("label = ''"), std4)
    refused(db, "rating_option_label_fits_lcd", ins.format("label = '😀'"), std4)
    refused(db, "rating_option_score_range", ins.format("score = 5.5"), std4)
    q(db, ins.format("label = 'Good'"), std4)


def test_scale_options_must_match_its_key_count_at_commit(db):
    c = code()
    with pytest.raises(psycopg2.IntegrityError) as exc:
        q(db, "INSERT INTO rating_scale (code, name, key_count) VALUES (%s, '三键', 3); "
              "INSERT INTO rating_option (scale_id, code, label, satisfied, score, position) "
              "SELECT id, c, '好' || c, true, 5, c FROM rating_scale, generate_series(1, 2) c "
              "WHERE code = %s", c, c)
    assert exc.value.diag.constraint_name == "rating_scale_options_match_keys"
    assert one(db, "SELECT count(*) FROM rating_scale WHERE code = %s", c) == 0
    q(db, "INSERT INTO rating_scale (code, name, key_count) VALUES (%s, '两键', 2); "
          "INSERT INTO rating_option (scale_id, code, label, satisfied, score, position) "
          "SELECT id, c, '好' || c, c = 1, 5, c FROM rating_scale, generate_series(1, 2) c "
          "WHERE code = %s", c, c)
    refused(db, "rating_scale_options_match_keys",
            "DELETE FROM rating_option WHERE code = 2 AND scale_id = "
            "(SELECT id FROM rating_scale WHERE code = %s)", c)
    refused(db, "rating_scale_key_count_range",
            "INSERT INTO rating_scale (code, name, key_count) VALUES (%s, '七键', 7)", code())


# --- devices ----------------------------------------------------------------------------

def test_device_can_be_unassigned_and_one_per_window(tree):
    db = tree["db"]
    serial = "EQ-" + code().upper()
    d = one(db, "INSERT INTO device (serial, window_id, model) VALUES (%s, %s, 'EQR-4K') "
                "RETURNING id", serial, tree["w1"])
    refused(db, "device_window_unique",
            "INSERT INTO device (serial, window_id, model) VALUES (%s, %s, 'EQR-4K')",
            serial + "-2", tree["w1"])
    q(db, "UPDATE device SET window_id = NULL WHERE id = %s", d)
    q(db, "INSERT INTO device (serial, model) VALUES (%s, 'EQR-4K')", serial + "-3")
    assert one(db, "SELECT count(*) FROM device WHERE serial LIKE %s AND window_id IS NULL",
               serial + "%") == 2
    q(db, "INSERT INTO device (serial, window_id, model) VALUES (%s, %s, 'EQR-4K')",
      serial + "-2", tree["w1"])


@pytest.mark.parametrize("bad", ["EQ1", "EQ_0001", "EQ 0001", "E" * 33])
def test_device_serial_grammar(db, bad):
    refused(db, "device_serial_format",
            "INSERT INTO device (serial, model) VALUES (%s, 'EQR-4K')", bad)


# --- settings ---------------------------------------------------------------------------

def settings(conn, node_id):
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM effective_settings(%s)", (node_id,))
        return dict(zip([d[0] for d in cur.description], cur.fetchone()))


def test_effective_settings_defaults_without_any_settings(tree):
    s = settings(tree["db"], tree["d1"])
    assert (s["rating_timeout_s"], s["repeat_press_s"], s["rating_scale_code"],
            s["idle_text"]) == (30, 10, "std4", "欢迎光临")
    assert (s["rating_timeout_from"], s["repeat_press_from"], s["rating_scale_from"],
            s["idle_text_from"]) == (None, None, None, None)


def test_effective_settings_inherit_down_the_tree(tree):
    db = tree["db"]
    std6 = one(db, "SELECT id FROM rating_scale WHERE code = 'std6'")
    q(db, "INSERT INTO node_settings (node_id, rating_timeout_s, repeat_press_s, idle_text) "
          "VALUES (%s, 40, 15, '您好')", tree["root"])
    q(db, "INSERT INTO node_settings (node_id, rating_scale_id) VALUES (%s, %s)",
      tree["r1"], std6)
    q(db, "INSERT INTO node_settings (node_id, rating_timeout_s) VALUES (%s, 20)", tree["b1"])

    def view(n):
        s = settings(db, tree[n])
        return (s["rating_timeout_s"], s["repeat_press_s"], s["rating_scale_code"],
                s["idle_text"])
    assert view("root") == (40, 15, "std4", "您好")
    assert view("r1") == (40, 15, "std6", "您好")
    assert view("b1") == (20, 15, "std6", "您好")
    assert view("d1") == (20, 15, "std6", "您好")
    assert view("b2") == (40, 15, "std4", "您好")
    s = settings(db, tree["d1"])
    assert (s["rating_timeout_from"], s["repeat_press_from"], s["rating_scale_from"],
            s["idle_text_from"]) == (tree["b1"], tree["root"], tree["r1"], tree["root"])

    # the view agrees, and moving b1 changes what it inherits
    q(db, "UPDATE org_node SET parent_id = %s WHERE id = %s", tree["r2"], tree["b1"])
    assert view("d1") == (20, 15, "std4", "您好")
    assert one(db, "SELECT rating_scale_code FROM node_effective_settings WHERE node_id = %s",
               tree["d1"]) == "std4"
    # clearing a value falls back to the next ancestor
    q(db, "UPDATE node_settings SET rating_timeout_s = NULL WHERE node_id = %s", tree["b1"])
    assert view("d1") == (40, 15, "std4", "您好")
    assert q(db, "SELECT * FROM effective_settings(-1)") == []


@pytest.mark.parametrize("column,value,constraint", [
    ("rating_timeout_s", 4, "node_settings_rating_timeout_range"),
    ("rating_timeout_s", 301, "node_settings_rating_timeout_range"),
    ("repeat_press_s", -1, "node_settings_repeat_press_range"),
    ("repeat_press_s", 601, "node_settings_repeat_press_range"),
    ("idle_text", "欢" * 33, "node_settings_idle_text_fits_lcd"),
    ("idle_text", "第一行\n第二行", "node_settings_idle_text_fits_lcd"),
])
def test_settings_ranges(tree, column, value, constraint):
    refused(tree["db"], constraint,
            f"INSERT INTO node_settings (node_id, {column}) VALUES (%s, %s)", tree["b1"], value)


def test_scoped_scale_is_usable_only_in_its_subtree(tree):
    db = tree["db"]
    c = code()
    q(db, "INSERT INTO rating_scale (code, name, key_count, node_id) VALUES (%s, '区域', 2, %s); "
          "INSERT INTO rating_option (scale_id, code, label, satisfied, score, position) "
          "SELECT id, c, '好' || c, c = 1, 5, c FROM rating_scale, generate_series(1, 2) c "
          "WHERE code = %s", c, tree["r1"], c)
    sid = one(db, "SELECT id FROM rating_scale WHERE code = %s", c)
    q(db, "INSERT INTO node_settings (node_id, rating_scale_id) VALUES (%s, %s)", tree["b1"], sid)
    refused(db, "node_settings_scale_in_scope",
            "INSERT INTO node_settings (node_id, rating_scale_id) VALUES (%s, %s)",
            tree["b2"], sid)
    refused(db, "node_settings_scale_in_scope",
            "UPDATE org_node SET parent_id = %s WHERE id = %s", tree["r2"], tree["b1"])
    refused(db, "node_settings_scale_in_scope",
            "UPDATE rating_scale SET node_id = %s WHERE id = %s", tree["r2"], sid)


# --- demo data ---------------------------------------------------------------------------

def table_snapshot(conn):
    """Every public table's rows as sorted text, without updated_at columns:
    equal snapshots = the same data."""
    cols = {}
    for table, column in q(conn, "SELECT table_name, column_name FROM information_schema.columns "
                                 "WHERE table_schema = 'public' AND column_name <> 'updated_at' "
                                 "AND table_name IN (SELECT tablename FROM pg_tables "
                                 "WHERE schemaname = 'public') ORDER BY ordinal_position"):
        cols.setdefault(table, []).append(f'"{column}"')
    return {t: sorted(r[0] for r in q(conn, f'SELECT ({", ".join(c)})::text FROM "{t}"'))
            for t, c in cols.items()}


@pytest.mark.real_zones      # the demo as make run loads it
def test_demo_data_is_what_make_run_shows(demo_db):
    db = demo_db
    kinds = dict(q(db, "SELECT kind, count(*) FROM org_node WHERE path <@ 'hq' GROUP BY kind"))
    assert kinds == {"head_office": 1, "region": 2, "branch": 4}
    assert one(db, "SELECT name FROM org_node WHERE path = 'hq'") == "总行"
    assert one(db, "SELECT count(*) FROM service_window_path WHERE org_path <@ 'hq'") == 40
    assert one(db, "SELECT count(*) FROM staff") == 48
    assert one(db, "SELECT count(*) FROM service") == 8
    assert {r[0] for r in q(db, "SELECT prefix FROM queue")} >= {"A", "B", "V"}
    assert one(db, "SELECT count(DISTINCT time_zone) FROM org_node WHERE kind = 'branch'") == 2
    # one device per window, named after it
    assert one(db, "SELECT count(*) FROM service_window w LEFT JOIN device d "
                   "ON d.window_id = w.id WHERE d.id IS NULL") == 0
    assert one(db, "SELECT d.serial FROM device d JOIN service_window_path w "
                   "ON w.window_id = d.window_id WHERE w.org_path = 'hq.r01.b0001.w01'") \
        == "EQ-B0001-W01"

    def eff(p):
        return one(db, "SELECT rating_timeout_s, repeat_press_s, rating_scale_code FROM "
                       "effective_settings((SELECT id FROM org_node WHERE path = %s))", p)
    assert eff("hq") == (30, 10, "std4")
    assert eff("hq.r01.b0001") == (20, 10, "std4")
    assert eff("hq.r01.b0002") == (30, 10, "std4")
    assert eff("hq.r02.b0003") == (30, 10, "std6")


@pytest.mark.real_zones      # the demo as make run loads it
def test_demo_data_loads_twice_to_the_same_data(demo_db):
    before = table_snapshot(demo_db)
    with open(DEMO_SQL, encoding="utf-8") as f:
        sql = f.read()
    q(demo_db, sql)
    after = table_snapshot(demo_db)
    assert {t: len(r) for t, r in after.items()} == {t: len(r) for t, r in before.items()}
    assert after == before


@pytest.mark.real_zones      # the demo as make run loads it
def test_demo_data_repairs_edits_when_loaded_again(demo_db):
    db = demo_db
    before = table_snapshot(db)
    q(db, "UPDATE staff SET name = '改名' WHERE employee_no = '100101'")
    q(db, "UPDATE device SET window_id = NULL WHERE serial = 'EQ-B0001-W01'")
    q(db, "UPDATE device SET window_id = (SELECT window_id FROM service_window_path "
          "WHERE org_path = 'hq.r01.b0001.w01') WHERE serial = 'EQ-SPARE-0001'")
    q(db, "UPDATE node_settings SET rating_timeout_s = 99 WHERE node_id = "
          "(SELECT id FROM org_node WHERE path = 'hq')")
    with open(DEMO_SQL, encoding="utf-8") as f:
        q(db, f.read())
    assert table_snapshot(db) == before


def _events(branch, seqs, kind="window_opened"):
    import json
    return json.dumps([{"branch_id": branch, "seq": s, "at": "2026-11-22T08:00:00.000Z",
                        "day": 20261122, "kind": kind, "actor": "test", "ticket_id": None,
                        "number": None, "number_seq": 0, "queue_id": None,
                        "service_id": None, "class": None, "window_id": 1, "window_no": 1,
                        "staff_id": None, "original_at": None, "appointment_at": None,
                        "phone": None, "target": None, "target_id": None, "via": None,
                        "recall": 0, "avg_ms": 0, "detail": ""} for s in seqs])


# The batch as the ticket_event[] that queue-manager sends in binary.
INSERT_EVENTS = ("SELECT eqms_ticket_events_insert(ARRAY(SELECT json_populate_recordset("
                 "NULL::ticket_event, %s::json)))")


def test_ticket_events_must_follow_their_branch(db):
    """eqms_ticket_events_insert stores a branch's events only in sequence:
    a batch that skips or repeats seqs, of one branch or several, is refused
    whole (40001). (The connection commits each statement.)"""
    with db.cursor() as cur:
        cur.execute(INSERT_EVENTS, (_events(7, [1, 2, 3]),))
        assert cur.fetchone()[0] == 3
        db.commit()
        for bad in ([5, 6], [3, 4], [1]):
            with pytest.raises(psycopg2.errors.SerializationFailure):
                cur.execute(INSERT_EVENTS, (_events(7, bad),))
            db.rollback()
        with pytest.raises(psycopg2.errors.SerializationFailure):   # a new branch starts at 1
            cur.execute(INSERT_EVENTS, (_events(8, [2]),))
        db.rollback()
        cur.execute(INSERT_EVENTS, (_events(7, [4, 5]),))
        db.commit()
        cur.execute("SELECT seq FROM ticket_event WHERE branch_id = 7 ORDER BY seq")
        assert [r[0] for r in cur.fetchall()] == [1, 2, 3, 4, 5]
        # A gap or a repeat inside the batch: refused, with one branch or several.
        for branch7 in ([6, 8], [6, 6, 8], [6, 6]):
            for other in ([], [1]):
                with pytest.raises(psycopg2.errors.SerializationFailure):
                    cur.execute(INSERT_EVENTS, (json.dumps(
                        json.loads(_events(7, branch7)) + json.loads(_events(9, other))),))
                db.rollback()
        # Several branches at once: each must follow its own; all or nothing.
        both = json.loads(_events(7, [6, 7])) + json.loads(_events(9, [1, 2]))
        cur.execute(INSERT_EVENTS, (json.dumps(both),))
        db.commit()
        stale = json.loads(_events(7, [8])) + json.loads(_events(9, [2]))
        with pytest.raises(psycopg2.errors.SerializationFailure):
            cur.execute(INSERT_EVENTS, (json.dumps(stale),))
        db.rollback()
        cur.execute("SELECT branch_id, seq FROM ticket_branch_head ORDER BY 1")
        assert cur.fetchall() == [(7, 7), (9, 2)]


def test_ticket_events_commit_synchronously(db):
    """A batch's transaction commits synchronously even where the session
    (and this test cluster) has synchronous_commit off: the tickets it
    creates are returned to customers only once committed."""
    with db.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute("BEGIN")
        cur.execute(INSERT_EVENTS, (_events(11, [1]),))
        cur.execute("SHOW synchronous_commit")
        assert cur.fetchone()[0] == "on"
        cur.execute("COMMIT")
        cur.execute("SHOW synchronous_commit")   # only for that transaction
        assert cur.fetchone()[0] == "off"
