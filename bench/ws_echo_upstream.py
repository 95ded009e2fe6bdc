"""Lightweight WebSocket upstream for bench/websocket_capacity.py (runs inside the lab VPS, 127.0.0.1 only).

Like molecule/nginx/files/echo_upstream.py, but on the port given as argument and speaking just enough of
ActionCable's framing: a `welcome` message on connect, then every text message echoed back.
"""

from __future__ import annotations

import sys

from aiohttp import WSMsgType, web


async def cable(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse(protocols=("actioncable-v1-json",))
    await ws.prepare(request)
    await ws.send_str('{"type":"welcome"}')
    async for message in ws:
        if message.type == WSMsgType.TEXT:
            await ws.send_str(message.data)
    return ws


app = web.Application()
app.router.add_get("/cable", cable)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, backlog=4096)
