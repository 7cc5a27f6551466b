"""The size of what the API reads: a request body larger than its limit is refused with 413
before it is read whole (by its Content-Length, or as it streams in), so no route and no
validator sees a multi-megabyte body unless it is an upload that may be that large."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

MAX_JSON_BYTES = 256 * 1024  # the largest request body but an upload (a batch of decisions is a few kB)
MAX_UPLOAD_BYTES = 12 * 1024 * 1024  # multipart: a 10 MiB document with its form fields


def limit_for(headers: dict[bytes, bytes]) -> int:
    return MAX_UPLOAD_BYTES if headers.get(b"content-type", b"").startswith(b"multipart/form-data") else MAX_JSON_BYTES


class BodyLimit:
    """ASGI middleware: 413 for a body above `limit_for` the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        limit = limit_for(headers)
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _too_large(send, limit)
            return
        seen, started, refused = 0, False, False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # answered here; the app sees the client gone and what it sends is dropped
                    if not started and not refused:
                        await _too_large(send, limit)
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, tracked)


async def _too_large(send: Callable[[Message], Awaitable[None]], limit: int) -> None:
    body = json.dumps({"detail": f"the request body is larger than {limit:,} bytes"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
