"""End-to-end tests of ``faqbot discord``: the real bot and discord.py against the fake Discord.

Every assertion is about what went over the wire (IDENTIFY, REST bodies, interaction callbacks),
which is what a real Discord would see. The engine is built once per module on a copy of the
articles; tests that change the knowledge folder get their own copy. Helpers (the bot under test,
``running``, ``ask`` ...) are in ``test_discord_support``; failure handling, hostile input and the
token are in ``test_discord_reliability``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import os
import signal
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any, cast

import pytest
from fake_discord import (
    DEFAULT_TOKEN,
    INTENT_MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
    FakeDiscord,
    patch_discord,
)
from test_discord_support import (
    COO_QUESTION,
    EPHEMERAL,
    MESSAGES,
    UNKNOWN_QUESTION,
    FaqTestBot,
    RecordingConversations,
    SlowEngine,
    answer_button_ids,
    ask,
    assert_message_ok,
    async_test,
    buttons,
    copy_knowledge,
    custom_ids,
    embed_length,
    eventually,
    faq,
    field,
    make_config,
    mention,
    open_engine,
    outcome,
    replies_to,
    reply_to,
    running,
    store_bot_message,
)

from bot import cli
from bot.discord_app.client import FaqBot, Rebuild, rebuild_engine
from bot.discord_app.config import DiscordConfig
from bot.discord_app.formatting import FIELD_VALUE_LIMIT, trim
from bot.discord_app.runner import config_from_args, run_discord, serve
from bot.engine import Engine

pytestmark = pytest.mark.discord

NEW_ARTICLE = (
    "# Chief Happiness Officer\n\n## What does a Chief Happiness Officer do?\n\n"
    "A Chief Happiness Officer looks after employee wellbeing, organises team rituals and measures "
    "morale every quarter. The Chief Happiness Officer reports to the head of people.\n"
)
NEW_QUESTION = "What does a Chief Happiness Officer do?"
COO_SALARY = "COO $200,000"


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only knowledge copy shared by the module."""
    return copy_knowledge(tmp_path_factory.mktemp("discord") / "knowledge")


@pytest.fixture(scope="module")
def faq_engine(kb: Path) -> Engine:
    return open_engine(kb)


@pytest.fixture
def own_kb(tmp_path: Path) -> Path:
    """A knowledge copy this test may change."""
    return copy_knowledge(tmp_path / "knowledge")


# -- connecting -------------------------------------------------------------------------------------
@async_test
async def test_login_identifies_with_message_content_intent_and_does_not_sync_unasked(
        faq_engine: Engine) -> None:
    async with running(faq_engine) as (fake, bot):
        assert fake.find_requests("GET", "/users/@me")[0].headers["Authorization"] == f"Bot {DEFAULT_TOKEN}"
        (identify,) = fake.received_ops(2)
        assert identify.d["intents"] & INTENT_MESSAGE_CONTENT
        assert identify.d["intents"] == bot.intents.value
        assert identify.d["shard"] == [0, 1]
        assert not fake.find_requests("PUT", "/applications/*"), "commands are only published with --sync"


@async_test
async def test_sync_publishes_ask_and_faq_to_the_development_guild(faq_engine: Engine) -> None:
    async with FakeDiscord() as fake:
        config = make_config(sync=True, guild_id=fake.guild.id)
        async with running(faq_engine, fake=fake, config=config):
            path = f"/applications/{fake.application_id}/guilds/{fake.guild.id}/commands"
            (sync,) = fake.find_requests("PUT", path, ok=True)
            commands = {c["name"]: c for c in sync.json}
            assert set(commands) == {"ask", "faq"}
            options = {o["name"]: o for o in commands["ask"]["options"]}
            assert options["question"]["type"] == 3 and options["question"]["required"]
            assert options["question"]["max_length"] == 2000
            assert options["public"]["type"] == 5 and not options["public"].get("required")
            assert {o["name"] for o in commands["faq"]["options"]} == {"reload", "report", "sources", "stats"}
            # Everyone may see /faq (sources, stats); /faq reload and report check Manage Server themselves.
            assert commands["faq"].get("default_member_permissions") is None
            assert not fake.find_requests("PUT", f"/applications/{fake.application_id}/commands")

            _, callback = await ask(fake, COO_QUESTION)  # the guild-scoped command is routed
            assert callback.json["type"] == 4


# -- mentions and channel messages -----------------------------------------------------------------
@async_test
async def test_mention_gets_a_reply_to_that_message_without_pinging_anyone(faq_engine: Engine) -> None:
    expected = faq_engine.ask(COO_QUESTION)
    async with running(faq_engine) as (fake, _bot):
        question = await fake.inject_message(f"{fake.bot_user.mention} {COO_QUESTION}")
        reply = await fake.wait_for_bot_message()
        body = reply.json
        assert body["message_reference"]["message_id"] == int(question["id"])
        assert body["allowed_mentions"] == {"parse": [], "replied_user": False}
        (embed,) = body["embeds"]
        assert embed["description"] == expected.text
        assert field(embed, "Question") == COO_QUESTION
        assert expected.source in embed["footer"]["text"] and "confidence" in embed["footer"]["text"]
        assert custom_ids(body["components"]) == answer_button_ids(expected.passage_id)
        assert reply.response["mentions"] == [] and not reply.response["mention_everyone"]


@async_test
async def test_no_reply_without_a_mention_or_to_bots(faq_engine: Engine) -> None:
    async with running(faq_engine) as (fake, bot):
        plain = await fake.inject_message(COO_QUESTION)
        other_bot = await fake.inject_message(f"{fake.bot_user.mention} {COO_QUESTION}", author=fake.other_bot)
        flagged = await fake.inject_message(f"{fake.bot_user.mention} {COO_QUESTION}", bot=True)
        for message in (plain, other_bot, flagged):
            assert await outcome(bot, message) == "ignored"
        addressed = await fake.inject_message(f"{fake.bot_user.mention} {COO_QUESTION}")
        reply = await fake.wait_for_bot_message()
        assert await outcome(bot, {"id": reply.response["id"]}) == "ignored", "its own echoed reply"
        assert [r.json["message_reference"]["message_id"] for r in fake.find_requests("POST", MESSAGES)] == [
            int(addressed["id"])]


@async_test
async def test_a_reply_to_an_answer_is_a_follow_up_in_the_same_conversation(faq_engine: Engine) -> None:
    async with running(faq_engine) as (fake, bot):
        await fake.inject_message(f"{fake.bot_user.mention} {COO_QUESTION}")
        answer = await fake.wait_for_bot_message()
        follow_up = await fake.inject_message("And who do they report to?", reply_to=int(answer.response["id"]))
        assert await outcome(bot, follow_up) == "answered"
        (reply,) = replies_to(fake, follow_up)
        assert reply.json["allowed_mentions"] == {"parse": [], "replied_user": False}
        conversations = cast(RecordingConversations, bot.conversations)
        assert conversations.keys == [(fake.general.id, fake.user.id)] * 2

        other = await fake.inject_message("Unrelated chat", reply_to=int(follow_up["id"]))  # a reply to a user
        assert await outcome(bot, other) == "ignored"


@async_test
async def test_direct_messages_are_answered_without_a_mention(faq_engine: Engine) -> None:
    async with running(faq_engine) as (fake, _bot):
        dm = await fake.inject_message(COO_QUESTION, dm=True)
        reply = await fake.wait_for_bot_message()
        assert reply.path == f"/channels/{dm['channel_id']}/messages"
        assert reply.json["embeds"][0]["description"] == faq_engine.ask(COO_QUESTION).text


@async_test
async def test_auto_answer_only_in_configured_channels_for_confident_answers_to_questions(kb: Path) -> None:
    probe = open_engine(kb)
    candidates = [COO_QUESTION, "Does the operations director report to the COO?",
                  "who handles relationships with suppliers and partners", "does the ops director handle compliance",
                  "is the coo higher up than the vp of ops", "what skills does a head of operations need"]
    scored = sorted((a.score, q) for q in candidates if (a := probe.ask(q)).kind == "answer")
    (low, low_q), (high, high_q) = scored[0], scored[-1]
    assert high > low, "need two answered questions with different confidence"
    engine = open_engine(kb, auto_answer_threshold=(low + high) / 2)

    async with FakeDiscord() as fake:
        config = make_config(auto_channels=frozenset({fake.faq_channel.id}))
        # One user per message, so that no message is read in the context of another.
        users = [fake.create_member(f"user{i}") for i in range(5)]
        async with running(engine, fake=fake, config=config) as (_, bot):
            chat, unsure, unknown, elsewhere, confident = [
                await fake.inject_message(text, channel=channel, author=user) for user, (text, channel) in zip(
                    users, [("The COO is great.", fake.faq_channel), (low_q, fake.faq_channel),
                            (UNKNOWN_QUESTION, fake.faq_channel), (high_q, fake.general),
                            (high_q, fake.faq_channel)], strict=True)]

            assert await outcome(bot, chat) == "not-question"
            assert await outcome(bot, unsure) == "below-threshold"
            assert await outcome(bot, unknown) == "below-threshold"
            assert await outcome(bot, elsewhere) == "ignored"
            assert await outcome(bot, confident) == "answered"
            (reply,) = fake.find_requests("POST", MESSAGES)
            assert reply.json["message_reference"]["message_id"] == int(confident["id"])
            assert reply.json["allowed_mentions"]["parse"] == []
            assert bot.stats.auto_answered == 1


@async_test
async def test_two_users_talking_at_once_in_one_channel_keep_their_own_context(faq_engine: Engine) -> None:
    """A conversation is per user per channel: Alice's follow-up is read against Alice's question,
    Bob's against Bob's, even with their messages interleaved."""
    async with FakeDiscord() as fake:
        bob = fake.create_member("bob")
        async with running(faq_engine, fake=fake) as (_, bot):
            alice = fake.user
            await asyncio.gather(mention(fake, "vp ops salary?", author=alice),
                                 mention(fake, "what does a head of operations do", author=bob))
            (_, alice_reply), (_, bob_reply) = await asyncio.gather(
                mention(fake, "what about the coo?", author=alice),
                mention(fake, "and do they manage inventory?", author=bob))

            alice_embed = alice_reply.json["embeds"][0]
            assert "salary" in field(alice_embed, "Understood as")
            assert COO_SALARY in alice_embed["description"], "the COO salary, from Alice's own context"
            bob_embed = bob_reply.json["embeds"][0]
            assert "Head of Operations" in field(bob_embed, "Understood as")
            assert "head-of-operations-vs-coo.txt" in bob_embed["footer"]["text"]
            assert "Head of Operations" in bob_embed["description"]

            keys = set(cast(RecordingConversations, bot.conversations).keys)
            assert keys == {(fake.general.id, alice.id), (fake.general.id, bob.user.id)}


@async_test
async def test_replying_to_an_answer_asks_a_follow_up_without_a_mention(faq_engine: Engine) -> None:
    async with running(faq_engine) as (fake, _bot):
        _, answer = await mention(fake, "who does the coo report to")
        follow_up = await fake.inject_message("are they seen as the next ceo?", reply_to=int(answer.response["id"]))
        reply = await reply_to(fake, follow_up)
        (embed,) = reply.json["embeds"]
        assert "COO" in field(embed, "Understood as")
        assert "potential successor" in embed["description"]
        assert_message_ok(reply.json)


@async_test
async def test_silence_in_an_auto_answer_channel_leaves_the_conversation_alone(kb: Path) -> None:
    """A question the bot stays silent about was not put to it: the next mention is still read
    against what the user last asked the bot; once the bot does reply unprompted, that counts."""
    async with FakeDiscord() as fake:
        config = make_config(auto_channels=frozenset({fake.faq_channel.id}))
        silent = open_engine(kb, auto_answer_threshold=1.01)  # never confident enough to answer unasked
        async with running(silent, fake=fake, config=config) as (_, bot):
            await mention(fake, "vp ops salary?", channel=fake.faq_channel)
            aside = await fake.inject_message("what does a head of operations do?", channel=fake.faq_channel)
            assert await outcome(bot, aside) == "below-threshold"
            _, reply = await mention(fake, "what about the coo?", channel=fake.faq_channel)
            embed = reply.json["embeds"][0]
            assert "salary" in field(embed, "Understood as") and "Salary" in embed["footer"]["text"]

        eager = open_engine(kb, auto_answer_threshold=0.0)
        async with running(eager, fake=fake, config=config) as (_, bot):
            first = await fake.inject_message("vp ops salary?", channel=fake.faq_channel, author=fake.admin)
            await reply_to(fake, first)
            follow_up = await fake.inject_message("what about the coo?", channel=fake.faq_channel, author=fake.admin)
            assert await outcome(bot, follow_up) == "answered"
            embed = (await reply_to(fake, follow_up)).json["embeds"][0]
            assert "salary" in field(embed, "Understood as")


# -- /ask -------------------------------------------------------------------------------------------
@async_test
async def test_ask_answers_privately_with_passage_source_section_and_confidence(faq_engine: Engine) -> None:
    expected = faq_engine.ask(COO_QUESTION)
    async with running(faq_engine) as (fake, _bot):
        _, callback = await ask(fake, COO_QUESTION)
        assert callback.json["type"] == 4
        data = callback.json["data"]
        assert data["flags"] == EPHEMERAL
        (embed,) = data["embeds"]
        assert embed["description"] == expected.text
        assert embed["title"] == expected.title
        assert embed["footer"]["text"] == (
            f"📄 {expected.source} › {expected.section} · confidence {expected.score:.0%}")
        assert custom_ids(data["components"]) == answer_button_ids(expected.passage_id)


@async_test
async def test_ask_public_posts_for_everyone_but_i_dont_know_stays_private(faq_engine: Engine) -> None:
    async with running(faq_engine) as (fake, _bot):
        _, public = await ask(fake, COO_QUESTION, public=True)
        assert not public.json["data"].get("flags", 0) & EPHEMERAL
        assert public.json["data"]["embeds"][0]["description"] == faq_engine.ask(COO_QUESTION).text

        _, unknown = await ask(fake, UNKNOWN_QUESTION, public=True)
        data = unknown.json["data"]
        assert data["flags"] == EPHEMERAL
        (embed,) = data["embeds"]
        assert embed["title"] == "I don't know the answer to that"
        assert "components" not in data or not data["components"]
        suggestions = [line for line in embed.get("description", "").splitlines() if line.startswith("• ")]
        assert len(suggestions) <= 3


@async_test
async def test_slow_answers_are_deferred_within_the_three_second_window(faq_engine: Engine) -> None:
    async with running(SlowEngine(faq_engine, 0.3)) as (fake, bot):
        fake.interaction_timeout = 3.0
        bot.defer_after = 0.05
        interaction, callback = await ask(fake, COO_QUESTION, public=True)
        assert callback.json["type"] == 5 and not callback.json.get("data", {}).get("flags", 0) & EPHEMERAL
        followup = await fake.wait_for_followup(interaction)
        assert followup.json["embeds"][0]["description"] == faq_engine.ask(COO_QUESTION).text
        assert custom_ids(followup.json["components"]) == answer_button_ids(faq_engine.ask(COO_QUESTION).passage_id)


@async_test
async def test_a_slow_public_ask_ending_in_i_dont_know_is_replaced_by_a_private_reply(faq_engine: Engine) -> None:
    """The public "thinking..." message cannot become private, so it is deleted and the "I don't
    know" is sent as a new, ephemeral followup: nobody else sees a question the bot can't answer."""
    async with running(SlowEngine(faq_engine, 0.3)) as (fake, bot):
        fake.interaction_timeout = 3.0
        bot.defer_after = 0.05
        interaction, callback = await ask(fake, UNKNOWN_QUESTION, public=True)
        assert callback.json["type"] == 5 and not callback.json.get("data", {}).get("flags", 0) & EPHEMERAL
        thinking_id = int(callback.response["resource"]["message"]["id"])

        followup = await fake.wait_for_followup(interaction)
        (delete,) = fake.find_requests("DELETE", f"{interaction.webhook_path}/messages/@original", ok=True)
        assert delete.index < followup.index
        assert thinking_id not in fake.messages, "the public placeholder is gone"
        assert followup.json["flags"] & EPHEMERAL
        assert followup.json["embeds"][0]["title"] == "I don't know the answer to that"
        assert int(followup.response["id"]) != thinking_id and followup.response["flags"] & EPHEMERAL
        assert not followup.json.get("components")


# -- buttons ----------------------------------------------------------------------------------------
@async_test
async def test_other_answers_and_feedback_buttons(faq_engine: Engine) -> None:
    expected = faq_engine.ask(COO_QUESTION)
    async with running(faq_engine) as (fake, _bot):
        await fake.inject_message(f"{fake.bot_user.mention} {COO_QUESTION}")
        answer_id = int((await fake.wait_for_bot_message()).response["id"])

        click = await fake.inject_component_click("faqbot:answer:more", message=answer_id)
        data = (await fake.wait_for_response(click)).json["data"]
        assert data["flags"] == EPHEMERAL
        (embed,) = data["embeds"]
        assert embed["title"] == "Other answers" and field(embed, "Question") == COO_QUESTION
        alternatives = [f for f in embed["fields"] if f["name"] != "Question"]
        # each passage in full, or cut at Discord's field limit
        assert [f["value"] for f in alternatives] == [trim(a.text, FIELD_VALUE_LIMIT) for a in expected.alternatives]

        replies = []
        for custom_id, user in [("helpful", fake.user), ("helpful", fake.user), ("unhelpful", fake.user),
                                ("helpful", fake.admin)]:
            click = await fake.inject_component_click(f"faqbot:answer:{custom_id}:{expected.passage_id}",
                                                      message=answer_id, user=user)
            data = (await fake.wait_for_response(click)).json["data"]
            assert data["flags"] == EPHEMERAL
            replies.append(data["content"])
        assert replies == ["Thanks for the feedback!", "You already rated this answer — thanks!",
                           "Thanks — I've updated your feedback.", "Thanks for the feedback!"]

        _, stats = await faq(fake, "stats", fake.admin)
        fields = {f["name"]: f["value"] for f in stats.json["data"]["embeds"][0]["fields"]}
        assert fields["Feedback"] == "👍 1 helpful · 👎 1 not helpful"
        assert fields["Questions"].startswith("1 asked: 1 answered")
        assert f"{sum(n for *_, n in faq_engine.sources())} passages" in fields["Index"]
        assert "<t:" in fields["Index"], "index age"


@async_test
async def test_buttons_keep_working_after_a_restart(faq_engine: Engine) -> None:
    async with FakeDiscord() as fake:
        async with running(faq_engine, fake=fake):
            _, callback = await ask(fake, COO_QUESTION, public=True)
            answer_id = int(callback.response["resource"]["message"]["id"])

        async with running(faq_engine, fake=fake) as (_, fresh):  # a new process knows nothing
            click = await fake.inject_component_click("faqbot:answer:more", message=answer_id)
            embed = (await fake.wait_for_response(click)).json["data"]["embeds"][0]
            assert field(embed, "Question") == COO_QUESTION
            assert embed["fields"][1]["value"] == faq_engine.ask(COO_QUESTION).alternatives[0].text

            helpful = f"faqbot:answer:helpful:{faq_engine.ask(COO_QUESTION).passage_id}"
            click = await fake.inject_component_click(helpful, message=answer_id)
            assert (await fake.wait_for_response(click)).json["data"]["content"] == "Thanks for the feedback!"
            assert fresh.stats.helpful == 1

            # A button on a message without the question cannot be answered, but is not an error.
            click = await fake.inject_component_click("faqbot:answer:more")
            content = (await fake.wait_for_response(click)).json["data"]["content"]
            assert content.startswith("I can't tell which question")


CHOICE_QUESTION = "salary?"


def choice_buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in buttons(body.get("components") or []) if b["custom_id"].startswith("faqbot:choice:")]


@async_test
async def test_did_you_mean_choices_are_buttons_that_work_after_a_restart(faq_engine: Engine) -> None:
    expected = faq_engine.ask(CHOICE_QUESTION)
    assert len(expected.choices) >= 2, "the bundled articles offer a choice for a bare 'salary?'"
    async with FakeDiscord() as fake:
        async with running(faq_engine, fake=fake):
            _, reply = await mention(fake, CHOICE_QUESTION)
            assert_message_ok(reply.json)
            (embed,) = reply.json["embeds"]
            listing = field(embed, "Did you mean").splitlines()
            assert listing[:len(expected.choices)] == [f"{i}. {c.label}" for i, c in
                                                       enumerate(expected.choices, start=1)], "numbered too"
            offered = choice_buttons(reply.json)
            assert [b["custom_id"] for b in offered] == [f"faqbot:choice:{i}"
                                                         for i in range(1, len(expected.choices) + 1)]
            assert [b["label"] for b in offered] == [f"{i} · {c.label}" for i, c in
                                                     enumerate(expected.choices, start=1)]
            assert custom_ids(reply.json["components"])[:3] == answer_button_ids(expected.passage_id), \
                "the answer buttons stay"
            answer_id = int(reply.response["id"])

        async with running(faq_engine, fake=fake):  # a new process knows nothing about that message
            for number in (2, 1):
                click = await fake.inject_component_click(f"faqbot:choice:{number}", message=answer_id)
                data = (await fake.wait_for_response(click)).json["data"]
                picked = faq_engine.choice_answer(CHOICE_QUESTION, expected.choices[number - 1])
                assert data["flags"] == EPHEMERAL
                (shown,) = data["embeds"]
                assert shown["description"] == picked.text
                assert f"{picked.source} › {picked.section}" in shown["footer"]["text"]
                assert field(shown, "Question") == CHOICE_QUESTION
                assert_message_ok(data)

            # A message from before a reindex may offer an option the question no longer has.
            old = {"title": "Salary", "fields": [{"name": "Question", "value": CHOICE_QUESTION}]}
            stale = store_bot_message(fake, embeds=[old], button_ids=["faqbot:choice:5"])
            click = await fake.inject_component_click("faqbot:choice:5", message=stale)
            data = (await fake.wait_for_response(click)).json["data"]
            assert data["flags"] == EPHEMERAL and "no longer on offer" in data["content"]


@async_test
async def test_choices_of_a_private_answer_and_the_question_as_understood(faq_engine: Engine) -> None:
    expected = faq_engine.ask(CHOICE_QUESTION)
    async with running(faq_engine) as (fake, bot):
        _, callback = await ask(fake, CHOICE_QUESTION)
        assert callback.json["data"]["flags"] == EPHEMERAL and len(choice_buttons(callback.json["data"])) >= 2
        click = await fake.inject_component_click(
            "faqbot:choice:2", message=int(callback.response["resource"]["message"]["id"]))
        data = (await fake.wait_for_response(click)).json["data"]
        assert data["embeds"][0]["description"] == expected.choices[1].text
        # The pick is the clicker's latest turn: a follow-up goes on from the chosen role.
        picked = faq_engine.choice_answer(CHOICE_QUESTION, expected.choices[1], expected.topic)
        topic = bot.conversations.get((fake.general.id, fake.user.id)).topic
        assert topic is not None and topic.roles == picked.topic.roles and topic.roles != expected.topic.roles
        assert topic.subject == expected.topic.subject

        # The choices are derived again from the question as understood in context, when shown.
        understood = {"title": "Salary", "fields": [{"name": "Question", "value": "and what do they earn"},
                                                    {"name": "Understood as", "value": CHOICE_QUESTION}]}
        message_id = store_bot_message(fake, embeds=[understood], button_ids=["faqbot:choice:2"])
        click = await fake.inject_component_click("faqbot:choice:2", message=message_id)
        data = (await fake.wait_for_response(click)).json["data"]
        assert data["embeds"][0]["description"] == expected.choices[1].text


# -- safety -----------------------------------------------------------------------------------------
@async_test
async def test_everyone_here_and_roles_are_never_pinged(faq_engine: Engine) -> None:
    async with running(faq_engine) as (fake, _bot):
        role = fake.admin_role.mention
        text = f"@everyone @here {role} **{COO_QUESTION}**"
        await fake.inject_message(f"{fake.bot_user.mention} {text}", mention_roles=[fake.admin_role])
        reply = await fake.wait_for_bot_message()
        assert reply.json["allowed_mentions"]["parse"] == []
        assert not reply.response["mention_everyone"] and reply.response["mentions"] == []
        echoed = field(reply.json["embeds"][0], "Question")
        assert "@\u200beveryone" in echoed and "@\u200bhere" in echoed
        assert f"<@\u200b&{fake.admin_role.id}>" in echoed and role not in echoed
        assert "\\*\\*" in echoed, "markdown is shown literally"

        _, callback = await ask(fake, text, public=True)
        assert callback.json["data"]["allowed_mentions"]["parse"] == []
        echoed = field(callback.json["data"]["embeds"][0], "Question")
        assert "@everyone" not in echoed and "@here" not in echoed and role not in echoed


@async_test
async def test_long_passages_and_questions_stay_within_discord_limits(own_kb: Path) -> None:
    sentence = ("The zorblax calibration procedure aligns flux capacitor {} in the widget factory with the "
                "master oscillator so that production lines stay synchronised during the night shift. ")
    (own_kb / "zorblax-guide.md").write_text("# Zorblax Calibration Guide\n\n## How zorblax calibration works\n\n"
                                             + "".join(sentence.format(i) for i in range(60)) + "\n")
    engine = open_engine(own_kb, max_passage_chars=20_000)
    question = "How does zorblax calibration work?"
    assert len(engine.ask(question).text or "") > 6000

    async with running(engine) as (fake, _bot):
        await fake.inject_message(f"{fake.bot_user.mention} {question}")
        reply = await fake.wait_for_bot_message()
        (embed,) = reply.json["embeds"]
        assert len(embed["description"]) <= 4096 and embed_length(embed) <= 6000
        assert embed["description"].endswith("shift.…"), "cut at a sentence boundary"

        long_question = (f"**{question}** " * 60)[:1990]
        _, callback = await ask(fake, long_question)
        (embed,) = callback.json["data"]["embeds"]
        assert len(field(embed, "Question")) <= 1024 and embed_length(embed) <= 6000
        assert len(embed["title"]) <= 256 and len(embed["footer"]["text"]) <= 2048

        click = await fake.inject_component_click("faqbot:answer:more", message=int(reply.response["id"]))
        (embed,) = (await fake.wait_for_response(click)).json["data"]["embeds"]
        assert embed_length(embed) <= 6000 and all(len(f["value"]) <= 1024 for f in embed["fields"])


@async_test
async def test_cooldown_gives_a_friendly_message(kb: Path) -> None:
    engine = open_engine(kb, cooldown_burst=1, cooldown_seconds=60.0)
    async with running(engine) as (fake, bot):
        _, first = await ask(fake, COO_QUESTION)
        assert first.json["data"]["embeds"]
        _, second = await ask(fake, COO_QUESTION)
        assert second.json["data"]["flags"] == EPHEMERAL
        assert "try again in" in second.json["data"]["content"]

        # Mentions share the per-user bucket; the cooldown note is posted once, then silence.
        mentions = [await fake.inject_message(f"{fake.bot_user.mention} {COO_QUESTION}", author=fake.admin)
                    for _ in range(3)]
        assert [await outcome(bot, m) for m in mentions] == ["answered", "cooldown", "cooldown"]
        assert replies_to(fake, mentions[0])[0].json["embeds"]
        assert "try again in" in replies_to(fake, mentions[1])[0].json["content"]
        assert not replies_to(fake, mentions[2])


# -- administration ---------------------------------------------------------------------------------
@async_test
async def test_reload_by_an_admin_swaps_in_the_new_index(own_kb: Path) -> None:
    engine = open_engine(own_kb)
    async with running(engine) as (fake, bot):
        _, before = await ask(fake, NEW_QUESTION)
        assert "chief-happiness-officer.md" not in str(before.json)

        (own_kb / "chief-happiness-officer.md").write_text(NEW_ARTICLE)
        interaction, callback = await faq(fake, "reload", fake.admin)
        assert callback.json["type"] == 5 and callback.json["data"]["flags"] == EPHEMERAL
        followup = await fake.wait_for_followup(interaction, timeout=15)
        assert followup.json["embeds"][0]["title"] == "Index reloaded"
        assert "6 documents" in followup.json["embeds"][0]["description"]
        assert bot.engine is not engine

        _, after = await ask(fake, NEW_QUESTION)
        assert "chief-happiness-officer.md" in after.json["data"]["embeds"][0]["footer"]["text"]

        _, sources = await faq(fake, "sources", fake.admin)
        (embed,) = sources.json["data"]["embeds"]
        assert embed["title"].startswith("Knowledge: 6 documents")
        assert "chief-happiness-officer.md" in embed["description"]


@async_test
async def test_reload_is_refused_without_manage_server(faq_engine: Engine) -> None:
    async with running(faq_engine) as (fake, bot):
        _, callback = await faq(fake, "reload", fake.user)
        data = callback.json["data"]
        assert data["flags"] == EPHEMERAL and "Manage Server" in data["content"]
        assert bot.engine is faq_engine and bot.stats.reloads == 0


@async_test
async def test_everyone_can_list_sources_and_see_stats(faq_engine: Engine) -> None:
    async with running(faq_engine) as (fake, _bot):
        for subcommand in ("sources", "stats"):
            _, callback = await faq(fake, subcommand, fake.user)  # no Manage Server
            data = callback.json["data"]
            assert callback.json["type"] == 4 and data["flags"] == EPHEMERAL
            (embed,) = data["embeds"]
            assert "Manage Server" not in str(data)
            assert embed["title"].startswith("Knowledge: 5 documents" if subcommand == "sources"
                                             else "faqbot statistics")


@async_test
async def test_failed_reload_keeps_the_old_index_and_says_why(own_kb: Path) -> None:
    engine = open_engine(own_kb)
    async with running(engine) as (fake, bot):
        for article in list(own_kb.glob("*.txt")):
            article.unlink()
        interaction, _ = await faq(fake, "reload", fake.admin)
        (embed,) = (await fake.wait_for_followup(interaction, timeout=15)).json["embeds"]
        assert embed["title"].startswith("Reload failed")
        assert "no .txt or .md articles with text to answer from" in embed["description"]
        assert "Still answering from the previous index (5 documents" in embed["description"]
        assert bot.engine is engine

        _, callback = await ask(fake, COO_QUESTION)
        assert callback.json["data"]["embeds"][0]["description"] == engine.ask(COO_QUESTION).text


@async_test
async def test_answers_keep_flowing_while_the_index_is_rebuilt(faq_engine: Engine) -> None:
    started, release = threading.Event(), threading.Event()

    def slow_rebuild(old: Engine) -> Engine:
        started.set()
        release.wait(10)
        assert old.knowledge is not None
        return Engine.open(old.knowledge, old.index_dir, old.settings)

    async with running(faq_engine, rebuild=slow_rebuild) as (fake, bot):
        reload, _ = await faq(fake, "reload", fake.admin)
        await eventually(started.is_set, what="rebuild started")

        _, answer = await ask(fake, COO_QUESTION)
        assert answer.json["data"]["embeds"][0]["description"] == faq_engine.ask(COO_QUESTION).text
        second, _ = await faq(fake, "reload", fake.admin)
        busy = await fake.wait_for_followup(second)
        assert "already running" in busy.json["embeds"][0]["description"]
        assert bot.engine is faq_engine, "the old engine serves until the swap"

        release.set()
        done = await fake.wait_for_followup(reload, timeout=10)
        assert done.json["embeds"][0]["title"] == "Index reloaded"
        assert bot.engine is not faq_engine


def test_default_rebuild_uses_the_same_folder_and_threshold(kb: Path, faq_engine: Engine) -> None:
    rebuilt = rebuild_engine(faq_engine, threshold=0.9)
    assert rebuilt.knowledge == faq_engine.knowledge and rebuilt.threshold == 0.9
    assert rebuilt.sources() == faq_engine.sources()


# -- resilience -------------------------------------------------------------------------------------
@async_test
async def test_sharded_bot_connects_every_shard(faq_engine: Engine) -> None:
    args = argparse.Namespace(sync=False, shards=2, shard_ids=None, shard_count=None, threshold=None)
    config = config_from_args(args, {"DISCORD_TOKEN": DEFAULT_TOKEN})
    async with running(faq_engine, config=config) as (fake, bot):
        assert sorted(f.d["shard"] for f in fake.received_ops(2)) == [[0, 2], [1, 2]]
        assert fake.connected_shards == [0, 1] and sorted(bot.shards) == [0, 1]
        await fake.inject_message(f"{fake.bot_user.mention} {COO_QUESTION}")
        reply = await fake.wait_for_bot_message()
        assert reply.json["embeds"][0]["description"] == faq_engine.ask(COO_QUESTION).text


@async_test
async def test_processes_can_share_one_bot_by_shard_ids(faq_engine: Engine, kb: Path) -> None:
    async with FakeDiscord() as fake:
        bots = []
        async with contextlib.AsyncExitStack() as stack:
            for shard in (0, 1):  # two "processes", each with its own engine
                config = config_from_args(argparse.Namespace(shards=None, shard_ids=str(shard), shard_count=2),
                                          {"DISCORD_TOKEN": DEFAULT_TOKEN})
                _, bot = await stack.enter_async_context(running(open_engine(kb), fake=fake, config=config))
                bots.append(bot)
            assert sorted(f.d["shard"] for f in fake.received_ops(2)) == [[0, 2], [1, 2]]
            question = await fake.inject_message(f"{fake.bot_user.mention} {COO_QUESTION}")
            await fake.wait_for_bot_message()
            owner = bots[(fake.guild.id >> 22) % 2]
            assert await outcome(owner, question) == "answered"
            assert len(fake.find_requests("POST", MESSAGES)) == 1, "answered exactly once"
            assert bots[0].engine is not bots[1].engine


# -- the runner -------------------------------------------------------------------------------------
@async_test
async def test_bad_token_ends_with_one_clear_line(faq_engine: Engine) -> None:
    async with FakeDiscord() as fake:
        err = io.StringIO()
        status = await serve(DiscordConfig(token="not-the-token"), faq_engine, bot_factory=FaqTestBot,
                             err=err, handle_signals=False)
        assert status == 1
        assert err.getvalue().startswith("faqbot: error: Discord rejected the token in DISCORD_TOKEN")
        assert err.getvalue().count("\n") == 1 and "Traceback" not in err.getvalue()
        assert "not-the-token" not in err.getvalue()
        assert not fake.received_ops(2)


@async_test
async def test_missing_message_content_intent_ends_with_one_clear_line(faq_engine: Engine) -> None:
    async with FakeDiscord() as fake:
        fake.disallowed_intents = PRIVILEGED_INTENTS
        err = io.StringIO()
        status = await serve(make_config(), faq_engine, bot_factory=FaqTestBot, err=err, handle_signals=False)
        assert status == 1
        line = err.getvalue()
        assert line.startswith("faqbot: error: Discord refused the Message Content intent (close code 4014)")
        assert line.count("\n") == 1
        assert len(fake.received_ops(2)) == 1


@async_test
async def test_failed_command_sync_ends_with_one_clear_line(faq_engine: Engine) -> None:
    async with FakeDiscord() as fake:
        err = io.StringIO()
        config = make_config(sync=True, guild_id=fake.guild.id + 1)  # a guild the bot is not in
        status = await serve(config, faq_engine, bot_factory=FaqTestBot, err=err, handle_signals=False)
        assert status == 1
        assert err.getvalue() == (f"faqbot: error: could not publish the slash commands to guild "
                                  f"{fake.guild.id + 1}: 403 Forbidden (error code: 50001): Missing Access\n")


@async_test
async def test_sigterm_shuts_the_bot_down_cleanly(faq_engine: Engine) -> None:
    async with FakeDiscord():
        bots: list[FaqTestBot] = []

        def factory(engine: Engine, config: DiscordConfig, *, rebuild: Rebuild | None = None) -> FaqBot:
            bots.append(FaqTestBot(engine, config, rebuild=rebuild))
            return bots[-1]

        err = io.StringIO()
        task = asyncio.create_task(serve(make_config(), faq_engine, bot_factory=factory, err=err))
        await eventually(lambda: bots and bots[0].is_ready(), what="bot ready")
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL, "the runner handles SIGTERM"
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(task, 10) == 0
        assert bots[0].is_closed() and err.getvalue() == ""
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, "handlers are removed afterwards"


def _args(**kwargs: Any) -> argparse.Namespace:
    values = {"knowledge": None, "index": None, "config": None, "verbose": False, "top_k": None,
              "threshold": None, "sync": False, "shards": None, "shard_ids": None, "shard_count": None}
    return argparse.Namespace(**(values | kwargs))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No Discord settings from the developer's environment; cwd is an empty temporary folder."""
    for name in ("DISCORD_TOKEN", "FAQBOT_GUILD_ID", "FAQBOT_AUTO_CHANNELS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    http_level = logging.getLogger("discord.http").level
    yield tmp_path
    logging.getLogger("discord.http").setLevel(http_level)


def test_missing_token_ends_with_one_clear_line(clean_env: Path, faq_engine: Engine,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    opened = []
    status = run_discord(_args(), lambda args, rebuild=False: opened.append(args) or faq_engine)
    assert status == 1 and not opened, "fails before loading the engine"
    assert capsys.readouterr().err == (
        "faqbot: error: DISCORD_TOKEN is not set; put the bot token in the environment or in a .env file "
        "(see the Bot page of your application in the Discord Developer Portal)\n")


class FakeInThread:
    """The fake Discord served from its own event loop, for testing the synchronous entry point."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.fake = FakeDiscord(patch=False)

    def submit(self, coro: Any) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def __enter__(self) -> FakeInThread:
        self.thread.start()
        self.submit(self.fake.start()).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.submit(self.fake.stop()).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def test_run_discord_reads_dotenv_runs_and_stops_on_sigterm(clean_env: Path, faq_engine: Engine,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    (clean_env / ".env").write_text(f"DISCORD_TOKEN={DEFAULT_TOKEN}\nFAQBOT_AUTO_CHANNELS=\n")

    async def stop_when_connected(fake: FakeDiscord) -> None:
        await fake.wait_for_gateway(lambda f: f.t == "READY", timeout=10)
        os.kill(os.getpid(), signal.SIGTERM)  # the production bot installed its handler before connecting

    with FakeInThread() as server, patch_discord(server.fake.api_base, server.fake.gateway_url):
        watcher = server.submit(stop_when_connected(server.fake))
        status = run_discord(_args(verbose=True), lambda args, rebuild=False: faq_engine)
        watcher.result(5)
    assert status == 0
    assert os.environ.get("DISCORD_TOKEN") == DEFAULT_TOKEN, "read from .env"
    err = capsys.readouterr().err
    assert "Shut down cleanly" in err
    assert DEFAULT_TOKEN not in err, "the token is never logged, even at DEBUG"


def test_reload_reopens_the_engine_so_config_changes_are_picked_up(clean_env: Path, own_kb: Path) -> None:
    """``faqbot discord``'s reload is ``open_engine(args, rebuild=True)``: the config file is read
    again, like on a restart (here it lowers the longest question accepted)."""
    (clean_env / ".env").write_text(f"DISCORD_TOKEN={DEFAULT_TOKEN}\n")
    opened: list[bool] = []

    def open_and_record(args: argparse.Namespace, rebuild: bool = False) -> Engine:
        opened.append(rebuild)
        return cli.open_engine(args, rebuild=rebuild)

    async def session(fake: FakeDiscord) -> tuple[Any, Any, Any]:
        await fake.wait_for_gateway(lambda f: f.t == "READY", timeout=10)
        try:
            _, before = await ask(fake, COO_QUESTION)
            (own_kb / "faqbot.toml").write_text("[answering]\nmax_question_chars = 12\n")
            interaction, _ = await faq(fake, "reload", fake.admin)
            reloaded = await fake.wait_for_followup(interaction, timeout=15)
            _, after = await ask(fake, COO_QUESTION)
            return before, reloaded, after
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    with FakeInThread() as server, patch_discord(server.fake.api_base, server.fake.gateway_url):
        watcher = server.submit(session(server.fake))
        status = run_discord(_args(knowledge=own_kb), open_and_record)
        before, reloaded, after = watcher.result(5)
    assert status == 0 and opened == [False, True]
    assert before.json["data"]["embeds"][0]["description"]
    assert reloaded.json["embeds"][0]["title"] == "Index reloaded"
    assert "keep it under 12 characters" in after.json["data"]["embeds"][0]["description"]
