"""CSV downloads. Every export goes through here, so a cell a person typed ("=HYPERLINK(…)", "+1-555…",
"@SUM(…)") opens in a spreadsheet as the text it is, never as a formula (OWASP's CSV injection advice:
prefix such a cell with a single quote)."""
from __future__ import annotations

import csv
import io
from typing import Iterable, Sequence

from flask import Response

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value) -> str | int | float:
    """A cell as written: numbers stay numbers; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_bytes(rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with a byte-order mark (Excel then reads accents right), CRLF line ends, every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def csv_response(rows: Iterable[Sequence], filename: str) -> Response:
    """A CSV download that is never cached (it holds people's records)."""
    return Response(csv_bytes(rows), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})
