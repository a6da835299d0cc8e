"""Celery: the ingest task's message (protocol 2) built by hand, without `send_task`.

Tested with celery 5.7.0. No private name is touched, but the headers are the set Celery 5.7's
`AMQP.as_task_v2` writes (protocol 2 is documented; `stamped_headers`, `stamps` and `replaced_task_nesting`
came later than the document), and tests/common/adapters/test_celery.py compares them with what `send_task`
publishes. The worker consumes these messages unchanged; common/adapters/kombu.py wraps one the way kombu's
Redis transport stores it.

What it bought: with the journal entry in the same MULTI, `send_task`'s producer layers (11.5 % of a web
process's samples) and a second round trip left the web tier's hot path: web CPU 131-151 -> 75-89 us per
event (fed1111, docs/performance.md, session 3).

Stock path, when off (or with kombu's adapter off): the web tier records the batch in the in-flight journal
and then calls `send_task` (two round trips), and the worker stores each batch on its own.
"""
import os
import socket
from dataclasses import dataclass
from typing import Any

from common.adapters import Adapter
from common.config import Settings

ADAPTER = Adapter(
    module="common/adapters/celery.py",
    tested=(("celery", "5.7.0"),),
    stock="the web tier publishes through Celery's send_task after recording the batch (two round trips) and "
          "the worker stores batches one by one",
)

# The third part of a protocol-2 body: no callbacks, chain or chord.
_EMBED = b'{"callbacks":null,"errbacks":null,"chain":null,"chord":null}'


def active(settings: Settings) -> bool:
    return ADAPTER.active(settings)


@dataclass(frozen=True, slots=True)
class TaskMessage:
    headers: dict[str, Any]
    properties: dict[str, Any]  # Celery's own; the transport adds its delivery properties
    body: bytes  # JSON: [args, kwargs, embed]


def origin() -> str:
    """The `origin` header, as Celery's `anon_nodename()` writes it: the publishing process."""
    return f"gen{os.getpid()}@{socket.gethostname()}"


def task_message(task: str, task_id: str, args_json: bytes, argsrepr: str, sender: str) -> TaskMessage:
    """`send_task(task, args, task_id=task_id, argsrepr=argsrepr, kwargsrepr="{}")` with no options.

    `args_json` is the JSON array of positional arguments, already encoded (the batch is encoded once).
    """
    headers: dict[str, Any] = {
        "lang": "py", "task": task, "id": task_id, "shadow": None, "eta": None, "expires": None,
        "group": None, "group_index": None, "retries": 0, "timelimit": [None, None],
        "root_id": task_id, "parent_id": None, "argsrepr": argsrepr, "kwargsrepr": "{}",
        "origin": sender, "ignore_result": None, "replaced_task_nesting": 0,
        "stamped_headers": None, "stamps": {},
    }
    properties = {"correlation_id": task_id, "argsrepr": argsrepr, "kwargsrepr": "{}"}
    return TaskMessage(headers, properties, b"[" + args_json + b",{}," + _EMBED + b"]")
