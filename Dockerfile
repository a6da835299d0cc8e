# The tracker runs from its source tree in /app, as with `make run`: templates, migrations and alembic.ini are
# read from the tree, so nothing is installed as a package. Dependencies come from the lock (every package
# pinned, with its hash); refresh it with `make lock`.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONPATH=/app
COPY requirements/runtime.txt /tmp/runtime.txt
RUN pip install --no-cache-dir --require-hashes -r /tmp/runtime.txt && rm /tmp/runtime.txt
COPY . .
# The code stays root's; the services run as `tracker`, which owns only the secrets folder (a volume in
# docker-compose.yml, written once by the `init` service).
RUN useradd --system --home /app tracker && mkdir -p /run/tracker && chown tracker /run/tracker
USER tracker
ENTRYPOINT ["/app/docker/entrypoint.sh"]
EXPOSE 8000 5555
