"""Property-based fuzzing of the entry API from its own OpenAPI schema (schemathesis): whatever
the generated request, every operation answers without a server error (no 5xx). Each operation is
called as a role its permission allows (so the fuzzing reaches the services, not only the 403),
against one seeded store for the module."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autofin.api.app import create_app
from autofin.origination.access import ACTIONS, ROLES
from autofin.origination.users import add_user
from autofin.store.engine import make_engine, write_transaction
from autofin.store.migrate import upgrade
from tests.api.conftest import AS_OF
from tests.api.test_rbac import write_routes
from tests.support.books import seed_store

ACTION_OF = {(method, path): action for method, path, action in write_routes()}


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory) -> Iterator[tuple[object, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOFIN_DATA_DIR", str(folder / "data"))
        engine = make_engine(f"sqlite:///{folder / 'fuzz.db'}")
        upgrade(engine)
        seed_store(engine, contracts=30, as_of=AS_OF)
        with write_transaction(engine) as conn:
            tokens = {role: add_user(conn, f"fuzz_{role}", role, "D00001" if role == "dealer" else None)[1] for role in ROLES}
        app = create_app(engine)
        with TestClient(app):  # runs the lifespan (migration check) once
            yield app, tokens
        engine.dispose()


def _role_for(method: str, path: str) -> str:
    action = ACTION_OF.get((method.upper(), path))
    if action is None:  # a read: the credit director reads everything
        return "credit_director"
    return sorted(ACTIONS[action])[0]


def test_no_operation_answers_with_a_server_error(fuzz_app):
    """Every operation of the schema, up to 20 generated requests each (schemathesis's pytest plugin
    does not load under this pytest, so the operations are walked here with its strategies)."""
    app, tokens = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 60
    failures: list[tuple] = []
    for operation in operations:
        fuzz(operation, {"Authorization": f"Bearer {tokens[_role_for(operation.method, operation.path)]}"}, failures)
    assert failures == []


def fuzz(operation, headers: dict[str, str], failures: list[tuple]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def call(case) -> None:
        response = case.call(headers=headers)
        if response.status_code >= 500 or re.search(r"Traceback|sqlalchemy\.", _without_echoes(response.text, case)):
            failures.append((case.method, case.path, case.path_parameters, case.query, case.body, response.status_code,
                             response.text[:300]))
            raise AssertionError(failures[-1])

    with contextlib.suppress(AssertionError):  # listed; hypothesis shrank it to the smallest failing request
        call()


def _without_echoes(answer: str, case) -> str:
    """The answer without the request's own strings, which a 404 or a 422 names back: Hypothesis also
    draws the string constants of our modules, and "sqlalchemy.url" (the migrations' config key) sent
    as a contract number came back in "contract sqlalchemy.url not found", which is not a leak."""
    sent: list[str] = []

    def strings(value) -> None:
        if isinstance(value, str):
            sent.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                strings(k)
                strings(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                strings(v)

    for part in (case.path_parameters, case.query, case.body):
        strings(part)
    for text in sorted(sent, key=len, reverse=True):
        if text:
            answer = answer.replace(text, "").replace(json.dumps(text)[1:-1], "")
    return answer


# what outside testers type: lone surrogates, control characters, other scripts' digits, bidi
# overrides, mathematical digits, a body past the limit
HOSTILE = ["\ud800", "a\x07b", "\x00", "\x1b[31m", "１２３４５６", "١٢٣٤", "²", "1e5", "NaN", "\u202eevil", "𝟙𝟚𝟛", "x" * 300_000]


def _hostile(value, draw):
    if isinstance(value, dict):
        return {k: _hostile(v, draw) for k, v in value.items()}
    if isinstance(value, list):
        return [_hostile(v, draw) for v in value]
    if isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool) and draw(st.booleans())):
        return draw(st.sampled_from(HOSTILE))
    return value


def test_hostile_text_in_every_body_field_is_refused_not_a_server_error(fuzz_app):
    """Every operation with a JSON body, its string fields (and some numbers) replaced by hostile text: 4xx, never 5xx."""
    app, tokens = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    client = TestClient(app)
    failures: list[tuple] = []
    for operation in (result.ok() for result in schema.get_all_operations()):
        if operation.body and any(body.media_type == "application/json" for body in operation.body):
            headers = {"Authorization": f"Bearer {tokens[_role_for(operation.method, operation.path)]}"}

            @given(case=operation.as_strategy(media_type="application/json"), data=st.data())
            @settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def call(case, data) -> None:
                body = json.dumps(_hostile(case.body, data.draw)).encode()  # escaped as any JSON encoder writes "\ud800"
                response = client.request(case.method, case.formatted_path, params=case.query,
                                          headers={**headers, "Content-Type": "application/json"}, content=body)  # noqa: B023 - called below, in this iteration
                if response.status_code >= 500 or re.search(r"Traceback|sqlalchemy\.", _without_echoes(response.text, case)):
                    failures.append((case.method, case.path, body[:200], response.status_code, response.text[:300]))
                    raise AssertionError(failures[-1])

            with contextlib.suppress(AssertionError):
                call()
    assert failures == []
