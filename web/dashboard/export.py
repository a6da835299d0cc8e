"""CSV downloads of a campaign's events and journeys, streamed.

Rows come from a server-side cursor (`stream_results`: psycopg's named cursor) a few thousand at a time and
leave as CSV chunks through a StreamingResponse, so a million rows never sit in memory in this process or in
the database driver. The generator holds its own connection: the request's session may be closed before the
last chunk is sent.
"""
import csv
import io
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from fastapi.responses import StreamingResponse
from sqlalchemy import Select

from common.db import get_engine
from web.dashboard.render import secured

CHUNK_ROWS = 2_000
# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets ("CSV injection"):
# an email or extra param like `=HYPERLINK(...)` must stay text, so such cells get a leading quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A value as a safe CSV cell: text that a spreadsheet would run as a formula is quoted with `'`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_rows(header: Sequence[str], stmt: Select[Any]) -> Iterator[str]:
    """The header, then the statement's rows, as CSV text in chunks of CHUNK_ROWS rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    with get_engine().connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=CHUNK_ROWS).execute(stmt)
        for partition in result.partitions():
            writer.writerows([cell(v) for v in row] for row in partition)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def csv_download(filename: str, header: Sequence[str], stmt: Select[Any]) -> StreamingResponse:
    response = StreamingResponse(csv_rows(header, stmt), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    secured(response)
    return response
