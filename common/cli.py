"""`tracker` command line: set-up, users, campaigns, queue, Flower.

Run `tracker --help` (or `python -m common.cli --help`) for the list of commands.
"""
import argparse
import getpass
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from common.config import get_settings

Command = Callable[[argparse.Namespace], int]


def _say(message: str) -> None:
    print(f"tracker: {message}", flush=True)


def cmd_init_env(args: argparse.Namespace) -> int:
    """Write .env with freshly generated secrets, unless it exists."""
    path = Path(args.path)
    if path.exists():
        _say(f"{path} exists; leaving it as it is")
        return 0
    template = Path(".env.example").read_text() if Path(".env.example").exists() else ""
    generated = {"SECRET_KEY": secrets.token_urlsafe(48), "FLOWER_PASSWORD": secrets.token_urlsafe(18)}
    lines = []
    for line in template.splitlines():
        key = line.split("=", 1)[0]
        lines.append(f"{key}={generated.pop(key)}" if key in generated and "=" in line else line)
    lines += [f"{k}={v}" for k, v in generated.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    _say(f"wrote {path} with generated SECRET_KEY and FLOWER_PASSWORD (Flower user: admin)")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Create the database if missing and apply all migrations."""
    from alembic import command
    from alembic.config import Config

    from common.db import ensure_database

    if ensure_database():
        _say("created database")
    command.upgrade(Config(str(Path(__file__).resolve().parent.parent / "alembic.ini")), "head")
    _say("database schema is up to date")
    return 0


def _ensure_admin() -> None:
    from common.db import get_session
    from common.users import count_users, upsert_user

    s = get_settings()
    with get_session() as session:
        if s.tracker_admin_user and s.tracker_admin_password:
            _, created = upsert_user(session=session, username=s.tracker_admin_user,
                                     password=s.tracker_admin_password)
            _say(f"dashboard user {s.tracker_admin_user!r} {'created' if created else 'updated'} from settings")
        elif count_users(session=session) == 0:
            password = secrets.token_urlsafe(12)
            upsert_user(session=session, username="admin", password=password)
            _say("=" * 60)
            _say("created dashboard user 'admin' with password (shown once):")
            _say(f"    {password}")
            _say("change it with: tracker user admin")
            _say("=" * 60)


def cmd_bootstrap(args: argparse.Namespace) -> int:
    """Migrate, then make sure a dashboard user exists (the Procfile's release step)."""
    cmd_migrate(args)
    _ensure_admin()
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    """Create a dashboard user or set its password."""
    from common.db import get_session
    from common.users import UserError, upsert_user

    password = args.password or getpass.getpass(f"password for {args.username}: ")
    try:
        with get_session() as session:
            _, created = upsert_user(session=session, username=args.username, password=password)
    except UserError as exc:
        _say(f"error: {exc}")
        return 2
    _say(f"user {args.username!r} {'created' if created else 'updated'}")
    return 0


def cmd_create_campaign(args: argparse.Namespace) -> int:
    """Create a campaign and print its id."""
    from common.campaigns import CampaignError, create_campaign
    from common.db import get_session

    try:
        with get_session() as session:
            campaign = create_campaign(session=session, name=args.name, offer_url=args.offer_url)
    except CampaignError as exc:
        _say(f"error: {exc}")
        return 2
    print(campaign.id)
    return 0


def cmd_queue(args: argparse.Namespace) -> int:
    """Print how many batches wait in the ingest queue."""
    from common.queue import queue_depth

    print(queue_depth())
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Fill a new campaign with bulk data for load tests (straight into the tables, with rollups)."""
    from tqdm import tqdm

    from common.campaigns import create_campaign
    from common.db import connect, get_session
    from common.generate import Shape, generate

    shape = Shape(events=args.events, users=args.users, domains=args.domains)
    with get_session() as session:
        campaign = create_campaign(session=session, name=args.name, offer_url="https://offer.example.com/?aff=1")
    _say(f"campaign {campaign.id}: {shape.users:,} recipients over {shape.domains} domains, "
         f"~{shape.events:,} events")
    with connect() as conn, tqdm(total=shape.users, unit=" recipients", unit_scale=True) as bar:
        def progress(users: int, events_so_far: int) -> None:
            bar.update(users)
            bar.set_postfix(events=f"{events_so_far:,}")

        total = generate(conn, campaign_id=campaign.id, shape=shape, progress=progress)
    _say(f"inserted {total:,} events into campaign {campaign.id}")
    print(campaign.id)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Fill a new demo campaign through the event API: clicks, landings, conversions and scanner traffic."""
    import httpx
    from tqdm import tqdm

    from common.campaigns import create_campaign
    from common.db import get_session
    from common.demo import DemoError, check_reachable, plan, run

    base = args.url.rstrip("/")
    events = plan(recipients=args.recipients, domains=args.domains, seed=args.seed)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            check_reachable(client)  # before creating anything
            with get_session() as session:
                campaign = create_campaign(session=session, name=args.name,
                                           offer_url="https://shop.example.com/spring-sale?aff=demo")
            _say(f"campaign {campaign.id}: {args.recipients} recipients over {args.domains} sending domains, "
                 f"{len(events)} events at {args.rate:g}/s")
            _say(f"watch it fill: {base}/campaign/{campaign.id}")
            with tqdm(total=len(events), unit=" events") as bar:
                sent = run(client, campaign.id, events, rate=args.rate, progress=lambda _: bar.update())
    except DemoError as exc:
        _say(f"error: {exc}")
        return 2
    scanned = sum(n for kind, n in sent.items() if kind.startswith("scanner"))
    _say(f"sent {sent['email_click']} email clicks, {sent['landing_click']} landing clicks and "
         f"{sent['conversion']} conversions from people, and {scanned} events from mail scanners, "
         "which the dashboard counts as bots")
    print(campaign.id)
    return 0


def _positive(kind: type[int] | type[float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {text}")
        return value

    return parse


def cmd_flower(args: argparse.Namespace) -> int:
    """Run Flower behind basic auth; refuses an empty password."""
    s = get_settings()
    if not s.flower_user or not s.flower_password:
        _say("error: FLOWER_USER and FLOWER_PASSWORD must be set (run `tracker init-env` to generate them)")
        return 2
    # Credentials go through the environment, not argv, so `ps` does not show them.
    env = {**os.environ, "FLOWER_BASIC_AUTH": f"{s.flower_user}:{s.flower_password}"}
    argv = [sys.executable, "-m", "celery", "-A", "worker.celery_app", "flower",
            f"--address={args.address or s.host}", f"--port={args.port or s.flower_port}"]
    os.execve(sys.executable, argv, env)
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tracker", description="Click Tracker administration")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, fn: Command) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=(fn.__doc__ or "").strip(), description=(fn.__doc__ or "").strip())
        p.set_defaults(func=fn)
        return p

    add("init-env", cmd_init_env).add_argument("--path", default=".env")
    add("migrate", cmd_migrate)
    add("bootstrap", cmd_bootstrap)
    p = add("user", cmd_user)
    p.add_argument("username")
    p.add_argument("--password", help="omit to be asked (keeps it out of shell history)")
    p = add("create-campaign", cmd_create_campaign)
    p.add_argument("name")
    p.add_argument("offer_url")
    add("queue", cmd_queue)
    p = add("generate", cmd_generate)
    p.add_argument("--events", type=int, default=10_000_000)
    p.add_argument("--users", type=int, default=1_000_000)
    p.add_argument("--domains", type=int, default=20)
    p.add_argument("--name", default="Load test")
    p = add("demo", cmd_demo)
    s = get_settings()
    p.add_argument("--url", default=f"http://{s.host}:{s.port}", help="the tracker to fill (%(default)s)")
    p.add_argument("--recipients", type=_positive(int), default=300, help="clicking recipients (%(default)s)")
    p.add_argument("--domains", type=_positive(int), default=4, help="sending domains (%(default)s)")
    p.add_argument("--rate", type=_positive(float), default=20.0, help="events a second (%(default)s)")
    p.add_argument("--seed", type=int, help="repeat the same demo data")
    p.add_argument("--name", default="Demo: spring sale")
    p = add("flower", cmd_flower)
    p.add_argument("--address")
    p.add_argument("--port", type=int)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
