"""The marketer's dashboard: Jinja2 pages and HTMX fragments, reading the rollup tables directly.

`web.dashboard.routes.install(app)` wires it into the FastAPI app. This file imports nothing, so the
dashboard's modules and `web.auth` can import each other's pieces without cycles.
"""
