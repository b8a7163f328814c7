"""The websocket half of the fake: sessions, sharding, compression, close codes.

Protocol as discord.py 2.7 uses it (see ``discord/gateway.py``):

* the client connects to ``DEFAULT_GATEWAY?v=10&encoding=json&compress=zlib-stream``;
  with zlib-stream the server keeps ONE ``zlib.compressobj`` per socket and sends
  each payload as ``compress(raw) + flush(Z_SYNC_FLUSH)`` in a binary frame;
* HELLO (op 10) -> client heartbeats (op 1, answered with op 11) and sends
  IDENTIFY (op 2) -> READY + one GUILD_CREATE per guild on that shard;
* after a drop the client RESUMEs (op 6) at ``resume_gateway_url``: we replay the
  dispatches it missed and send RESUMED, or INVALID_SESSION (op 9) if asked to;
* close codes 4004 (bad token) and 4014 (disallowed intents) are fatal for the
  client, most others make it reconnect.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import logging
import uuid
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import WSMsgType, web

from .models import (
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGES,
    INTENT_MESSAGE_CONTENT,
    JSON,
)
from .records import GatewayFrame

if TYPE_CHECKING:
    from .server import FakeDiscord

log = logging.getLogger(__name__)

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE = 3
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11


class GatewayConnection:
    """One websocket; serialises sends because the zlib stream is stateful."""

    def __init__(
        self,
        connection_id: int,
        ws: web.WebSocketResponse,
        compress: str | None,
        transport: asyncio.BaseTransport | None,
    ) -> None:
        self.id = connection_id
        self.ws = ws
        self._transport = transport
        self._compressor = zlib.compressobj() if compress == "zlib-stream" else None
        self._lock = asyncio.Lock()
        self.session: GatewaySession | None = None

    async def send(self, payload: JSON) -> None:
        raw = json.dumps(payload, separators=(",", ":")).encode()
        async with self._lock:
            if self.ws.closed:
                return
            if self._compressor is None:
                # Unknown compression (e.g. zstd-stream): discord.py also accepts text frames.
                await self.ws.send_str(raw.decode())
            else:
                await self.ws.send_bytes(
                    self._compressor.compress(raw) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
                )

    async def close(self, code: int, *, abrupt: bool = False) -> None:
        if abrupt:  # simulate a network failure: no close frame at all
            if isinstance(self._transport, asyncio.Transport):
                self._transport.abort()
            return
        async with self._lock:
            await self.ws.close(code=code, message=b"closed by fake discord")


@dataclass
class GatewaySession:
    """A gateway session: survives a dropped socket so the client can RESUME."""

    session_id: str
    shard_id: int
    shard_count: int
    intents: int
    seq: int = 0
    history: list[JSON] = field(default_factory=list)
    connection: GatewayConnection | None = None

    def owns_guild(self, guild_id: int) -> bool:
        return (guild_id >> 22) % self.shard_count == self.shard_id


class GatewayHub:
    """Accepts websocket connections and routes dispatches to the right shard."""

    def __init__(self, fake: FakeDiscord) -> None:
        self._fake = fake
        self._ids = itertools.count(1)
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.current: dict[int, GatewaySession] = {}  # latest session per shard id
        self.invalidate_next_resume = False
        self.ack_heartbeats = True

    # -- websocket handler ---------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, timeout=5.0, max_msg_size=0)
        await ws.prepare(request)
        conn = GatewayConnection(next(self._ids), ws, request.query.get("compress"), request.transport)
        self.connections.append(conn)
        try:
            await self._send(
                conn, {"op": OP_HELLO, "d": {"heartbeat_interval": self._fake.heartbeat_interval_ms}}
            )
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:  # discord.py only ever sends JSON text frames
                    await self._on_payload(conn, json.loads(msg.data))
        except Exception as exc:  # a bug in the fake: surface it when the test ends
            log.exception("fake gateway failed on connection %s", conn.id)
            self._fake.server_errors.append(exc)
            await ws.close(code=4000)
        finally:
            self.connections.remove(conn)
            if conn.session is not None and conn.session.connection is conn:
                conn.session.connection = None
        return ws

    async def _on_payload(self, conn: GatewayConnection, payload: JSON) -> None:
        op, data = payload.get("op"), payload.get("d")
        shard_id = conn.session.shard_id if conn.session else None
        if op == OP_IDENTIFY and isinstance(data, dict) and data.get("shard"):
            shard_id = data["shard"][0]
        self._record("received", conn, shard_id, payload)

        if op == OP_HEARTBEAT:
            if self.ack_heartbeats:
                await self._send(conn, {"op": OP_HEARTBEAT_ACK, "d": None})
        elif op == OP_IDENTIFY:
            await self._identify(conn, data)
        elif op == OP_RESUME:
            await self._resume(conn, data)
        elif op == OP_REQUEST_MEMBERS:
            await self._members_chunk(conn, data)
        # presence updates (op 3) and voice ops are only recorded

    async def _identify(self, conn: GatewayConnection, data: JSON) -> None:
        fake = self._fake
        if data.get("token") not in fake.tokens:
            await conn.close(4004)  # Authentication failed
            return
        intents = int(data.get("intents", 0))
        if intents & fake.disallowed_intents:
            await conn.close(4014)  # Disallowed intent(s)
            return
        shard_id, shard_count = data.get("shard") or (0, 1)
        session = GatewaySession(uuid.uuid4().hex, shard_id, shard_count, intents, connection=conn)
        conn.session = session
        self.sessions[session.session_id] = session
        self.current[shard_id] = session

        guilds = [g for g in [fake.guild] if session.owns_guild(g.id)]
        ready: JSON = {
            "v": 10,
            "user": fake.bot_user.to_payload() | {"verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": fake.gateway_url,
            "application": {"id": str(fake.application_id), "flags": fake.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
        }
        if data.get("shard"):
            ready["shard"] = [shard_id, shard_count]
        await self._dispatch_to(session, "READY", ready)
        for guild in guilds:
            payload = guild.to_create_payload()
            if not intents & INTENT_GUILD_MEMBERS:  # Discord then only includes the bot's own member
                payload["members"] = [
                    m for m in payload["members"] if m["user"]["id"] == str(fake.bot_user.id)
                ]
            await self._dispatch_to(session, "GUILD_CREATE", payload)

    async def _resume(self, conn: GatewayConnection, data: JSON) -> None:
        session = self.sessions.get(data.get("session_id", ""))
        if data.get("token") not in self._fake.tokens:
            await conn.close(4004)
            return
        if session is None or self.invalidate_next_resume:
            self.invalidate_next_resume = False
            if session is not None:
                self.sessions.pop(session.session_id, None)
            await self._send(conn, {"op": OP_INVALID_SESSION, "d": False})
            return
        conn.session = session
        session.connection = conn
        self.current[session.shard_id] = session
        last_seen = data.get("seq") or 0
        for frame in session.history:
            if frame["s"] > last_seen:
                await self._send(conn, frame)
        await self._dispatch_to(session, "RESUMED", {})

    async def _members_chunk(self, conn: GatewayConnection, data: JSON) -> None:
        fake = self._fake
        if conn.session is None or str(data.get("guild_id")) != str(fake.guild.id):
            return
        members = list(fake.guild.members.values())
        if data.get("user_ids"):
            wanted = {int(u) for u in data["user_ids"]}
            members = [m for m in members if m.user.id in wanted]
        chunk: JSON = {
            "guild_id": str(fake.guild.id),
            "members": [m.to_payload() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await self._dispatch_to(conn.session, "GUILD_MEMBERS_CHUNK", chunk)

    # -- sending ---------------------------------------------------------------------

    def _record(
        self,
        direction: Literal["received", "sent"],
        conn: GatewayConnection,
        shard_id: int | None,
        payload: JSON,
    ) -> None:
        journal = self._fake.gateway_log
        frame = GatewayFrame(
            index=len(journal.entries),
            direction=direction,
            connection_id=conn.id,
            shard_id=shard_id,
            op=payload.get("op"),
            d=payload.get("d"),
            t=payload.get("t"),
            s=payload.get("s"),
        )
        journal.append(frame)

    async def _send(self, conn: GatewayConnection, payload: JSON) -> None:
        payload = {"op": payload["op"], "d": payload.get("d"), "s": payload.get("s"), "t": payload.get("t")}
        shard_id = conn.session.shard_id if conn.session else None
        self._record("sent", conn, shard_id, payload)
        await conn.send(payload)

    async def _dispatch_to(self, session: GatewaySession, event: str, data: JSON) -> None:
        session.seq += 1
        frame = {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}
        session.history.append(frame)
        if session.connection is not None:  # else buffered until RESUME replays it
            await self._send(session.connection, frame)

    async def dispatch(self, event: str, data: JSON, *, guild_id: int | None) -> int:
        """Send an event to every current session that should see it.

        Routing follows Discord: guild events go to the shard owning the guild,
        DMs to shard 0. MESSAGE_CREATE honours GUILD_MESSAGES / DIRECT_MESSAGES
        and strips content without MESSAGE_CONTENT (unless the bot is mentioned,
        it is a DM or the bot wrote it). Returns the number of sessions reached.
        """
        if not self.current:
            raise RuntimeError(f"cannot dispatch {event}: no client has IDENTIFYed with the fake gateway yet")
        sent = 0
        for session in list(self.current.values()):
            owns = session.owns_guild(guild_id) if guild_id is not None else session.shard_id == 0
            if not owns:
                continue
            payload = data
            if event == "MESSAGE_CREATE":
                payload = self._filter_message(session, data)
                if payload is None:
                    continue
            await self._dispatch_to(session, event, payload)
            sent += 1
        return sent

    def _filter_message(self, session: GatewaySession, data: JSON) -> JSON | None:
        is_dm = "guild_id" not in data
        needed = INTENT_DIRECT_MESSAGES if is_dm else INTENT_GUILD_MESSAGES
        if not session.intents & needed:
            return None
        bot_id = str(self._fake.bot_user.id)
        exempt = is_dm or data["author"]["id"] == bot_id or any(m["id"] == bot_id for m in data["mentions"])
        if session.intents & INTENT_MESSAGE_CONTENT or exempt:
            return data
        stripped = copy.deepcopy(data)
        stripped.update(content="", embeds=[], attachments=[], components=[])
        return stripped

    async def close(self, code: int, *, shard_id: int | None = None, abrupt: bool = False) -> int:
        """Close live sockets (optionally one shard's); returns how many were closed."""
        targets = [
            c
            for c in self.connections
            if shard_id is None or (c.session is not None and c.session.shard_id == shard_id)
        ]
        await asyncio.gather(*(c.close(code, abrupt=abrupt) for c in targets))
        return len(targets)

    async def send_op(self, op: int, d: Any = None, *, shard_id: int | None = None) -> None:
        """Send a raw non-dispatch opcode (e.g. 7 RECONNECT, 9 INVALID_SESSION)."""
        for conn in list(self.connections):
            if shard_id is None or (conn.session is not None and conn.session.shard_id == shard_id):
                await self._send(conn, {"op": op, "d": d})
