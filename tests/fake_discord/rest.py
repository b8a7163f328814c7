"""The REST half of the fake: route table, handlers and Discord-style errors.

Every request is recorded (``FakeDiscord.requests``) before fault rules and
routing run, so tests also see requests that were answered with 429/500.
Responses are JSON with ``Content-Type`` exactly ``application/json`` --
discord.py compares that header verbatim and treats anything else (even
``; charset=utf-8``) as plain text.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from . import models as m
from .models import JSON, FakeChannel, FakeUser
from .records import FakeInteraction, FaultRule, RecordedFile, RecordedRequest

if TYPE_CHECKING:
    from .server import FakeDiscord

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
WEBHOOK_MESSAGE = r"/webhooks/(?P<aid>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)"
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000


class ApiError(Exception):
    """Raised by route handlers; becomes a Discord-style JSON error body."""

    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> JSON:
        data: JSON = {"message": self.message, "code": self.code}
        if self.errors:
            data["errors"] = self.errors
        return data


def _field_error(path: str, code: str, message: str) -> ApiError:
    """The nested ``errors`` object of a 50035 Invalid Form Body."""
    errors: JSON = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        errors = {part: errors}
    return ApiError(400, 50035, "Invalid Form Body", errors)


@dataclass
class InteractionState:
    """Server-side bookkeeping for one injected interaction."""

    handle: FakeInteraction
    channel: FakeChannel
    created: float = field(default_factory=time.monotonic)
    response_type: int | None = None
    original_message_id: int | None = None
    loading: bool = False


Handler = Callable[[RecordedRequest, "re.Match[str]"], Awaitable[tuple[int, Any]]]


class RestApi:
    """Routes ``/api/v10/...`` requests of one :class:`FakeDiscord`."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self._routes = self._route_table()
        self._nonces: dict[tuple[int, str], int] = {}  # (channel id, nonce) -> message id

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path[len(API_PREFIX) :]
        body, files = await self._read_body(request)
        record = RecordedRequest(
            index=len(self.fake.requests.entries),
            method=request.method,
            path=path,
            query=dict(request.query),
            headers=dict(request.headers),
            json=body,
            files=files,
        )
        self.fake.requests.append(record)
        try:
            status, payload, extra_headers = await self._answer(request, record)
        except ApiError as exc:
            status, payload, extra_headers = exc.status, exc.body(), {}
        except Exception as exc:
            # A bug in the fake.  503 is not in discord.py's retry set, so the client
            # fails fast instead of retrying for 20 s; FakeDiscord re-raises on exit.
            log.exception("fake discord failed on %s %s", record.method, record.path)
            self.fake.server_errors.append(exc)
            status, payload, extra_headers = 503, {"message": f"fake server error: {exc!r}", "code": 0}, {}
        record.status, record.response, record.answered_at = status, payload, time.monotonic()
        self.fake.requests.notify()
        headers = {
            "X-RateLimit-Limit": str(self.fake.ratelimit_limit),
            "X-RateLimit-Remaining": str(self.fake.ratelimit_limit - 1),
            "X-RateLimit-Reset-After": "1.000",
            "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
            "X-RateLimit-Bucket": f"fake-{record.method}-{re.sub(r'[0-9]+', '_', path)}",
            **extra_headers,
        }
        if payload is None:
            return web.Response(status=status, headers=headers)
        # Exactly "application/json": discord.py's json_or_text compares the header verbatim.
        return web.Response(
            status=status, body=json.dumps(payload).encode(), content_type="application/json", headers=headers
        )

    async def _read_body(self, request: web.Request) -> tuple[Any, list[RecordedFile]]:
        if request.content_type.startswith("multipart/"):
            payload, files = None, []
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):  # nested multipart: never sent by discord.py
                    continue
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    data = bytes(await part.read())
                    files.append(
                        RecordedFile(part.name or "", part.filename, part.headers.get("Content-Type"), data)
                    )
            return payload, files
        raw = await request.read()
        return (json.loads(raw) if raw else None), []

    async def _answer(self, request: web.Request, record: RecordedRequest) -> tuple[int, Any, dict[str, str]]:
        """Apply fault rules, authenticate, route.  A fault with ``after_handling``
        lets the request take effect and *then* fails it, like a gateway timeout
        after Discord already created the message."""
        failure: FaultRule | None = None
        for rule in list(self.fake.faults):
            if not rule.matches(record.method, record.path):
                continue
            rule.consume()
            if rule.exhausted:
                self.fake.faults.remove(rule)
            if rule.delay:
                await asyncio.sleep(rule.delay)
            if rule.status is not None:
                failure = rule
                break
        if failure is not None and not failure.after_handling:
            return self._fault_response(failure)
        status, payload = await self._route(request, record)
        if failure is not None:
            return self._fault_response(failure)
        return status, payload, {}

    async def _route(self, request: web.Request, record: RecordedRequest) -> tuple[int, Any]:
        public = record.path.startswith(("/interactions/", "/webhooks/"))  # authorised by token in the URL
        auth = request.headers.get("Authorization", "")
        if not public and auth.removeprefix("Bot ") not in self.fake.tokens:
            raise ApiError(401, 0, "401: Unauthorized")
        for method, regex, handler in self._routes:
            match = regex.fullmatch(record.path)
            if match and method == record.method:
                return await handler(record, match)
        raise ApiError(404, 0, "404: Not Found")

    def _fault_response(self, rule: FaultRule) -> tuple[int, Any, dict[str, str]]:
        assert rule.status is not None
        if rule.status != 429:
            return rule.status, {"message": f"{rule.status}: injected failure", "code": 0}, {}
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, round(rule.retry_after))),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{rule.retry_after:.3f}",
            "X-RateLimit-Scope": "global" if rule.is_global else "user",
        }
        if rule.is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {
            "message": "You are being rate limited.",
            "retry_after": rule.retry_after,
            "global": rule.is_global,
        }
        return 429, body, headers

    def _route_table(self) -> list[tuple[str, re.Pattern[str], Handler]]:
        table: list[tuple[str, str, Handler]] = [
            ("GET", r"/users/@me", self._get_me),
            ("GET", r"/oauth2/applications/@me", self._get_application),
            ("GET", r"/gateway", self._get_gateway),
            ("GET", r"/gateway/bot", self._get_gateway_bot),
            ("POST", r"/users/@me/channels", self._create_dm),
            ("GET", r"/channels/(?P<cid>\d+)", self._get_channel),
            ("POST", r"/channels/(?P<cid>\d+)/messages", self._create_message),
            ("GET", r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)", self._get_message),
            ("PATCH", r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)", self._edit_message),
            ("DELETE", r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)", self._delete_message),
            ("PUT", r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)/reactions/[^/]+/@me", self._no_content),
            ("POST", r"/channels/(?P<cid>\d+)/typing", self._no_content),
            ("PUT", r"/applications/(?P<aid>\d+)/commands", self._sync_commands),
            ("PUT", r"/applications/(?P<aid>\d+)/guilds/(?P<gid>\d+)/commands", self._sync_commands),
            ("GET", r"/applications/(?P<aid>\d+)/commands", self._get_commands),
            ("GET", r"/applications/(?P<aid>\d+)/guilds/(?P<gid>\d+)/commands", self._get_commands),
            ("POST", r"/interactions/(?P<iid>\d+)/(?P<token>[^/]+)/callback", self._interaction_callback),
            ("POST", r"/webhooks/(?P<aid>\d+)/(?P<token>[^/]+)", self._followup),
            ("GET", WEBHOOK_MESSAGE, self._webhook_message),
            ("PATCH", WEBHOOK_MESSAGE, self._webhook_message),
            ("DELETE", WEBHOOK_MESSAGE, self._webhook_message),
        ]
        return [(method, re.compile(pattern), handler) for method, pattern, handler in table]

    # -- simple routes --

    async def _no_content(self, req: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        return 204, None

    async def _get_me(self, req: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        return 200, self.fake.bot_user.to_payload() | {
            "verified": True,
            "mfa_enabled": False,
            "locale": "en-US",
            "email": None,
        }

    async def _get_application(self, req: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        return 200, {
            "id": str(self.fake.application_id),
            "name": self.fake.bot_user.username,
            "icon": None,
            "description": "Fake application",
            "summary": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": self.fake.admin.to_payload(),
            "team": None,
            "flags": self.fake.application_flags,
            "bot": self.fake.bot_user.to_payload(),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
        }

    async def _get_gateway(self, req: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        return 200, {"url": self.fake.gateway_url}

    async def _get_gateway_bot(self, req: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return 200, {
            "url": self.fake.gateway_url,
            "shards": self.fake.recommended_shards,
            "session_start_limit": limit,
        }

    async def _create_dm(self, req: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        user_id = int((req.json or {}).get("recipient_id", 0))
        member = self.fake.guild.members.get(user_id)
        if member is None:
            raise ApiError(400, 50007, "Cannot send messages to this user")
        return 200, self.fake.dm_channel(member.user).to_payload()

    async def _get_channel(self, req: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        return 200, self.fake.channel(int(match["cid"])).to_payload()

    # -- messages --

    def _pinged(self, content: str, allowed: JSON | None) -> tuple[list[FakeUser], bool]:
        """Who a bot message would really ping, honouring ``allowed_mentions``."""
        allowed = {"parse": ["users", "roles", "everyone"]} if allowed is None else allowed
        parse = allowed.get("parse", [])
        explicit = {int(u) for u in allowed.get("users", [])}
        users = [u for u in self.fake.mentioned_users(content) if "users" in parse or u.id in explicit]
        everyone = "everyone" in parse and ("@everyone" in content or "@here" in content)
        return users, everyone

    def _validate_message(self, body: JSON, files: list[RecordedFile]) -> None:
        """The limits a FAQ bot is most likely to hit, with Discord's error shape."""
        content = body.get("content") or ""
        embeds = body.get("embeds") or []
        if not (
            content
            or embeds
            or files
            or body.get("components")
            or body.get("sticker_ids")
            or body.get("poll")
        ):
            raise ApiError(400, 50006, "Cannot send an empty message")
        if len(content) > MAX_CONTENT:
            raise _field_error(
                "content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length."
            )
        if len(embeds) > MAX_EMBEDS:
            raise _field_error("embeds", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length.")
        for i, embed in enumerate(embeds):
            limits = {"title": 256, "description": 4096}
            for key, limit in limits.items():
                if len(embed.get(key) or "") > limit:
                    raise _field_error(
                        f"embeds.{i}.{key}", "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
                    )
            if len(embed.get("fields") or []) > 25:
                raise _field_error(
                    f"embeds.{i}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
        total = sum(len(json.dumps(e)) for e in embeds)  # generous approximation of the 6000 char rule
        if total > MAX_EMBED_TOTAL * 2:
            raise _field_error("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")

    def _bot_message(
        self,
        channel: FakeChannel,
        body: JSON,
        files: list[RecordedFile],
        *,
        validate: bool = True,
        **extra: Any,
    ) -> JSON:
        """Create and store a message authored by the bot from a send/followup body."""
        if validate:
            self._validate_message(body, files)
        content = body.get("content") or ""
        pinged, everyone = self._pinged(content, body.get("allowed_mentions"))
        reference = body.get("message_reference")
        referenced = None
        if reference and reference.get("message_id"):
            referenced = self.fake.messages.get(int(reference["message_id"]))
            if referenced is None and reference.get("fail_if_not_exists", True):
                raise _field_error(
                    "message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                )
            reference = {"type": 0, "channel_id": str(channel.id), **reference}
        attachments = [
            {
                "id": str(self.fake.ids.next()),
                "filename": f.filename or "file",
                "size": len(f.data),
                "url": f"{self.fake.base_url}/attachments/{f.filename}",
                "proxy_url": f"{self.fake.base_url}/attachments/{f.filename}",
                "content_type": f.content_type,
            }
            for f in files
        ]
        data = m.build_message(
            message_id=self.fake.ids.next(),
            channel=channel,
            author=self.fake.bot_user,
            content=content,
            mentions=list(pinged),
            embeds=body.get("embeds"),
            components=body.get("components"),
            attachments=attachments,
            message_reference=reference,
            referenced_message=referenced,
            flags=int(body.get("flags") or 0),
            nonce=body.get("nonce"),
            **extra,
        )
        data["mention_everyone"] = everyone
        self.fake.messages[int(data["id"])] = data
        return data

    async def _create_message(self, req: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        channel = self.fake.channel(int(match["cid"]))
        body = req.json or {}
        nonce_key = (channel.id, str(body.get("nonce")))
        if body.get("enforce_nonce") and nonce_key in self._nonces:
            # Discord de-duplicates retried sends that carry the same nonce.
            return 200, self.fake.messages.get(self._nonces[nonce_key])
        data = self._bot_message(channel, body, req.files)
        if body.get("nonce") is not None:
            self._nonces[nonce_key] = int(data["id"])
        if self.fake.echo_bot_messages:
            await self._echo(data, channel)
        return 200, data

    async def _echo(self, data: JSON, channel: FakeChannel) -> None:
        if self.fake.gateway.current:
            member = self.fake.guild.members.get(self.fake.bot_user.id) if channel.guild_id else None
            echo = data | ({"member": member.to_payload(include_user=False)} if member else {})
            await self.fake.dispatch("MESSAGE_CREATE", echo, guild_id=channel.guild_id)

    def _stored_message(self, channel_id: int, message_id: int) -> JSON:
        message = self.fake.messages.get(message_id)
        if message is None or int(message["channel_id"]) != channel_id:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    async def _get_message(self, req: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        return 200, self._stored_message(int(match["cid"]), int(match["mid"]))

    def _apply_edit(self, message: JSON, body: JSON) -> JSON:
        for key in ("content", "embeds", "components", "flags", "attachments"):
            if key in body and body[key] is not None:
                message[key] = body[key]
        message["edited_timestamp"] = m.iso_now()
        return message

    async def _edit_message(self, req: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        message = self._stored_message(int(match["cid"]), int(match["mid"]))
        return 200, self._apply_edit(message, req.json or {})

    async def _delete_message(self, req: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        self._stored_message(int(match["cid"]), int(match["mid"]))
        del self.fake.messages[int(match["mid"])]
        return 204, None

    # -- application commands --

    async def _sync_commands(self, req: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        if int(match["aid"]) != self.fake.application_id:
            raise ApiError(403, 50001, "Missing Access")
        scope = int(match["gid"]) if match.groupdict().get("gid") else None
        if scope is not None and scope != self.fake.guild.id:
            raise ApiError(403, 50001, "Missing Access")
        synced = []
        for command in req.json or []:
            key = (scope, command["name"])
            self.fake.command_ids.setdefault(key, self.fake.ids.next())
            synced.append(
                {
                    "type": 1,
                    "description": "",
                    "options": [],
                    "default_member_permissions": None,
                    "nsfw": False,
                    **command,
                    "id": str(self.fake.command_ids[key]),
                    "application_id": str(self.fake.application_id),
                    "version": str(self.fake.ids.next()),
                    **({"guild_id": str(scope)} if scope is not None else {}),
                }
            )
        self.fake.commands[scope] = synced
        return 200, synced

    async def _get_commands(self, req: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        scope = int(match["gid"]) if match.groupdict().get("gid") else None
        return 200, self.fake.commands.get(scope, [])

    # -- interactions --

    def _interaction(self, interaction_id: int | None, token: str) -> InteractionState:
        state = self.fake.interactions.get(interaction_id) if interaction_id is not None else None
        if state is None:
            state = next((s for s in self.fake.interactions.values() if s.handle.token == token), None)
        if state is None or state.handle.token != token:
            raise ApiError(404, 10062, "Unknown interaction")
        return state

    async def _interaction_callback(self, req: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        state = self._interaction(int(match["iid"]), match["token"])
        if (
            self.fake.interaction_timeout is not None
            and time.monotonic() - state.created > self.fake.interaction_timeout
        ):
            raise ApiError(404, 10062, "Unknown interaction")
        if state.response_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = req.json or {}
        kind, data = int(body.get("type", 0)), body.get("data") or {}
        flags = int(data.get("flags") or 0)
        message: JSON | None = None
        if kind in (4, 5):  # CHANNEL_MESSAGE_WITH_SOURCE / DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
            metadata = {
                "id": str(state.handle.id),
                "type": state.handle.payload["type"],
                "user": state.handle.payload["member"]["user"],
            }
            if kind == 5:  # the "Bot is thinking..." placeholder, legitimately empty
                state.loading = True
                message = await self._interaction_message(
                    state,
                    {"flags": flags | m.FLAG_LOADING},
                    [],
                    validate=False,
                    interaction_metadata=metadata,
                )
            else:
                message = await self._interaction_message(
                    state, data, req.files, interaction_metadata=metadata
                )
            state.original_message_id = int(message["id"])
        elif kind == 7 and state.original_message_id is not None:  # UPDATE_MESSAGE
            message = self._apply_edit(self.fake.messages[state.original_message_id], data)
        state.response_type = kind  # only now: a rejected (400) response does not acknowledge
        if "with_response" not in req.query:
            return 204, None
        result: JSON = {
            "interaction": {
                "id": str(state.handle.id),
                "type": state.handle.payload["type"],
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(flags & m.FLAG_EPHEMERAL),
            }
        }
        if message is not None:
            result["interaction"]["response_message_id"] = message["id"]
            result["resource"] = {"type": kind, "message": message}
        return 200, result

    async def _interaction_message(
        self,
        state: InteractionState,
        body: JSON,
        files: list[RecordedFile],
        *,
        validate: bool = True,
        **extra: Any,
    ) -> JSON:
        """A message sent through an interaction (response, followup): webhook-authored."""
        if state.handle.payload["type"] == m.INTERACTION_APPLICATION_COMMAND:
            extra.setdefault("message_type", m.MESSAGE_CHAT_INPUT_COMMAND)
        message = self._bot_message(
            state.channel,
            body,
            files,
            validate=validate,
            webhook_id=self.fake.application_id,
            application_id=self.fake.application_id,
            **extra,
        )
        if self.fake.echo_bot_messages and not message["flags"] & (m.FLAG_EPHEMERAL | m.FLAG_LOADING):
            await self._echo(message, state.channel)
        return message

    async def _followup(self, req: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        state = self._interaction(None, match["token"])
        if state.response_type is None:
            raise ApiError(404, 10015, "Unknown Webhook")
        body = req.json or {}
        if state.loading and state.original_message_id is not None:
            # Discord: the first followup after a deferred response replaces the "thinking" message.
            state.loading = False
            original = self.fake.messages[state.original_message_id]
            self._validate_message(body, req.files)
            message = self._apply_edit(original, {**body, "flags": original["flags"] & ~m.FLAG_LOADING})
        else:
            message = await self._interaction_message(state, dict(body), req.files)
        if req.query.get("wait", "false").lower() in ("false", "0"):
            return 204, None
        return 200, message

    async def _webhook_message(self, req: RecordedRequest, match: re.Match[str]) -> tuple[int, Any]:
        state = self._interaction(None, match["token"])
        message_id = state.original_message_id if match["mid"] == "@original" else int(match["mid"])
        if message_id is None or message_id not in self.fake.messages:
            raise ApiError(404, 10008, "Unknown Message")
        if req.method == "DELETE":
            del self.fake.messages[message_id]
            if message_id == state.original_message_id:
                # Like Discord: with the original ("thinking") response gone, the next followup
                # is a new message rather than an edit of the deleted one.
                state.original_message_id = None
                state.loading = False
            return 204, None
        message = self.fake.messages[message_id]
        if req.method == "PATCH":
            if message_id == state.original_message_id:
                state.loading = False
                message["flags"] = int(message.get("flags") or 0) & ~m.FLAG_LOADING
            self._apply_edit(message, req.json or {})
        return 200, message
