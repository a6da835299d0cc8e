"""All settings, read once from the environment (and `.env`). Nothing else reads os.environ."""
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Written by `python -m common.embedded up` when it had to start its own Postgres/Redis.
EMBEDDED_ENV_FILE = ".data/embedded.env"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=(".env", EMBEDDED_ENV_FILE), env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "production"] = "development"

    # --- services ---
    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/tracker"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Celery broker; empty means "use redis_url". amqp://guest:guest@127.0.0.1:5672// selects RabbitMQ.
    broker_url: str = ""
    db_pool_size: int = 5

    # --- secrets and users ---
    tracker_admin_user: str = ""
    tracker_admin_password: str = ""
    flower_user: str = "admin"
    flower_password: str = ""
    session_max_age_seconds: int = 7 * 24 * 3600
    login_max_failures: int = 5  # per username+ip within login_failure_window_seconds
    login_failure_window_seconds: int = 300
    # Requests per API token (limits' notation: "600/minute", "10/second;1000/hour"), counted in Redis across
    # web processes; past it the API answers 429 with Retry-After.
    api_rate_limit: str = "600/minute"

    # --- ingest (web tier) ---
    ingest_queue: str = "ingest"
    id_block_size: int = Field(default=2000, ge=10)
    batch_max_events: int = Field(default=500, ge=1)
    batch_linger_ms: float = Field(default=3.0, ge=0, le=50)
    # Backpressure: answer 503 rather than buffer without bound.
    max_pending_events: int = Field(default=20_000, ge=1)
    max_queue_depth: int = Field(default=200_000, ge=1)
    queue_depth_check_seconds: float = 1.0
    broker_publish_timeout_seconds: float = 5.0
    retry_after_seconds: int = 5
    # Every web process reads the campaigns' change counter this often (off the request path) and reloads its
    # campaign cache when it moved: a campaign deleted or edited on one host is seen on every host within it.
    campaign_check_seconds: float = Field(default=1.0, gt=0)
    campaign_miss_cache_seconds: float = 2.0
    max_extra_params: int = 50
    max_extra_key_length: int = 64
    max_extra_value_length: int = 2048
    max_extras_bytes: int = 16_384
    max_query_bytes: int = 32_768
    # A postback's click may still be queued: look for it this long before answering 404 (the network retries).
    postback_click_wait_seconds: float = Field(default=3.0, ge=0)

    # --- worker ---
    broker_visibility_timeout_seconds: int = 60
    worker_prefetch_multiplier: int = 4
    # A task that finds batches waiting (Redis broker) stores them with its own, up to this many events in one
    # statement: a backlog drains in fewer, larger statements. 0 stores each batch on its own.
    worker_merge_max_events: int = Field(default=512, ge=0)
    # The longest a batch may take: a prefork pool process is killed after it, and with any pool the worker's
    # statements are cancelled after it (statement_timeout) and the batch goes back on the queue.
    task_time_limit_seconds: int = 120
    db_retry_max_backoff_seconds: int = 30
    retention_days: int = 0  # 0 keeps events forever
    retention_batch_size: int = Field(default=5_000, ge=1)
    retention_run_seconds: float = 10.0  # then the job re-queues itself, letting ingest batches in between
    maintenance_queue: str = "maintenance"
    # The maintain_tables job (common/maintenance.py): how often beat runs it, and PostgreSQL's autovacuum rule
    # for when a table is analysed (rows changed since the last analyse >= threshold + scale x rows) or
    # vacuumed (dead rows >= threshold + scale x live rows). It runs whatever the server's autovacuum setting.
    maintenance_interval_seconds: float = Field(default=10.0, gt=0)
    maintenance_analyze_threshold: int = Field(default=1_000, ge=0)
    maintenance_analyze_scale_factor: float = Field(default=0.1, ge=0)
    maintenance_vacuum_threshold: int = Field(default=1_000, ge=0)
    maintenance_vacuum_scale_factor: float = Field(default=0.2, ge=0)
    # An email click this many seconds from the same recipient's previous one is a bot ("burst"); 0 = off.
    burst_window_seconds: float = Field(default=10.0, ge=0)
    # Reports (common/reports.py): the beat job folds the events ingest queued into report_stats this often,
    # and keeps at most this many values per (campaign, dimension, day); the rest are counted as "(other)".
    report_fold_seconds: float = Field(default=5.0, gt=0)
    report_max_values: int = Field(default=500, ge=1, le=100_000)
    # While the worker finds batches waiting (a burst), the fold works at most this share of the time, so that
    # it does not take the web tier's CPU on a small box; 1 = never hold back (worker/pressure.py).
    report_fold_share: float = Field(default=0.25, gt=0, le=1)

    # --- webhooks (worker/webhooks.py; docs/api.md#webhooks) ---
    webhook_queue: str = "webhooks"
    # How often the webhook worker looks for deliveries that are due (a Celery beat entry).
    webhook_poll_seconds: float = Field(default=2.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Retries wait base x 2^(attempt-1), at most max, and go on for the retry window (then "failed").
    webhook_backoff_base_seconds: float = Field(default=30.0, gt=0)
    webhook_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    webhook_retry_window_seconds: float = Field(default=24 * 3600.0, gt=0)
    # Deliveries sent at once by one worker (concurrently; a slow receiver holds up only its own).
    webhook_batch_size: int = Field(default=50, ge=1, le=1000)
    # The outbox is also the delivery log: finished deliveries (delivered or failed) whose last attempt is older
    # than this many days are deleted by an hourly job, so the table does not grow forever; 0 keeps them all.
    webhook_log_days: int = Field(default=90, ge=0)
    # A PEM file of extra certificate authorities to trust for receivers (a private CA); empty: the usual ones.
    webhook_ca_bundle: str = ""
    # http:// receivers (development only) and receivers on private, loopback or link-local addresses (tests,
    # development: refused in production, so that a webhook cannot reach into the tracker's own network).
    webhook_allow_http: bool = False
    webhook_allow_private_targets: bool = False

    # --- money ---
    # A new campaign's currency (ISO 4217), editable on its form while the campaign has no revenue.
    default_currency: str = "USD"

    # --- dashboard ---
    home_refresh_seconds: int = 30
    campaigns_page_size: int = Field(default=50, ge=1, le=1000)
    stats_refresh_seconds: int = 10
    journeys_page_size: int = 50
    # The dashboard's days and hours (the date range presets, the chart): an IANA time zone name. Exact for
    # zones a whole number of hours from UTC (the rollup is hourly); others are rounded to the UTC hour.
    dashboard_timezone: str = "UTC"
    # The tracker's address as recipients and landing pages reach it, for the links and snippets the campaign
    # page shows (e.g. https://track.example.com). Empty: the address the dashboard was opened at.
    public_base_url: str = ""

    # --- running ---
    # text: lines for a person; json: one object a line with the request's (or task's) id, for a log collector.
    log_format: Literal["text", "json"] = "text"
    # One line per HTTP request (method, path without its query, status, duration, request id). Off by default:
    # the event API's answer costs a few microseconds, and a line per event is what a busy tracker least needs.
    access_log: bool = False
    # The code that reaches into private parts of kombu, Celery and uvicorn for speed and fixes
    # (common/adapters/). Off (or another version of one of those libraries): their stock code, slower.
    library_adapters: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    web_workers: int = 2
    # Addresses (or networks) whose X-Forwarded-For the web tier believes: your reverse proxy's. Read by the
    # Procfile's web line (uvicorn --forwarded-allow-ips); docker-compose.yml trusts its own network instead.
    forwarded_allow_ips: str = "127.0.0.1"
    flower_port: int = 5555
    data_dir: str = ".data"

    # --- metrics (common/metrics.py) ---
    metrics: bool = True
    # Where each process writes its metrics (a folder per tier); empty: DATA_DIR/metrics. Local to the host.
    metrics_dir: str = ""
    # `tracker metrics` serves them here. Any address but a loopback one needs METRICS_TOKEN.
    metrics_bind: str = "127.0.0.1:9464"
    # When set, scrapes must send `Authorization: Bearer <token>`.
    metrics_token: str = ""

    @property
    def celery_broker_url(self) -> str:
        return self.broker_url or self.redis_url

    @property
    def metrics_path(self) -> Path:
        return Path(self.metrics_dir or Path(self.data_dir) / "metrics")

    @property
    def uses_redis_broker(self) -> bool:
        return self.celery_broker_url.startswith(("redis://", "rediss://", "unix://"))

    @field_validator("public_base_url")
    @classmethod
    def _http_base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("PUBLIC_BASE_URL must start with http:// or https://")
        return value

    @field_validator("api_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError(f"API_RATE_LIMIT: not a rate limit such as 600/minute: {value!r}") from None
        return value

    @field_validator("default_currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        from common.money import AmountError, parse_currency

        try:
            return parse_currency(value, "DEFAULT_CURRENCY")
        except AmountError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("dashboard_timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"DASHBOARD_TIMEZONE: unknown time zone {value!r} (an IANA name such as "
                             "Europe/Berlin or America/New_York)") from None
        return value

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.dashboard_timezone)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> "Settings":
        if self.environment == "production" and not self.flower_password:
            raise ValueError("FLOWER_PASSWORD must be set in production")
        if self.environment == "production" and (self.webhook_allow_http or self.webhook_allow_private_targets):
            raise ValueError("WEBHOOK_ALLOW_HTTP and WEBHOOK_ALLOW_PRIVATE_TARGETS are for development only")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()


settings = get_settings()
