"""The operator's tools to mend: `tracker rollups rebuild`, `bots reclassify`, `dead`, `recipient erase` and
`user`. Each one is idempotent, reports what it did, and refuses bad input with a message and exit code 2
before it changes anything. The work itself lives in the modules they name; this is only the command line.
"""
import argparse
import getpass
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING

from common.config import get_settings
from common.roles import DEFAULT_ROLE, ROLES

if TYPE_CHECKING:
    from common.db import Conn

Command = Callable[[argparse.Namespace], int]
USAGE_ERROR = 2


def say(message: str) -> None:
    print(f"tracker: {message}", flush=True)


def refuse(message: str) -> int:
    say(f"error: {message}")
    return USAGE_ERROR


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


# --- rollups ------------------------------------------------------------------------------------------------

def cmd_rollups_rebuild(args: argparse.Namespace) -> int:
    """Recompute every rollup (journeys, domain_stats, hourly_stats, daily_stats, report_stats) from the events;
    prints what changed. Safe while the tracker runs: event writes wait while one campaign is recounted."""
    from tqdm import tqdm

    from common.db import connect
    from common.rebuild import (
        RepairBusy,
        ZoneMismatch,
        campaign_ids,
        check_zone,
        rebuild_campaign,
        record_zone,
        repair_lock,
        summary,
    )

    settings = get_settings()
    zone, max_values = settings.dashboard_timezone, settings.report_max_values
    held = 0.0  # the longest event writes waited for one campaign
    with connect() as conn:
        ids = campaign_ids(conn, args.campaign)
        if args.campaign is not None and not ids:
            return refuse(f"no campaign {args.campaign}")
        results = []
        try:
            check_zone(conn, timezone=zone, every_campaign=args.campaign is None)
            with repair_lock(conn), tqdm(ids, unit=" campaigns", disable=None) as bar:
                for campaign_id in bar:
                    started = time.monotonic()
                    changes = rebuild_campaign(conn, campaign_id=campaign_id, timezone=zone, max_values=max_values)
                    held = max(held, time.monotonic() - started)
                    if line := summary([changes]):
                        bar.write(f"tracker: campaign {campaign_id}: {line}")
                    results.append(changes)
                if args.campaign is None:
                    record_zone(conn, zone)
        except (RepairBusy, ZoneMismatch) as exc:
            return refuse(str(exc))
    say(f"rebuilt {len(ids)} campaign(s): {summary(results) or 'every rollup already matched its events'} "
        f"(event writes held for at most {held:.1f} s)")
    return 0


# --- bots ---------------------------------------------------------------------------------------------------

def cmd_bots_reclassify(args: argparse.Namespace) -> int:
    """Judge stored events again by the current bot rules, and correct the rollups' bot and unknown counters.
    Safe while the tracker runs: event writes wait while one campaign's new verdicts are written."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    from tqdm import tqdm

    from common.db import connect
    from common.rebuild import RepairBusy, ZoneMismatch, campaign_ids, check_zone, repair_lock, summary
    from common.reclassify import reclassify_campaign
    from common.store import StoreOptions

    s = get_settings()
    # A day of the dashboard's, as events store their times: UTC.
    since = (datetime.combine(args.since, datetime.min.time(), ZoneInfo(s.dashboard_timezone)).astimezone(UTC)
             .replace(tzinfo=None) if args.since else datetime(1970, 1, 1))
    with connect() as conn:
        ids = campaign_ids(conn, args.campaign)
        if args.campaign is not None and not ids:
            return refuse(f"no campaign {args.campaign}")
        results = []
        try:
            check_zone(conn, timezone=s.dashboard_timezone, every_campaign=False)
            options = StoreOptions.of(s)
            with repair_lock(conn), tqdm(unit=" events", disable=None) as bar:
                for campaign_id in ids:
                    done = reclassify_campaign(conn, campaign_id=campaign_id, since=since,
                                               options=options, max_values=s.report_max_values,
                                               progress=bar.update)
                    if done.to_bot or done.to_human or done.reason:
                        bar.write(f"tracker: campaign {campaign_id}: {done}; rollups: {summary([done.rollups])}")
                    results.append(done)
        except (RepairBusy, ZoneMismatch) as exc:
            return refuse(str(exc))
    say(f"{len(ids)} campaign(s), {sum(r.events for r in results)} events judged: "
        f"{sum(r.to_bot for r in results)} now bots, {sum(r.to_human for r in results)} now people, "
        f"{sum(r.reason for r in results)} with another bot reason; rollups: "
        f"{summary([r.rollups for r in results]) or 'unchanged'} "
        f"(event writes held for at most {max((r.held_seconds for r in results), default=0):.1f} s)")
    return 0


# --- recipients ---------------------------------------------------------------------------------------------

def cmd_recipient_erase(args: argparse.Namespace) -> int:
    """Remove a recipient's events, journeys, postback rows and dead letters (a data-subject request); the
    rollups stay exact. Prints what it removed."""
    from tqdm import tqdm

    from common.db import connect
    from common.erase import campaigns_of, erase
    from common.validation import EventRejected, stored_email

    try:
        email = stored_email(args.email)
    except EventRejected as exc:
        return refuse(f"{exc.error}: {args.email!r}")
    with connect() as conn:
        if args.campaign is not None and not conn.execute("SELECT 1 FROM campaigns WHERE id = %s",
                                                          (args.campaign,)).fetchone():
            return refuse(f"no campaign {args.campaign}")
        found = campaigns_of(conn, email)
        ids = [c for c in found if args.campaign in (None, c)]
        if not ids:
            say(f"nothing of {email} is stored{f' in campaign {args.campaign}' if args.campaign else ''}")
            return 0
        with tqdm(unit=" events", disable=None) as bar:
            done = erase(conn, email=email, campaign_ids=ids, timezone=get_settings().dashboard_timezone,
                         progress=bar.update)
    say(f"erased {email} from campaign(s) {', '.join(map(str, ids))}: removed {done}")
    return 0


# --- dead letters -------------------------------------------------------------------------------------------

def cmd_dead_list(args: argparse.Namespace) -> int:
    """List the newest dead letters: events accepted but not stored, with the reason."""
    from common import dead
    from common.db import connect

    with connect() as conn:
        total, rows = dead.count(conn), dead.listing(conn, limit=args.limit)
    for d in rows:
        print(f"{d.id}\t{d.created_at:%Y-%m-%d %H:%M:%S}\tcampaign {d.campaign_id}\t{d.event_type}\t{d.email}\t"
              f"{d.error.splitlines()[0][:200] if d.error else ''}")
    say(f"{total} dead letter(s){f', the newest {len(rows)} shown' if len(rows) < total else ''}")
    return 0


def _dead_ids(conn: "Conn", args: argparse.Namespace) -> list[int] | str | None:
    """The ids the command names (None: --all), or the reason to refuse."""
    from common import dead

    if bool(args.ids) == bool(args.all):
        return "name the dead letters' ids, or --all"
    if args.all:
        return None
    if unknown := dead.missing(conn, args.ids):
        return f"no dead letter {', '.join(map(str, unknown))} (see `tracker dead list`)"
    return list(args.ids)


def cmd_dead_requeue(args: argparse.Namespace) -> int:
    """Store dead letters again once their cause is fixed (idempotent: one already stored is skipped)."""
    from tqdm import tqdm

    from common import dead
    from common.db import connect
    from common.store import StoreOptions

    with connect() as conn:
        ids = _dead_ids(conn, args)
        if isinstance(ids, str):
            return refuse(ids)
        with tqdm(total=len(ids) if ids is not None else dead.count(conn), unit=" events", disable=None) as bar:
            done = dead.requeue(conn, ids, StoreOptions.of(get_settings()), progress=bar.update)
    say(f"stored {done.stored}, already stored {done.already}, still failing {done.failed} "
        "(kept, see `tracker dead list`)")
    return 1 if done.failed else 0


def cmd_dead_drop(args: argparse.Namespace) -> int:
    """Delete dead letters for good."""
    from common import dead
    from common.db import connect

    with connect() as conn:
        ids = _dead_ids(conn, args)
        if isinstance(ids, str):
            return refuse(ids)
        say(f"dropped {dead.drop(conn, ids)} dead letter(s)")
    return 0


# --- dashboard users ----------------------------------------------------------------------------------------

def cmd_user_list(args: argparse.Namespace) -> int:
    """List dashboard users: enabled or disabled, and their signed-in sessions."""
    from common.db import get_session
    from common.users import list_users

    with get_session() as session:
        users = list_users(session=session)
        for user, sessions in users:
            print(f"{user.username}\t{user.role}\t{'enabled' if user.is_active else 'disabled'}\t{sessions} session(s)\t"
                  f"created {user.created_at:%Y-%m-%d}")
    say(f"{len(users)} user(s)")
    return 0


def _password(args: argparse.Namespace) -> str:
    return str(args.password or getpass.getpass(f"password for {args.username}: "))


def cmd_user_create(args: argparse.Namespace) -> int:
    """Create a dashboard user."""
    from common.db import get_session
    from common.users import UserError, create_user

    try:
        with get_session() as session:
            create_user(session=session, username=args.username, password=_password(args), role=args.role)
    except UserError as exc:
        return refuse(str(exc))
    say(f"user {args.username.strip().lower()!r} created")
    return 0


def cmd_user_reset_password(args: argparse.Namespace) -> int:
    """Set a dashboard user's password; its sessions end."""
    from common.db import get_session
    from common.users import UserError, existing_user, set_password

    try:
        with get_session() as session:
            user = existing_user(session=session, username=args.username)
            ended = set_password(session=session, user=user, password=_password(args))
    except UserError as exc:
        return refuse(str(exc))
    say(f"password of {args.username.strip().lower()!r} set; {ended} session(s) ended")
    return 0


def _set_active(args: argparse.Namespace, active: bool) -> int:
    from common.db import get_session
    from common.users import UserError, existing_user, set_active

    try:
        with get_session() as session:
            user = existing_user(session=session, username=args.username)
            changed = user.is_active != active
            ended = set_active(session=session, user=user, active=active)
    except UserError as exc:
        return refuse(str(exc))
    state = "enabled" if active else "disabled"
    say(f"user {args.username.strip().lower()!r} {state if changed else f'was already {state}'}"
        + ("" if active else f"; {ended} session(s) ended"))
    return 0


def cmd_user_set_role(args: argparse.Namespace) -> int:
    """Give a dashboard user another role (admin, editor or viewer)."""
    from common.db import get_session
    from common.users import UserError, existing_user, set_role

    try:
        with get_session() as session:
            set_role(session=session, user=existing_user(session=session, username=args.username), role=args.role)
    except UserError as exc:
        return refuse(str(exc))
    say(f"user {args.username.strip().lower()!r} is now {args.role}")
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    """Disable a dashboard user: it cannot sign in, and its sessions end."""
    return _set_active(args, active=False)


def cmd_user_enable(args: argparse.Namespace) -> int:
    """Enable a disabled dashboard user again."""
    return _set_active(args, active=True)


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Adds the commands above to `tracker`'s parser."""

    def group(name: str, help_text: str) -> "argparse._SubParsersAction[argparse.ArgumentParser]":
        p = sub.add_parser(name, help=help_text, description=help_text)
        return p.add_subparsers(dest="action", required=True)

    def add(into: "argparse._SubParsersAction[argparse.ArgumentParser]", name: str,
            fn: Command) -> argparse.ArgumentParser:
        doc = (fn.__doc__ or "").strip()
        p = into.add_parser(name, help=doc, description=doc)
        p.set_defaults(func=fn)
        return p

    rollups = group("rollups", "The rollups, counted from the events.")
    add(rollups, "rebuild", cmd_rollups_rebuild).add_argument("--campaign", type=int, help="only this campaign")
    user = group("user", "Dashboard users.")
    add(user, "list", cmd_user_list)
    for name, fn in (("create", cmd_user_create), ("reset-password", cmd_user_reset_password),
                     ("disable", cmd_user_disable), ("enable", cmd_user_enable)):
        p = add(user, name, fn)
        p.add_argument("username")
        if name in ("create", "reset-password"):
            p.add_argument("--password", help="omit to be asked (keeps it out of shell history)")
        if name == "create":
            p.add_argument("--role", choices=list(ROLES), help=f"(default {DEFAULT_ROLE})")
    p = add(user, "set-role", cmd_user_set_role)
    p.add_argument("username")
    p.add_argument("role", choices=list(ROLES))
    dead = group("dead", "Dead letters: accepted events the worker could not store.")
    add(dead, "list", cmd_dead_list).add_argument("--limit", type=int, default=50, help="(%(default)s)")
    for name, fn in (("requeue", cmd_dead_requeue), ("drop", cmd_dead_drop)):
        p = add(dead, name, fn)
        p.add_argument("ids", type=int, nargs="*", metavar="ID")
        p.add_argument("--all", action="store_true", help="every dead letter")
    bots = group("bots", "Bot verdicts of stored events.")
    p = add(bots, "reclassify", cmd_bots_reclassify)
    p.add_argument("--campaign", type=int, help="only this campaign")
    p.add_argument("--since", type=_day, help="only events from this day on (YYYY-MM-DD, DASHBOARD_TIMEZONE)")
    recipient = group("recipient", "One recipient's data.")
    p = add(recipient, "erase", cmd_recipient_erase)
    p.add_argument("email")
    p.add_argument("--campaign", type=int, help="only from this campaign (default: every campaign)")
