"""Stand-in for Chatwoot's rails on 127.0.0.1:3000 (lab only).

Every HTTP request is answered with JSON describing what nginx forwarded (method, path, raw header list, body
size). /cable accepts a WebSocket upgrade, first sends the same description, then echoes text messages.
Like Rails under FORCE_SSL (Chatwoot's default), every HTTP answer carries the app's own
Strict-Transport-Security header (APP_HSTS), so a test can tell whether nginx lets it through.
"""

from __future__ import annotations

from aiohttp import WSMsgType, web

APP_HSTS = "max-age=600; includeSubDomains; preload"


def describe(request: web.Request, body_length: int = 0) -> dict:
    return {
        "method": request.method,
        "path": request.path_qs,
        "headers": [[name.decode(), value.decode()] for name, value in request.raw_headers],
        "body_length": body_length,
    }


async def cable(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_json(describe(request))
    async for message in ws:
        if message.type == WSMsgType.TEXT:
            await ws.send_str(message.data)
    return ws


async def anything(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response(describe(request, len(body)), headers={"Strict-Transport-Security": APP_HSTS})


app = web.Application(client_max_size=64 * 1024 * 1024)
app.router.add_get("/cable", cable)
app.router.add_route("*", "/{tail:.*}", anything)
web.run_app(app, host="127.0.0.1", port=3000, print=None)
