"""web-api's configuration of sms-notifier (issue 14 item 4) through the REST
API of a real eqms-web-api on PostgreSQL and Redis: alert recipients made,
read, changed and removed; a phone stored as E.164 and a bad one refused
naming `phone` (the database's sms_phone_normal), an unknown alert kind
naming `kinds[i]`, objects outside the caller's subtree answering 404, and
every change audited with before and after."""
from webapi import audit_of, members, problem


def test_recipients_made_changed_removed(webapi):
    alerts = webapi.make_user("acfg-all", "hq", ["manage_alerts"])
    r = alerts.post("/alert-recipients", {"node": "hq.r01.b0001", "name": "王经理",
                                          "phone": "139-1234-0099",
                                          "kinds": ["unsatisfied_rating", "five_star"],
                                          "quiet_from": "22:00", "quiet_to": "07:00"})
    assert r.status_code == 201, r.text
    rc = r.json()
    assert r.headers["Location"] == f"/api/v1/alert-recipients/{rc['id']}"
    # a mainland mobile number is stored as E.164; defaults as the schema's
    assert rc["phone"] == "+8613912340099"
    assert rc["kinds"] == ["unsatisfied_rating", "five_star"]
    assert (rc["quiet_from"], rc["quiet_to"], rc["max_per_hour"]) == ("22:00", "07:00", 6)
    assert not rc["subtree"] and rc["active"] and not rc["complaint_details"]
    assert alerts.get(f"/alert-recipients/{rc['id']}").json() == rc
    assert audit_of(webapi, "alert_recipient.create", rc["id"])[0]["detail"]["after"] == rc
    # the same phone at the node again: 409 naming it
    r = alerts.post("/alert-recipients", {"node": "hq.r01.b0001", "name": "x",
                                          "phone": "+8613912340099"})
    assert members(problem(r, 409)) == ["phone"]
    # neither E.164 nor a mainland mobile number: 422 naming phone, with the reason
    for bad in ("12345", "+86123"):
        r = alerts.post("/alert-recipients", {"node": "hq.r01.b0001", "name": "x",
                                              "phone": bad})
        body = problem(r, 422)
        assert members(body) == ["phone"], (bad, body)
        assert bad in body["errors"][0]["reason"]
    r = alerts.post("/alert-recipients", {"node": "hq.r01.b0001", "name": "x",
                                          "phone": "+8613912340098",
                                          "kinds": ["unsatisfied_rating", "no_such_kind"]})
    assert members(problem(r, 422)) == ["kinds[1]"]
    r = alerts.post("/alert-recipients", {"node": "hq.r01.b0001", "name": "x",
                                          "phone": "+8613912340098", "quiet_from": "22:00"})
    assert members(problem(r, 422)) == ["quiet_to"]
    r = alerts.post("/alert-recipients", {"node": "hq.r09", "name": "x",
                                          "phone": "+8613912340098"})
    assert members(problem(r, 422)) == ["node"]
    # changed: audited before and after; null quiet hours remove them
    r = alerts.patch(f"/alert-recipients/{rc['id']}", {"max_per_hour": 2, "quiet_from": None,
                                                       "quiet_to": None, "subtree": True})
    assert r.status_code == 200, r.text
    after = r.json()
    assert (after["quiet_from"], after["max_per_hour"], after["subtree"]) == (None, 2, True)
    assert after["kinds"] == rc["kinds"] and after["phone"] == rc["phone"]
    row = audit_of(webapi, "alert_recipient.update", rc["id"])[0]
    assert row["detail"]["before"] == rc and row["detail"]["after"] == after
    r = alerts.patch(f"/alert-recipients/{rc['id']}", {"phone": "999"})
    assert members(problem(r, 422)) == ["phone"]
    r = alerts.patch(f"/alert-recipients/{rc['id']}", {"kinds": ["five_stars"]})
    assert members(problem(r, 422)) == ["kinds[0]"]
    assert alerts.get(f"/alert-recipients/{rc['id']}").json() == after
    # listed, and kept to one node with ?node=
    listed = alerts.get("/alert-recipients", params={"node": "hq.r01.b0001",
                                                     "limit": "200"}).json()["items"]
    assert after in listed and {x["node"] for x in listed} == {"hq.r01.b0001"}
    # removed: audited with the object before
    r = alerts.delete(f"/alert-recipients/{rc['id']}")
    assert r.status_code == 204, r.text
    problem(alerts.get(f"/alert-recipients/{rc['id']}"), 404)
    row = audit_of(webapi, "alert_recipient.delete", rc["id"])[0]
    assert row["detail"]["before"] == after
    with webapi.db.cursor() as cur:
        cur.execute("SELECT count(*) FROM alert_recipient WHERE id = %s", (rc["id"],))
        assert cur.fetchone()[0] == 0


def test_recipients_scoped_to_the_subtree(webapi):
    admin = webapi.admin
    r = admin.post("/alert-recipients", {"node": "hq.r02.b0003", "name": "r02",
                                         "phone": "+8613912340097"})
    assert r.status_code == 201, r.text
    outside = r.json()
    r01 = webapi.make_user("acfg-r01", "hq.r01", ["manage_alerts"])
    assert "no such" in problem(r01.get(f"/alert-recipients/{outside['id']}"), 404)["detail"]
    problem(r01.patch(f"/alert-recipients/{outside['id']}", {"name": "taken over"}), 404)
    problem(r01.delete(f"/alert-recipients/{outside['id']}"), 404)
    assert admin.get(f"/alert-recipients/{outside['id']}").json() == outside
    items = r01.get("/alert-recipients", params={"limit": "200"}).json()["items"]
    assert all(x["node"].startswith("hq.r01") for x in items)
    assert outside["id"] not in [x["id"] for x in items]
    # a node outside: 422, the same answer as a node that does not exist
    r = r01.post("/alert-recipients", {"node": "hq.r02.b0003", "name": "x",
                                       "phone": "+8613912340096"})
    assert members(problem(r, 422)) == ["node"]
    # manage_configuration is not enough
    cfg = webapi.make_user("acfg-cfg", "hq", ["manage_configuration"])
    assert "manage_alerts" in problem(cfg.get("/alert-recipients"), 403)["detail"]


def test_rules_set_with_template_and_params_checked(webapi):
    alerts = webapi.make_user("acfg-rules", "hq.r01", ["manage_alerts"])
    rule = {"node": "hq.r01.b0002", "kind": "unsatisfied_share",
            "template": "{branch} 近{minutes}分钟不满意率 {share}%",
            "params": {"share_pct": 25, "min_ratings": 4, "minutes": 30}}
    r = alerts.post("/alert-rules", rule)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["params"] == rule["params"] and made["enabled"]
    assert (made["remind_after_s"], made["escalate_after_s"]) == (900, 1800)
    # the same node and kind again: replaced, audited before and after
    r = alerts.post("/alert-rules", dict(rule, enabled=False, remind_after_s=300))
    assert r.status_code == 200, r.text
    assert not r.json()["enabled"] and r.json()["remind_after_s"] == 300
    row = audit_of_key(webapi, "alert_rule.set")
    assert row["detail"]["before"]["enabled"] is True
    assert row["detail"]["after"]["enabled"] is False
    listed = alerts.get("/alert-rules", params={"node": "hq.r01.b0002"}).json()["items"]
    assert [x["kind"] for x in listed] == ["unsatisfied_share"]
    # params the database refuses: 422 naming params with its message
    r = alerts.post("/alert-rules", dict(rule, params={"share_pct": 250}))
    body = problem(r, 422)
    assert members(body) == ["params"] and "share_pct" in body["errors"][0]["reason"]
    r = alerts.post("/alert-rules", dict(rule, params={"colour": 1}))
    body = problem(r, 422)
    assert members(body) == ["params"] and "colour" in body["errors"][0]["reason"]
    # a template sms-notifier would refuse: 422 naming template with the reason
    r = alerts.post("/alert-rules", dict(rule, template="{branch} {telr}"))
    body = problem(r, 422)
    assert members(body) == ["template"] and "{telr}" in body["errors"][0]["reason"]
    r = alerts.post("/alert-rules", dict(rule, template="{branch"))
    assert members(problem(r, 422)) == ["template"]
    r = alerts.post("/alert-rules", dict(rule, kind="no_such_kind"))
    assert members(problem(r, 422)) == ["kind"]
    # a node outside the caller's subtree: 422 naming node, nothing written
    r = alerts.post("/alert-rules", dict(rule, node="hq.r02.b0003"))
    assert members(problem(r, 422)) == ["node"]
    assert alerts.get("/alert-rules", params={"node": "hq.r02.b0003"}).json()["items"] == []
    with webapi.db.cursor() as cur:
        cur.execute("""SELECT r.enabled, r.params FROM alert_rule r JOIN org_node n
                       ON n.id = r.node_id WHERE n.path = 'hq.r01.b0002'
                       AND r.kind = 'unsatisfied_share'""")
        assert cur.fetchone() == (False, rule["params"])


def audit_of_key(api, action):
    """The newest audit row of `action`."""
    r = api.admin.get("/audit", params={"action": action, "limit": "1"})
    assert r.status_code == 200, r.text
    return r.json()["items"][0]
