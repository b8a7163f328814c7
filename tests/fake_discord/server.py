"""FakeDiscord: an in-process Discord (REST + gateway) for end-to-end tests.

The real discord.py client talks to it over real HTTP/websockets on 127.0.0.1,
so tests exercise the same code paths as production (rate-limit handling,
reconnects, interaction callbacks) without the network.  See ``__init__.py``
for a usage example.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from . import models as m
from .gateway import GatewayHub
from .harness import patch_discord
from .models import JSON, FakeChannel, FakeGuild, FakeMember, FakeRole, FakeUser, SnowflakeFactory
from .records import FakeInteraction, FaultRule, GatewayFrame, Journal, RecordedRequest
from .rest import API_PREFIX, ApiError, InteractionState, RestApi

GATEWAY_PATH = "/gateway"
DEFAULT_TOKEN = "fake-bot-token"


class FakeDiscord:
    """A fake Discord with one guild, recording everything the client does.

    Use as ``async with FakeDiscord() as fake:``; entering starts the server on
    ``127.0.0.1:<random port>`` and (``patch=True``) points discord.py at it.

    Default state: guild ``fake.guild`` owned by ``fake.admin``; channels
    ``fake.general`` and ``fake.faq_channel``; roles ``@everyone`` and
    ``fake.admin_role`` (Manage Server); members ``fake.bot_user`` (the bot
    logging in), ``fake.user``, ``fake.admin`` and ``fake.other_bot``.

    Tunables (plain attributes, change them at any time):

    * ``tokens``: bot tokens accepted by REST and IDENTIFY (others: 401 / 4004);
    * ``disallowed_intents``: IDENTIFY with any of these bits -> close 4014;
    * ``recommended_shards``: ``shards`` returned by ``GET /gateway/bot``;
    * ``heartbeat_interval_ms``: sent in HELLO;
    * ``echo_bot_messages``: dispatch MESSAGE_CREATE for messages the bot
      posts, like Discord does (bots must ignore their own messages);
    * ``interaction_timeout``: if set (Discord: 3.0), callbacks arriving later
      fail with 404 Unknown interaction, catching handlers that forget to defer.
    * ``ratelimit_limit``: ``X-RateLimit-Limit`` of every response (``Remaining``
      is one less, resetting after 1 s). discord.py paces concurrent requests to
      one route by these, like Discord's 5-per-channel limit would; a load test
      that measures the bot rather than Discord's limits raises it.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        extra_tokens: Sequence[str] = (),
        patch: bool = True,
        heartbeat_interval_ms: int = 41250,
    ) -> None:
        self.tokens: set[str] = {token, *extra_tokens}
        self.token = token
        self.patch = patch
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.disallowed_intents = 0
        self.recommended_shards = 1
        self.echo_bot_messages = True
        self.interaction_timeout: float | None = None
        self.ratelimit_limit = 5
        self.application_flags = (
            (1 << 19) | (1 << 15) | (1 << 13)
        )  # message content/members/presence (limited)

        self.ids = SnowflakeFactory()
        self.requests: Journal[RecordedRequest] = Journal()
        self.gateway_log: Journal[GatewayFrame] = Journal()
        self.faults: list[FaultRule] = []
        self.server_errors: list[Exception] = []  # bugs in the fake itself, re-raised by __aexit__
        self.messages: dict[int, JSON] = {}
        self.commands: dict[int | None, list[JSON]] = {}  # guild id (None = global) -> synced commands
        self.interactions: dict[int, InteractionState] = {}
        self.command_ids: dict[tuple[int | None, str], int] = {}
        self._dm_channels: dict[int, FakeChannel] = {}
        self.gateway = GatewayHub(self)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._patches = contextlib.ExitStack()
        self._build_default_state()
        self.rest = RestApi(self)

    # ------------------------------------------------------------------ state --

    def _build_default_state(self) -> None:
        self.bot_user = self.create_user("FAQ Bot", bot=True)
        self.application_id = self.bot_user.id  # true for every modern application
        self.user = self.create_user("alice")
        self.admin = self.create_user("admin")
        self.other_bot = self.create_user("OtherBot", bot=True)
        guild_id = self.ids.next()
        self.guild = FakeGuild(guild_id, "FAQ Test Guild", owner_id=self.admin.id)
        self.guild.roles[guild_id] = FakeRole(guild_id, "@everyone", m.EVERYONE_PERMISSIONS)
        self.admin_role = self.create_role("Moderators", m.MANAGE_GUILD, position=1)
        self.general = self.create_text_channel("general")
        self.faq_channel = self.create_text_channel("faq", topic="Ask your questions here")
        for user in (self.bot_user, self.user, self.other_bot):
            self.add_member(user)
        self.add_member(self.admin, roles=[self.admin_role])

    def create_user(self, username: str, *, bot: bool = False) -> FakeUser:
        """A new user that is not (yet) a guild member."""
        return FakeUser(self.ids.next(), username, bot=bot, global_name=username)

    def create_role(self, name: str, permissions: int, *, position: int = 1) -> FakeRole:
        role = FakeRole(self.ids.next(), name, permissions, position=position)
        self.guild.roles[role.id] = role
        return role

    def create_text_channel(self, name: str, *, topic: str | None = None) -> FakeChannel:
        channel = FakeChannel(
            self.ids.next(), name, self.guild.id, position=len(self.guild.channels), topic=topic
        )
        self.guild.channels[channel.id] = channel
        return channel

    def add_member(
        self, user: FakeUser, *, roles: Sequence[FakeRole] = (), nick: str | None = None
    ) -> FakeMember:
        """Add ``user`` to the guild. Call before the client connects, or the
        client's cache will not know the member (no GUILD_MEMBER_ADD is sent)."""
        member = FakeMember(user, [r.id for r in roles], nick=nick)
        self.guild.members[user.id] = member
        return member

    def create_member(
        self, username: str, *, bot: bool = False, roles: Sequence[FakeRole] = ()
    ) -> FakeMember:
        """Shortcut for ``add_member(create_user(...))``."""
        return self.add_member(self.create_user(username, bot=bot), roles=roles)

    def mentioned_users(self, content: str) -> list[FakeUser]:
        """Guild members mentioned as ``<@id>`` / ``<@!id>`` in ``content``, in order."""
        ids = [int(x) for x in re.findall(r"<@!?(\d+)>", content)]
        return [self.guild.members[i].user for i in dict.fromkeys(ids) if i in self.guild.members]

    def member(self, user: FakeUser | FakeMember) -> FakeMember:
        """The guild membership of ``user`` (KeyError if not a member)."""
        return user if isinstance(user, FakeMember) else self.guild.members[user.id]

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        """The (lazily created) DM channel between the bot and ``user``."""
        if user.id not in self._dm_channels:
            self._dm_channels[user.id] = FakeChannel(
                self.ids.next(), "", None, type=m.CHANNEL_DM, recipient=user
            )
        return self._dm_channels[user.id]

    def channel(self, channel_id: int) -> FakeChannel:
        channel = self.guild.channels.get(channel_id) or next(
            (c for c in self._dm_channels.values() if c.id == channel_id), None
        )
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        return channel

    # ------------------------------------------------------------- lifecycle --

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """Value for ``DiscordWebSocket.DEFAULT_GATEWAY`` (also the resume URL)."""
        return f"ws://127.0.0.1:{self._port}{GATEWAY_PATH}"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get(GATEWAY_PATH, self.gateway.handle)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self.rest.handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        if self.patch:
            self._patches.enter_context(patch_discord(self.api_base, self.gateway_url))

    async def stop(self) -> None:
        self._patches.close()
        await self.gateway.close(1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        await self.stop()
        if self.server_errors and exc_type is None:
            raise RuntimeError(f"the fake Discord server itself failed: {self.server_errors!r}")

    # --------------------------------------------------------------- records --

    def find_requests(
        self, method: str = "*", pattern: str = "*", *, ok: bool | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests by method and ``fnmatch`` path pattern."""
        return self.requests.find(lambda r: r.matches(method, pattern) and (ok is None or r.ok == ok))

    async def wait_for_request(
        self, predicate: Callable[[RecordedRequest], bool], *, timeout: float = 5.0, start: int = 0
    ) -> RecordedRequest:
        """First request (index >= ``start``) matching ``predicate``; checks past requests too."""
        return (await self.requests.wait_for(predicate, timeout=timeout, start=start, what="request"))[0]

    async def wait_for_requests(
        self,
        predicate: Callable[[RecordedRequest], bool],
        count: int,
        *,
        timeout: float = 5.0,
        start: int = 0,
    ) -> list[RecordedRequest]:
        return await self.requests.wait_for(
            predicate, timeout=timeout, start=start, count=count, what="request"
        )

    async def wait_for_gateway(
        self, predicate: Callable[[GatewayFrame], bool], *, timeout: float = 5.0, start: int = 0
    ) -> GatewayFrame:
        """First gateway frame (either direction, see ``GatewayFrame.direction``) matching ``predicate``."""
        return (
            await self.gateway_log.wait_for(predicate, timeout=timeout, start=start, what="gateway frame")
        )[0]

    def received_ops(self, op: int) -> list[GatewayFrame]:
        """Client -> fake frames with opcode ``op`` (2 IDENTIFY, 6 RESUME, 1 heartbeat ...)."""
        return self.gateway_log.find(lambda f: f.direction == "received" and f.op == op)

    async def wait_for_response(
        self, interaction: FakeInteraction, *, timeout: float = 5.0
    ) -> RecordedRequest:
        """The successful ``interaction.response.*`` callback of ``interaction``."""
        return await self.wait_for_request(
            lambda r: r.path == interaction.callback_path and r.ok, timeout=timeout
        )

    async def wait_for_followup(
        self, interaction: FakeInteraction, *, timeout: float = 5.0, start: int = 0
    ) -> RecordedRequest:
        """A successful followup (``interaction.followup.send``) of ``interaction``."""
        return await self.wait_for_request(
            lambda r: r.method == "POST" and r.path == interaction.webhook_path and r.ok,
            timeout=timeout,
            start=start,
        )

    async def wait_for_bot_message(
        self,
        predicate: Callable[[RecordedRequest], bool] = lambda r: True,
        *,
        timeout: float = 5.0,
        start: int = 0,
    ) -> RecordedRequest:
        """A successful ``POST /channels/*/messages`` matching ``predicate``."""
        return await self.wait_for_request(
            lambda r: r.matches("POST", "/channels/*/messages") and r.ok and predicate(r),
            timeout=timeout,
            start=start,
        )

    # -------------------------------------------------------- fault injection --

    def fail_next(
        self,
        method: str,
        pattern: str,
        *,
        status: int = 429,
        count: int = 1,
        retry_after: float = 0.05,
        is_global: bool = False,
        after_handling: bool = False,
    ) -> FaultRule:
        """Answer the next ``count`` matching requests with ``status`` (429, 500, 502 ...).

        429s look like Discord's: ``Via`` header (else discord.py assumes a
        Cloudflare ban), JSON ``retry_after``/``global`` and X-RateLimit headers.
        ``after_handling=True`` performs the request before failing it (the
        client's retry must then not duplicate the effect; sends are de-duplicated
        by nonce like on Discord).  ``pattern`` is an ``fnmatch`` path pattern.
        """
        rule = FaultRule(
            method.upper(),
            pattern,
            status=status,
            remaining=count,
            retry_after=retry_after,
            is_global=is_global,
            after_handling=after_handling,
        )
        self.faults.append(rule)
        return rule

    def delay(self, method: str, pattern: str, seconds: float, *, count: int | None = None) -> FaultRule:
        """Hold matching requests for ``seconds`` before answering (``count=None``: always)."""
        rule = FaultRule(method.upper(), pattern, remaining=count, delay=seconds)
        self.faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        self.faults.clear()

    async def disconnect(
        self,
        code: int = 4000,
        *,
        shard_id: int | None = None,
        abrupt: bool = False,
        invalidate_session: bool = False,
    ) -> int:
        """Close the gateway socket(s) with ``code``.

        4000/1001 etc. make discord.py reconnect and RESUME; with
        ``invalidate_session`` the RESUME is answered with INVALID_SESSION so the
        client re-IDENTIFYs (note: discord.py's default ``before_identify_hook``
        sleeps 5 s before a non-initial IDENTIFY).  4004 / 4014 are fatal
        (``ConnectionClosed`` / ``PrivilegedIntentsRequired``).  ``abrupt`` drops
        the TCP connection without a close frame.  Returns sockets closed.
        """
        self.gateway.invalidate_next_resume = invalidate_session
        return await self.gateway.close(code, shard_id=shard_id, abrupt=abrupt)

    async def send_gateway_op(self, op: int, d: Any = None, *, shard_id: int | None = None) -> None:
        """Send a raw opcode, e.g. ``7`` (RECONNECT) or ``9`` with ``d=False`` (INVALID_SESSION)."""
        await self.gateway.send_op(op, d, shard_id=shard_id)

    @property
    def ack_heartbeats(self) -> bool:
        """Set to ``False`` to simulate a zombie connection (heartbeats get no op 11)."""
        return self.gateway.ack_heartbeats

    @ack_heartbeats.setter
    def ack_heartbeats(self, value: bool) -> None:
        self.gateway.ack_heartbeats = value

    @property
    def connected_shards(self) -> list[int]:
        """Shard ids with a live, identified socket."""
        return sorted(c.session.shard_id for c in self.gateway.connections if c.session is not None)

    # -------------------------------------------------------- event injection --

    async def dispatch(self, event: str, data: JSON, *, guild_id: int | None = None) -> int:
        """Send any gateway event (``t=event``) to the shard(s) that should get it."""
        return await self.gateway.dispatch(event, data, guild_id=guild_id)

    async def inject_message(
        self,
        content: str,
        *,
        author: FakeUser | FakeMember | None = None,
        channel: FakeChannel | None = None,
        mentions: Sequence[FakeUser | FakeMember] | None = None,
        mention_roles: Sequence[FakeRole] = (),
        bot: bool | None = None,
        dm: bool = False,
        reply_to: int | None = None,
        embeds: list[JSON] | None = None,
        attachments: list[JSON] | None = None,
    ) -> JSON:
        """A user posts a message: stores it and dispatches MESSAGE_CREATE.

        ``mentions`` defaults to the ``<@id>`` mentions found in ``content``.
        ``bot`` overrides the author's bot flag; ``dm`` sends it in the author's
        DM channel with the bot instead of ``channel`` (default ``general``).
        """
        user = author.user if isinstance(author, FakeMember) else (author or self.user)
        if dm:
            target, member = self.dm_channel(user), None
        else:
            target, member = channel or self.general, self.guild.members.get(user.id)
        if mentions is None:
            mentions = [self.guild.members.get(u.id, u) for u in self.mentioned_users(content)]
        reference = None
        if reply_to is not None:
            reference = {"type": 0, "message_id": str(reply_to), "channel_id": str(target.id)}
            if target.guild_id:
                reference["guild_id"] = str(target.guild_id)
        data = m.build_message(
            message_id=self.ids.next(),
            channel=target,
            author=user,
            member=member,
            content=content,
            mentions=list(mentions),
            mention_role_ids=[r.id for r in mention_roles],
            embeds=embeds,
            attachments=attachments,
            message_reference=reference,
            referenced_message=self.messages.get(reply_to) if reply_to else None,
        )
        if bot is not None:
            data["author"]["bot"] = bot
        self.messages[int(data["id"])] = data
        await self.dispatch("MESSAGE_CREATE", data, guild_id=target.guild_id)
        return data

    def _interaction_base(
        self, kind: int, user: FakeUser | FakeMember | None, channel: FakeChannel | None
    ) -> JSON:
        member = self.member(user or self.user)
        target = channel or self.general
        return {
            "id": str(self.ids.next()),
            "application_id": str(self.application_id),
            "type": kind,
            "token": "itoken-" + secrets.token_urlsafe(24),
            "version": 1,
            "guild_id": str(self.guild.id),
            "guild": {"id": str(self.guild.id), "locale": "en-US", "features": []},
            "channel_id": str(target.id),
            "channel": target.to_payload(),
            "member": member.to_payload() | {"permissions": str(self.guild.permissions_for(member))},
            "app_permissions": str(self.guild.permissions_for(self.member(self.bot_user))),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild.id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }

    async def _send_interaction(self, payload: JSON, channel: FakeChannel | None) -> FakeInteraction:
        handle = FakeInteraction(int(payload["id"]), payload["token"], self.application_id, payload)
        state = InteractionState(handle, channel or self.general)
        if payload["type"] == m.INTERACTION_MESSAGE_COMPONENT:
            state.original_message_id = int(payload["message"]["id"])
        self.interactions[handle.id] = state
        await self.dispatch("INTERACTION_CREATE", payload, guild_id=self.guild.id)
        return handle

    async def inject_slash_command(
        self,
        name: str,
        *,
        options: dict[str, Any] | list[JSON] | None = None,
        subcommand: str | None = None,
        group: str | None = None,
        user: FakeUser | FakeMember | None = None,
        channel: FakeChannel | None = None,
        resolved: JSON | None = None,
    ) -> FakeInteraction:
        """A user runs ``/name [group] [subcommand] options...`` (INTERACTION_CREATE type 2).

        ``options`` may be a ``{name: value}`` dict (scalar types inferred) or raw
        option dicts.  ``data.guild_id``/``data.id`` are taken from the commands
        the client synced (guild commands win), as Discord does.
        """
        opts = options if isinstance(options, list) else m.build_options(options)
        if subcommand is not None:
            opts = [{"name": subcommand, "type": 1, "options": opts}]
        if group is not None:
            opts = [{"name": group, "type": 2, "options": opts}]
        data: JSON = {"id": "0", "name": name, "type": 1, "options": opts}
        for scope in (self.guild.id, None):
            if (scope, name) in self.command_ids:
                data["id"] = str(self.command_ids[(scope, name)])
                if scope is not None:
                    data["guild_id"] = str(scope)
                break
        if resolved:
            data["resolved"] = resolved
        payload = self._interaction_base(m.INTERACTION_APPLICATION_COMMAND, user, channel) | {"data": data}
        return await self._send_interaction(payload, channel)

    async def inject_component_click(
        self,
        custom_id: str,
        *,
        message: JSON | int | None = None,
        user: FakeUser | FakeMember | None = None,
        channel: FakeChannel | None = None,
        component_type: int = m.COMPONENT_BUTTON,
        values: list[str] | None = None,
    ) -> FakeInteraction:
        """A user clicks a button / picks from a select (INTERACTION_CREATE type 3).

        ``message`` is the message carrying the component (a stored message id or
        payload); by default a bot message with one button ``custom_id`` is made up,
        which is what a persistent view sees after a bot restart.
        """
        target = channel or self.general
        if isinstance(message, int):
            message = self.messages[message]
        if message is None:
            button = {"type": 2, "style": 1, "label": custom_id, "custom_id": custom_id}
            message = m.build_message(
                message_id=self.ids.next(),
                channel=target,
                author=self.bot_user,
                components=[{"type": 1, "components": [button]}],
            )
            self.messages[int(message["id"])] = message
        data: JSON = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        payload = self._interaction_base(m.INTERACTION_MESSAGE_COMPONENT, user, target) | {
            "data": data,
            "message": message,
        }
        return await self._send_interaction(payload, target)

    async def inject_modal_submit(
        self,
        custom_id: str,
        fields: dict[str, str],
        *,
        user: FakeUser | FakeMember | None = None,
        channel: FakeChannel | None = None,
    ) -> FakeInteraction:
        """A user submits a modal (type 5); ``fields`` maps text input custom_id -> value."""
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in fields.items()
        ]
        payload = self._interaction_base(m.INTERACTION_MODAL_SUBMIT, user, channel) | {
            "data": {"custom_id": custom_id, "components": rows},
        }
        return await self._send_interaction(payload, channel)
