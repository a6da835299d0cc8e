"""The bot classifier: every labelled fixture row, the rules file's validation, the report's numbers."""
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from bench.classify_report import LabelledRow, load_rows
from common.enrich import (
    RulesError,
    Verdict,
    describe_ip,
    enrich,
    network_verdict,
    parse_rules,
    rules,
    user_agent_verdict,
)

ROOT = Path(__file__).resolve().parents[2]
ROWS = load_rows()
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/126.0.0.0 Safari/537.36")


@pytest.mark.parametrize("row", ROWS, ids=[f"{i:03}-{r.label}-{r.what}" for i, r in enumerate(ROWS)])
def test_labelled_row(row: LabelledRow) -> None:
    verdict = enrich(row.ip, row.user_agent)
    if row.known_miss:
        # Documented in docs/bot-detection.md; if this starts failing the classifier got better: clear
        # known_miss in the fixture and rerun bench/classify_report.py for the docs.
        assert verdict["is_bot"] != (row.label == "bot"), "fixed a known miss: update the fixture and docs"
    else:
        assert verdict["is_bot"] == (row.label == "bot"), (verdict, row)


def test_fixture__balanced_and_sourced() -> None:
    labels = [r.label for r in ROWS]
    assert len(ROWS) >= 150
    assert min(labels.count("human"), labels.count("bot")) >= 0.4 * len(ROWS)
    assert all(r.ua_source and r.ip_source for r in ROWS), "every row names its sources"
    assert len({(r.user_agent, r.ip) for r in ROWS}) == len(ROWS), "no duplicate rows"


def test_report_numbers__match_docs() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "classify_report.py")], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    summary = out.splitlines()[0]
    docs = (ROOT / "docs" / "bot-detection.md").read_text()
    assert summary in docs, f"update docs/bot-detection.md with: {summary}"
    misses = sum(r.known_miss for r in ROWS)
    assert f"misclassified ({misses}):" in out


def test_enrich__output_keys() -> None:
    assert set(enrich("73.15.20.10", CHROME)) == {"browser", "os", "device", "country", "asn", "is_bot",
                                                  "bot_kind", "bot_reason"}


def test_human_at_home__not_a_bot_with_browser_and_network() -> None:
    assert enrich("73.15.20.10", CHROME) == {
        "browser": "Chrome 126", "os": "Windows 10", "device": "Other", "country": "US",
        "asn": "COMCAST-7922", "is_bot": False, "bot_kind": None, "bot_reason": None}


def test_safe_links_ip_with_browser_ua__scanner_by_network() -> None:
    out = enrich("40.94.16.12", CHROME)
    assert (out["is_bot"], out["bot_kind"]) == (True, "scanner") and "Microsoft" in out["bot_reason"]


def test_user_agent_reason_wins_over_network_reason() -> None:
    out = enrich("3.80.15.7", "curl/8.4.0")
    assert (out["bot_kind"], out["bot_reason"]) == ("script", "script client: command line")


def test_no_user_agent_and_no_ip() -> None:
    out = enrich(None, None)
    assert (out["is_bot"], out["bot_kind"], out["bot_reason"]) == (True, "script", "no user agent")
    assert out["asn"] is None


# --- server-side calls: the caller's own user agent and address ------------------------------------------------

@pytest.mark.parametrize("ua", ["curl/8.5.0", "python-httpx/0.28.1", "python-requests/2.32.3", "GuzzleHttp/7", "",
                                None])
def test_script_caller_forwarding_nothing__visitor_unknown_not_a_bot(ua: str | None) -> None:
    out = enrich("3.80.15.7", ua, caller_ip=True, caller_ua=True)  # the landing server's address (AWS)
    assert out == {"browser": None, "os": None, "device": None, "country": None, "asn": None, "is_bot": False,
                   "bot_kind": None, "bot_reason": None, "visitor": "unknown"}


def test_script_caller_forwarding_the_ip__classified_by_the_visitors_network() -> None:
    person = enrich("73.15.20.10", "curl/8.5.0", caller_ua=True)
    assert (person["is_bot"], person["country"], person["browser"]) == (False, "US", None)
    assert "visitor" not in person
    scanner = enrich("40.94.16.12", "curl/8.5.0", caller_ua=True)
    assert (scanner["is_bot"], scanner["bot_kind"]) == (True, "scanner")


@pytest.mark.parametrize(("ua", "kind"), [(CHROME, None), ("Mozilla/5.0 (compatible; Googlebot/2.1)", "crawler"),
                                          ("Slackbot-LinkExpanding 1.0", "previewer")])
def test_caller_with_a_browser_or_named_bot__classified_as_today(ua: str, kind: str | None) -> None:
    """A browser snippet's call (the visitor's own browser) or a named bot is evidence about the visitor."""
    out = enrich("73.15.20.10", ua, caller_ip=True, caller_ua=True)
    assert out == enrich("73.15.20.10", ua) and out["bot_kind"] == kind and "visitor" not in out


def test_forwarded_script_user_agent__still_a_bot() -> None:
    """A forwarded `ua` is the visitor's: an HTTP library fetching the link is a script, as today."""
    assert enrich("73.15.20.10", "curl/8.5.0", caller_ip=True)["bot_kind"] == "script"


def test_private_and_invalid_ip__no_network_verdict() -> None:
    assert describe_ip("127.0.0.1")["asn"] is None and describe_ip("10.1.2.3")["bot_reason"] is None
    assert describe_ip("not-an-ip")["country"] is None


def test_unknown_product_token__not_a_browser() -> None:
    # An app's own HTTP client (here an Android app's default one) fetching the link, not a page view.
    dalvik = "Dalvik/2.1.0 (Linux; U; Android 11; SM-G991B Build/RP1A.200720.012)"
    assert user_agent_verdict(dalvik) == Verdict("script", "not a browser: Dalvik")


def test_exact_asn_names__not_substrings() -> None:
    # The names that a substring rule ("google", "amazon", "microsoft") would catch, wrongly.
    assert network_verdict("23.228.130.5", "GOOGLE-FIBER") is None
    assert network_verdict("138.185.84.9", "AMAZONET TELECOMUNICACOES LTDA") is None
    assert network_verdict("131.107.1.5", "MICROSOFT-CORP-AS") is None
    assert network_verdict("66.249.66.1", "google") == network_verdict("66.249.66.1", "GOOGLE")


# --- the rules file ---------------------------------------------------------------------------------------

def shipped() -> dict[str, Any]:
    return json.loads(resources.files("common.data").joinpath("scanner_rules.json").read_text())


def test_shipped_rules__load() -> None:
    r = rules()
    assert len(r.user_agent) > 30 and len(r.network) > 20
    assert r.browser_prefixes == ("mozilla/", "opera/")


def test_custom_rules__each_matcher() -> None:
    custom = parse_rules({
        "user_agent": [{"contains": ["AcmeBot"], "kind": "crawler", "reason": "crawler: Acme"}],
        "not_a_browser": {"browser_prefixes": ["mozilla/"], "kind": "script", "reason": "not a browser"},
        "network": [
            {"cidr": ["192.0.2.0/24", "2001:db8::/32"], "kind": "scanner", "reason": "scanner: lab"},
            {"asn": ["EXAMPLE-NET"], "kind": "datacenter", "reason": "datacenter: example"},
            {"asn_contains": ["hosting"], "kind": "datacenter", "reason": "datacenter: hosting"},
        ],
    })
    lab, example, hosting = (Verdict("scanner", "scanner: lab"), Verdict("datacenter", "datacenter: example"),
                             Verdict("datacenter", "datacenter: hosting"))
    acme = Verdict("crawler", "crawler: Acme")
    assert user_agent_verdict("Mozilla/5.0 (compatible; acmebot/2.0)", custom) == acme
    assert network_verdict("192.0.2.9", "", custom) == lab
    assert network_verdict("2001:db8::1", "", custom) == lab
    assert network_verdict("198.51.100.1", "example-net", custom) == example
    assert network_verdict("198.51.100.1", "Big Hosting Ltd", custom) == hosting
    assert network_verdict("198.51.100.1", "EXAMPLE-NET-2", custom) is None


@pytest.mark.parametrize(("section", "index", "change", "message"), [
    ("user_agent", 0, {"kind": "robot"}, "'kind' must be one of"),
    ("user_agent", 0, {"reason": ""}, "'reason' must be a non-empty string"),
    ("user_agent", 0, {"contains": []}, "'contains' is required"),
    ("user_agent", 0, {"contains": "safelinks"}, "must be a list of non-empty strings"),
    ("user_agent", 0, {"contians": ["x"]}, "unknown key(s) ['contians']"),
    ("network", 0, {"cidr": ["40.92.0.0/33"]}, "network[0]: "),
    ("network", 1, {"asn": []}, "needs at least one of"),
])
def test_malformed_rules__refused_naming_the_rule(section: str, index: int, change: dict[str, Any],
                                                  message: str) -> None:
    raw = shipped()
    raw[section][index] = {**raw[section][index], **change}
    with pytest.raises(RulesError) as exc:
        parse_rules(raw)
    assert message in str(exc.value) and f"{section}[{index}]" in str(exc.value)
