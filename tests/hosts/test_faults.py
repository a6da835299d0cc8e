"""Faults of a deployment spread over hosts (tests/hosts/cluster.py), each during a steady load from the client
host to web-a and web-b in turn: every event answered ok is stored exactly once, and the rollups equal a
recount (tests/chaos/report.py). Recovery as tests/chaos/runner.py measures it; docs/reliability.md has the
table.
"""

import time

import httpx
import pytest

from tests.chaos import runner
from tests.chaos.load import Load
from tests.chaos.runner import Fault, Record
from tests.hosts.cluster import Cluster

pytestmark = [pytest.mark.hosts, pytest.mark.xdist_group("hosts")]  # one process: the package's cluster

EVENTS, DURATION = 2_000, 20.0  # 100 events a second
FAULT_AT = 3.0  # seconds into the load


def run(cluster: Cluster, record_report: Record, scenario: str, fault: Fault) -> Load:
    """A fault run on a campaign of its own (the cluster serves the whole module)."""
    load = Load(cluster.web_urls, cluster.new_campaign(scenario), total=EVENTS, duration=DURATION,
                client=cluster["client"])
    return runner.run(cluster, load, record_report, scenario, fault)


def accepted_between(load: Load, start: float, end: float, url: str) -> int:
    """Events answered ok that were sent to `url`'s host in [start, end] (monotonic)."""
    index = load.targets.index(_host_port(url))
    return sum(1 for o in list(load.outcomes)
               if o.ok and start <= o.sent_at <= end and o.seq % len(load.targets) == index)


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def _unplug_worker_a(cluster: Cluster) -> Fault:
    def fault(load: Load) -> float:
        load.wait_until_elapsed(FAULT_AT)
        cluster.net.unplug(cluster["worker-a"])
        load.wait_until_elapsed(FAULT_AT + 15)
        cluster.net.plug(cluster["worker-a"])
        return time.monotonic()

    return fault


def test_worker_a_unplugged_15s__worker_b_stores_its_batches(cluster: Cluster, record_report: Record) -> None:
    run(cluster, record_report, "worker-a unplugged 15 s", _unplug_worker_a(cluster))


def test_worker_a_unplugged_15s_with_rabbitmq__nothing_ok_lost(record_report: Record) -> None:
    """The one RabbitMQ case, on a cluster of its own: the broker host runs a throwaway RabbitMQ node."""
    cluster = Cluster(broker="rabbitmq")
    try:
        cluster.start()
        run(cluster, record_report, "worker-a unplugged (rabbitmq)", _unplug_worker_a(cluster))
    finally:
        cluster.destroy()


def test_web_b_dead__web_a_serves_and_nothing_ok_lost(cluster: Cluster, record_report: Record) -> None:
    window: list[float] = []

    def fault(load: Load) -> float:
        load.wait_until_elapsed(FAULT_AT)
        assert cluster["web-b"].kill_all() > 0
        window.append(time.monotonic())
        load.wait_until_elapsed(FAULT_AT + 5)  # the host reboots
        cluster.start_web("web-b")
        window.append(cluster.wait_for_web("web-b"))
        return window[0]

    load = run(cluster, record_report, "web-b killed (every process)", fault)
    killed, back = window
    assert accepted_between(load, killed + 0.5, back - 0.5, cluster.url("web-a")) > 0
    assert accepted_between(load, killed + 0.5, back - 0.5, cluster.url("web-b")) == 0
    # Back, web-b accepts again (the load may have ended before it was: it takes ~10 s on a busy machine).
    url = f"{cluster.url('web-b')}/api/event"
    params = {"cid": load.campaign_id, "event": "email_click", "email": "back@example.com", "domain": "example.com"}
    assert cluster["client"].call(lambda: httpx.get(url, params=params, timeout=10).json())["status"] == "ok"


def test_web_a_cut_from_broker_10s__stores_directly(cluster: Cluster, record_report: Record) -> None:
    web_a, broker = cluster["web-a"], cluster["broker"]
    window: list[float] = []

    def fault(load: Load) -> float:
        load.wait_until_elapsed(FAULT_AT)
        web_a.blackhole(broker)  # both ways: a partition, not a refusal
        broker.blackhole(web_a)
        window.append(time.monotonic())
        load.wait_until_elapsed(FAULT_AT + 10)
        web_a.route_again(broker)
        broker.route_again(web_a)
        window.append(time.monotonic())
        return window[1]

    load = run(cluster, record_report, "web-a cut from broker 10 s", fault)
    cut, restored = window
    assert accepted_between(load, cut + 1, restored - 1, cluster.url("web-a")) > 0, (
        "web-a accepted nothing while the broker was unreachable"
    )


def test_db_link_slow__50ms_and_1pct_loss(cluster: Cluster, record_report: Record) -> None:
    """`tc qdisc add ... netem` fails on this kernel ("Specified qdisc kind is unknown"): the db host's link is
    slowed by tests/chaos/proxy.py instead (50 ms on every answer, 200 ms more on 1 % of them)."""
    assert cluster.db_link is not None

    def fault(load: Load) -> float:
        assert cluster.db_link is not None
        load.wait_until_elapsed(FAULT_AT)
        cluster.db_link.slow_down()
        load.wait_until_elapsed(FAULT_AT + 10)
        cluster.db_link.restore()
        return time.monotonic()

    run(cluster, record_report, "db link +50 ms, 1 % loss 10 s", fault)

