"""Dashboard request latency for the metrics (tracker_dashboard_request_seconds, common/metrics.py).

The dashboard's routers use TimedRoute, so only their requests are timed (sign-in check, queries, template),
labelled with the route's path template; the ingest routes are not wrapped at all and pay nothing.
"""
from collections.abc import Callable, Coroutine
from time import perf_counter
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from common import metrics


class TimedRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        path = self.path

        async def timed(request: Request) -> Response:
            start = perf_counter()
            try:
                return await handler(request)
            finally:  # a redirect to sign in (an exception answered outside) is a request too
                metrics.dashboard_request(path, request.method, perf_counter() - start)

        return timed
