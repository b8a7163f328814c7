"""Helpers shared by the Discord test modules: the bot under test, running it against the fake,
and reading what went over the wire. It holds no tests; it is named ``test_discord_*`` to live
with the modules that use it (``tests/`` is on ``sys.path``, like for ``fake_discord``).

Tests are plain functions running ``asyncio.run`` (see ``async_test``), so no pytest-asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from pathlib import Path
from typing import Any

from fake_discord import DEFAULT_TOKEN, FakeDiscord, FakeInteraction, RecordedRequest, run_client
from fake_discord.models import build_message

from bot.config import Settings
from bot.conversation import Conversations
from bot.discord_app.client import FaqBot
from bot.discord_app.config import DiscordConfig
from bot.engine import Answer, Engine

REPO_KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
TEST_TIMEOUT = 30.0
MESSAGES = "/channels/*/messages"
EPHEMERAL = 64
COO_QUESTION = "What does a COO do?"
UNKNOWN_QUESTION = "How do I reverse a linked list in python?"
BUTTON_IDS = ["faqbot:answer:more", "faqbot:answer:helpful", "faqbot:answer:unhelpful"]


def answer_button_ids(passage_id: str | None) -> list[str]:
    """The answer buttons' custom ids: the feedback buttons name the passage they rate."""
    assert passage_id, "an answer has a passage id"
    return [BUTTON_IDS[0], *(f"{b}:{passage_id}" for b in BUTTON_IDS[1:])]

# Anything Discord would turn into a ping: @everyone/@here, a role, a user (real ids: 17-20 digits).
PINGS = re.compile(r"@(?:everyone|here)|<@[!&]?\d{17,20}>")
TITLE_LIMIT, DESCRIPTION_LIMIT, FIELD_NAME_LIMIT, FIELD_VALUE_LIMIT = 256, 4096, 256, 1024
FOOTER_LIMIT, EMBED_TOTAL_LIMIT, CONTENT_LIMIT, BUTTON_LABEL_LIMIT = 2048, 6000, 2000, 80


def async_test(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test body in a fresh event loop with an overall timeout."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(fn(*args, **kwargs), TEST_TIMEOUT))

    return wrapper


def copy_knowledge(dest: Path) -> Path:
    """The bundled articles without their config file, so tests choose settings explicitly."""
    shutil.copytree(REPO_KNOWLEDGE, dest, ignore=shutil.ignore_patterns(".index", "__pycache__", "faqbot.toml"))
    return dest


def open_engine(knowledge: Path, **settings: Any) -> Engine:
    """An engine that never rate-limits unless a test asks for it."""
    return Engine.open(knowledge, None, Settings(**({"cooldown_burst": 1000} | settings)))


# -- the bot under test -----------------------------------------------------------------------------
class RecordingConversations(Conversations):
    """Conversations that remember which keys were asked in."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.keys: list[Hashable] = []

    def ask(self, engine: Engine, key: Hashable, question: str, remember: bool = True) -> Answer:
        self.keys.append(key)
        return super().ask(engine, key, question, remember)


class FaqTestBot(FaqBot):
    """The production bot with test timings, recording what it decided for each message."""

    def __init__(self, engine: Engine, config: DiscordConfig, **kwargs: Any) -> None:
        super().__init__(engine, config, guild_ready_timeout=0.05, **kwargs)
        self.conversations = RecordingConversations(engine.settings)
        self.outcomes: dict[int, str] = {}

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py waits 5 s between IDENTIFYs (Discord's rate limit); pointless against the fake."""

    async def on_faqbot_message_handled(self, message: Any, outcome: str) -> None:
        self.outcomes[message.id] = outcome


class SlowEngine(Engine):
    """The real engine (same index, same settings), thinking for ``delay`` seconds per question."""

    def __init__(self, engine: Engine, delay: float) -> None:
        super().__init__(engine.retriever, engine.settings, knowledge=engine.knowledge,
                         index_dir=engine.index_dir, built_at=engine.built_at,
                         calibration={"threshold": engine.threshold, "confidence_weights": engine.weights,
                                      "confidence_bias": engine.bias})
        self.delay = delay

    def ask(self, question: str, topic: Any = None) -> Answer:
        time.sleep(self.delay)
        return super().ask(question, topic)


def make_config(**kwargs: Any) -> DiscordConfig:
    return DiscordConfig(token=DEFAULT_TOKEN, **kwargs)


@contextlib.asynccontextmanager
async def running(engine: Engine, *, fake: FakeDiscord | None = None, config: DiscordConfig | None = None,
                  bot_class: type[FaqTestBot] = FaqTestBot,
                  **bot_kwargs: Any) -> AsyncIterator[tuple[FakeDiscord, FaqTestBot]]:
    """Fake server (unless given) + a connected, ready bot; both torn down on exit."""
    async with contextlib.AsyncExitStack() as stack:
        if fake is None:
            fake = await stack.enter_async_context(FakeDiscord())
        bot = bot_class(engine, config or DiscordConfig(token=fake.token), **bot_kwargs)
        await stack.enter_async_context(run_client(bot, fake.token))
        yield fake, bot


# -- waiting and reading the wire -------------------------------------------------------------------
async def eventually(condition: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout}s")
        await asyncio.sleep(0.01)


async def outcome(bot: FaqTestBot, message: dict[str, Any], timeout: float = 5.0) -> str:
    """What the bot decided for an injected message, once it has finished handling it."""
    message_id = int(message["id"])
    await eventually(lambda: message_id in bot.outcomes, timeout, what=f"handling of message {message_id}")
    return bot.outcomes[message_id]


def is_send(r: RecordedRequest) -> bool:
    return r.matches("POST", MESSAGES)


def replies_to(fake: FakeDiscord, message: dict[str, Any]) -> list[RecordedRequest]:
    """The bot's successful replies to ``message``."""
    return [r for r in fake.find_requests("POST", MESSAGES, ok=True)
            if (r.json.get("message_reference") or {}).get("message_id") == int(message["id"])]


async def reply_to(fake: FakeDiscord, message: dict[str, Any], timeout: float = 5.0) -> RecordedRequest:
    """Wait for the bot's (successful) reply to ``message``."""
    target = int(message["id"])
    return await fake.wait_for_bot_message(
        lambda r: (r.json.get("message_reference") or {}).get("message_id") == target, timeout=timeout)


async def mention(fake: FakeDiscord, question: str, **kwargs: Any) -> tuple[dict[str, Any], RecordedRequest]:
    """Ask the bot by mentioning it; (the user's message, the bot's reply)."""
    message = await fake.inject_message(f"{fake.bot_user.mention} {question}", **kwargs)
    return message, await reply_to(fake, message)


def store_bot_message(fake: FakeDiscord, *, embeds: list[dict[str, Any]], button_ids: list[str]) -> int:
    """A message "the bot posted earlier" (e.g. before a restart or a reindex) with these buttons;
    Discord only delivers clicks on buttons a message really has. Returns its id."""
    row = {"type": 1, "components": [{"type": 2, "style": 1, "label": custom_id, "custom_id": custom_id}
                                     for custom_id in button_ids]}
    message = build_message(message_id=fake.ids.next(), channel=fake.general, author=fake.bot_user,
                            embeds=embeds, components=[row])
    fake.messages[int(message["id"])] = message
    return int(message["id"])


def custom_ids(components: list[dict[str, Any]]) -> list[str]:
    return [c["custom_id"] for row in components for c in row["components"]]


def buttons(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for row in components for c in row["components"]]


def field(embed: dict[str, Any], name: str) -> str:
    return next(f["value"] for f in embed.get("fields", []) if f["name"] == name)


def embed_length(embed: dict[str, Any]) -> int:
    """Discord's 6,000-character rule: title, description, field names/values, footer, author."""
    return (len(embed.get("title", "")) + len(embed.get("description", ""))
            + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
            + len(embed.get("footer", {}).get("text", "")) + len(embed.get("author", {}).get("name", "")))


def embed_texts(embed: dict[str, Any]) -> list[str]:
    """Every piece of text a user sees in an embed."""
    texts = [embed.get("title", ""), embed.get("description", ""), embed.get("footer", {}).get("text", ""),
             embed.get("author", {}).get("name", "")]
    for f in embed.get("fields", []):
        texts += [f["name"], f["value"]]
    return texts


def assert_message_ok(body: dict[str, Any]) -> None:
    """A message body the bot sent: within Discord's limits, pinging nobody, not even by accident.

    Both defences are checked: ``allowed_mentions`` parses nothing AND the text itself holds no
    live mention (it may be shown or sent again somewhere without the allowed_mentions guard).
    """
    assert body.get("content") or body.get("embeds"), "a message says something"
    if "allowed_mentions" in body:  # interaction responses carry it inside "data"
        assert body["allowed_mentions"]["parse"] == []
    content = body.get("content") or ""
    assert len(content) <= CONTENT_LIMIT and not PINGS.search(content), content[:200]
    assert "Traceback" not in content
    for embed in body.get("embeds") or []:
        assert len(embed.get("title", "")) <= TITLE_LIMIT
        assert len(embed.get("description", "")) <= DESCRIPTION_LIMIT
        assert len(embed.get("footer", {}).get("text", "")) <= FOOTER_LIMIT
        assert len(embed.get("fields", [])) <= 25
        for f in embed.get("fields", []):
            assert 0 < len(f["name"]) <= FIELD_NAME_LIMIT and 0 < len(f["value"]) <= FIELD_VALUE_LIMIT
        assert embed_length(embed) <= EMBED_TOTAL_LIMIT
        for text in embed_texts(embed):
            assert not PINGS.search(text), text[:200]
            assert "Traceback" not in text
    for button in buttons(body.get("components") or []):
        assert 0 < len(button.get("label") or "") <= BUTTON_LABEL_LIMIT


async def ask(fake: FakeDiscord, question: str, **options: Any) -> tuple[FakeInteraction, RecordedRequest]:
    """``/ask question`` as ``user`` (default: fake.user); (the interaction, its response callback)."""
    user = options.pop("user", None)
    interaction = await fake.inject_slash_command("ask", options={"question": question, **options}, user=user)
    return interaction, await fake.wait_for_response(interaction)


async def faq(fake: FakeDiscord, subcommand: str, user: Any) -> tuple[FakeInteraction, RecordedRequest]:
    interaction = await fake.inject_slash_command("faq", subcommand=subcommand, user=user)
    return interaction, await fake.wait_for_response(interaction)
