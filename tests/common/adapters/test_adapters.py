"""The library adapters (common/adapters/): the versions they were tested with, the warning and the stock path
when another version is installed, and the LIBRARY_ADAPTERS switch."""
import logging
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from kombu.asynchronous.hub import Hub
from kombu.transport import redis as kombu_redis
from uvicorn.protocols.http import httptools_impl

from common import adapters
from common.adapters import celery as celery_adapter
from common.adapters import kombu as kombu_adapter
from common.adapters import uvicorn as uvicorn_adapter
from common.config import Settings
from tests.services import ROOT

ALL = [kombu_adapter.ADAPTER, celery_adapter.ADAPTER, uvicorn_adapter.ADAPTER]
ON, OFF = Settings(library_adapters=True), Settings(library_adapters=False)


@pytest.fixture
def fresh_check() -> Iterator[None]:
    """Each adapter checks its versions again (and may warn again); afterwards the real check is redone."""
    adapters.tested_versions_installed.cache_clear()
    yield
    adapters.tested_versions_installed.cache_clear()


@pytest.mark.parametrize("adapter", ALL, ids=lambda a: a.module)
def test_installed_versions__exactly_those_each_adapter_was_tested_with(adapter: adapters.Adapter) -> None:
    """A lock file bumped without re-testing an adapter fails here: re-test it, then update its TESTED."""
    for name, version in adapter.tested:
        assert adapters.installed_version(name) == version, f"{adapter.module} was tested with {name} {version}"


@pytest.mark.parametrize("adapter", ALL, ids=lambda a: a.module)
def test_lock_file__pins_each_adapter_s_tested_versions(adapter: adapters.Adapter) -> None:
    """The runtime lock (requirements/runtime.txt, where it exists) pins what each adapter was tested with."""
    lock = ROOT / "requirements" / "runtime.txt"
    if not lock.exists():
        pytest.skip("no requirements/runtime.txt in this checkout")
    pins = dict(line.split(" ", 1)[0].split("==", 1) for line in lock.read_text().splitlines() if "==" in line)
    for name, version in adapter.tested:
        assert pins.get(name) == version, f"{lock} pins {name} {pins.get(name)}; {adapter.module}: {version}"


def test_other_kombu_version__one_warning_and_the_stock_paths(
    fresh_check: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = adapters.installed_version
    monkeypatch.setattr(adapters, "installed_version", lambda name: "5.8.0" if name == "kombu" else real(name))
    with caplog.at_level(logging.WARNING, logger="common.adapters"):
        assert not kombu_adapter.active(ON)
        assert not kombu_adapter.hand_built_messages(ON)
        assert celery_adapter.active(ON) and uvicorn_adapter.active(ON)  # the others are not affected
        stock_connparams = kombu_redis.Channel._connparams
        assert kombu_adapter.install(ON) is False
        assert kombu_redis.Channel._connparams is stock_connparams
        hub = Hub()
        try:
            assert kombu_adapter.keep_hub_awake(hub, ON) is False
            assert not hub.on_tick
        finally:
            hub.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "common/adapters/kombu.py is off" in warnings[0]
    assert "kombu 5.8.0 is installed (tested with 5.7.0)" in warnings[0]
    assert "send_task" in warnings[0]  # says what runs instead


def test_library_missing__named_in_the_warning(
    fresh_check: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(adapters, "installed_version", lambda name: None)
    with caplog.at_level(logging.WARNING, logger="common.adapters"):
        assert uvicorn_adapter.http_protocol(ON) is httptools_impl.HttpToolsProtocol
        assert uvicorn_adapter.http_protocol(ON) is httptools_impl.HttpToolsProtocol
    assert [r.getMessage() for r in caplog.records] == [
        "common/adapters/uvicorn.py is off: uvicorn is not installed (tested with 0.55.0). Instead uvicorn's own "
        "httptools protocol writes each response and FastAPI's route answers GET /api/event: slower, never "
        "wrong. Re-run the tests with the installed version, then update the adapter's TESTED to turn it on."
    ]


def test_switch_off__every_adapter_off_without_a_warning(
    fresh_check: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="common.adapters"):
        assert not any(adapter.active(OFF) for adapter in ALL)
        assert not kombu_adapter.hand_built_messages(OFF)
        assert uvicorn_adapter.http_protocol(OFF) is httptools_impl.HttpToolsProtocol
    assert not caplog.records


def test_switch_on__adapters_chosen() -> None:
    assert all(adapter.active(ON) for adapter in ALL)
    assert kombu_adapter.hand_built_messages(ON)
    assert uvicorn_adapter.http_protocol(ON) is uvicorn_adapter.PairedWritesProtocol


def test_switch_off__kombu_left_as_shipped() -> None:
    patched = kombu_redis.Channel._create_client is not kombu_adapter._stock_create_client
    kombu_adapter.uninstall()
    try:
        assert kombu_adapter.install(OFF) is False
        assert kombu_redis.Channel._connparams is kombu_adapter._stock_connparams
        assert kombu_redis.Channel._create_client is kombu_adapter._stock_create_client
        hub = Hub()
        try:
            assert kombu_adapter.keep_hub_awake(hub, OFF) is False
            assert not hub.on_tick
        finally:
            hub.close()
    finally:
        if patched:  # as this process had it (worker.celery_app imported with the adapters on)
            kombu_adapter.install(ON)


def test_switch_off__fastapi_serves_get_api_event() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from common.validation import Limits
    from web.ingest.fastpath import EventFastPath
    from web.main import serve

    assert isinstance(serve(ON), EventFastPath)
    off = serve(OFF)
    assert isinstance(off, FastAPI)

    class NoCampaigns:
        async def exists(self, cid: int) -> bool:
            return False

    off.state.pipeline = SimpleNamespace(limits=Limits.from_settings(OFF), campaigns=NoCampaigns())
    answer = TestClient(off).get("/api/event", params={"cid": 1, "event": "email_click", "email": "a@b.com",
                                                        "domain": "d.com"})  # no lifespan: the stub above
    assert (answer.status_code, answer.json()["status"]) == (404, "error")
    assert answer.headers["access-control-allow-origin"] == "*"


def test_switch_off__web_tier_journals_then_sends_through_celery() -> None:
    from common.db import Database
    from web.ingest.pipeline import _journal_then_send_task, build_pipeline
    from web.ingest.redis_publish import RedisBatchPublisher

    db = Database(ON)
    on, off = build_pipeline(ON, db), build_pipeline(OFF, db)
    try:
        assert isinstance(getattr(on.publisher._publish, "__self__", None), RedisBatchPublisher)
        assert getattr(off.publisher._publish, "func", None) is _journal_then_send_task
    finally:
        on.close()
        off.close()
        db.close()
