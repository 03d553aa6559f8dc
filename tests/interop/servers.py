"""Third-party peers for tests/interop.rs: a Python `websockets` server and an `aiohttp`
server (WebSocket and SSE), on 127.0.0.1 ports chosen by the OS.

Prints one JSON line with the ports, e.g. {"websockets": 41001, "aiohttp": 41002}, then
serves until killed. The Rust test owns the process and kills it by pid; should the test
process die first, EOF on stdin ends this one too, so no server outlives its test.

Needs: pip install websockets aiohttp
"""

import asyncio
import json
import os
import sys
import threading
import zlib

import aiohttp
import brotli
from aiohttp import web
import websockets
from websockets.asyncio.server import serve


# --- websockets ---------------------------------------------------------------------------

async def ws_handler(ws):
    path = ws.request.path
    if path == "/echo":
        async for message in ws:
            await ws.send(message)
    elif path == "/close":
        await ws.send("closing soon")
        await ws.close(4000, "done here")
    elif path == "/ping":
        await ws.ping(b"py")
        await ws.send("after ping")
        await ws.wait_closed()
    elif path == "/binary":
        await ws.send(bytes([0, 1, 2, 255]))
        await ws.wait_closed()
    elif path == "/subprotocol":
        await ws.send(ws.subprotocol or "")
        await ws.wait_closed()
    elif path == "/fragments":
        # One text message sent as three fragments, compressed (websockets agrees to
        # permessage-deflate whenever the client offers it).
        await ws.send(["one two three ", "one two three ", "one two three"])
        await ws.wait_closed()
    elif path == "/headers":
        await ws.send(ws.request.headers.get("X-Api-Key", ""))
        await ws.wait_closed()
    else:
        await ws.close(1008, "unknown path")


# --- aiohttp ------------------------------------------------------------------------------

async def aiohttp_ws_echo(request):
    ws = web.WebSocketResponse(protocols=("chat",))
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == aiohttp.WSMsgType.TEXT:
            if msg.data == "close please":
                await ws.close(code=4001, message=b"as asked")
                break
            await ws.send_str(msg.data)
        elif msg.type == aiohttp.WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


async def aiohttp_sse(request):
    """Two events per connection with ids continuing from Last-Event-ID, then the stream
    ends, so a client reconnects; each event says which Last-Event-ID the request carried."""
    last = request.headers.get("Last-Event-ID", "")
    start = int(last) if last.isdigit() else 0
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    if request.query.get("gzip") == "1":
        resp.enable_compression(aiohttp.web.ContentCoding.gzip)
    await resp.prepare(request)
    await resp.write(b": hello from aiohttp\nretry: 50\n\n")
    for n in (start + 1, start + 2):
        payload = f"id: {n}\nevent: tick\ndata: n={n}\ndata: last={last}\n\n"
        await resp.write(payload.encode())
        await asyncio.sleep(0.02)
    await resp.write_eof()
    return resp


async def aiohttp_sse_coded_flushed(request):
    """A gzip or brotli stream (`?coding=gzip|br`) flushed after each event, as a live
    compressed stream must be, written by hand so each event's compressed bytes are known:
    the last event lists them."""
    coding = request.query.get("coding", "gzip")
    if coding == "br":
        z = brotli.Compressor()
        flushed = lambda data: z.process(data) + z.flush()
        finished = lambda data: z.process(data) + z.finish()
    else:
        z = zlib.compressobj(6, zlib.DEFLATED, 31)
        flushed = lambda data: z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
        finished = lambda data: z.compress(data) + z.flush(zlib.Z_FINISH)
    resp = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Content-Encoding": coding}
    )
    await resp.prepare(request)
    sizes = []
    for n in (1, 2, 3):
        block = flushed(f"data: {'tick ' * 40}{n}\n\n".encode())
        sizes.append(len(block))
        await resp.write(block)
        await asyncio.sleep(0.2)
    last = "data: sizes=" + ",".join(map(str, sizes)) + "\n\n"
    await resp.write(finished(last.encode()))
    await resp.write_eof()
    return resp


async def aiohttp_sse_post(request):
    body = await request.text()
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    await resp.write(f"data: {request.method} {body}\n\n".encode())
    await resp.write_eof()
    return resp


async def aiohttp_sse_forbidden(request):
    return web.Response(status=403, text="no stream for you", headers={"X-Why": "test"})


async def aiohttp_no_content(request):
    return web.Response(status=204)


def select_subprotocol(connection, offered):
    """The first offered of ours, or none: `subprotocols=` alone would refuse clients that
    offer none, and most of these tests offer none."""
    return next((p for p in offered if p in ("chat", "superchat")), None)


async def main():
    ws_server = await serve(ws_handler, "127.0.0.1", 0, select_subprotocol=select_subprotocol)
    ws_port = ws_server.sockets[0].getsockname()[1]

    app = web.Application()
    app.router.add_get("/ws", aiohttp_ws_echo)
    app.router.add_get("/sse", aiohttp_sse)
    app.router.add_get("/sse-coded-flushed", aiohttp_sse_coded_flushed)
    app.router.add_post("/sse-post", aiohttp_sse_post)
    app.router.add_get("/sse-forbidden", aiohttp_sse_forbidden)
    app.router.add_get("/sse-204", aiohttp_no_content)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    http_port = site._server.sockets[0].getsockname()[1]

    print(json.dumps({
        "websockets": ws_port,
        "aiohttp": http_port,
        "versions": {"websockets": websockets.__version__, "aiohttp": aiohttp.__version__},
    }), flush=True)
    await asyncio.Future()  # until killed


def exit_on_stdin_eof():
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    threading.Thread(target=exit_on_stdin_eof, daemon=True).start()
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
