"""Flower as `tracker flower` runs it: `python -m common.flower -A worker.celery_app flower ...`.

Flower asks for its basic-auth credentials on its pages and API, but answers /metrics (Prometheus: task and
worker names and counts) to anyone: that handler is not marked as needing a user. Here it is, before Flower
starts, with Tornado's own decorator, so /metrics needs the same credentials as the rest. It reaches into
Flower's handler class (flower.views.monitor.Metrics, tested with flower 2.2.0); if a later Flower moves it,
Flower does not start rather than start with its metrics open.
"""
import sys


class FlowerChanged(RuntimeError):
    """Flower's metrics handler is not where this module expects it."""


def protect_metrics() -> None:
    from flower.views import monitor
    from tornado.web import authenticated

    handler = getattr(monitor, "Metrics", None)
    if handler is None or not callable(getattr(handler, "get", None)):
        raise FlowerChanged("flower.views.monitor.Metrics.get not found: common/flower.py cannot put Flower's "
                            "/metrics behind its credentials, so Flower is not started")
    handler.get = authenticated(handler.get)


def main() -> None:
    protect_metrics()
    from celery.bin.celery import main as celery

    sys.argv[0] = "celery"
    celery()


if __name__ == "__main__":
    main()
