"""The marketer's dashboard: Jinja2 pages and HTMX fragments, reading the rollup tables directly.

`routes.install(app)` wires it into the FastAPI app. `pages` and `login` are the routes; `queries` (every read
query, with `search` and `period`) is what they read; `auth` signs users in; `render`, `chart` and `export`
shape what goes out. This file imports nothing, so these modules can import each other without cycles.
"""
