"""Nothing host-local: a campaign deleted or archived through web-a is refused, or still tracked, on web-b
within CAMPAIGN_CHECK_SECONDS (each web process reads the campaigns' change counter that often)."""

import re
import time
import uuid

import httpx
import pytest

from tests.conftest import sign_in
from tests.hosts.cluster import CAMPAIGN_CHECK_SECONDS, Cluster

pytestmark = [pytest.mark.hosts, pytest.mark.xdist_group("hosts")]  # one process: the package's cluster
# The documented bound is CAMPAIGN_CHECK_SECONDS plus one reload; the margin is for a busy test machine.
BOUND = CAMPAIGN_CHECK_SECONDS + 2


@pytest.fixture(scope="module")
def admin(cluster: Cluster) -> tuple[str, str]:
    username, password = "hosts-admin", uuid.uuid4().hex
    cluster.cli("user", "create", username, "--password", password, "--role", "admin")
    return username, password


def _event(cluster: Cluster, web: str, campaign_id: int) -> int:
    url = f"{cluster.url(web)}/api/event"
    params = {"cid": campaign_id, "event": "email_click", "email": "a@example.com", "domain": "example.com"}
    return cluster["client"].call(lambda: httpx.get(url, params=params, timeout=10).status_code)


def _post_form(cluster: Cluster, web: str, admin: tuple[str, str], page: str, action: str,
               data: dict[str, str]) -> int:
    """Sign in on `web`, open `page` and submit its form to `action` with the page's CSRF token."""
    def submit() -> int:
        with httpx.Client(base_url=cluster.url(web), timeout=10) as client:
            assert sign_in(client, *admin).status_code == 303
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).text)
            assert token, f"no CSRF token on {page}"
            return client.post(action, data={"csrf_token": token[1], **data}).status_code

    return cluster["client"].call(submit)


def _seconds_until(cluster: Cluster, web: str, campaign_id: int, status: int) -> float:
    started = time.monotonic()
    while (answer := _event(cluster, web, campaign_id)) != status:
        assert time.monotonic() - started < BOUND, f"{web} still answers {answer} for campaign {campaign_id}"
        time.sleep(0.05)
    return time.monotonic() - started


def test_deleted_through_web_a__refused_by_web_b_within_the_check(cluster: Cluster,
                                                                  admin: tuple[str, str]) -> None:
    campaign_id = cluster.new_campaign("Deleted across hosts")
    assert _event(cluster, "web-a", campaign_id) == 200
    assert _event(cluster, "web-b", campaign_id) == 200  # known to web-b's cache
    page = f"/campaign/{campaign_id}/delete"
    assert _post_form(cluster, "web-a", admin, page, page, {}) == 303
    deleted = time.monotonic()
    seconds = _seconds_until(cluster, "web-b", campaign_id, 404)
    print(f"campaign deleted through web-a: refused by web-b after {seconds:.2f} s")
    # By the bound every web process of every host has checked: any of them may take a request.
    time.sleep(max(0.0, deleted + BOUND - time.monotonic()))
    answers = [_event(cluster, web, campaign_id) for web in ("web-a", "web-b") for _ in range(20)]
    assert set(answers) == {404}, answers


def test_archived_through_web_a__still_tracked_on_web_b(cluster: Cluster, admin: tuple[str, str]) -> None:
    campaign_id = cluster.new_campaign("Archived across hosts")
    assert _event(cluster, "web-b", campaign_id) == 200
    page = f"/campaign/{campaign_id}"
    assert _post_form(cluster, "web-a", admin, page, f"{page}/archive", {"archived": "true"}) == 303
    assert cluster.pg is not None
    with cluster.pg.connect() as conn:
        assert conn.execute("SELECT archived_at IS NOT NULL FROM campaigns WHERE id = %s",
                            (campaign_id,)).fetchone() == (True,)
    deadline = time.monotonic() + CAMPAIGN_CHECK_SECONDS * 3  # past web-b's next checks and reloads
    while time.monotonic() < deadline:
        assert _event(cluster, "web-b", campaign_id) == 200
        time.sleep(0.1)
