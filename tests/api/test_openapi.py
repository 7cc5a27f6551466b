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
