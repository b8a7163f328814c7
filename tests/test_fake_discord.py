"""The fake Discord server works with the REAL discord.py client.

These tests use a tiny bot defined here (not the project's bot) so that they
prove the fake itself: if one fails, the fake or discord.py changed, not the
FAQ logic.  Every assertion is about what went over the wire.

Tests are plain sync functions that drive ``asyncio.run`` (see
:func:`async_test`), so no pytest-asyncio is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import discord
import pytest
from discord import app_commands

# tests/ has no __init__.py, so pytest puts tests/ itself on sys.path (works for both
# `pytest` and `python -m pytest`); the fake is imported as a top-level package.
from fake_discord import PRIVILEGED_INTENTS, FakeDiscord, RecordedRequest, run_client

pytestmark = pytest.mark.discord

TEST_TIMEOUT = 20.0
HELPFUL_ID = "faqbot-test:helpful"
MESSAGES = "/channels/*/messages"


def async_test(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test body in a fresh event loop with an overall timeout."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(fn(*args, **kwargs), TEST_TIMEOUT))

    return wrapper


# --------------------------------------------------------------------- tiny bot --


class HelpfulView(discord.ui.View):
    """Persistent view (timeout=None + fixed custom_id): survives bot restarts."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Helpful", style=discord.ButtonStyle.success, custom_id=HELPFUL_ID)
    async def helpful(self, interaction: discord.Interaction, button: discord.ui.Button[HelpfulView]) -> None:
        await interaction.response.send_message("Thanks for the feedback!", ephemeral=True)


class TinyBot(discord.Client):
    """One slash command group (/faq ask, /faq slow), one on_message, one persistent view."""

    def __init__(self, guild_id: int, **options: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        super().__init__(
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=0.05,
            **options,
        )
        self.guild_id = guild_id
        self.ready_count = 0
        self.tree = app_commands.CommandTree(self)
        faq = app_commands.Group(name="faq", description="Ask the FAQ bot")

        @faq.command(name="ask", description="Ask a question")
        async def ask(interaction: discord.Interaction, question: str) -> None:
            embed = discord.Embed(title=f"Q: {question}", description="A: see the docs")
            await interaction.response.send_message(embed=embed, ephemeral=True)

        @faq.command(name="slow", description="Ask a question that needs thinking")
        async def slow(interaction: discord.Interaction, question: str) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.followup.send(f"Thought hard about: {question}", ephemeral=True)

        self.tree.add_command(faq, guild=discord.Object(guild_id))

    async def setup_hook(self) -> None:
        self.add_view(HelpfulView())
        await self.tree.sync(guild=discord.Object(self.guild_id))

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s before every non-initial IDENTIFY; pointless against the fake."""

    async def on_ready(self) -> None:
        self.ready_count += 1

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        if self.user in message.mentions or message.content.startswith("!faq"):
            await message.reply(f"{message.author.mention} you asked: {message.content}", view=HelpfulView())


class TinyShardedBot(TinyBot, discord.AutoShardedClient):
    """The same bot, sharded; the shard count comes from GET /gateway/bot."""


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeDiscord | None = None, bot_class: type[TinyBot] = TinyBot
) -> AsyncIterator[tuple[FakeDiscord, TinyBot]]:
    """Fake server + connected, ready TinyBot; both torn down on exit."""
    async with contextlib.AsyncExitStack() as stack:
        if fake is None:
            fake = await stack.enter_async_context(FakeDiscord())
        bot = bot_class(fake.guild.id)
        await stack.enter_async_context(run_client(bot, fake.token))
        yield fake, bot


def is_send(r: RecordedRequest) -> bool:
    return r.matches("POST", MESSAGES)


# ------------------------------------------------------------------------ tests --


@async_test
async def test_login_identify_ready_and_guild_cache() -> None:
    async with running_bot() as (fake, bot):
        me = fake.find_requests("GET", "/users/@me")[0]
        assert me.headers["Authorization"] == f"Bot {fake.token}"
        assert fake.find_requests("GET", "/oauth2/applications/@me", ok=True)

        identify = fake.received_ops(2)
        assert len(identify) == 1
        assert identify[0].d["token"] == fake.token
        assert identify[0].d["intents"] == bot.intents.value
        assert fake.received_ops(1), "the client heartbeats right after HELLO"

        assert bot.ready_count == 1
        assert bot.user is not None and bot.user.id == fake.bot_user.id
        assert bot.application_id == fake.application_id
        guild = bot.get_guild(fake.guild.id)
        assert guild is not None and guild.name == fake.guild.name
        assert guild.get_channel(fake.general.id) is not None
        assert guild.me is not None and guild.me.id == fake.bot_user.id
        assert guild.owner_id == fake.admin.id
        admin_role = guild.get_role(fake.admin_role.id)
        assert admin_role is not None and admin_role.permissions.manage_guild
        assert not guild.default_role.permissions.manage_guild
        # Without the members intent Discord only sends the bot's own member.
        assert [m.id for m in guild.members] == [fake.bot_user.id]


@async_test
async def test_message_create_reaches_on_message_and_reply_is_recorded() -> None:
    async with running_bot() as (fake, _bot):
        ignored = await fake.inject_message("just chatting")
        from_bot = await fake.inject_message(f"{fake.bot_user.mention} hi", author=fake.other_bot)
        question = await fake.inject_message(f"{fake.bot_user.mention} how do refunds work?")

        reply = await fake.wait_for_bot_message()
        body = reply.json
        assert body["message_reference"]["message_id"] == int(question["id"])
        assert body["allowed_mentions"]["parse"] == []
        assert not body["allowed_mentions"].get("replied_user")
        assert fake.user.mention in body["content"]
        stored = reply.response
        assert stored["type"] == 19 and stored["author"]["id"] == str(fake.bot_user.id)
        assert stored["mentions"] == [], "AllowedMentions.none() must not ping anyone"
        assert stored["components"][0]["components"][0]["custom_id"] == HELPFUL_ID

        # The echo of the bot's own reply and the two other messages must not be answered.
        await fake.inject_message("!faq second")
        await fake.wait_for_requests(is_send, 2)
        replies = fake.find_requests("POST", MESSAGES)
        assert len(replies) == 2
        answered = {r.json["message_reference"]["message_id"] for r in replies}
        assert int(ignored["id"]) not in answered and int(from_bot["id"]) not in answered


@async_test
async def test_command_sync_payload_is_recorded() -> None:
    async with running_bot() as (fake, _bot):
        path = f"/applications/{fake.application_id}/guilds/{fake.guild.id}/commands"
        sync = await fake.wait_for_request(lambda r: r.method == "PUT" and r.path == path and r.ok)
        (faq,) = sync.json
        assert faq["name"] == "faq"
        assert {o["name"] for o in faq["options"]} == {"ask", "slow"}
        assert fake.commands[fake.guild.id][0]["id"]


@async_test
async def test_slash_command_ephemeral_embed_callback() -> None:
    async with running_bot() as (fake, _bot):
        interaction = await fake.inject_slash_command(
            "faq", subcommand="ask", options={"question": "refunds?"}
        )
        callback = await fake.wait_for_response(interaction)
        assert callback.query.get("with_response") == "1"
        assert callback.json["type"] == 4
        assert callback.json["data"]["flags"] == 64
        assert callback.json["data"]["embeds"][0]["title"] == "Q: refunds?"
        assert callback.response["resource"]["message"]["flags"] == 64


@async_test
async def test_button_click_dispatched_to_persistent_view() -> None:
    async with running_bot() as (fake, _bot):
        # A click on a message the bot never saw this session (as after a restart) ...
        click = await fake.inject_component_click(HELPFUL_ID)
        callback = await fake.wait_for_response(click)
        assert callback.json["type"] == 4
        assert callback.json["data"]["flags"] == 64
        assert callback.json["data"]["content"] == "Thanks for the feedback!"

        # ... and on a reply the bot posted itself.
        await fake.inject_message("!faq hello")
        reply = await fake.wait_for_bot_message()
        click2 = await fake.inject_component_click(HELPFUL_ID, message=int(reply.response["id"]))
        callback2 = await fake.wait_for_response(click2)
        assert callback2.json["data"]["content"] == "Thanks for the feedback!"


@async_test
async def test_deferred_interaction_then_followup() -> None:
    async with running_bot() as (fake, _bot):
        interaction = await fake.inject_slash_command("faq", subcommand="slow", options={"question": "why?"})
        callback = await fake.wait_for_response(interaction)
        assert callback.json["type"] == 5
        assert callback.json["data"]["flags"] == 64
        followup = await fake.wait_for_followup(interaction)
        assert followup.json["content"] == "Thought hard about: why?"
        assert followup.json["flags"] == 64
        assert followup.response["flags"] & 64 and not followup.response["flags"] & 128


@async_test
async def test_429_on_send_is_waited_out_and_retried_once() -> None:
    async with running_bot() as (fake, _bot):
        fake.fail_next("POST", MESSAGES, status=429, retry_after=0.05)
        await fake.inject_message("!faq limited")
        await fake.wait_for_bot_message()
        attempts = fake.find_requests("POST", MESSAGES)
        assert [r.status for r in attempts] == [429, 200]
        assert attempts[0].json["nonce"] == attempts[1].json["nonce"]
        bot_messages = [m for m in fake.messages.values() if m["author"]["id"] == str(fake.bot_user.id)]
        assert len(bot_messages) == 1


@async_test
async def test_server_errors_are_retried_without_duplicates() -> None:
    async with running_bot() as (fake, _bot):
        # discord.py sleeps 1 s before retrying a 5xx, so this test takes ~2 s.
        fake.fail_next("POST", MESSAGES, status=500)
        await fake.inject_message("!faq flaky")
        await fake.wait_for_bot_message()
        assert [r.status for r in fake.find_requests("POST", MESSAGES)] == [500, 200]

        # 502 after Discord already created the message: the retry carries the same
        # nonce and must not produce a second message.
        start = len(fake.requests.entries)
        fake.fail_next("POST", MESSAGES, status=502, after_handling=True)
        await fake.inject_message("!faq gateway timeout")
        await fake.wait_for_bot_message(start=start)
        assert [r.status for r in fake.find_requests("POST", MESSAGES)[2:]] == [502, 200]
        contents = [m["content"] for m in fake.messages.values() if "gateway timeout" in m["content"]]
        assert len(contents) == 2, "one user message + exactly one bot reply"


@async_test
async def test_gateway_drop_resumes_and_keeps_answering() -> None:
    async with running_bot() as (fake, _bot):
        (ready,) = [f for f in fake.gateway_log.entries if f.t == "READY"]
        session_id = ready.d["session_id"]
        mark = len(fake.gateway_log.entries)
        assert await fake.disconnect(4000) == 1

        resume = await fake.wait_for_gateway(lambda f: f.direction == "received" and f.op == 6, start=mark)
        assert resume.d["session_id"] == session_id and resume.d["seq"] > 0
        await fake.wait_for_gateway(lambda f: f.t == "RESUMED", start=mark)
        await fake.inject_message("!faq after resume")
        reply = await fake.wait_for_bot_message()
        assert "after resume" in reply.json["content"]
        assert len(fake.received_ops(2)) == 1, "a resume must not re-IDENTIFY"


@async_test
async def test_gateway_drop_with_invalid_session_reidentifies() -> None:
    async with running_bot() as (fake, bot):
        mark = len(fake.gateway_log.entries)
        await fake.disconnect(1001, invalidate_session=True)
        await fake.wait_for_gateway(lambda f: f.op == 9, start=mark)  # INVALID_SESSION
        await fake.wait_for_gateway(lambda f: f.t == "GUILD_CREATE", start=mark)
        assert len(fake.received_ops(2)) == 2
        await fake.inject_message("!faq after identify")
        reply = await fake.wait_for_bot_message()
        assert "after identify" in reply.json["content"]
        assert bot.get_channel(fake.general.id) is not None


@async_test
async def test_bad_token_raises_login_failure() -> None:
    async with FakeDiscord() as fake:
        bot = TinyBot(fake.guild.id)
        with pytest.raises(discord.LoginFailure):
            async with run_client(bot, "not-the-token"):
                pass
        assert [r.status for r in fake.find_requests("GET", "/users/@me")] == [401]
        assert not fake.received_ops(2), "no gateway connection after a failed login"


@async_test
async def test_disallowed_intents_close_4014_raises_privileged_intents_required() -> None:
    async with FakeDiscord() as fake:
        fake.disallowed_intents = PRIVILEGED_INTENTS
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with run_client(TinyBot(fake.guild.id), fake.token):
                pass
        assert len(fake.received_ops(2)) == 1


@async_test
async def test_close_4004_is_fatal_connection_closed() -> None:
    async with FakeDiscord() as fake:
        bot = TinyBot(fake.guild.id)
        async with run_client(bot, fake.token) as connection:
            await fake.disconnect(4004)
            with pytest.raises(discord.ConnectionClosed) as info:
                await asyncio.wait_for(connection, 5)
            assert info.value.code == 4004
        assert len(fake.received_ops(2)) == 1, "4004 must not be retried"


@async_test
async def test_auto_sharded_client_connects_every_shard() -> None:
    async with FakeDiscord() as fake:
        fake.recommended_shards = 2
        async with running_bot(fake, TinyShardedBot) as (_fake, bot):
            assert fake.find_requests("GET", "/gateway/bot", ok=True)
            assert sorted(f.d["shard"] for f in fake.received_ops(2)) == [[0, 2], [1, 2]]
            ready = [f for f in fake.gateway_log.entries if f.t == "READY"]
            assert sorted(tuple(f.d["shard"]) for f in ready) == [(0, 2), (1, 2)]
            assert fake.connected_shards == [0, 1]
            assert isinstance(bot, discord.AutoShardedClient) and sorted(bot.shards) == [0, 1]

            guild = bot.get_guild(fake.guild.id)
            assert guild is not None and guild.shard_id == (fake.guild.id >> 22) % 2
            await fake.inject_message("!faq sharded")
            reply = await fake.wait_for_bot_message()
            assert "sharded" in reply.json["content"]


@async_test
async def test_route_delay_slows_the_answer_without_failing_it() -> None:
    async with running_bot() as (fake, _bot):
        fake.delay("POST", MESSAGES, 0.2, count=1)
        await fake.inject_message("!faq slow network")
        reply = await fake.wait_for_bot_message()
        assert reply.answered_at is not None and reply.answered_at - reply.received_at >= 0.2
        assert len(fake.find_requests("POST", MESSAGES)) == 1, "a slow answer is not a failure"


@async_test
async def test_without_message_content_intent_only_mentions_carry_content() -> None:
    async with FakeDiscord() as fake:
        client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        seen: asyncio.Queue[str] = asyncio.Queue()

        @client.event
        async def on_message(message: discord.Message) -> None:
            await seen.put(message.content)

        async with run_client(client, fake.token):
            await fake.inject_message("plain text")
            assert await seen.get() == ""
            await fake.inject_message(f"{fake.bot_user.mention} visible")
            assert await seen.get() == f"{fake.bot_user.mention} visible"
