"""Anything a user can type, property-tested: the engine and the Discord formatting never fail.

Two Hypothesis tests of 2,500 generated questions each (5,000 in total) mix arbitrary Unicode,
hostile fragments (mass mentions, markdown, control and bidi characters, injection strings),
very long strings and realistic questions from the evaluation set. They check what every front
end relies on: ``Engine.ask`` and ``Conversations.ask`` return a well-formed ``Answer`` (a known
kind, a non-empty reply, JSON-serialisable, a passage of at most 1,200 characters), and what the
Discord layer makes of it fits Discord's limits and pings nobody.

The engine is built once for the module, on a temporary copy of the bundled articles.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import CONFIG_FILE, load_settings
from bot.conversation import Conversations
from bot.discord_app.formatting import (
    BUTTON_LABEL_LIMIT,
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    MAX_FIELDS,
    TITLE_LIMIT,
    Reply,
    alternatives_embed,
    looks_like_question,
    question_from_embeds,
    render_answer,
    strip_mention,
)
from bot.discord_app.views import reply_view
from bot.engine import Answer, Engine

REPO = Path(__file__).resolve().parent.parent
KINDS = {"answer", "smalltalk", "unknown"}
MAX_ANSWER_CHARS = 1200
EXAMPLES = 2500
# What Discord would turn into a ping: @everyone, @here, a role or a user (ids are 17-20 digits).
PINGS = re.compile(r"@(?:everyone|here)|<@[!&]?[0-9]{17,20}>")

HOSTILE = [
    "@everyone", "@here", "@@everyone", "<@&123456789012345678>", "<@123456789012345678>",
    "<@!123456789012345678>", "<#123456789012345678>", "**", "__", "~~", "`", "```", "```py\n", "||", "\\",
    "> ", "# ", "- ", "[x](https://e.com/a_b)", "https://e.com/x_y", "{{7*7}}", "${7*7}", "${jndi:ldap://x/a}",
    "<script>alert(1)</script>", "'; DROP TABLE users; --", "%s%n", "{0}{__class__}", "\u202e", "\u202d",
    "\u200b", "\u200d", "\ufeff", "\x00", "\x07", "\x1b[31m", "\r\n", "\t", "\n\n", "🤔", "👩‍💼", "🏳️‍🌈",
    "Что делает директор?", "首席运营官", "ماذا يفعل", "é" * 3, "…", "?", "!", ".",
]


def _realistic_questions() -> list[str]:
    lines = (REPO / "tests" / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


REALISTIC = _realistic_questions()
WORDS = sorted({w for q in REALISTIC for w in q.split()})

pieces = st.one_of(st.sampled_from(HOSTILE), st.sampled_from(WORDS), st.text(max_size=20))
mixed = st.lists(pieces, max_size=30).flatmap(
    lambda parts: st.sampled_from([" ", "", "\n"]).map(lambda sep: sep.join(parts)))
very_long = st.builds(lambda piece, size: (piece * (size // len(piece) + 1))[:size],
                      st.one_of(st.sampled_from(HOSTILE + WORDS), st.text(min_size=1, max_size=8)),
                      st.integers(min_value=1_900, max_value=12_000))
salted = st.builds(lambda question, fragment, at: question[:at] + fragment + question[at:],
                   st.sampled_from(REALISTIC), st.sampled_from(HOSTILE), st.integers(0, 120))
questions = st.one_of(st.sampled_from(REALISTIC), salted, mixed, st.text(max_size=400), very_long)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    knowledge = tmp_path_factory.mktemp("hostile") / "knowledge"
    shutil.copytree(REPO / "knowledge", knowledge, ignore=shutil.ignore_patterns(".index", "__pycache__"))
    return Engine.open(knowledge, settings=load_settings(knowledge / CONFIG_FILE))


@pytest.fixture(scope="module")
def conversations(engine: Engine) -> Conversations:
    """Shared by all examples on purpose: follow-ups are read against whatever came before."""
    return Conversations(engine.settings)


# -- the engine ------------------------------------------------------------------------------------
def check_answer(answer: Answer) -> None:
    assert answer.kind in KINDS
    assert isinstance(answer.reply, str) and answer.reply.strip()
    json.dumps(answer.to_json("id"), ensure_ascii=False)
    assert len(answer.text or "") <= MAX_ANSWER_CHARS
    if answer.kind == "answer":
        assert answer.text and answer.source
        for choice in answer.choices:
            assert choice.text and len(choice.text) <= MAX_ANSWER_CHARS


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(question=questions, user=st.integers(min_value=0, max_value=3))
def test_the_engine_answers_anything_with_a_well_formed_answer(engine: Engine, conversations: Conversations,
                                                               question: str, user: int) -> None:
    check_answer(engine.ask(question))
    answer = conversations.ask(engine, ("channel", user), question)
    check_answer(answer)
    if answer.choices:  # what picking a "did you mean" option shows
        check_answer(engine.choice_answer(question, answer.choices[0]))


# -- the Discord formatting --------------------------------------------------------------------------
def check_text(text: str | None, limit: int) -> None:
    assert len(text or "") <= limit
    assert not PINGS.search(text or ""), (text or "")[:300]


def check_embed(embed: discord.Embed) -> None:
    data = embed.to_dict()
    check_text(data.get("title"), TITLE_LIMIT)
    check_text(data.get("description"), DESCRIPTION_LIMIT)
    check_text(data.get("footer", {}).get("text"), FOOTER_LIMIT)
    assert len(data.get("fields", [])) <= MAX_FIELDS
    for f in data.get("fields", []):
        assert f["name"] and f["value"]
        check_text(f["name"], FIELD_NAME_LIMIT)
        check_text(f["value"], FIELD_VALUE_LIMIT)
    assert len(embed) <= EMBED_TOTAL_LIMIT


def check_reply(reply: Reply) -> None:
    assert reply.content or reply.embeds
    check_text(reply.content, CONTENT_LIMIT)
    assert len(reply.embeds) <= 10
    for embed in reply.embeds:
        check_embed(embed)
    view = reply_view(reply)
    rows = view.to_components() if view else []
    assert len(rows) <= 5 and all(len(row["components"]) <= 5 for row in rows)
    for button in (c for row in rows for c in row["components"]):
        assert 0 < len(button["label"]) <= BUTTON_LABEL_LIMIT and len(button["custom_id"]) <= 100


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=questions, public=st.booleans())
def test_whatever_is_asked_the_discord_reply_fits_and_pings_nobody(engine: Engine, text: str,
                                                                   public: bool) -> None:
    question = strip_mention(f"<@123456789012345678> {text}", 123456789012345678)
    looks_like_question(text)
    answer = engine.ask(question)
    reply = render_answer(answer, topics=engine.topics, public=public)
    check_reply(reply)
    if answer.kind == "unknown":
        assert reply.ephemeral, "I don't know is only shown to the asker"
    check_embed(alternatives_embed(question, answer))
    if answer.kind == "answer" and question.strip():
        recovered = question_from_embeds(discord.Embed.from_dict(e.to_dict()) for e in reply.embeds)
        assert recovered is not None, "the buttons can find the question again"
