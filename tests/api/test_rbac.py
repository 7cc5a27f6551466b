"""Every role against every write endpoint: 403 exactly where the permission table says no.
Each write route must declare its action (a route without one fails this test)."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from autofin.api.app import create_app
from autofin.origination.access import ACTIONS, ROLES
from tests.api.conftest import World


def _action(dependant) -> str | None:
    for dep in dependant.dependencies:
        found = getattr(dep.call, "action", None) or _action(dep)
        if found:
            return found
    return None


def _api_routes(routes) -> list[APIRoute]:
    out = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif hasattr(route, "original_router"):  # an included router (FastAPI resolves them lazily)
            out.extend(_api_routes(route.original_router.routes))
    return out


def write_routes() -> list[tuple[str, str, str]]:
    return [(method, route.path, _action(route.dependant))
            for route in _api_routes(create_app().routes) for method in sorted(route.methods - {"GET", "HEAD"})]


ROUTES = write_routes()


def test_every_write_route_declares_an_action():
    assert len(ROUTES) >= 20
    assert [(m, p) for m, p, action in ROUTES if action is None] == []
    assert {a for _, _, a in ROUTES} <= set(ACTIONS)


@pytest.mark.parametrize(("method", "path", "action"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_role_matrix(world: World, method: str, path: str, action: str):
    concrete = re.sub(r"\{(\w+)\}", lambda m: "1" if m.group(1).endswith("_id") else "NOSUCH", path)
    for role in ROLES:
        response = world.client.request(method, concrete, headers=world.as_(role), json={})
        if role in ACTIONS[action]:
            assert response.status_code in (404, 409, 422), (role, response.status_code, response.text)
        else:
            assert response.status_code == 403, (role, response.status_code, response.text)
            assert response.json() == {"detail": f"role {role} may not {action.replace('.', ' ')}"}
        assert world.client.request(method, concrete, json={}).status_code == 401
