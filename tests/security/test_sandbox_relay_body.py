"""The relay runs in the runner's own process and the jailed agent reaches it: a request body it read
whole, however large (a chunked upload from /dev/zero, no key needed), grew the runner's memory without
bound, outside every limit of the jail, until the machine ran out. Bodies past the Messages API's own
limit are refused with a 413 before they are read, and so is a request that would take what many
connections hold together past what the relay keeps at once."""

from __future__ import annotations

import asyncio
import json
import os
import tracemalloc
from pathlib import Path

from agentbook.models.relay import MAX_BODY_BYTES, MAX_CONNECTIONS, Relay

CHUNK = b"x" * (1 << 20)


async def _upload(port: int, mib: int, *, token: str = "wrong") -> bytes:
    """POST a chunked body of `mib` MiB to /v1/messages and return what the relay answered, read while
    sending (b"" when it hung up without answering)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = asyncio.ensure_future(reader.read(65536))
    writer.write(b"POST /v1/messages HTTP/1.1\r\nhost: relay\r\ncontent-type: application/json\r\n"
                 b"x-api-key: " + token.encode() + b"\r\ntransfer-encoding: chunked\r\n\r\n")
    try:
        for _ in range(mib):
            writer.write(b"%x\r\n" % len(CHUNK) + CHUNK + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    except ConnectionError:
        pass
    try:
        return await asyncio.wait_for(answer, 30)
    except (TimeoutError, ConnectionError):
        return b""
    finally:
        writer.close()


def _attack(tmp_path: Path, uploads: list[int]) -> tuple[list[bytes], int]:
    async def go() -> list[bytes]:
        relay = Relay("compat:http://127.0.0.1:9#m")  # never reached: nothing here is relayed
        await relay.start()
        try:
            return list(await asyncio.gather(*(_upload(relay.port, mib, token=relay.token) for mib in uploads)))
        finally:
            await relay.stop()

    tracemalloc.start()
    try:
        answers = asyncio.run(go())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return answers, peak


def test_a_body_past_the_api_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    mib = 4 * MAX_BODY_BYTES >> 20
    answers, peak = _attack(tmp_path, [mib])
    assert answers[0].startswith(b"HTTP/1.1 413 "), answers[0][:200]
    error = json.loads(answers[0].split(b"\r\n\r\n", 1)[1])["error"]
    assert error["type"] == "request_too_large"
    assert peak < 2 * MAX_BODY_BYTES, f"peak {peak >> 20} MiB for a {mib} MiB upload"


def test_many_connections_cannot_hold_more_than_the_relay_keeps(tmp_path: Path) -> None:
    """Each body just under the limit: together they would hold 12 times it (and more while a body
    read whole is copied once), the relay holds 4 at most (and their copies)."""
    answers, peak = _attack(tmp_path, [(MAX_BODY_BYTES >> 20) - 1] * 12)
    assert any(a.startswith(b"HTTP/1.1 413 ") for a in answers)
    assert peak < 10 * MAX_BODY_BYTES, f"peak {peak >> 20} MiB"


def test_a_flood_of_connections_cannot_take_the_runners_descriptors(tmp_path: Path) -> None:
    """Each connection the relay keeps open is a descriptor of the runner's (20,000 here; a jailed
    agent has 512 processes of 4,096 each): run out, and the runner's own git, transcript and the other
    runs of `agentbook watch` fail. Past its bound the relay closes new connections at once, and still
    answers once the flood is gone."""
    flood = MAX_CONNECTIONS + 200

    async def go() -> tuple[int, int, bytes]:
        relay = Relay("compat:http://127.0.0.1:9#m")
        await relay.start()
        try:
            before = len(os.listdir("/proc/self/fd"))
            clients = [await asyncio.open_connection("127.0.0.1", relay.port) for _ in range(flood)]
            await asyncio.sleep(0.5)  # let the relay accept them all
            held = len(os.listdir("/proc/self/fd")) - before - flood  # the relay's ends still open
            for _, writer in clients:
                writer.close()
            await asyncio.sleep(0.5)
            answer = await _upload(relay.port, 0, token="wrong")
            return held, before, answer
        finally:
            await relay.stop()

    held, _, answer = asyncio.run(go())
    assert held <= MAX_CONNECTIONS + 8, f"the relay held {held} connections"
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]


def test_a_body_nested_past_pythons_recursion_limit_is_a_400_not_a_traceback(capfd) -> None:
    """`json.loads` raises RecursionError, not ValueError, on `[[[...` 100,000 deep (200 KB): the relay
    cut the connection and printed a traceback on the runner's stderr for every such request."""
    deep = b'{"model": "m", "max_tokens": 1, "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    async def go() -> bytes:
        relay = Relay("compat:http://127.0.0.1:9#m")  # never reached: the body is refused first
        await relay.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
            writer.write(b"POST /v1/messages HTTP/1.1\r\nhost: relay\r\ncontent-type: application/json\r\n"
                         b"x-api-key: " + relay.token.encode() + b"\r\ncontent-length: %d\r\n\r\n" % len(deep) + deep)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(65536), 30)
            writer.close()
            return answer
        finally:
            await relay.stop()

    answer = asyncio.run(go())
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"not JSON" in answer
    assert "Traceback" not in capfd.readouterr().err
