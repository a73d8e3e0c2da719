"""A visitor that is a script, not a browser: what a hostile client sends to the real Streamlit server.

It takes the XSRF cookie from the page, opens the websocket as the browser does (the token in the subprotocol
header), asks for a page run (a rerun BackMsg, with any widget values it likes), learns its session id from the
run's first message, and PUTs files to /_stcore/upload_file/<session>/<id> as the file uploader does. The server
tests and benchmarks/visitor_bounds.py's memory runs use it.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import urllib.request
import uuid

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

XSRF_COOKIE = "_streamlit_xsrf"


def xsrf_token(url: str) -> str | None:
    """The XSRF cookie the health check sets (the browser sends it back as a cookie and as a header); None where the
    server asks for none."""
    jar = http.cookiejar.CookieJar()
    urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)).open(
        f"{url.rstrip('/')}/_stcore/health", timeout=30
    ).read()
    return next((c.value for c in jar if c.name == XSRF_COOKIE), None)


def rerun(widget_bytes: int = 0, widget_id: str = "lrfp-forged-widget") -> bytes:
    """A rerun BackMsg; with WIDGET_BYTES, one widget value of that many bytes under WIDGET_ID (the model
    picker's key, or an id no page has)."""
    msg = BackMsg()
    msg.rerun_script.query_string = ""
    if widget_bytes:
        widget = msg.rerun_script.widget_states.widgets.add()
        widget.id, widget.string_value = widget_id, "x" * widget_bytes
    return msg.SerializeToString()


class ForgedVisitor:
    def __init__(self, url: str):
        self.url, self.token = url.rstrip("/"), xsrf_token(url)
        self.socket: websockets.ClientConnection | None = None
        self.session_id: str | None = None
        self.finished = asyncio.Event()  # the first page run's end (script_finished)
        self.closed_code: int | None = None  # the server's close code, once it has closed the websocket
        self._reader: asyncio.Task | None = None

    async def open(self, first: bytes | None = None) -> ForgedVisitor:
        """Connect and send FIRST (default: a plain rerun); returns once the session id is known, or the server
        has closed the connection (closed_code says why)."""
        ws_url = self.url.replace("http", "ws", 1) + "/_stcore/stream"
        self.socket = await websockets.connect(
            ws_url,
            subprotocols=[websockets.Subprotocol(p) for p in ("streamlit", self.token) if p],
            additional_headers={"Origin": self.url} | self._cookie,
            max_size=None,
        )
        self._reader = asyncio.create_task(self._read())
        try:
            await self.socket.send(first if first is not None else rerun())
        except websockets.ConnectionClosed:  # the server refused it while it was being sent
            pass
        while self.session_id is None and self.closed_code is None:
            await asyncio.sleep(0.01)
        return self

    async def _read(self) -> None:
        assert self.socket is not None
        try:
            async for data in self.socket:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                kind = msg.WhichOneof("type")
                if kind == "new_session" and self.session_id is None:
                    self.session_id = msg.new_session.initialize.session_id
                elif kind == "script_finished":
                    self.finished.set()
        except websockets.ConnectionClosed:
            pass
        self.closed_code = self.socket.close_code if self.socket.close_code is not None else -1

    async def send(self, data: bytes) -> None:
        assert self.socket is not None
        await self.socket.send(data)

    def put_file(self, name: str, data: bytes) -> int:
        """PUT a file into this session's upload store, as the file uploader does; the HTTP status."""
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                f"Content-Type: image/jpeg\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(
            f"{self.url}/_stcore/upload_file/{self.session_id}/{uuid.uuid4()}",
            data=body,
            method="PUT",
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                **self._cookie,
                **({"X-Xsrftoken": self.token} if self.token else {}),
            },
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status

    @property
    def _cookie(self) -> dict[str, str]:
        return {"Cookie": f"{XSRF_COOKIE}={self.token}"} if self.token else {}

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        if self._reader is not None:
            await self._reader
