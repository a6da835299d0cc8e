"""Where the tracker reaches into private code of the libraries it runs on: one module per library.

`kombu` (the Redis transport's fixes, the JSON decoder, the event loop's wake-up, the message as the Redis
transport stores it), `celery` (the task message, protocol 2, built by hand) and `uvicorn` (one write per
answer; the fast path's reliance on uvicorn's ASGI scope). Each module names the versions it was tested with,
the private names it touches, what runs instead and what it bought. Anyone upgrading one of those libraries
reads that one module.

An adapter is used only while `LIBRARY_ADAPTERS` is on (the default) and every library it names is installed
at exactly the tested version. Otherwise the process logs one warning per adapter and runs the libraries'
stock code: slower, never wrong (make test runs the ingest, worker and chaos-lite tests that way too).
"""
import logging
from dataclasses import dataclass
from functools import cache
from importlib import metadata

from common.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Adapter:
    """One library's adapter: the versions it was tested with and, for the warning, what runs without it."""

    module: str  # as the warning names it, e.g. "common/adapters/kombu.py"
    tested: tuple[tuple[str, str], ...]  # (distribution, exact version)
    stock: str  # what runs instead, for the warning: "Instead <stock>: slower, never wrong."

    def active(self, settings: Settings) -> bool:
        """True when the switch is on and the tested versions are installed (checked, and warned, once)."""
        return settings.library_adapters and tested_versions_installed(self)


def installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@cache
def tested_versions_installed(adapter: Adapter) -> bool:
    """Compare once per process; on any difference log ONE warning that says what falls back."""
    found = {name: installed_version(name) for name, _ in adapter.tested}
    wrong = [f"{name} {'is not installed' if found[name] is None else f'{found[name]} is installed'} "
             f"(tested with {version})" for name, version in adapter.tested if found[name] != version]
    if wrong:
        log.warning("%s is off: %s. Instead %s: slower, never wrong. Re-run the tests with the installed "
                    "version, then update the adapter's TESTED to turn it on.",
                    adapter.module, ", ".join(wrong), adapter.stock)
    return not wrong
