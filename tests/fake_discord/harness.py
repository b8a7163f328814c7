"""Glue between the fake server and a real discord.py client.

* :func:`patch_discord` points discord.py at the fake.  Only two globals are
  needed: ``Route.BASE`` (every REST call, including interaction callbacks and
  webhooks, which build their ``Route`` from the same class) and
  ``DiscordWebSocket.DEFAULT_GATEWAY`` (``Client.connect`` dials it directly;
  only ``AutoShardedClient`` asks ``GET /gateway/bot`` first).
* :func:`run_client` logs a client in, connects it in a background task and
  waits for ``on_ready``, surfacing connection errors instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route


@contextlib.contextmanager
def patch_discord(api_base: str, gateway_url: str) -> Iterator[None]:
    """Temporarily send discord.py's REST and gateway traffic to ``api_base`` / ``gateway_url``."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway


@contextlib.asynccontextmanager
async def run_client(
    client: discord.Client, token: str, *, ready_timeout: float = 10.0
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``client`` against the (already patched) fake until the block exits.

    Yields the background ``client.connect()`` task, so a test can await it to
    observe fatal errors (e.g. ``ConnectionClosed`` after a 4004 close).
    ``login`` errors such as ``LoginFailure`` and connect errors raised before
    ``on_ready`` (e.g. ``PrivilegedIntentsRequired``) propagate from ``async with``.
    The client is always closed on exit.
    """
    try:
        await client.login(token)
    except BaseException:
        await client.close()
        raise
    connect = asyncio.create_task(client.connect(), name="fake-discord-client")
    ready = asyncio.create_task(client.wait_until_ready())
    try:
        done, _ = await asyncio.wait(
            {connect, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if connect in done:
            connect.result()  # raises the connection error, if any
            raise RuntimeError("client.connect() returned before the client became ready")
        if ready not in done:
            raise TimeoutError(f"client not ready after {ready_timeout}s")
        yield connect
    finally:
        ready.cancel()
        await client.close()
        with contextlib.suppress(Exception):  # already surfaced above or irrelevant after close
            await asyncio.wait_for(connect, timeout=5.0)
