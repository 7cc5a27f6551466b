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
    public = {name for name in spec["components"]["schemas"] if name.endswith("Public")}
    assert len(public) >= 40
