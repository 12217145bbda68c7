"""Request-size limit for the customer-facing JSON endpoints (`/v1/*`, `/widget/api/*`): 413 beyond it.

A pure ASGI middleware, so it counts the bytes as they arrive: a huge body is refused after `limit` bytes
whether or not the client sent a Content-Length, and never held in memory. Admin uploads have their own
limit (`app.max_upload_mb`) and are not affected.
"""

from __future__ import annotations

import json

LIMITED_PREFIXES = ("/v1/", "/widget/api/")


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app, limit_bytes: int, prefixes: tuple[str, ...] = LIMITED_PREFIXES):
        self.app, self.limit, self.prefixes = app, limit_bytes, prefixes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope.get("path", "").startswith(self.prefixes):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(send)
        seen = 0
        started = False

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send):
        body = json.dumps({"error": {
            "message": f"the request body is larger than {self.limit // 1024} KB (app.max_request_kb)",
            "type": "invalid_request_error", "param": None, "code": "request_too_large"}}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
