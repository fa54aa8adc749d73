"""The print layout of the bureau's workbook (XlsxWriter): title block, table, signature lines, print
setup. What goes in it is decided by report.py; this module only lays sheets out the way a 医保局
files a statistics table: landscape A4, one page wide, header rows repeated on every page, sheet
name and page x / y in the header and footer, frozen header, autofilter, thousands separators and
one named CJK-capable font on every cell (so header, body and totals print in one typeface).

XlsxWriter writes each cell once, with its format, and about twice as fast as openpyxl did (the
discrepancy sheets of a province run hold tens of thousands of rows); its zip entries carry a fixed
time and the document dates are the report month's, so the same inputs give the same bytes.
"""

from __future__ import annotations

import io
import unicodedata
import weakref
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

FONT_NAME = "宋体"  # SimSun: the typeface of government statistics tables; LibreOffice maps it to a CJK font
COUNT_FORMAT = "#,##0"
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
NUMBER_FORMATS = {"count": COUNT_FORMAT, "money": MONEY_FORMAT, "date": DATE_FORMAT, "number": "#,##0.##"}
TITLE_ROW, INFO_ROW, HEADER_ROW = 1, 2, 3  # 1-based, as a reader counts them
FIRST_DATA_ROW = HEADER_ROW + 1
SIGNATURE = "制表人：__________    审核人：__________    负责人：__________    制表日期：______年____月____日"
A4 = 9  # XlsxWriter's paper size code

TEXT_WIDTH = 100  # 口径说明's text column, in characters
LINE_HEIGHT = 15  # points a line of the 11-point body font takes

_BORDER = {"border": 1, "border_color": "#808080"}
_HEADER = {"bold": True, "bg_color": "#DDEBF7", "align": "center", "valign": "vcenter", "text_wrap": True, **_BORDER}


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text | count | money | number (either) | date (a real date cell, yyyy-mm-dd)


@dataclass(frozen=True)
class TitleBlock:
    title: str  # 安徽省…情况统计表（2022年8月）
    reporting_unit: str  # 填报单位
    as_of: str  # 数据截至 (the as-of date)


def display_width(value) -> int:
    """Columns a value takes on paper: a CJK (wide) character counts two."""
    text = value if isinstance(value, str) else f"{value:,}" if isinstance(value, (int, Decimal)) else str(value)[:10]
    if text.isascii():  # codes, amounts, dates: one column a character (no per-character lookup)
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def new_book() -> Workbook:
    """An empty workbook, written in memory (:func:`save` writes it out). Text stays text: no formula,
    link or number is read into a cell's string."""
    return Workbook(
        io.BytesIO(),
        {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )


def cell_format(wb: Workbook, **props) -> Format:
    """The workbook's format with ``props`` and the report's font, made once per workbook."""
    props = {"font_name": FONT_NAME, "font_size": 11, **props}
    made = _FORMATS.setdefault(wb, {})
    key = tuple(sorted(props.items()))
    if key not in made:
        made[key] = wb.add_format(props)
    return made[key]


# each workbook's formats (XlsxWriter adds a format each time add_format is called)
_FORMATS: weakref.WeakKeyDictionary[Workbook, dict[tuple, Format]] = weakref.WeakKeyDictionary()


def write_cell(ws: Worksheet, row: int, col: int, value, fmt: Format | None = None) -> None:
    """One cell (0-based ``row``, ``col``) by its value's type: a number as a number (an amount's
    Decimal as the double a spreadsheet holds), a date as a date, text as text."""
    if value is None:
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, str):
        ws.write_string(row, col, value, fmt)
    elif isinstance(value, (int, float, Decimal)):
        ws.write_number(row, col, float(value), fmt)
    elif isinstance(value, (date, datetime)):
        ws.write_datetime(row, col, value, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def table_sheet(
    wb: Workbook,
    name: str,
    block: TitleBlock,
    columns: list[Column],
    rows: list[list],
    bold_rows: set[int] = frozenset(),
    note: str | None = None,
    kinds: dict[int, dict[int, str]] | None = None,
) -> Worksheet:
    """A sheet: title, 填报单位 / 数据截至 / 单位：元, the header, the rows, signature lines.
    ``kinds``: row -> column -> kind, for the cells shown otherwise than their column (0-based)."""
    ws = wb.add_worksheet(name)
    n = len(columns)
    title, title_format = f"{block.title}——{name}", cell_format(wb, bold=True, font_size=16, align="center")
    if n > 1:
        ws.merge_range(TITLE_ROW - 1, 0, TITLE_ROW - 1, n - 1, title, title_format)
    else:
        ws.write_string(TITLE_ROW - 1, 0, title, title_format)
    ws.set_row(TITLE_ROW - 1, 28)
    body = cell_format(wb)
    info = {0: f"填报单位：{block.reporting_unit}", max(2, n // 2) - 1: f"数据截至：{block.as_of}"}
    info[n - 1] = "单位：元"  # the last column's, as the layout places it (a sheet of two columns shows it alone)
    for col, text in info.items():
        ws.write_string(INFO_ROW - 1, col, text, cell_format(wb, align="right") if col == n - 1 else body)
    header = cell_format(wb, **_HEADER)
    for col, column in enumerate(columns):
        ws.write_string(HEADER_ROW - 1, col, column.header, header)
    formats = [cell_format(wb, num_format=NUMBER_FORMATS.get(c.kind, "General"), **_BORDER) for c in columns]
    bold_formats = [
        cell_format(wb, bold=True, num_format=NUMBER_FORMATS.get(c.kind, "General"), **_BORDER) for c in columns
    ]
    for r, row in enumerate(rows):
        shown = bold_formats if r in bold_rows else formats
        own = (kinds or {}).get(r, {})
        for col, value in enumerate(row):
            fmt = shown[col]
            if col in own:
                fmt = cell_format(wb, bold=r in bold_rows, num_format=NUMBER_FORMATS[own[col]], **_BORDER)
            write_cell(ws, FIRST_DATA_ROW - 1 + r, col, value, fmt)
    end = HEADER_ROW + len(rows)  # 1-based, the last data row
    tail = end + 1
    if note:
        ws.write_string(tail - 1, 0, note, body)
        tail += 1
    ws.write_string(tail, 0, SIGNATURE, body)
    for col, column in enumerate(columns):
        widest = max([display_width(column.header)] + [display_width(r[col]) for r in rows if r[col] is not None])
        ws.set_column(col, col, min(max(widest + 2, 8), 60))
    ws.freeze_panes(FIRST_DATA_ROW - 1, 0 if n < 4 else 1)
    if rows:
        ws.autofilter(HEADER_ROW - 1, 0, end - 1, n - 1)
    print_setup(ws, (TITLE_ROW - 1, HEADER_ROW - 1))
    return ws


def print_setup(ws: Worksheet, title_rows: tuple[int, int] | None) -> None:
    """Landscape A4, one page wide, title rows (0-based, first and last) repeated, sheet name and page
    x / y printed."""
    ws.set_landscape()
    ws.set_paper(A4)
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.set_margins(left=0.4, right=0.4)
    if title_rows:
        ws.repeat_rows(*title_rows)
    ws.set_header(f'&C&"{FONT_NAME},Regular"&A')
    ws.set_footer(f'&C&"{FONT_NAME},Regular"第 &P 页，共 &N 页')


def wrapped_lines(text: str, width: int) -> int:
    """Lines ``text`` takes in a column ``width`` characters wide (a CJK character is two), wrapped
    at the column's edge, with a margin of two characters for the cell's padding."""
    usable = max(width - 2, 1)
    return sum(max(1, -(-display_width(line) // usable)) for line in text.split("\n"))


def text_sheet(wb: Workbook, name: str, title: str, items: list[tuple[str, str]]) -> Worksheet:
    """A sheet of (项目, 说明) pairs, wrapped to the page: the 口径说明."""
    ws = wb.add_worksheet(name)
    ws.merge_range(0, 0, 0, 1, title, cell_format(wb, bold=True, font_size=14))
    header = cell_format(wb, bold=True, bg_color="#DDEBF7", **_BORDER)
    ws.write_string(1, 0, "项目", header)
    ws.write_string(1, 1, "说明", header)
    wrapped = cell_format(wb, text_wrap=True, valign="top", **_BORDER)
    for r, (item, text) in enumerate(items, start=2):
        ws.write_string(r, 0, item, wrapped)
        ws.write_string(r, 1, text, wrapped)
        # a spreadsheet does not grow a row for wrapped text on its own (LibreOffice prints the lines
        # over the next row): the height of the lines the text wraps to
        ws.set_row(r, LINE_HEIGHT * wrapped_lines(text, TEXT_WIDTH) + 4)
    ws.set_column(0, 0, 18)
    ws.set_column(1, 1, TEXT_WIDTH)
    ws.freeze_panes(2, 0)
    print_setup(ws, (0, 1))
    return ws


def save(wb: Workbook, path: Path, title: str, stamp: datetime) -> None:
    """Writes the workbook with its document dates fixed to ``stamp`` (XlsxWriter fixes the zip entry
    times), so a rerun on the same inputs writes the same bytes."""
    wb.set_properties({"title": title, "author": "deferral pipeline", "created": stamp})
    wb.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wb.filename.getvalue())
