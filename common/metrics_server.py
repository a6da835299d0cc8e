"""`tracker metrics`: the web tier's and the worker's metrics (common/metrics.py), and a few read when scraped
(queue depth, dead letters, whether the broker and the database answer), on a bind of their own.

Not on the public port: the web tier has no /metrics. It listens on METRICS_BIND (127.0.0.1:9464); any other
address needs METRICS_TOKEN, which scrapes then send as `Authorization: Bearer <token>`.
"""
import hmac
import ipaddress
import logging
from collections.abc import Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from common.config import Settings
from common.metrics import TIERS

log = logging.getLogger(__name__)
_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class BindError(ValueError):
    """METRICS_BIND cannot be used as configured."""


def parse_bind(bind: str, token: str) -> tuple[str, int]:
    """(host, port) of METRICS_BIND; BindError when malformed, or not loopback while no token is set."""
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BindError(f"METRICS_BIND must be HOST:PORT, not {bind!r}")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not token:
        raise BindError(f"METRICS_BIND {bind} is not a loopback address: set METRICS_TOKEN, so that only your "
                        "Prometheus can read the metrics")
    return host, int(port)


class LiveCollector(Collector):
    """Read at each scrape: the ingest queue's depth, the dead letters, and whether the broker and the
    database answer (0 when they do not, with the value then left out)."""

    def __init__(self, settings: Settings) -> None:
        from common.queue import make_celery

        self.settings = settings
        self.celery = make_celery(settings)  # made once; each scrape opens one broker connection

    def collect(self) -> Iterable[Metric]:
        from common.db import connect
        from common.queue import queue_depth

        up = GaugeMetricFamily("tracker_service_up", "Whether the service answers the metrics server",
                               labels=["service"])
        try:
            depth = queue_depth(self.celery, self.settings)
        except Exception as exc:  # a scrape must answer with what it has
            log.warning("queue depth: %s", exc)
            up.add_metric(["broker"], 0)
        else:
            up.add_metric(["broker"], 1)
            yield GaugeMetricFamily("tracker_queue_depth", "Batches waiting in the ingest queue", value=depth)
        try:
            with connect(self.settings.database_url) as conn:
                row = conn.execute("SELECT count(*) FROM dead_events").fetchone()
        except Exception as exc:
            log.warning("dead letters: %s", exc)
            up.add_metric(["database"], 0)
        else:
            up.add_metric(["database"], 1)
            yield GaugeMetricFamily("tracker_dead_letters", "Events kept in dead_events (tracker dead list)",
                                    value=row[0] if row else 0)
        yield up


class TierCollector(Collector):
    """Every process's files of every tier, merged into one family per metric (every process declares every
    metric: one collector per tier would print each family twice)."""

    def __init__(self, settings: Settings) -> None:
        self.directories = [settings.metrics_path / tier for tier in TIERS]
        for directory in self.directories:
            directory.mkdir(parents=True, exist_ok=True)

    def collect(self) -> Iterable[Metric]:
        files = [str(path) for directory in self.directories for path in directory.glob("*.db")]
        merged: Iterable[Metric] = MultiProcessCollector.merge(files, accumulate=True)  # type: ignore[no-untyped-call]
        return merged


def registry(settings: Settings) -> CollectorRegistry:
    reg = CollectorRegistry()
    reg.register(TierCollector(settings))
    reg.register(LiveCollector(settings))
    return reg


def app(settings: Settings) -> Any:
    """The WSGI app: GET /metrics, with the bearer token when one is set."""
    reg = registry(settings)
    expected = f"Bearer {settings.metrics_token}".encode()

    def wsgi(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return iter([b"only /metrics here\n"])
        if settings.metrics_token and not hmac.compare_digest(
                environ.get("HTTP_AUTHORIZATION", "").encode(), expected):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
            return iter([b"a bearer token is required\n"])
        body = generate_latest(reg)
        start_response("200 OK", [("Content-Type", _CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return iter([body])

    return wsgi


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # one line per scrape is noise
        pass


def serve(settings: Settings, host: str, port: int) -> None:
    server: WSGIServer = make_server(host, port, app(settings), handler_class=_QuietHandler)
    log.info("metrics on http://%s:%d/metrics%s", host, port, " (bearer token required)" if settings.metrics_token else "")
    server.serve_forever()
