"""web-api's rating scales, star rules and single alert rules (issue 14 item 4)
through the REST API of a real eqms-web-api on PostgreSQL and Redis: made,
read, changed and removed; bad input refused naming the member (400 for a
malformed value, 422 for one the device or the database cannot use, 409 for a
scale in use), objects outside the caller's subtree answering 404, scales
above it read-only, every change audited with before and after, and a
changed scale reaching the device gateways as a registry snapshot."""
import time

from conftest import BusClient
from webapi import WebApi, audit_of, make_alert, members, next_snapshot, problem


def options4(labels=("很满意", "满意", "一般", "不满意")):
    return [{"code": 1, "label": labels[0], "satisfied": True, "score": 5},
            {"code": 2, "label": labels[1], "satisfied": True, "score": 4},
            {"code": 3, "label": labels[2], "score": 3},
            {"code": 4, "label": labels[3], "unsatisfied": True, "score": 1,
             "category": "attitude"}]


def all_scales(client):
    r = client.get("/rating-scales", params={"limit": "200"})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def set_scale_at(db, path, scale_id):
    """A node's settings naming the scale, as the settings' owner writes them."""
    with db.cursor() as cur:
        cur.execute("""INSERT INTO node_settings (node_id, rating_scale_id)
                       SELECT id, %s FROM org_node WHERE path = %s::ltree
                       ON CONFLICT (node_id) DO UPDATE
                       SET rating_scale_id = EXCLUDED.rating_scale_id""", (scale_id, path))
        assert cur.rowcount == 1
    db.commit()


# --- rating scales ---------------------------------------------------------------------

def test_scales_made_read_changed_removed(webapi):
    cfg = webapi.make_user("sc-r01", "hq.r01", ["manage_configuration"])
    # the built-in scales are usable here, and read-only below the head office
    seen = {s["code"]: s for s in all_scales(cfg)}
    assert seen["std4"]["node"] is None and seen["std4"]["read_only"]
    assert [p["meaning"] for p in seen["std6"]["preview"]] == \
        ["satisfied", "satisfied", "unsatisfied", "unsatisfied", "unsatisfied", "neutral"]
    # made at a node of the subtree, with its keys in a device order of its own
    opts = options4()
    opts[0]["position"], opts[3]["position"] = 4, 1
    r = cfg.post("/rating-scales", {"code": "r01_four", "name": "华东四键", "node": "hq.r01",
                                    "options": opts})
    assert r.status_code == 201, r.text
    sc = r.json()
    assert r.headers["Location"] == f"/api/v1/rating-scales/{sc['id']}"
    assert (sc["node"], sc["key_count"], sc["read_only"], sc["used_by"]) == \
        ("hq.r01", 4, False, [])
    assert [o["position"] for o in sc["options"]] == [1, 2, 3, 4]
    assert sc["preview"] == [
        {"position": 1, "label": "不满意", "meaning": "unsatisfied", "score": 1},
        {"position": 2, "label": "满意", "meaning": "satisfied", "score": 4},
        {"position": 3, "label": "一般", "meaning": "neutral", "score": 3},
        {"position": 4, "label": "很满意", "meaning": "satisfied", "score": 5}]
    assert [o["category"] for o in sc["options"]] == ["attitude", "none", "none", "none"]
    assert cfg.get(f"/rating-scales/{sc['id']}").json() == sc
    assert sc in all_scales(cfg)
    assert audit_of(webapi, "rating_scale.create", sc["id"])[0]["detail"]["after"] == sc
    # refused, naming the member, and nothing written
    bad = {
        "five keys": ({"options": options4() + [{"code": 5, "label": "x", "score": 1}]},
                      422, ["options"]),
        "a code twice": ({"options": [dict(o, code=1) if o["code"] == 2 else o
                                      for o in options4()]}, 422, ["options[1].code"]),
        "a position twice": ({"options": [dict(o, position=1) for o in options4()]},
                             422, ["options[1].position"]),
        "both": ({"options": [dict(o, unsatisfied=True) if o["code"] == 1 else o
                              for o in options4()]}, 422, ["options[0].unsatisfied"]),
        "nine characters": ({"options": options4(("非常非常非常满意了",) + ("a", "b", "c"))},
                            400, ["options[0].label"]),
        "beyond the LCD font": ({"options": options4(("a", "😀", "b", "c"))}, 422,
                                ["options[1].label"]),
        "a score of 6": ({"options": [dict(o, score=6) if o["code"] == 3 else o
                                      for o in options4()]}, 400, ["options[2].score"]),
        "a category": ({"options": [dict(o, category="mood") if o["code"] == 1 else o
                                    for o in options4()]},
                       400, ["options[0].category"]),
        "a code taken": ({"code": "std4"}, 409, ["code"]),
        "a code malformed": ({"code": "Four-Keys"}, 422, ["code"]),
        "a node outside": ({"node": "hq.r02"}, 422, ["node"]),
        "no node below the root": ({"node": None}, 422, ["node"]),
        "a member unknown": ({"colour": "red"}, 400, ["colour"]),
    }
    base = {"code": "r01_bad", "name": "x", "node": "hq.r01", "options": options4()}
    for why, (change, status, named) in bad.items():
        r = cfg.post("/rating-scales", dict(base, **change))
        assert members(problem(r, status)) == named, (why, r.text)
    assert "r01_bad" not in {s["code"] for s in all_scales(webapi.admin)}
    # changed: renamed, its options replaced as a whole; audited before and after
    r = cfg.patch(f"/rating-scales/{sc['id']}", {"name": "华东四键(新)",
                                                 "options": options4(("棒", "好", "中", "差"))})
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["name"] == "华东四键(新)"
    assert [p["label"] for p in after["preview"]] == ["棒", "好", "中", "差"]
    row = audit_of(webapi, "rating_scale.update", sc["id"])[0]
    assert row["detail"]["before"] == sc and row["detail"]["after"] == after
    for change, status, named in (({"options": options4()[:3]}, 400, ["options"]),
                                  ({"code": "other"}, 400, ["code"]),
                                  ({"options": options4(("a", "b", "c", "€€"))}, 422,
                                   ["options[3].label"])):
        assert members(problem(cfg.patch(f"/rating-scales/{sc['id']}", change), status)) \
            == named, change
    problem(cfg.patch(f"/rating-scales/{sc['id']}", {}), 400)
    assert cfg.get(f"/rating-scales/{sc['id']}").json() == after
    # the scales of the head office are read-only here
    for r in (cfg.patch(f"/rating-scales/{seen['std4']['id']}", {"name": "x"}),
              cfg.delete(f"/rating-scales/{seen['std4']['id']}")):
        assert "read-only" in problem(r, 403)["detail"]
    # in use by a branch's settings: it keeps its four keys and is not deleted
    set_scale_at(webapi.db, "hq.r01.b0002", sc["id"])
    assert cfg.get(f"/rating-scales/{sc['id']}").json()["used_by"] == ["hq.r01.b0002"]
    six = options4() + [{"code": 5, "label": "五", "score": 2},
                        {"code": 6, "label": "六", "score": 2}]
    body = problem(cfg.patch(f"/rating-scales/{sc['id']}", {"options": six}), 409)
    assert members(body) == ["options"] and "hq.r01.b0002" in body["errors"][0]["reason"]
    assert "hq.r01.b0002" in problem(cfg.delete(f"/rating-scales/{sc['id']}"), 409)["detail"]
    # std4, set at the head office, cannot go; nor when it is only the
    # built-in default of the nodes that set no scale
    std4 = seen["std4"]["id"]
    assert problem(webapi.admin.delete(f"/rating-scales/{std4}"), 409)["detail"].endswith(
        "settings of hq")
    set_scale_at(webapi.db, "hq", None)
    assert problem(webapi.admin.delete(f"/rating-scales/{std4}"), 409)["detail"].endswith(
        "settings of hq (the default)")
    # unused again: removed, audited with the scale before
    set_scale_at(webapi.db, "hq.r01.b0002", None)
    r = cfg.delete(f"/rating-scales/{sc['id']}")
    assert r.status_code == 204, r.text
    problem(cfg.get(f"/rating-scales/{sc['id']}"), 404)
    before = audit_of(webapi, "rating_scale.delete", sc["id"])[0]["detail"]["before"]
    assert before == dict(after, used_by=[])
    with webapi.db.cursor() as cur:
        cur.execute("SELECT count(*) FROM rating_option WHERE scale_id = %s", (sc["id"],))
        assert cur.fetchone()[0] == 0


def test_scales_of_another_subtree_answer_404(webapi):
    admin = webapi.admin
    r = admin.post("/rating-scales", {"code": "r02_four", "name": "华南四键", "node": "hq.r02",
                                      "options": options4()})
    assert r.status_code == 201, r.text
    outside = r.json()
    # a scale for every node, made at the head office
    r = admin.post("/rating-scales", {"code": "all_four", "name": "全行四键",
                                      "options": options4()})
    assert r.status_code == 201 and r.json()["node"] is None, r.text
    r01 = webapi.make_user("sc-404", "hq.r01", ["manage_configuration"])
    for r in (r01.get(f"/rating-scales/{outside['id']}"),
              r01.patch(f"/rating-scales/{outside['id']}", {"name": "taken over"}),
              r01.delete(f"/rating-scales/{outside['id']}")):
        assert "no such" in problem(r, 404)["detail"]
    assert admin.get(f"/rating-scales/{outside['id']}").json() == outside
    codes = {s["code"] for s in all_scales(r01)}
    assert "r02_four" not in codes and {"std4", "std6", "all_four"} <= codes
    # manage_devices alone is not the permission
    devices = webapi.make_user("sc-dev", "hq", ["manage_devices"])
    assert "manage_configuration" in problem(devices.get("/rating-scales"), 403)["detail"]


def test_a_changed_scale_reaches_the_gateways_within_a_second(demo_db, start_bin, servers,
                                                              bus):
    from conftest import _run
    api = WebApi(start_bin, _run, demo_db, servers.redis.url(13),
                 EQMS_BUS_PUB=bus.xsub, EQMS_BUS_SUB=bus.xpub)
    admin = api.admin
    r = admin.post("/rating-scales", {"code": "west_lake", "name": "西湖四键",
                                      "node": "hq.r01.b0002", "options": options4()})
    assert r.status_code == 201, r.text
    sc = r.json()
    set_scale_at(demo_db, "hq.r01.b0002", sc["id"])
    listener = BusClient(bus, "registry.snapshot.")
    time.sleep(0.5)                        # the subscription reaches the forwarder
    while listener.receive(timeout=0.3) is not None:
        pass
    started = time.monotonic()
    r = admin.patch(f"/rating-scales/{sc['id']}",
                    {"options": options4(("赞", "好", "平", "差评"))})
    assert r.status_code == 200, r.text
    topic, envelope = next_snapshot(listener, started)
    assert topic == "registry.snapshot.hq.r01.b0002"
    devices = envelope["data"]["devices"]
    assert devices, "the demo branch has devices"
    for d in devices:
        assert d["scale"]["code"] == "west_lake"
        assert [o["label"] for o in d["scale"]["options"]] == ["赞", "好", "平", "差评"]
    # a scale nobody uses changes nothing on the bus
    r = admin.post("/rating-scales", {"code": "unused", "name": "未用", "node": "hq.r01",
                                      "options": options4()})
    admin.patch(f"/rating-scales/{r.json()['id']}", {"name": "仍未用"})
    assert listener.receive(timeout=0.5) is None


# --- star rules ------------------------------------------------------------------------

def test_star_rules_set_inherited_removed(webapi):
    cfg = webapi.make_user("st-r01", "hq.r01", ["manage_configuration"])
    b1, r01 = webapi.node_id("hq.r01.b0001"), webapi.node_id("hq.r01")
    default = cfg.get(f"/nodes/{b1}/star-rule").json()
    assert default == {"node": "hq.r01.b0001", "source": "default", "inherited_from": None,
                       "period": "month", "min_rated": 30, "five": 0.98, "four": 0.95,
                       "three": 0.9}
    rule = {"period": "week", "min_rated": 20, "five": 0.97, "four": 0.93, "three": 0.85}
    r = cfg.request("PUT", f"/nodes/{r01}/star-rule", json=rule)
    assert r.status_code == 200, r.text
    own = r.json()
    assert own == dict(rule, node="hq.r01", source="own", inherited_from=None)
    row = audit_of(webapi, "star_rule.set", r01)[0]
    assert row["detail"]["before"]["source"] == "default" and row["detail"]["after"] == own
    # the branch below inherits it, as stats-aggregator reads it
    got = cfg.get(f"/nodes/{b1}/star-rule").json()
    assert got == dict(rule, node="hq.r01.b0001", source="inherited", inherited_from="hq.r01")
    with webapi.db.cursor() as cur:
        cur.execute("SELECT period, min_rated, five::float8, three::float8"
                    " FROM stats_star_rule_for(%s)", (b1,))
        assert cur.fetchone() == (2, 20, 0.97, 0.85)
    # refused, naming the member, nothing written
    for change, status, named in (({"four": 0.98}, 422, ["four"]),
                                  ({"three": 0.99}, 422, ["three"]),
                                  ({"period": "fortnight"}, 400, ["period"]),
                                  ({"min_rated": 0}, 400, ["min_rated"]),
                                  ({"five": 1.5}, 400, ["five"])):
        r = cfg.request("PUT", f"/nodes/{b1}/star-rule", json=dict(rule, **change))
        assert members(problem(r, status)) == named, change
    r = cfg.request("PUT", f"/nodes/{b1}/star-rule", json={"period": "day"})
    assert set(members(problem(r, 400))) == {"min_rated", "five", "four", "three"}
    assert cfg.get(f"/nodes/{b1}/star-rule").json() == got
    # a branch's own rule, listed with the region's; then removed
    r = cfg.request("PUT", f"/nodes/{b1}/star-rule", json=dict(rule, period="day", min_rated=5))
    assert r.status_code == 200 and r.json()["source"] == "own", r.text
    listed = cfg.get("/star-rules").json()["items"]
    assert [x["node"] for x in listed] == ["hq.r01", "hq.r01.b0001"]
    r = cfg.delete(f"/nodes/{b1}/star-rule")
    assert r.status_code == 204, r.text
    assert cfg.get(f"/nodes/{b1}/star-rule").json() == got
    row = audit_of(webapi, "star_rule.delete", b1)[0]
    assert row["detail"]["before"]["min_rated"] == 5 and "after" not in row["detail"]
    # none of its own: nothing to remove, nothing audited
    assert cfg.delete(f"/nodes/{b1}/star-rule").status_code == 204
    assert len(audit_of(webapi, "star_rule.delete", b1)) == 1


def test_star_rules_outside_the_subtree_answer_404(webapi):
    r02 = webapi.node_id("hq.r02")
    rule = {"period": "month", "min_rated": 10, "five": 0.9, "four": 0.8, "three": 0.7}
    assert webapi.admin.request("PUT", f"/nodes/{r02}/star-rule", json=rule).status_code == 200
    cfg = webapi.make_user("st-404", "hq.r01", ["manage_configuration"])
    for r in (cfg.get(f"/nodes/{r02}/star-rule"),
              cfg.request("PUT", f"/nodes/{r02}/star-rule", json=dict(rule, min_rated=99)),
              cfg.delete(f"/nodes/{r02}/star-rule")):
        assert "no such" in problem(r, 404)["detail"]
    assert webapi.admin.get(f"/nodes/{r02}/star-rule").json()["min_rated"] == 10
    assert cfg.get("/star-rules").json()["items"] == []
    # the head office's node is above the subtree: not there either
    problem(cfg.get(f"/nodes/{webapi.node_id('hq')}/star-rule"), 404)


# --- one alert rule ----------------------------------------------------------------------

SHARE = {"node": "hq.r01.b0002", "kind": "unsatisfied_share",
         "template": "{branch} 近{minutes}分钟不满意率 {share}%",
         "params": {"share_pct": 25, "min_ratings": 4, "minutes": 30}}


def test_one_alert_rule_read_changed_removed(webapi):
    alerts = webapi.make_user("ar-r01", "hq.r01", ["manage_alerts"])
    r = alerts.post("/alert-rules", SHARE)
    assert r.status_code == 201, r.text
    rule = r.json()
    assert alerts.get(f"/alert-rules/{rule['id']}").json() == rule
    # refused as the set route refuses, naming the member; nothing written
    for change, status, named in (({"template": "{branch} {telr}"}, 422, ["template"]),
                                  ({"params": {"share_pct": 250}}, 422, ["params"]),
                                  ({"remind_after_s": 0}, 400, ["remind_after_s"]),
                                  ({"kind": "five_star"}, 400, ["kind"]),
                                  ({"node": "hq.r01"}, 400, ["node"])):
        r = alerts.patch(f"/alert-rules/{rule['id']}", change)
        assert members(problem(r, status)) == named, change
    problem(alerts.patch(f"/alert-rules/{rule['id']}", {}), 400)
    assert alerts.get(f"/alert-rules/{rule['id']}").json() == rule
    # changed: audited before and after
    r = alerts.patch(f"/alert-rules/{rule['id']}", {"enabled": False, "remind_after_s": 120,
                                                    "params": {"share_pct": 30}})
    assert r.status_code == 200, r.text
    after = r.json()
    assert (after["enabled"], after["remind_after_s"], after["params"]) == \
        (False, 120, {"share_pct": 30})
    assert (after["template"], after["escalate_after_s"]) == (rule["template"], 1800)
    row = audit_of(webapi, "alert_rule.update", rule["id"])[0]
    assert row["detail"]["before"] == rule and row["detail"]["after"] == after
    # the set route names the same rule, audited under the same id
    r = alerts.post("/alert-rules", SHARE)
    assert r.status_code == 200 and r.json()["id"] == rule["id"], r.text
    assert audit_of(webapi, "alert_rule.set", rule["id"])[0]["detail"]["before"] == after
    # no alert was raised under it: removed
    r = alerts.delete(f"/alert-rules/{rule['id']}")
    assert r.status_code == 204, r.text
    problem(alerts.get(f"/alert-rules/{rule['id']}"), 404)
    assert audit_of(webapi, "alert_rule.delete", rule["id"])[0]["detail"]["before"]["id"] \
        == rule["id"]
    assert alerts.get("/alert-rules", params={"node": "hq.r01.b0002"}).json()["items"] == []


def test_a_rule_with_alerts_is_switched_off_not_removed(webapi):
    alerts = webapi.make_user("ar-hist", "hq.r01", ["manage_alerts"])
    r = alerts.post("/alert-rules", {"node": "hq.r01", "kind": "unsatisfied_rating",
                                     "template": "{branch} 不满意「{option}」"})
    assert r.status_code == 201, r.text
    rule = r.json()
    alert = make_alert(webapi.db, "hq.r01.b0002")
    r = alerts.delete(f"/alert-rules/{rule['id']}")
    assert r.status_code == 200, r.text
    assert r.json() == dict(rule, enabled=False, updated_at=r.json()["updated_at"])
    assert alerts.get(f"/alert-rules/{rule['id']}").json()["enabled"] is False
    row = audit_of(webapi, "alert_rule.delete", rule["id"])[0]
    assert row["detail"]["before"] == rule and row["detail"]["after"]["enabled"] is False
    with webapi.db.cursor() as cur:
        cur.execute("SELECT count(*) FROM alert WHERE id = %s", (alert,))
        assert cur.fetchone()[0] == 1


def test_alert_rules_outside_the_subtree_answer_404(webapi):
    r = webapi.admin.post("/alert-rules", dict(SHARE, node="hq.r02.b0003"))
    assert r.status_code == 201, r.text
    outside = r.json()
    alerts = webapi.make_user("ar-404", "hq.r01", ["manage_alerts"])
    with webapi.db.cursor() as cur:
        cur.execute("""SELECT r.id FROM alert_rule r JOIN org_node n ON n.id = r.node_id
                       WHERE n.path = 'hq' AND r.kind = 'unsatisfied_rating'""")
        above = cur.fetchone()[0]
    for rid in (outside["id"], above):
        for r in (alerts.get(f"/alert-rules/{rid}"),
                  alerts.patch(f"/alert-rules/{rid}", {"enabled": False}),
                  alerts.delete(f"/alert-rules/{rid}")):
            assert "no such" in problem(r, 404)["detail"]
    assert webapi.admin.get(f"/alert-rules/{outside['id']}").json() == outside
    cfg = webapi.make_user("ar-cfg", "hq", ["manage_configuration"])
    assert "manage_alerts" in problem(cfg.get(f"/alert-rules/{outside['id']}"), 403)["detail"]
