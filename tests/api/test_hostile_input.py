"""Input as outside testers send it: identifiers and amounts in other scripts' digits, control
characters and lone surrogates in text, bodies of megabytes. Each is refused with 422 (naming the
field, never echoing the input) or 413; nothing answers 5xx."""

from __future__ import annotations

import json

import pytest

from autofin.api.limits import MAX_JSON_BYTES
from tests.api.conftest import World, resident_id, vin_for

FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def raw(world: World, method: str, path: str, who: str, body: str | bytes, expect: int):
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    response = world.client.request(method, path, headers={**world.as_(who), "Content-Type": "application/json"}, content=data)
    assert response.status_code == expect, response.text
    return response


def person(**overrides) -> dict:
    return {"kind": "individual", "name": "李四", "id_number": resident_id(321), "mobile": "13912345678", "city": "杭州", **overrides}


@pytest.mark.parametrize(("field", "value"), [
    ("id_number", resident_id(321).translate(FULLWIDTH)),
    ("id_number", resident_id(321).translate(ARABIC_INDIC)),
    ("mobile", "13912345678".translate(FULLWIDTH)),
    ("mobile", "13912345678".translate(ARABIC_INDIC)),
    ("mobile", "1391234567²"),
])
def test_identifiers_in_other_scripts_digits_are_refused(world: World, field, value):
    response = world.call("POST", "/customers", "dealer_a", 422, json=person(**{field: value}))
    assert response.json()["detail"][0]["loc"][-1] == field and "ASCII" in response.json()["detail"][0]["msg"]


def test_a_fullwidth_resident_id_does_not_register_the_same_person_twice(world: World):
    world.call("POST", "/customers", "dealer_a", 201, json=person())
    world.call("POST", "/customers", "dealer_a", 422, json=person(id_number=resident_id(321).translate(FULLWIDTH), mobile="13912345679"))


def test_a_fullwidth_vin_is_refused(world: World):
    response = world.call("POST", "/vehicles", "dealer_a", 422, json={"vin": vin_for("VW-SAGITAR").translate(FULLWIDTH),
                                                                       "model_code": "VW-SAGITAR", "price": "150000"})
    assert response.json()["detail"][0]["loc"][-1] == "vin"


@pytest.mark.parametrize("amount", ["²", "１５００００", "١٥٠٠٠٠", "150000²", "1e5", "NaN", "Infinity", "-1", "0.001"])
def test_amounts_that_are_not_ascii_decimals_are_refused(world: World, amount):
    response = world.call("POST", "/vehicles", "dealer_a", 422, json={"vin": vin_for("VW-SAGITAR"), "model_code": "VW-SAGITAR", "price": amount})
    assert response.json()["detail"][0]["loc"][-1] == "price", response.text


@pytest.mark.parametrize("name", ["经销商\x07", "a\x00b", "\x1bESC", "x\x7f"])
def test_control_characters_in_names_are_refused(world: World, name):
    response = world.call("POST", "/customers", "dealer_a", 422, json=person(name=name))
    assert response.json()["detail"][0]["loc"][-1] == "name" and "control character" in response.json()["detail"][0]["msg"]


def test_a_partner_name_with_a_bell_is_refused(world: World):
    body = {"partner_code": "D99001", "name": "好车\x07经销", "region": "east", "city": "杭州"}
    response = world.call("POST", "/partners", "admin", 422, json=body)
    assert response.json()["detail"][0]["loc"][-1] == "name"


def test_a_lone_surrogate_is_a_422_not_a_500(world: World):
    body = json.dumps(person(name="\ud800"))  # "\ud800" escaped, as any JSON encoder writes it
    response = raw(world, "POST", "/customers", "dealer_a", body, 422)
    assert response.json()["detail"][0]["loc"][-1] == "name"
    raw(world, "POST", "/customers", "dealer_a", b'{"kind": "individual", "name": "\xed\xa0\x80"}', 422)  # the raw bytes: not UTF-8


def test_bodies_above_the_limit_are_413_and_a_422_does_not_echo_its_input(world: World):
    big = "张" * (MAX_JSON_BYTES // 2)
    response = world.call("POST", "/customers", "dealer_a", 413, json=person(name=big))
    assert "larger than" in response.json()["detail"]
    streamed = world.client.request("POST", "/customers", headers={**world.as_("dealer_a"), "Content-Type": "application/json"},
                                    content=iter([json.dumps(person(name=big)).encode()]))  # no Content-Length: counted as it arrives
    assert streamed.status_code == 413
    near = "x" * (MAX_JSON_BYTES // 2)  # under the body limit, far over the field's
    response = world.call("POST", "/customers", "dealer_a", 422, json=person(name=near))
    assert len(response.content) < 2000 and near[:100] not in response.text
