"""WebSocket client for the lab (runs inside the VPS): connect to URL, print what came back as JSON.

Usage: ws_client.py URL [CAFILE] [HEADER=VALUE ...]   (CAFILE "" or absent: certificate not verified, for the
self-signed mode; HEADER=VALUE: extra request headers for the handshake)
"""

from __future__ import annotations

import asyncio
import json
import ssl
import sys

import aiohttp


async def main(url: str, cafile: str | None, headers: dict[str, str]) -> None:
    context = ssl.create_default_context(cafile=cafile)
    if cafile is None:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    async with aiohttp.ClientSession() as session, session.ws_connect(url, ssl=context, headers=headers) as ws:
        first = await ws.receive_json(timeout=10)
        await ws.send_str("ping through nginx")
        echo = await ws.receive_str(timeout=10)
        print(json.dumps({"upstream_saw": first, "echo": echo}))


extra = dict(arg.split("=", 1) for arg in sys.argv[3:])
asyncio.run(main(sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "") or None, extra))
