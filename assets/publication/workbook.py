"""The print layout of the bureau's workbook (openpyxl): title block, table, signature lines, print
setup. What goes in it is decided by report.py; this module only lays sheets out the way a 医保局
files a statistics table: landscape A4, one page wide, header rows repeated on every page, sheet
name and page x / y in the header and footer, frozen header, autofilter, thousands separators and
one named CJK-capable font on every cell (so header, body and totals print in one typeface).
"""

from __future__ import annotations

import io
import re
import unicodedata
import weakref
import zipfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

FONT_NAME = "宋体"  # SimSun: the typeface of government statistics tables; LibreOffice maps it to a CJK font
COUNT_FORMAT = "#,##0"
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
TITLE_ROW, INFO_ROW, HEADER_ROW = 1, 2, 3
FIRST_DATA_ROW = HEADER_ROW + 1
SIGNATURE = "制表人：__________    审核人：__________    负责人：__________    制表日期：______年____月____日"
# fixed zip entry times: a rerun on the same inputs writes the same bytes
ZIP_TIME = (2022, 1, 1, 0, 0, 0)

TEXT_WIDTH = 100  # 口径说明's text column, in characters
LINE_HEIGHT = 15  # points a line of the 11-point body font takes

_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


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


def font(bold: bool = False, size: int = 11) -> Font:
    return Font(name=FONT_NAME, bold=bold, size=size)


def table_sheet(
    wb: Workbook,
    name: str,
    block: TitleBlock,
    columns: list[Column],
    rows: list[list],
    bold_rows: set[int] = frozenset(),
    note: str | None = None,
) -> Worksheet:
    """A sheet: title, 填报单位 / 数据截至 / 单位：元, the header, the rows, signature lines."""
    ws = wb.create_sheet(name)
    last = get_column_letter(len(columns))
    ws.append([f"{block.title}——{name}"])
    ws.merge_cells(f"A{TITLE_ROW}:{last}{TITLE_ROW}")
    ws.cell(TITLE_ROW, 1).font = font(bold=True, size=16)
    ws.cell(TITLE_ROW, 1).alignment = Alignment(horizontal="center")
    ws.row_dimensions[TITLE_ROW].height = 28
    info = [f"填报单位：{block.reporting_unit}", f"数据截至：{block.as_of}", "单位：元"]
    ws.append([info[0]] + [None] * (len(columns) - 1))
    ws.cell(INFO_ROW, max(2, len(columns) // 2)).value = info[1]
    ws.cell(INFO_ROW, len(columns)).value = info[2]
    ws.cell(INFO_ROW, len(columns)).alignment = Alignment(horizontal="right")
    ws.append([c.header for c in columns])
    for i in range(1, len(columns) + 1):
        cell = ws.cell(HEADER_ROW, i)
        cell.font, cell.fill, cell.border = font(bold=True), _HEADER_FILL, _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    body = font()
    # each body cell made with its named style's array (no per-cell font and border objects to hash,
    # nor a lookup of the style by name) and appended below the header (FIRST_DATA_ROW onwards)
    styles = [_named_style(wb, c.kind, False).as_tuple() for c in columns]
    bold_styles = [_named_style(wb, c.kind, True).as_tuple() for c in columns]
    for n, row in enumerate(rows):
        ws.append(
            [
                Cell(ws, value=value, style_array=style)
                for value, style in zip(row, bold_styles if n in bold_rows else styles)
            ]
        )
    end = HEADER_ROW + len(rows)
    tail = end + 1
    if note:
        ws.cell(tail, 1, note).font = body
        tail += 1
    ws.cell(tail + 1, 1, SIGNATURE).font = body
    for cell in ws[INFO_ROW]:
        cell.font = body
    for i, column in enumerate(columns, start=1):
        widest = max([display_width(column.header)] + [display_width(r[i - 1]) for r in rows if r[i - 1] is not None])
        ws.column_dimensions[get_column_letter(i)].width = min(max(widest + 2, 8), 60)
    ws.freeze_panes = ws.cell(FIRST_DATA_ROW, 1 if len(columns) < 4 else 2)
    if rows:
        ws.auto_filter.ref = f"A{HEADER_ROW}:{last}{end}"
    print_setup(ws, f"{HEADER_ROW - 2}:{HEADER_ROW}")
    return ws


def _named_style(wb: Workbook, kind: str, bold: bool) -> NamedStyle:
    """The workbook's named style for a body cell of ``kind`` (text, count, money), registered once."""
    name = f"deferral_{kind}{'_bold' if bold else ''}"
    registered = _NAMED_STYLES.setdefault(wb, {})
    if name not in registered:
        fmt = {"count": COUNT_FORMAT, "money": MONEY_FORMAT, "date": DATE_FORMAT, "number": "#,##0.##"}.get(
            kind, "General"
        )
        registered[name] = NamedStyle(name=name, font=font(bold=bold), border=_BORDER, number_format=fmt)
        wb.add_named_style(registered[name])
    return registered[name]


# each workbook's named styles as registered (openpyxl finds one by name only through a list of names)
_NAMED_STYLES: weakref.WeakKeyDictionary[Workbook, dict[str, NamedStyle]] = weakref.WeakKeyDictionary()


def print_setup(ws: Worksheet, title_rows: str | None) -> None:
    """Landscape A4, one page wide, title rows repeated, sheet name and page x / y printed."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddHeader.center.text = "&A"
    ws.oddHeader.center.font = FONT_NAME
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.oddFooter.center.font = FONT_NAME


def wrapped_lines(text: str, width: int) -> int:
    """Lines ``text`` takes in a column ``width`` characters wide (a CJK character is two), wrapped
    at the column's edge, with a margin of two characters for the cell's padding."""
    usable = max(width - 2, 1)
    return sum(max(1, -(-display_width(line) // usable)) for line in text.split("\n"))


def text_sheet(wb: Workbook, name: str, title: str, items: list[tuple[str, str]]) -> Worksheet:
    """A sheet of (项目, 说明) pairs, wrapped to the page: the 口径说明."""
    ws = wb.create_sheet(name)
    ws.append([title])
    ws.merge_cells("A1:B1")
    ws["A1"].font = font(bold=True, size=14)
    ws.append(["项目", "说明"])
    for cell in ws[2]:
        cell.font, cell.fill, cell.border = font(bold=True), _HEADER_FILL, _BORDER
    for item, text in items:
        ws.append([item, text])
        for cell in ws[ws.max_row]:
            cell.font, cell.border = font(), _BORDER
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        # a spreadsheet does not grow a row for wrapped text on its own (LibreOffice prints the lines
        # over the next row): the height of the lines the text wraps to
        ws.row_dimensions[ws.max_row].height = LINE_HEIGHT * wrapped_lines(text, TEXT_WIDTH) + 4
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = TEXT_WIDTH
    ws.freeze_panes = "A3"
    print_setup(ws, "1:2")
    return ws


def save(wb: Workbook, path: Path, title: str, stamp: datetime) -> None:
    """Writes the workbook with its document dates and zip entry times fixed to ``stamp``, so a
    rerun on the same inputs writes the same bytes."""
    wb.properties.title = title
    wb.properties.creator = "deferral pipeline"
    wb.properties.created = stamp
    wb.properties.modified = stamp  # (openpyxl's save() would stamp the clock)
    # openpyxl's own writer into an uncompressed archive (its save() deflates every part, and the parts
    # are read back below to be written under fixed times): each part is compressed once, below
    buffer = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED, allowZip64=True)).save()
    stamp_text = f"{stamp:%Y-%m-%dT%H:%M:%SZ}".encode()
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                # only the text: the element's attributes and namespace prefixes stay as the writer made them
                body = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + stamp_text + rb"\g<2>", body
                )
            info = zipfile.ZipInfo(item.filename, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, body)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
