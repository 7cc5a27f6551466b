"""Every route says what it answers: its success response has a schema in the OpenAPI document
(a *Public model, a list of them, or a file), so a client can be generated from /openapi.json."""

from autofin.api.app import create_app


def test_every_operation_declares_its_answer():
    spec = create_app().openapi()
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            ok = next((r for code, r in operation["responses"].items() if code.startswith("2")), None)
            content = (ok or {}).get("content", {})
            schema = next(iter(content.values()), {}).get("schema", {})
            if not (schema.get("$ref") or schema.get("items", {}).get("$ref") or schema.get("format") == "binary"):
                missing.append(f"{method.upper()} {path}: {schema or content}")
    assert missing == []
    # and its error answers, each with its shape
    for path, operations in spec["paths"].items():
        if path == "/health":
            continue
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert "401" in codes, (method, path)
            if method != "get":
                assert {"403", "409", "413", "503"} <= codes, (method, path, codes)
            if "{" in path:
                assert "404" in codes, (method, path)
            assert operation["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorPublic")
    public = {name for name in spec["components"]["schemas"] if name.endswith("Public")}
    assert len(public) >= 40


def test_the_examples_work_when_sent_as_they_are(world):
    """The request examples in /docs are not decoration: sent as they are, they create."""
    spec = world.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for path, model, who, status in (("/partners", "PartnerIn", "sales", 201), ("/customers", "CustomerIn", "dealer_a", 201),
                                     ("/vehicles", "VehicleIn", "dealer_a", 201), ("/quotes", "QuoteIn", "dealer_a", 200)):
        (example,) = schemas[model]["examples"]
        world.call("POST", path, who, expect=status, json=example)


def test_a_fee_error_names_the_item_the_caller_sent(world):
    body = {"product_code": "NCL-ANN", "price": "150000.00", "down_payment_pct": "30", "term_months": 36,
            "items": [{"key": "purchase_tax", "amount": "10000.00"}, {"key": "gps", "amount": "1200.00"}]}
    detail = world.call("POST", "/quotes", "dealer_a", expect=422, json=body).json()["detail"][0]
    assert detail["loc"] == ["body", "items", "1", "key"] and "unknown fee item 'gps'" in detail["msg"]
