"""A small asyncio HTTP/1.1 server (h11 for the protocol): keep-alive, chunked streaming bodies, a
way to cut a connection on purpose, and a run-on-a-thread mode. The stand-in builds on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import traceback
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import h11


class DropConnection(Exception):
    """Raised while handling a request (or inside a streaming body) to cut the TCP connection."""


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    received: float  # event-loop time the request was read in full: latency counts from here


@dataclass
class Reply:
    status: int
    body: bytes | AsyncIterator[bytes] = b""  # an async iterator is sent chunked, as it is produced
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def json_reply(status: int, obj: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(obj, ensure_ascii=False).encode(), headers or {})


LINGER_SECONDS = 2.0


async def _discard(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


class BodyTooLarge(Exception):
    """A request body past `HttpServer.max_body`, or past what the server holds at once."""


class HttpServer:
    """Serves `handle(request) -> Reply` on host:port (port 0: a free one, known after start).

    `max_connections` bounds the connections open at once (more are closed as they come), `max_body` one
    request's body and `max_held` the bodies of all requests read and not yet answered (None: no
    bound); past either of the last two the request is answered 413 and its connection closed, the
    rest of the body unread, so a client cannot grow this process's memory by what it sends."""

    max_body: int | None = None
    max_held: int | None = None
    max_connections: int | None = None  # open at once; more are closed as they come

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._held = 0  # bytes of request bodies read and not yet answered, all connections together
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def handle(self, request: HttpRequest) -> Reply:
        raise NotImplementedError

    async def start(self) -> None:
        import h11  # noqa: F401 -- now, not on the first connection: that request would wait for it

        self._server = await asyncio.start_server(self._connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    def start_in_thread(self) -> str:
        """Run on a daemon thread with its own event loop; returns the base URL once listening."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="agentbook-standin", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.start(), loop).result(timeout=10)
        return self.base_url

    def stop_thread(self) -> None:
        loop = self._loop
        if loop is None or not loop.is_running():
            return
        with contextlib.suppress(Exception):  # a stop that fails or hangs must not keep the loop alive
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()
        self._loop = None

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.max_connections is not None and len(self._tasks) >= self.max_connections:
            writer.transport.abort()  # at once: each open connection is one of this process's descriptors
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        import h11  # here, not at the top: an in-process scripted model uses this module's types only

        conn = h11.Connection(h11.SERVER)
        held = [0]  # this connection's share of `_held`
        try:
            while True:
                try:
                    request = await self._read_request(conn, reader, held)
                    if request is None:
                        break
                    reply = await self.handle(request)
                finally:
                    self._held -= held[0]
                    held[0] = 0
                await self._send(conn, writer, reply, head_only=request.method == "HEAD")
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is not h11.DONE:
                    break
                conn.start_next_cycle()
        except BodyTooLarge as err:
            with contextlib.suppress(Exception):
                await self._send(conn, writer, json_reply(413, {"type": "error", "error": {
                    "type": "request_too_large", "message": str(err)}}, {"connection": "close"}))
                writer.write_eof()
                # a lingering close: what the client still sends is read and dropped for a moment, so
                # that a reset does not reach it before it has read the answer
                await asyncio.wait_for(_discard(reader), LINGER_SECONDS)
            writer.transport.abort()
            return
        except DropConnection:
            writer.transport.abort()
            return
        except (ConnectionError, h11.RemoteProtocolError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            writer.transport.abort()
            raise
        except Exception:  # noqa: BLE001 -- a bug while streaming: keep the trace, cut this connection only
            traceback.print_exc(file=sys.stderr)
            writer.transport.abort()
            return
        finally:
            if task is not None:
                self._tasks.discard(task)
        with contextlib.suppress(Exception):
            writer.close()
            await writer.wait_closed()

    async def _read_request(self, conn: h11.Connection, reader: asyncio.StreamReader,
                            held: list[int]) -> HttpRequest | None:
        import h11

        head: h11.Request | None = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                self._hold(len(body), len(event.data))
                held[0] += len(event.data)
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                headers = {k.decode().lower(): v.decode("latin-1") for k, v in head.headers}
                return HttpRequest(head.method.decode(), head.target.decode(), headers, bytes(body),
                                   asyncio.get_running_loop().time())
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return None

    def _hold(self, have: int, more: int) -> None:
        """Count `more` bytes of a body that has `have`, or BodyTooLarge past either bound."""
        if self.max_body is not None and have + more > self.max_body:
            raise BodyTooLarge(f"request body larger than {self.max_body >> 20} MiB")
        if self.max_held is not None and self._held + more > self.max_held:
            raise BodyTooLarge(f"the requests in flight hold {self.max_held >> 20} MiB already; send it again "
                               "when one has been answered")
        self._held += more

    @staticmethod
    async def _send(conn: h11.Connection, writer: asyncio.StreamWriter, reply: Reply,
                    *, head_only: bool = False) -> None:
        import h11

        headers = [("content-type", reply.content_type), *reply.headers.items()]
        if isinstance(reply.body, bytes):
            headers.append(("content-length", str(len(reply.body))))
        writer.write(conn.send(h11.Response(status_code=reply.status, headers=headers,
                                            reason=_reason(reply.status))))
        if head_only:  # HEAD: the headers a GET would have, never a body (h11 refuses one)
            pass
        elif isinstance(reply.body, bytes):
            writer.write(conn.send(h11.Data(data=reply.body)))
        else:
            async for chunk in reply.body:
                writer.write(conn.send(h11.Data(data=chunk)))
                await writer.drain()
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b"Overloaded" if status == 529 else b""


