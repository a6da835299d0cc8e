"""Entry point for `celery -A worker.celery_app worker`: the shared app with the tasks registered."""
from common.queue import celery_app

celery_app.conf.include = ["worker.tasks"]
celery_app.conf.beat_schedule = {}

app = celery_app
