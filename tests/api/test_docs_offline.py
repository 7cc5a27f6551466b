"""The API reference renders without the internet: /docs (Swagger UI) and /redoc load their
scripts from the package (fastapi-offline), checked in a real headless browser that can reach
nothing but loopback."""

from __future__ import annotations

import threading
import time

import uvicorn

from autofin.api.app import create_app
from autofin.store.engine import make_engine
from autofin.store.migrate import upgrade
from tests.support import browser
from tests.support.postgres import free_port


def _serve(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'autofin.db'}")
    upgrade(engine)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    return server, thread, f"http://127.0.0.1:{port}"


def test_the_api_reference_renders_offline(tmp_path):
    server, thread, base = _serve(tmp_path)
    try:
        swagger = browser.dom(f"{base}/docs")
        assert "swagger-ui-bundle.js" in swagger and "cdn.jsdelivr" not in swagger
        # Swagger UI built the page from /openapi.json: the title, the tags and the operations
        assert "autofin entry API" in swagger and swagger.count('class="opblock-tag') >= 10
        assert "/applications/{application_no}/submit" in swagger
        redoc = browser.dom(f"{base}/redoc")
        # ReDoc built the page too: operations, and their answers with the error codes
        assert "redoc.standalone.js" in redoc and "Create Application" in redoc and redoc.count("operation/") > 100
        browser.screenshot(f"{base}/docs", tmp_path / "docs.png")
        assert (tmp_path / "docs.png").stat().st_size > 20_000  # a rendered page, not a blank one
    finally:
        server.should_exit = True
        thread.join(timeout=10)
