"""Schemathesis on /api/v1, from the app's own OpenAPI schema: with a valid write token no generated request
(valid and invalid parameters, bodies and path ids) gets a 5xx; without a token every one gets 401. Bounded
(MAX_EXAMPLES per operation and generation mode) so the run stays well under a minute.

The operations are walked here rather than with schemathesis' pytest plugin, whose fixture loader does not run
under this suite's pytest (9)."""
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.web.api_helpers import bearer, new_token, new_user

MAX_EXAMPLES = 6


@pytest.fixture(scope="module")
def operations() -> list[Any]:
    from common.config import Settings
    from web.main import create_app

    # A limit the run cannot reach: the rate limit has tests of its own.
    app = create_app(Settings(api_rate_limit="100000/minute"))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex="^/api/v1/")
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) >= 10
    return found


def each_case(operations: list[Any], check: Callable[[schemathesis.Case], None]) -> None:
    """Run `check` on generated cases of every operation, valid and invalid ones."""
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: schemathesis.Case) -> None:
                check(case)

            run()


def test_api_v1__valid_token_never_gets_a_server_error(operations: list[Any]) -> None:
    token = new_token(new_user("editor")[0], "write")

    def check(case: schemathesis.Case) -> None:
        response = case.call(headers=bearer(token))
        case.validate_response(response, checks=[not_a_server_error])

    each_case(operations, check)


def test_api_v1__without_token_only_401(operations: list[Any]) -> None:
    def check(case: schemathesis.Case) -> None:
        if case.headers:
            case.headers.pop("Authorization", None)
        response = case.call()
        assert response.status_code == 401, (case.method, case.formatted_path, response.status_code, response.text)

    each_case(operations, check)
