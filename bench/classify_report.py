"""Precision and recall of the bot classifier on the labelled fixture set.

    .venv/bin/python bench/classify_report.py [--fixture tests/fixtures/traffic_labels.csv]

Classifies every row with common.enrich.enrich (the user-agent rules, crawlerdetect and the offline ASN
database: exactly what the worker runs per event), then prints precision and recall for "bot", the confusion
matrix, which signal caught each bot, and every misclassified row. docs/bot-detection.md quotes the first
line; tests/common/test_enrich.py checks that the two agree.
"""
import argparse
import csv
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.enrich import Enrichment, describe_ip, describe_user_agent, enrich  # noqa: E402
from common.vocabulary import VISITOR_UNKNOWN  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "traffic_labels.csv"
LABELS = ("human", "bot")


@dataclass(frozen=True, slots=True)
class LabelledRow:
    label: str
    what: str
    user_agent: str
    ip: str
    ua_source: str
    ip_source: str
    note: str
    known_miss: bool  # the classifier is known to get this row wrong (docs/bot-detection.md says why)


@dataclass(frozen=True, slots=True)
class Outcome:
    row: LabelledRow
    verdict: Enrichment

    @property
    def predicted(self) -> str:
        return "bot" if self.verdict["is_bot"] else "human"

    @property
    def correct(self) -> bool:
        return self.predicted == self.row.label


def load_rows(path: Path = FIXTURE) -> list[LabelledRow]:
    with path.open(newline="") as f:
        rows = [LabelledRow(label=r["label"], what=r["what"], user_agent=r["user_agent"], ip=r["ip"],
                            ua_source=r["ua_source"], ip_source=r["ip_source"], note=r["note"],
                            known_miss=r["known_miss"] == "yes") for r in csv.DictReader(f)]
    bad = [r.what for r in rows if r.label not in LABELS]
    if bad:
        raise ValueError(f"rows with a label other than {LABELS}: {bad}")
    return rows


@dataclass(frozen=True, slots=True)
class Report:
    outcomes: list[Outcome]

    def count(self, label: str, predicted: str) -> int:
        return sum(o.row.label == label and o.predicted == predicted for o in self.outcomes)

    @property
    def precision(self) -> float:
        tp, fp = self.count("bot", "bot"), self.count("human", "bot")
        return tp / (tp + fp) if tp + fp else 1.0

    @property
    def recall(self) -> float:
        tp, fn = self.count("bot", "bot"), self.count("bot", "human")
        return tp / (tp + fn) if tp + fn else 1.0

    @property
    def misclassified(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.correct]


def evaluate(rows: list[LabelledRow]) -> Report:
    """Each row as the tracker sees a visitor's own request, or a landing script's that forwards `ip` and `ua`."""
    return Report([Outcome(r, enrich(r.ip, r.user_agent)) for r in rows])


def evaluate_ip_only(rows: list[LabelledRow]) -> Report:
    """Each row as a landing script sends it when it forwards the visitor's `ip` but not `ua`: the user agent
    is the script's own, so only the network rules can speak."""
    return Report([Outcome(r, enrich(r.ip, SCRIPT_UA, caller_ua=True)) for r in rows])


# What a landing script's server sends when it forwards nothing about its visitor: the default user agents of
# the HTTP clients landing scripts use (PHP's curl sends none), from the address of a cloud server.
SERVER_SIDE_CALLERS = (
    ("PHP curl (no User-Agent)", ""), ("PHP Guzzle", "GuzzleHttp/7"),
    ("WordPress wp_remote_get", "WordPress/6.4; https://shop.example"), ("curl", "curl/8.5.0"),
    ("python-requests", "python-requests/2.32.3"), ("python-httpx", "python-httpx/0.28.1"),
    ("Node.js fetch", "undici"), ("axios", "axios/1.6.2"), ("Go net/http", "Go-http-client/1.1"),
    ("Java", "Java/17.0.1"), ("Ruby Faraday", "Faraday v2.7.4"), (".NET RestSharp", "RestSharp/110.2.0.0"),
)
SCRIPT_UA = "curl/8.5.0"
SERVER_IP = "3.80.15.7"  # AWS, where landing pages are hosted


def _class(verdict: Enrichment) -> str:
    if verdict.get("visitor") == VISITOR_UNKNOWN:
        return "visitor unknown"
    return f"bot ({verdict['bot_reason']})" if verdict["is_bot"] else "person"


def server_side_lines() -> list[str]:
    """Server-side calls that forward nothing: before this tracker told them apart, the caller's user agent and
    address were taken for the visitor's; now the visitor is unknown."""
    rows = [(name, _class(enrich(SERVER_IP, ua)), _class(enrich(SERVER_IP, ua, caller_ip=True, caller_ua=True)))
            for name, ua in SERVER_SIDE_CALLERS]
    before = Counter("bot" if b.startswith("bot") else b for _, b, _ in rows)
    now = Counter("bot" if n.startswith("bot") else n for _, _, n in rows)
    lines = [f"server-side calls forwarding nothing ({len(rows)} HTTP clients, from {SERVER_IP}): "
             f"before {dict(before)}, now {dict(now)}"]
    lines += [f"  {name:26s} before: {b:48s} now: {n}" for name, b, n in rows]
    return lines


def summary_line(report: Report) -> str:
    labels = Counter(o.row.label for o in report.outcomes)
    return (f"{len(report.outcomes)} rows ({labels['human']} human, {labels['bot']} bot): "
            f"precision {report.precision:.3f}, recall {report.recall:.3f} "
            f"(tp {report.count('bot', 'bot')}, fp {report.count('human', 'bot')}, "
            f"fn {report.count('bot', 'human')}, tn {report.count('human', 'human')})")


def _signal(outcome: Outcome) -> str:
    # Which signal alone would have caught this bot: tells how much each half of the rules file carries.
    by_ua = describe_user_agent(outcome.row.user_agent)["bot_reason"] is not None
    by_net = describe_ip(outcome.row.ip)["bot_reason"] is not None
    return {(True, True): "both", (True, False): "user agent only", (False, True): "network only"}.get(
        (by_ua, by_net), "neither")


def format_report(report: Report) -> str:
    caught = [o for o in report.outcomes if o.row.label == "bot" and o.predicted == "bot"]
    kinds = Counter(o.verdict["bot_kind"] for o in caught).most_common()
    signals = Counter(map(_signal, caught)).most_common()
    lines = [
        summary_line(report),
        "",
        "                 predicted human  predicted bot",
        f"labelled human   {report.count('human', 'human'):>15}  {report.count('human', 'bot'):>13}",
        f"labelled bot     {report.count('bot', 'human'):>15}  {report.count('bot', 'bot'):>13}",
        "",
        "bots caught, by kind:   " + ", ".join(f"{k} {n}" for k, n in kinds),
        "bots caught, by signal: " + ", ".join(f"{k} {n}" for k, n in signals),
        "",
        f"misclassified ({len(report.misclassified)}):",
    ]
    for o in report.misclassified:
        lines.append(f"  labelled {o.row.label}, classified {o.predicted}: {o.row.what} | ip {o.row.ip} "
                     f"({o.verdict['asn']}) | reason {o.verdict['bot_reason']} | ua {o.row.user_agent!r}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixture", type=Path, default=FIXTURE)
    args = parser.parse_args(argv)
    rows = load_rows(args.fixture)
    print(format_report(evaluate(rows)))
    print()
    print(f"forwarding only ip (the landing script's own user agent, {SCRIPT_UA}): "
          + summary_line(evaluate_ip_only(rows)))
    print()
    print("\n".join(server_side_lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
