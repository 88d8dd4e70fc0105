"""web-api's exports against the real eqms-web-api: every statistics view as
.xlsx (read back with openpyxl) and .csv (the csv module), compared cell by
cell with the JSON of the same request rounded as docs/statistics.md
("Exports") says the screen rounds it; permissions, names, audit, the
streamed service list and its row limit."""
import csv
import datetime
import io
import os
import re
import time
import urllib.parse
from decimal import ROUND_HALF_UP, Decimal

import openpyxl
import pytest

from test_webapi_stats import B1, traffic  # noqa: F401 (a fixture)
from webapi import problem

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def columns():
    """Each view's columns as docs/statistics.md lists them: (member, header,
    type, places)."""
    with open(os.path.join(ROOT, "docs", "statistics.md"), encoding="utf-8") as f:
        text = f.read()
    views = {}
    for view, member, title, kind, places in re.findall(
            r"^\| ([a-z, ()-]+) \| `([a-z_.0-9]+)` \| (\S+) \| (\w+) \| (\d?) \|$", text, re.M):
        for v in view.split(", "):
            views.setdefault(v, []).append((member, title, kind, int(places or 0)))
    views["compare"] = views.pop("compare (first)") + views["figures"]
    return views


COLUMNS = columns()


def member(row, name):
    for part in name.split("."):
        row = row.get(part) if isinstance(row, dict) else None
    return row


def rounded(value, places):
    """export_round: half away from zero on the decimal value."""
    q = Decimal(1).scaleb(-places)
    d = Decimal(str(value))
    return (abs(d).quantize(q, rounding=ROUND_HALF_UP) * (1 if d >= 0 else -1)) + 0


def screen(value, kind, places):
    """What the screen shows for a JSON value: (CSV text, XLSX value)."""
    if value is None:
        return "", None
    if kind == "text":
        return str(value), str(value)
    if kind == "integer":
        return str(int(value)), int(value)
    if kind == "percent":
        shown = rounded(Decimal(str(value)) * 100, places)
        return f"{shown:.{places}f}%", float(shown / 100)
    shown = rounded(value, places)
    return f"{shown:.{places}f}", float(shown)


def expected_rows(view, rows):
    return [[screen(member(r, m), kind, places) for m, _, kind, places in COLUMNS[view]]
            for r in rows]


def check_csv(r, view, rows):
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8")[1:], newline="")))
    assert b"\r\n" in r.content and not re.search(rb"[^\r]\n", r.content)
    assert table[0] == [title for _, title, _, _ in COLUMNS[view]]
    want = expected_rows(view, rows)
    assert len(table) - 1 == len(want)
    for got, exp in zip(table[1:], want):
        assert got == [c for c, _ in exp]


def check_sheet(ws, view, rows):
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert header == [title for _, title, _, _ in COLUMNS[view]]
    assert all(c.font.b for c in ws[1])
    want = expected_rows(view, rows)
    got = list(ws.iter_rows(min_row=2))
    assert len(got) == len(want)
    for cells, exp in zip(got, want):
        for cell, (_, value), (m, _, kind, places) in zip(cells, exp, COLUMNS[view]):
            if isinstance(value, float):
                assert cell.value == pytest.approx(value, abs=1e-12), m
                fmt = "0" + ("." + "0" * places if places else "") + ("%" if kind == "percent" else "")
                assert cell.number_format == fmt, (m, cell.number_format)
            else:
                assert cell.value == value, m


def xlsx(r):
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == XLSX
    assert "Content-Encoding" not in r.headers      # a zip, never gzipped again
    return openpyxl.load_workbook(io.BytesIO(r.content))


def test_every_view_as_files_is_its_json_cell_by_cell(traffic, demo_db):  # noqa: F811
    api, node, w, s = traffic
    user = api.make_user("exporter", "hq.r01", ["view_statistics", "export"])
    today = node["today"].isoformat()
    tomorrow = (node["today"] + datetime.timedelta(days=1)).isoformat()
    with demo_db.cursor() as cur:
        cur.execute("""INSERT INTO staff_session (id, staff_id, window_id, login_at, gateway,
                       gateway_incarnation, gateway_seq)
                       VALUES (gen_random_uuid(), %s, %s, now(), 'gw-test', gen_random_uuid(), 1)""",
                    (s, w))
    demo_db.commit()
    period = {"node": B1, "from": today, "to": tomorrow}
    cases = [("figures", dict(period, group=g), "rows", g)
             for g in ("none", "service", "teller", "window", "hour_of_day")]
    cases += [("rank", dict(period, group="teller", measure="served", min_sample="0"), "items",
               "served"),
              ("stars", {"node": B1}, "items", "stars"),
              ("on-duty", {"node": B1}, "items", "on-duty"),
              ("services", {"node": B1}, "items", "services")]
    for view, params, key, sheet in cases:
        body = user.get(f"/stats/{view}", params=params).json()
        rows = body[key]
        assert rows or view == "stars", view
        check_csv(user.get(f"/stats/{view}.csv", params=params), view, rows)
        book = xlsx(user.get(f"/stats/{view}.xlsx", params=params))
        assert book.sheetnames == [sheet]
        check_sheet(book[sheet], view, rows)
    # a teller's sessions, with on-duty's columns
    rows = user.get(f"/staff/{s}/sessions").json()["items"]
    assert len(rows) == 1
    check_csv(user.get(f"/staff/{s}/sessions.csv"), "on-duty", rows)
    book = xlsx(user.get(f"/staff/{s}/sessions.xlsx"))
    assert book.sheetnames == ["sessions"]
    check_sheet(book["sessions"], "on-duty", rows)
    problem(user.get("/staff/99999/sessions.csv"), 404)
    # the figures really need rounding: 2 served of 3 is 66.7%
    r = user.get("/stats/figures.csv", params=period)
    assert "66.7%" in next(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))["办结率"]
    # compare: a sheet per period, the CSV the periods one after the other
    periods = user.get("/stats/compare", params=period).json()["periods"]
    rows = [dict(x, period=p["period"], **{"from": p["from"], "to": p["to"]})
            for p in periods for x in p["rows"]]
    check_csv(user.get("/stats/compare.csv", params=period), "compare", rows)
    book = xlsx(user.get("/stats/compare.xlsx", params=period))
    assert book.sheetnames == ["本期", "上期", "去年同期"]
    for p, name in zip(periods, book.sheetnames):
        check_sheet(book[name], "compare",
                    [dict(x, period=p["period"], **{"from": p["from"], "to": p["to"]})
                     for x in p["rows"]])


def test_a_file_holds_its_page_s_figures_as_of_the_page_s_instant(traffic, demo_db):  # noqa: F811
    """A teller still logged in is on duty up to now: read a second later,
    the on-duty time (and the measures made of it) has grown. Each figures
    answer says the instant it counted open sessions up to (as_of), and a
    file asked with it holds the page's figures however much later it is
    made; without it a file is of its own instant. A bad as_of is refused."""
    api, node, w, s = traffic
    user = api.make_user("asof", "hq.r01", ["view_statistics", "export"])
    today = node["today"].isoformat()
    tomorrow = (node["today"] + datetime.timedelta(days=1)).isoformat()
    with demo_db.cursor() as cur:
        cur.execute("""INSERT INTO staff_session (id, staff_id, window_id, login_at, gateway,
                       gateway_incarnation, gateway_seq)
                       VALUES (gen_random_uuid(), %s, %s, now() - interval '10 minutes',
                               'gw-asof', gen_random_uuid(), 1) RETURNING id""", (s, w))
        (session,), = cur.fetchall()
        # as stats-aggregator keeps a session it saw open
        cur.execute("INSERT INTO stats_open_session (session_id, branch_id) VALUES (%s, %s)",
                    (session, node["id"]))
    demo_db.commit()
    period = {"node": B1, "from": today, "to": tomorrow, "group": "teller"}

    def duty(body):
        return next(r for r in body["rows"] if r["member"] == s)["on_duty_s"]
    page = user.get("/stats/figures", params=period).json()
    as_of = page["as_of"]
    assert duty(page) >= 600
    time.sleep(1.2)
    later = user.get("/stats/figures", params=period).json()
    assert later["as_of"] > as_of and duty(later) >= duty(page) + 1
    again = user.get("/stats/figures", params=dict(period, as_of=as_of)).json()
    assert again == page, [(k, page[k], again[k]) for k in page if page[k] != again[k]]
    check_csv(user.get("/stats/figures.csv", params=dict(period, as_of=as_of)), "figures",
              page["rows"])
    check_sheet(xlsx(user.get("/stats/figures.xlsx", params=dict(period, as_of=as_of)))["teller"],
                "figures", page["rows"])
    with pytest.raises(AssertionError):
        check_csv(user.get("/stats/figures.csv", params=period), "figures", page["rows"])
    # the comparison and the ranking take it too
    whole = dict(period, group="none")
    cmp = user.get("/stats/compare", params=whole).json()
    time.sleep(1.2)
    assert user.get("/stats/compare", params=dict(whole, as_of=cmp["as_of"])).json() == cmp
    rank = dict(period, measure="on_duty_s", min_sample="0")
    ranked = user.get("/stats/rank", params=rank).json()
    time.sleep(1.2)
    assert user.get("/stats/rank", params=dict(rank, as_of=ranked["as_of"])).json() == ranked
    problem(user.get("/stats/figures", params=dict(period, as_of="an hour ago")), 400)


def test_names_permissions_audit_and_refusals(traffic, demo_db):  # noqa: F811
    api, node, w, s = traffic
    today = node["today"].isoformat()
    tomorrow = (node["today"] + datetime.timedelta(days=1)).isoformat()
    period = {"node": B1, "from": today, "to": tomorrow}
    user = api.make_user("exporter2", "hq.r01", ["view_statistics", "export"])
    r = user.get("/stats/figures.xlsx", params=period)
    disposition = r.headers["Content-Disposition"]
    ascii_name = f"eqms_hq.r01.b0001_figures_{today}_{tomorrow}.xlsx"
    assert disposition.startswith(f'attachment; filename="{ascii_name}"; filename*=UTF-8\'\'')
    with demo_db.cursor() as cur:
        cur.execute("SELECT name FROM org_node WHERE path = %s::ltree", (B1,))
        name = cur.fetchone()[0]
    star = urllib.parse.unquote(disposition.split("filename*=UTF-8''")[1])
    assert star == f"{name}_统计指标_{today}_{tomorrow}.xlsx"
    # a CSV (of three periods: over 1 KiB) is compressed as any reply; an XLSX never
    r = user.get("/stats/compare.csv", params=period, headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("Content-Encoding") == "gzip" and len(r.content) > 1024
    r = user.get("/stats/figures.xlsx", params=dict(period, group="hour_of_day"),
                 headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in r.headers and r.content.startswith(b"PK")
    # export without view_statistics, view_statistics without export
    only_export = api.make_user("onlyexport", "hq.r01", ["export"])
    assert "view_statistics" in problem(only_export.get("/stats/figures.csv", params=period),
                                        403)["detail"]
    only_view = api.make_user("onlyview", "hq.r01", ["view_statistics"])
    assert "export" in problem(only_view.get("/stats/figures.xlsx", params=period),
                               403)["detail"]
    # another subtree: as if it did not exist
    outsider = api.make_user("outexport", "hq.r02", ["view_statistics", "export"])
    problem(outsider.get("/stats/figures.csv", params=period), 404)
    problem(outsider.get("/stats/services.csv", params={"node": B1}), 404)
    # the same refusals as the JSON route
    problem(user.get("/stats/figures.xlsx", params={"from": tomorrow, "to": today}), 400)
    problem(user.get("/stats/services.csv", params={"limit": "5"}), 400)
    # every export is in the audit log: who, what, node, period
    audit = api.admin.get("/audit", params={"action": "stats.export"}).json()["items"]
    mine = [a for a in audit if a["actor"]["name"] == "exporter2"]
    assert len(mine) == 3
    last = mine[0]
    assert mine[1]["object_id"] == "compare"
    assert last["node"] == B1 and last["object_id"] == "figures"
    assert last["detail"]["format"] == "xlsx" and last["detail"]["from"] == today
    assert last["detail"]["to"] == tomorrow
    assert last["detail"]["arguments"] == {"group": "hour_of_day"}
    assert not [a for a in audit if a["actor"]["name"] in ("onlyexport", "onlyview",
                                                           "outexport")]


def test_the_service_list_streams_and_the_xlsx_has_a_limit(traffic, demo_db):  # noqa: F811
    api, node, w, s = traffic
    user = api.make_user("exporter3", "hq.r01", ["view_statistics", "export"])
    # many legs: copies of the served ones with other tickets
    with demo_db.cursor() as cur:
        cur.execute("""INSERT INTO stats_leg
                       SELECT (l).* FROM (
                         SELECT jsonb_populate_record(l, jsonb_build_object(
                                  'ticket_id', gen_random_uuid(),
                                  'start_at', l.start_at - g * interval '1 second')) AS l
                         FROM stats_leg l, generate_series(1, 3000) g
                         WHERE l.outcome = 1 LIMIT 3000) x""")
    demo_db.commit()
    r = user.get("/stats/services.csv", params={"node": B1}, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Encoding" not in r.headers and "ETag" not in r.headers
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
    assert len(table) == 1 + 3 + 3000
    # the same rows as the JSON list, page after page
    items, cursor = [], None
    while True:
        page = user.get("/stats/services", params=dict({"node": B1, "limit": 200},
                                                       **({"cursor": cursor} if cursor else {})))
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert table[1:] == [[c for c, _ in row] for row in expected_rows("services", items)]
    # a filter applies to the file as to the list
    r = user.get("/stats/services.csv", params={"node": B1, "outcome": "open"})
    assert len(list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))) == 2
    # beyond the XLSX's limit: 413, the CSV still streams
    with demo_db.cursor() as cur:
        cur.execute("""INSERT INTO stats_leg
                       SELECT (jsonb_populate_record(l, jsonb_build_object(
                                 'ticket_id', gen_random_uuid()))).*
                       FROM stats_leg l, generate_series(1, 34) g""")
        cur.execute("SELECT count(*) FROM stats_leg")
        assert cur.fetchone()[0] > 100000
    demo_db.commit()
    r = user.get("/stats/services.xlsx", params={"node": B1})
    assert "100000" in problem(r, 413)["detail"]
    r = user.get("/stats/services.csv", params={"node": B1})
    assert r.status_code == 200 and r.content.count(b"\r\n") > 100001
