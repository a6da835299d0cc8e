"""How every process logs: LOG_FORMAT=text (lines for a person) or json (one object a line, for a collector),
with the id of the request or task a line was written for.

The id lives in a context variable: the web tier sets it per request (web/request_log.py), the worker per
task (the task's id: the batch's), so a line logged anywhere below carries it without being passed along.
"""
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

import msgspec

from common.config import Settings

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# uvicorn's loggers come with handlers of their own (its LOGGING_CONFIG): in json mode theirs go to ours. Not
# "uvicorn.access": uvicorn writes its access lines (query strings and all) whenever that logger has a handler
# anywhere, --no-access-log or not; ACCESS_LOG (web/request_log.py) is the access log.
_OWN_HANDLERS = ("uvicorn", "uvicorn.error")
# Fields every LogRecord has: anything else was passed in `extra=` and goes into the JSON object as is.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request_id when there is one,
    the fields given in `extra=`, and the exception's traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update((k, v) for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_"))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(entry, enc_hook=str).decode()


def configure_logging(settings: Settings, level: int | str = logging.INFO) -> None:
    """Text: a handler on stderr unless the process has one already (as before LOG_FORMAT existed). JSON: the
    root logger's only handler, and every logger's lines go through it."""
    if settings.log_format == "text":
        logging.basicConfig(level=level, format=TEXT_FORMAT)
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in _OWN_HANDLERS:
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
