"""`make run`'s foreground: migrate, run the Procfile's processes under honcho, and say where they answer.

honcho gives every process a PORT of its own (5000 for the first, then 5100, ...), so the Procfile's web line
reads WEB_PORT first: set here from the settings (PORT, default 8000), it puts the web tier where the README
says, and `PORT=9000 make run` still moves it. A platform that sets PORT for the web process (Heroku and the
like) and no WEB_PORT still gets its own. The addresses (and a new admin password) are printed once the web
tier and Flower answer, after their start-up logs rather than above them.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from types import FrameType

import httpx

from common.cli import cmd_migrate, ensure_admin
from common.config import EMBEDDED_ENV_FILE, Settings, get_settings

PROCESSES = ("web", "worker", "webhooks", "beat", "flower", "metrics")
READY_TIMEOUT_SECONDS = 180.0


def _say(message: str) -> None:
    print(f"tracker: {message}", flush=True)


def _browser_host(host: str) -> str:
    """An address a browser on this machine can open, for a server listening on `host`."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def _answers(url: str, auth: tuple[str, str] | None = None) -> bool:
    try:
        return httpx.get(url, auth=auth, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _banner(s: Settings, web_url: str, flower_url: str, password: str | None) -> list[str]:
    if password:
        sign_in = f"sign in as admin, password {password} (shown once; change it: .venv/bin/tracker user reset-password admin)"
    elif s.tracker_admin_user:
        sign_in = f"sign in as {s.tracker_admin_user} (TRACKER_ADMIN_PASSWORD)"
    else:
        sign_in = "sign in with your dashboard user (.venv/bin/tracker user create NAME adds one)"
    return [
        "=" * 72,
        f"dashboard and API  {web_url}  {sign_in}",
        f"Flower             {flower_url}  user {s.flower_user}, password: FLOWER_PASSWORD in .env",
        f"metrics            http://{s.metrics_bind}/metrics  (Prometheus)",
        "Ctrl-C stops everything.",
        "=" * 72,
    ]


def main() -> int:
    s = get_settings()
    cmd_migrate(argparse.Namespace())
    password = ensure_admin()

    honcho = shutil.which("honcho") or "honcho"
    env = {**os.environ, "WEB_PORT": str(s.port)}
    # honcho hands .env to the processes as environment variables, which the settings rank above their env
    # files: the embedded servers' URLs must come after it in honcho's own list, or .env's would win.
    env_files = f".env,{EMBEDDED_ENV_FILE}"
    child = subprocess.Popen([honcho, "start", "--env", env_files, *PROCESSES], env=env)

    # Ctrl-C is sent to the whole foreground process group: honcho gets it too and stops its processes, so
    # here it only must not end this process first. A SIGTERM or SIGHUP (make passes a SIGTERM on) is sent to
    # this process alone: pass it on.
    def forward(signum: int, frame: FrameType | None) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGINT, lambda signum, frame: None)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)

    web_url = f"http://{_browser_host(s.host)}:{s.port}"
    flower_url = f"http://{_browser_host(s.host)}:{s.flower_port}"
    auth = (s.flower_user, s.flower_password)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    web_ready = flower_ready = False
    while child.poll() is None and not (web_ready and flower_ready):
        if time.monotonic() > deadline:
            _say(f"warning: after {READY_TIMEOUT_SECONDS:.0f} s, web {web_url}/healthz "
                 f"{'answers' if web_ready else 'does not answer 200'} and Flower {flower_url} "
                 f"{'answers' if flower_ready else 'does not answer'}: see the logs above")
            break
        web_ready = web_ready or _answers(f"{web_url}/healthz")
        flower_ready = flower_ready or _answers(flower_url, auth)
        time.sleep(0.5)
    if web_ready and flower_ready and child.poll() is None:
        for line in _banner(s, web_url, flower_url, password):
            _say(line)
    elif password:  # not lost with a stack that failed to start
        _say(f"created dashboard user 'admin' with password {password}")
    return child.wait()


if __name__ == "__main__":
    sys.exit(main())
