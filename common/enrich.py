"""Visitor enrichment: browser/OS/device, bot or scanner verdict, country and network (ASN).

Everything here is offline (package-shipped databases) and cached: the same user agents and networks repeat
constantly, so a batch costs dictionary look-ups, not regex scans.
"""
import ipaddress
import json
import os
from functools import cache, lru_cache
from importlib import resources
from typing import Any

ENRICH_KEY = "_tracker"  # the one extra_params key reserved for our data; callers may not send it


@cache
def _rules() -> dict[str, list[tuple[str, str]]]:
    raw = json.loads(resources.files("common.data").joinpath("scanner_rules.json").read_text())
    return {kind: [(r["match"].lower(), r["reason"]) for r in raw[kind]] for kind in ("user_agent", "asn")}


@cache
def _crawler_detect() -> Any:
    from crawlerdetect import CrawlerDetect

    return CrawlerDetect()


@cache
def _geoip() -> Any:
    # Loaded on first use (~100 MB): the web tier only needs it on the broker-down fallback path.
    import geoip2fast
    from geoip2fast import GeoIP2Fast

    data = os.path.join(os.path.dirname(geoip2fast.__file__), "geoip2fast-asn-ipv6.dat.gz")
    return GeoIP2Fast(geoip2fast_data_file=data, verbose=False)


def _first_match(text: str, kind: str) -> str | None:
    low = text.lower()
    for needle, reason in _rules()[kind]:
        if needle in low:
            return reason
    return None


def _version(family: str, major: str | None) -> str:
    return f"{family} {major}" if major else family


@lru_cache(maxsize=20_000)
def describe_user_agent(ua: str) -> dict[str, Any]:
    """Browser, OS, device and a bot verdict for one user-agent string."""
    import ua_parser

    if not ua.strip():
        return {"browser": None, "os": None, "device": None, "bot_reason": "no user agent"}
    parsed = ua_parser.parse(ua).with_defaults()
    reason = _first_match(ua, "user_agent")
    if reason is None:
        detector = _crawler_detect()
        if detector.isCrawler(ua):
            reason = f"crawler: {detector.getMatches()}"
    return {
        "browser": _version(parsed.user_agent.family, parsed.user_agent.major),
        "os": _version(parsed.os.family, parsed.os.major),
        "device": parsed.device.family,
        "bot_reason": reason,
    }


@lru_cache(maxsize=50_000)
def describe_ip(ip: str) -> dict[str, Any]:
    """Country and network organisation for one address."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return {"country": None, "asn": None, "bot_reason": None}
    if addr.is_private or addr.is_loopback:
        return {"country": None, "asn": None, "bot_reason": None}
    found = _geoip().lookup(ip)
    country = found.country_code if found.country_code and found.country_code != "--" else None
    asn = found.asn_name or None
    return {"country": country, "asn": asn, "bot_reason": _first_match(asn, "asn") if asn else None}


def enrich(ip: str | None, user_agent: str | None) -> dict[str, Any]:
    """The value stored under extra_params[ENRICH_KEY]."""
    ua = describe_user_agent(user_agent or "")
    net = describe_ip(ip) if ip else {"country": None, "asn": None, "bot_reason": None}
    reason = ua["bot_reason"] or net["bot_reason"]
    return {
        "browser": ua["browser"],
        "os": ua["os"],
        "device": ua["device"],
        "country": net["country"],
        "asn": net["asn"],
        "is_bot": reason is not None,
        "bot_reason": reason,
    }
