"""CSV (and, for the API, NDJSON) downloads of a campaign's events and journeys, streamed.

Postgres writes the CSV itself (`COPY (SELECT …) TO STDOUT WITH CSV HEADER`): rows leave the database as they
are read and go out through a StreamingResponse in chunks of CHUNK_BYTES, so a million rows never sit in
memory, in this process or in the driver, and no Python code runs per row (a row-by-row CSV writer was 15x
slower on 10M events). The query (web/dashboard/queries.py) quotes spreadsheet formulas and shapes every cell. The
generator takes a pooled connection of its own: the request's session may be closed before the last chunk is
sent.
"""
from collections.abc import Iterator

from fastapi.responses import StreamingResponse
from sqlalchemy import Select

from common.db import Database
from web.dashboard.render import secured

CHUNK_BYTES = 64 * 1024


def _copy_chunks(db: Database, stmt: Select[object], *, json_lines: bool = False) -> Iterator[bytes]:
    """COPY the statement's rows out, in chunks of about CHUNK_BYTES: as CSV with a header line (the column
    labels), or with `json_lines` as one JSON object a line."""
    compiled = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    if json_lines:
        # One column of to_json text, which never holds a control character (JSON escapes them): with a
        # delimiter and quote of \x02 and \x01, COPY's CSV writer has nothing to quote or escape, so each line
        # is the JSON exactly (the text format would double every backslash).
        copy_sql = (f"COPY (SELECT to_json(r)::text FROM ({compiled}) r) TO STDOUT "
                    "WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')")
    else:
        copy_sql = f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    buffer = bytearray()
    with db.connection() as conn, conn.cursor() as cursor, cursor.copy(copy_sql, compiled.params) as copy:
        for data in copy:  # one row at a time from libpq: gathered so each send carries many
            buffer += data
            if len(buffer) >= CHUNK_BYTES:
                yield bytes(buffer)
                buffer.clear()
    if buffer:
        yield bytes(buffer)


def csv_chunks(db: Database, stmt: Select[object]) -> Iterator[bytes]:
    """The statement's rows as CSV with a header line (the column labels), in chunks of about CHUNK_BYTES."""
    return _copy_chunks(db, stmt)


def csv_download(db: Database, filename: str, stmt: Select[object]) -> StreamingResponse:
    response = StreamingResponse(csv_chunks(db, stmt), media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    secured(response)
    return response


def ndjson_download(db: Database, filename: str, stmt: Select[object]) -> StreamingResponse:
    """The statement's rows as newline-delimited JSON (one object a row, keyed by the column labels)."""
    response = StreamingResponse(_copy_chunks(db, stmt, json_lines=True), media_type="application/x-ndjson",
                                 headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    secured(response)
    return response
