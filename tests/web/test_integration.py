"""The campaign page's tracking link, postback URL and landing-page snippets: what they say, and that they work
when copied (the Python one is run against the real tracker; the browser ones in tests/browser)."""
import html
import re
import uuid
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from common.campaigns import create_campaign, get_campaign
from common.config import Settings
from common.db import get_session
from tests.checks import event_count
from tests.conftest import sign_in
from tests.services import wait_until


def new_campaign() -> tuple[int, str]:
    with get_session() as session:
        campaign = create_campaign(session=session, name=f"Snippets {uuid.uuid4().hex[:6]}",
                                   offer_url="https://offer.example.com/?sub1={click_id}")
        return campaign.id, campaign.postback_secret


def link_token(cid: int) -> str:
    with get_session() as session:
        campaign = get_campaign(session=session, campaign_id=cid)
        assert campaign is not None
        return campaign.link_token


def code(page: str, element_id: str) -> str:
    """The text of <code id=...> as the browser shows it (and the Copy button copies it)."""
    found = re.search(rf'<code id="{element_id}">(.*?)</code>', page, re.S)
    assert found, f"no #{element_id}"
    return html.unescape(found[1])


def test_campaign_page__link_postback_and_snippets(dashboard_client: TestClient) -> None:
    cid, secret = new_campaign()
    page = dashboard_client.get(f"/campaign/{cid}").text
    base = "http://testserver"
    token = link_token(cid)
    assert len(token) == 22 and not token.isdigit()
    assert code(page, "tracking-link") == f"{base}/r/{token}?email={{email}}&domain={{domain}}"
    assert f"/r/{cid}</code>, still redirect" in page  # the old form, and how to switch it off
    assert code(page, "postback-url") == (f"{base}/api/postback?cid={cid}&secret={secret}"
                                          "&click_id={click_id}&payout={payout}&txid={txid}")
    assert 'data-copy-from="#tracking-link"' in page and 'data-copy-from="#postback-url"' in page
    js = code(page, "snippet-js")
    assert js.startswith("<script>") and js.endswith("</script>")
    assert f'"{base}/api/event?"' in js and f'cid: "{cid}"' in js and "navigator.sendBeacon(url)" in js
    php = code(page, "snippet-php")
    assert php.startswith("<?php") and f"curl_init('{base}/api/event?' . $query)" in php
    assert f"'cid' => {cid}," in php
    assert code(page, "snippet-pixel") == (
        f'<img src="{base}/api/event.gif?cid={cid}&amp;event=landing_click&amp;email={{email}}'
        '&amp;domain={domain}"\n     width="1" height="1" alt="">')
    for snippet in ("js", "php", "python", "pixel"):
        assert f'data-copy-from="#snippet-{snippet}"' in page
    # The one data-copy button stays the campaign id's: snippets are copied from their element.
    assert page.count("data-copy=") == 1


def test_public_base_url__used_in_links_and_snippets(dashboard_user: tuple[str, str]) -> None:
    from web.main import create_app

    cid, _ = new_campaign()
    app = create_app(Settings(public_base_url="https://track.example.com/"))
    client = TestClient(app, follow_redirects=False)  # not `with`: the dashboard needs no pipeline
    assert sign_in(client, *dashboard_user).status_code == 303
    page = client.get(f"/campaign/{cid}").text
    client.close()
    assert code(page, "tracking-link").startswith(f"https://track.example.com/r/{link_token(cid)}?")
    assert code(page, "postback-url").startswith("https://track.example.com/api/postback?")
    assert "testserver" not in page


def test_public_base_url__must_be_http() -> None:
    with pytest.raises(ValueError, match="PUBLIC_BASE_URL"):
        Settings(public_base_url="track.example.com")


def test_python_snippet__records_the_conversion_when_run(dashboard_client: TestClient, web: str,
                                                         db: psycopg.Connection) -> None:
    cid, _ = new_campaign()
    snippet = code(dashboard_client.get(f"/campaign/{cid}").text, "snippet-python")
    namespace: dict[str, Any] = {}
    exec(compile(snippet.replace("http://testserver", web), "snippet.py", "exec"), namespace)
    wait_until(lambda: event_count(db, cid) == 1, message="the snippet's conversion stored")
    row = db.execute("SELECT event_type, email, domain, extra_params ->> 'payout' FROM events "
                     "WHERE campaign_id = %s", (cid,)).fetchone()
    assert row == ("conversion", "john@gmail.com", "example1.com", "12.50")
    # ...and it never raises when the tracker is away.
    namespace["TRACKER"] = "http://127.0.0.1:9/api/event"
    namespace["tracker_event"]("landing_click", "john@gmail.com", "example1.com")
