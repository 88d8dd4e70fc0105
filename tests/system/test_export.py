"""common/export's XLSX read back with openpyxl: the same figures as its CSV,
cell by cell (rounded once, formatted with the same places), Chinese headers,
number formats, a frozen header row, a sheet per table, formulas never."""
import csv
import datetime
import io
import os

import openpyxl



def _written(tmp_path, run_bin):
    res = run_bin("export", [str(tmp_path)])
    assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(tmp_path)) == ["sample.csv", "sample.xlsx"]  # temp file gone
    raw = (tmp_path / "sample.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))
    return rows, openpyxl.load_workbook(tmp_path / "sample.xlsx")


def _as_shown(cell):
    """A cell's value as Excel shows it under its number format."""
    v, fmt = cell.value, cell.number_format
    if v is None:
        return ""
    if isinstance(v, datetime.datetime):
        return v.strftime("%Y-%m-%d" if fmt == "yyyy-mm-dd" else "%Y-%m-%d %H:%M:%S")
    if isinstance(v, str):
        return v
    if fmt == "0":
        return str(int(v))
    places = len(fmt.split(".")[1].rstrip("%")) if "." in fmt else 0
    if fmt.endswith("%"):
        return f"{v * 100:.{places}f}%"
    return f"{v:.{places}f}"


def test_xlsx_matches_csv(tmp_path, run_bin):
    rows, wb = _written(tmp_path, run_bin)
    assert wb.sheetnames == ["窗口_统计", "排名"]
    ws = wb["窗口_统计"]
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert header == ["窗口", "服务人次", "平均等候(分)", "满意率", "日期", "最后评价"]
    assert rows[0] == header
    assert all(c.font.b for c in ws[1])
    assert ws.max_row == len(rows) == 5
    for r in range(2, ws.max_row + 1):
        shown = [_as_shown(c) for c in ws[r]]
        want = rows[r - 1]
        # the CSV guards text that starts like a formula with a quote
        want = [w[1:] if w.startswith("'") else w for w in want]
        assert shown == want, f"row {r}"
    assert [_as_shown(c) for c in ws[2]] == ["1号窗口", "128", "2.68", "95.4%", "2024-03-09",
                                            "2024-03-09 16:05:07"]
    assert ws["C4"].value == 1.01 and ws["C4"].number_format == "0.00"
    assert ws["D5"].value == 0.667 and ws["D5"].number_format == "0.0%"
    assert ws["F3"].value is None
    formula = ws["A4"]
    assert formula.value == "=1+2" and formula.data_type == "s"   # text, not a formula
    assert rows[3][0] == "'=1+2"
    assert [c.value for c in wb["排名"]["A"]] == ["排名", 1, 2, 3, 4]
