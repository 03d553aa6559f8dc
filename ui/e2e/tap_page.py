"""A third-party web page for e2e/tap.mjs, served by aiohttp on 127.0.0.1 (a free port).

`/` is a page whose script opens a WebSocket (`/ws`, echoed with "echo: ", compressed
with permessage-deflate when the browser offers it, as aiohttp does by default) and an
EventSource (`/events`: three events 200 ms apart, then nothing until `/finish` is
requested, then one last event and the end). What the page sent and saw is in
`window.seen`, for the test to compare with the records.

With `--tls CERT KEY` it serves HTTPS (and so `wss://`) with that certificate.

Prints {"port": N} on one line, then serves until stdin closes (so it never outlives
the test that started it).
"""

import asyncio
import json
import ssl
import sys

from aiohttp import web

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>A page under debug</title>
<style>body{font:14px system-ui;margin:2em} li{font-family:monospace}</style>
<h1>A page under debug</h1>
<p>WebSocket and EventSource, through whatever the browser was pointed at.</p>
<ul id="log"></ul>
<script>
  const seen = (window.seen = { wsSent: [], wsGot: [], sse: [], wsOpen: false, sseError: 0 });
  const log = (t) => { const li = document.createElement('li'); li.textContent = t; document.getElementById('log').append(li); };
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}/ws`);
  const send = (t) => { ws.send(t); seen.wsSent.push(t); log('ws out: ' + t); };
  ws.onopen = () => { seen.wsOpen = true; send('hello from the page'); send(JSON.stringify({ n: 2, text: 'x'.repeat(300) })); };
  ws.onmessage = (e) => { seen.wsGot.push(e.data); log('ws in: ' + e.data.slice(0, 60)); };
  const es = new EventSource('/events');
  es.onmessage = (e) => { seen.sse.push({ data: e.data, id: e.lastEventId }); log('sse: ' + e.data); };
  es.onerror = () => { seen.sseError++; es.close(); };
  window.closeSocket = () => ws.close(1000, 'page done');
</script>
"""


async def page(_request):
    return web.Response(text=PAGE, content_type="text/html")


async def socket(request):
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == web.WSMsgType.TEXT:
            await ws.send_str("echo: " + msg.data)
    return ws


async def events(request):
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    # Each stream waits for a /finish of its own.
    finish = request.app["finish"]["now"] = asyncio.Event()
    await resp.prepare(request)
    try:
        await resp.write(b"retry: 60000\n: page server hello\n\n")
        for i in range(1, 4):
            await resp.write(f"id: {i}\ndata: tick {i}\n\n".encode())
            await asyncio.sleep(0.2)
        await finish.wait()
        await resp.write(b"id: 4\ndata: last\n\n")
        await resp.write_eof()
    except ConnectionError:
        # The page went away first (the test closed it): nothing left to send.
        pass
    return resp


async def finish(request):
    request.app["finish"]["now"].set()
    return web.Response(text="finishing\n")


async def main():
    app = web.Application()
    # The newest stream's finish, replaced by each stream (the dict itself stays).
    app["finish"] = {"now": asyncio.Event()}
    app.router.add_get("/", page)
    app.router.add_get("/ws", socket)
    app.router.add_get("/events", events)
    app.router.add_get("/finish", finish)
    runner = web.AppRunner(app)
    await runner.setup()
    tls = None
    if len(sys.argv) == 4 and sys.argv[1] == "--tls":
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(sys.argv[2], sys.argv[3])
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


asyncio.run(main())
