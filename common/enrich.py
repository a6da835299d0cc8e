"""Visitor enrichment: browser/OS/device, bot or scanner verdict, country and network (ASN).

Everything here is offline (package-shipped databases) and cached: the same user agents and networks repeat
constantly, so a batch costs dictionary look-ups, not regex scans. The bot rules are data
(`common/data/scanner_rules.json`, format in docs/bot-detection.md); this module only applies them.
"""
import ipaddress
import json
import os
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any, NotRequired, TypedDict

from common.vocabulary import VISITOR_UNKNOWN

ENRICH_KEY = "_tracker"  # the one extra_params key reserved for our data; callers may not send it

# What kind of machine an event came from; stored as bot_kind so the dashboard can break bot traffic down.
# "burst" is given at insert time by common.store (see BURST_KIND), never by the rules below.
BOT_KINDS = frozenset({"scanner", "previewer", "crawler", "headless", "script", "datacenter"})
BURST_KIND = "burst"
# An HTTP library's or command-line tool's own client, or no user agent at all.
SCRIPT_KIND = "script"


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RulesError(ValueError):
    """The rules file is malformed; the message names the rule."""


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str
    reason: str


@dataclass(frozen=True, slots=True)
class UserAgentRule:
    contains: tuple[str, ...]  # lower-cased substrings; any one matches
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class NetworkRule:
    cidrs: tuple[IPNetwork, ...]
    asn: frozenset[str]  # lower-cased exact organisation names
    asn_contains: tuple[str, ...]  # lower-cased substrings of the organisation name
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class NetworkIndex:
    """The network rules compiled for look-up: a dict probe, a few substring tests and integer comparisons
    instead of every rule's every matcher. The lowest matching rule index wins, as in the file."""

    by_asn: dict[str, int]
    asn_substrings: tuple[tuple[str, int], ...]
    ranges: tuple[tuple[int, int, int, int], ...]  # (IP version, first address, last address, rule index)
    verdicts: tuple[Verdict, ...]

    @classmethod
    def build(cls, network: tuple[NetworkRule, ...]) -> "NetworkIndex":
        by_asn: dict[str, int] = {}
        for i, rule in enumerate(network):
            for name in rule.asn:
                by_asn.setdefault(name, i)
        return cls(
            by_asn=by_asn,
            asn_substrings=tuple((sub, i) for i, rule in enumerate(network) for sub in rule.asn_contains),
            ranges=tuple((net.version, int(net.network_address), int(net.broadcast_address), i)
                         for i, rule in enumerate(network) for net in rule.cidrs),
            verdicts=tuple(rule.verdict for rule in network),
        )

    def lookup(self, addr: ipaddress.IPv4Address | ipaddress.IPv6Address, asn_name: str) -> Verdict | None:
        low, n = asn_name.lower(), int(addr)
        hits = [i for v, first, last, i in self.ranges if v == addr.version and first <= n <= last]
        if low:
            if low in self.by_asn:
                hits.append(self.by_asn[low])
            hits += [i for sub, i in self.asn_substrings if sub in low]
        return self.verdicts[min(hits)] if hits else None


@dataclass(frozen=True, slots=True)
class Rules:
    user_agent: tuple[UserAgentRule, ...]
    network: tuple[NetworkRule, ...]
    network_index: NetworkIndex
    browser_prefixes: tuple[str, ...]  # a UA starting with none of these is not a browser
    not_a_browser: Verdict


def _strings(rule: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = rule.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RulesError(f"{where}: {key!r} must be a list of non-empty strings")
    return tuple(v.strip().lower() for v in value)


def _verdict(rule: dict[str, Any], where: str) -> Verdict:
    kind, reason = rule.get("kind"), rule.get("reason")
    if kind not in BOT_KINDS:
        raise RulesError(f"{where}: 'kind' must be one of {sorted(BOT_KINDS)}, not {kind!r}")
    if not isinstance(reason, str) or not reason.strip():
        raise RulesError(f"{where}: 'reason' must be a non-empty string")
    return Verdict(kind, reason.strip())


def _rule(rule: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise RulesError(f"{where}: must be an object")
    unknown = set(rule) - allowed - {"kind", "reason", "source", "_comment"}
    if unknown:  # most likely a typo, which would otherwise make the rule silently match nothing
        raise RulesError(f"{where}: unknown key(s) {sorted(unknown)}")
    return rule


def parse_rules(raw: dict[str, Any]) -> Rules:
    """Validate the rules file's content; a mistake fails loudly at load, not silently per event."""
    ua_rules = []
    for i, item in enumerate(raw.get("user_agent", [])):
        where = f"user_agent[{i}]"
        rule = _rule(item, {"contains"}, where)
        contains = _strings(rule, "contains", where)
        if not contains:
            raise RulesError(f"{where}: 'contains' is required")
        ua_rules.append(UserAgentRule(contains, _verdict(rule, where)))
    net_rules = []
    for i, item in enumerate(raw.get("network", [])):
        where = f"network[{i}]"
        rule = _rule(item, {"cidr", "asn", "asn_contains"}, where)
        cidr_texts = _strings(rule, "cidr", where)
        try:
            cidrs = tuple(ipaddress.ip_network(c) for c in cidr_texts)
        except ValueError as exc:
            raise RulesError(f"{where}: {exc}") from None
        asn, asn_contains = frozenset(_strings(rule, "asn", where)), _strings(rule, "asn_contains", where)
        if not (cidrs or asn or asn_contains):
            raise RulesError(f"{where}: needs at least one of 'cidr', 'asn', 'asn_contains'")
        net_rules.append(NetworkRule(cidrs, asn, asn_contains, _verdict(rule, where)))
    browser = _rule(raw.get("not_a_browser"), {"browser_prefixes"}, "not_a_browser")
    prefixes = _strings(browser, "browser_prefixes", "not_a_browser")
    network = tuple(net_rules)
    return Rules(tuple(ua_rules), network, NetworkIndex.build(network), prefixes,
                 _verdict(browser, "not_a_browser"))


@cache
def rules() -> Rules:
    return parse_rules(json.loads(resources.files("common.data").joinpath("scanner_rules.json").read_text()))


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


def user_agent_verdict(ua: str, ruleset: Rules | None = None) -> Verdict | None:
    """Why this user agent is not a person's browser, or None: rules file first, then crawlerdetect."""
    if not ua.strip():
        return Verdict("script", "no user agent")
    r = ruleset or rules()
    low = ua.lower()
    for rule in r.user_agent:
        if any(s in low for s in rule.contains):
            return rule.verdict
    detector = _crawler_detect()
    if detector.isCrawler(ua):
        return Verdict("crawler", f"crawler: {detector.getMatches()}")
    if not low.lstrip().startswith(r.browser_prefixes):
        # Every browser (and in-app webview) since the 1990s opens with "Mozilla/"; a product token in its
        # place is an app's or library's own HTTP client fetching the link, not a person viewing a page.
        product = ua.strip().split(None, 1)[0].split("/", 1)[0][:40]
        return Verdict(r.not_a_browser.kind, f"{r.not_a_browser.reason}: {product}")
    return None


def network_verdict(ip: str, asn_name: str, ruleset: Rules | None = None) -> Verdict | None:
    """Why traffic from this address is not a person's, or None; the first matching rule wins."""
    return (ruleset or rules()).network_index.lookup(ipaddress.ip_address(ip), asn_name)


class _VerdictFields(TypedDict):
    bot_kind: str | None
    bot_reason: str | None


def _fields(verdict: Verdict | None) -> _VerdictFields:
    return {"bot_kind": verdict.kind if verdict else None, "bot_reason": verdict.reason if verdict else None}


def _version(family: str, major: str | None) -> str:
    return f"{family} {major}" if major else family


class UserAgentInfo(TypedDict):
    browser: str | None
    os: str | None
    device: str | None
    bot_kind: str | None
    bot_reason: str | None


class NetworkInfo(TypedDict):
    country: str | None
    asn: str | None
    bot_kind: str | None
    bot_reason: str | None


class Enrichment(TypedDict):
    """What is stored under extra_params[ENRICH_KEY]."""

    browser: str | None
    os: str | None
    device: str | None
    country: str | None
    asn: str | None
    is_bot: bool
    bot_kind: str | None
    bot_reason: str | None
    visitor: NotRequired[str]  # VISITOR_UNKNOWN when nothing is known about the visitor; absent otherwise


@lru_cache(maxsize=20_000)
def describe_user_agent(ua: str) -> UserAgentInfo:
    """Browser, OS, device and a bot verdict for one user-agent string."""
    import ua_parser

    verdict = user_agent_verdict(ua)
    browser = os_name = device = None
    if ua.strip():
        parsed = ua_parser.parse(ua).with_defaults()
        browser = _version(parsed.user_agent.family, parsed.user_agent.major)
        os_name, device = _version(parsed.os.family, parsed.os.major), parsed.device.family
    return {"browser": browser, "os": os_name, "device": device, **_fields(verdict)}


_NO_USER_AGENT: UserAgentInfo = {"browser": None, "os": None, "device": None, **_fields(None)}
_NO_NETWORK: NetworkInfo = {"country": None, "asn": None, **_fields(None)}


@lru_cache(maxsize=50_000)
def describe_ip(ip: str) -> NetworkInfo:
    """Country, network organisation and a network verdict for one address."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return _NO_NETWORK
    if addr.is_private or addr.is_loopback:
        return _NO_NETWORK
    found = _geoip().lookup(ip)
    country = found.country_code if found.country_code and found.country_code != "--" else None
    asn = found.asn_name or None
    return {"country": country, "asn": asn, **_fields(rules().network_index.lookup(addr, asn or ""))}


def enrich(ip: str | None, user_agent: str | None, *, caller_ip: bool = False, caller_ua: bool = False) -> Enrichment:
    """The value stored under extra_params[ENRICH_KEY]. `caller_ip` / `caller_ua`: the address / user agent are
    the calling client's own, not forwarded for a visitor (an /api/event request that sent no `ip` / `ua`).

    A caller whose user agent is a script's (an HTTP library, a command-line tool, none at all) that forwarded
    no `ua` is a server-side landing script: its user agent, and its address unless it forwarded `ip`, say
    nothing about the visitor, so they are not held against the event. With nothing forwarded the visitor is
    unknown: counted with the people, and shown apart (docs/bot-detection.md, "Visitor unknown").
    """
    ua = describe_user_agent(user_agent or "")
    if caller_ua and ua["bot_kind"] == SCRIPT_KIND:
        if caller_ip:
            return {**_NO_USER_AGENT, "country": None, "asn": None, "is_bot": False, "visitor": VISITOR_UNKNOWN}
        ua = _NO_USER_AGENT
    net = describe_ip(ip) if ip else _NO_NETWORK
    # The user agent's reason names the client ("crawler: Googlebot"); the network's only where it ran.
    source = ua if ua["bot_reason"] else net
    return {
        "browser": ua["browser"],
        "os": ua["os"],
        "device": ua["device"],
        "country": net["country"],
        "asn": net["asn"],
        "is_bot": source["bot_reason"] is not None,
        "bot_kind": source["bot_kind"],
        "bot_reason": source["bot_reason"],
    }
