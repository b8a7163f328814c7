"""Unit tests of the Discord layer's pure parts: formatting, escaping, splitting, config, cooldowns.

No network and no bot: these functions decide what goes into every message, so their rules
(limits, escaping, reversibility) are checked directly, with property tests for "any text".
"""

from __future__ import annotations

import re

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.discord_app.config import DiscordConfig, DiscordSetupError, parse_shards, parse_snowflakes
from bot.discord_app.formatting import (
    BUTTON_LABEL_LIMIT,
    CHOICES_FIELD,
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    QUESTION_FIELD,
    RESOLVED_FIELD,
    TITLE_LIMIT,
    ZWSP,
    StatsView,
    alternatives_embed,
    answer_embed,
    button_label,
    escape_user_text,
    fit_embed,
    looks_like_question,
    question_from_embeds,
    render_answer,
    sources_embeds,
    split_text,
    stats_embed,
    strip_mention,
    trim,
    unescape_user_text,
    unknown_embed,
)
from bot.discord_app.ratelimit import Cooldowns
from bot.engine import Alternative, Answer

ROLE = "<@&123456789012345678>"
USER = "<@123456789012345678>"
PINGS = re.compile(r"@(?:everyone|here)|<@[!&]?\d{17,20}>")
TOKENS = ["@everyone", "@here", ROLE, USER, "**", "__", "~~", "`", "```", "|", "||", "\\", "> ", "# ",
          "- ", "[link](https://example.com/a_b)", "https://example.com/x_y", ". ", "! ", "? ", "\n",
          "\n\n", " ", "word", "COO", "…"]
text_pieces = st.one_of(st.sampled_from(TOKENS), st.text(st.characters(exclude_characters=ZWSP), max_size=30))
texts = st.lists(text_pieces, max_size=300).map("".join)


def assert_embed_within_limits(embed: discord.Embed) -> None:
    data = embed.to_dict()
    assert len(data.get("title", "")) <= TITLE_LIMIT
    assert len(data.get("description", "")) <= DESCRIPTION_LIMIT
    assert len(data.get("footer", {}).get("text", "")) <= FOOTER_LIMIT
    assert len(data.get("fields", [])) <= 25
    for f in data.get("fields", []):
        assert 0 < len(f["name"]) <= FIELD_NAME_LIMIT
        assert 0 < len(f["value"]) <= FIELD_VALUE_LIMIT
    assert len(embed) <= EMBED_TOTAL_LIMIT


def make_answer(question: str = "What does a COO do?", text: str = "A COO runs operations.", **kw) -> Answer:
    values = {"kind": "answer", "reply": text, "score": 0.87, "text": text, "source": "coo.txt",
              "title": "COO guide", "section": "Role"} | kw
    return Answer(question, **values)


# -- trimming and splitting -----------------------------------------------------------------------
def test_trim_cuts_at_a_sentence_boundary() -> None:
    text = "First sentence here. Second sentence is a bit longer. Third one never fits at all."
    out = trim(text, 60)
    assert out == "First sentence here. Second sentence is a bit longer.…"
    assert trim("short", 10) == "short"


def test_trim_falls_back_to_a_word_boundary_then_a_hard_cut() -> None:
    assert trim("one two three four five six seven", 20) == "one two three four…"
    assert trim("x" * 50, 10) == "x" * 9 + "…"


def test_trim_never_leaves_a_dangling_escape() -> None:
    escaped = escape_user_text("a" * 8 + "*" * 10)
    out = trim(escaped, 12)
    assert not re.search(r"(?<!\\)(?:\\\\)*\\…$", out), out


def test_split_text_prefers_paragraphs_and_sentences() -> None:
    para = "Sentence one is here. " * 40
    parts = split_text(para.strip() + "\n\n" + para.strip(), 1000)
    assert all(len(p) <= 1000 for p in parts)
    assert all(p.endswith(".") for p in parts)


@settings(max_examples=200, deadline=None)
@given(texts, st.integers(min_value=5, max_value=CONTENT_LIMIT))
def test_any_text_splits_into_parts_within_the_limit(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert "".join("".join(parts).split()) == "".join(text.split()), "nothing lost but whitespace"


@settings(max_examples=200, deadline=None)
@given(texts, st.integers(min_value=0, max_value=3000))
def test_any_text_trims_within_the_limit(text: str, limit: int) -> None:
    out = trim(text, limit)
    assert len(out) <= limit
    if len(text) <= limit:
        assert out == text


# -- escaping ---------------------------------------------------------------------------------------
def test_mass_mentions_and_role_pings_are_escaped() -> None:
    out = escape_user_text(f"@everyone @here {ROLE} {USER} **bold** `code`")
    assert not PINGS.search(out)
    assert f"@{ZWSP}everyone" in out and f"@{ZWSP}here" in out
    assert "\\*\\*bold\\*\\*" in out and "\\`code\\`" in out


@settings(max_examples=300, deadline=None)
@given(texts)
def test_any_escaped_text_pings_nobody_and_can_be_read_back(text: str) -> None:
    escaped = escape_user_text(text)
    assert not PINGS.search(escaped)
    back = unescape_user_text(escaped)
    assert back.replace("\\", "") == text.replace("\\", ""), "only backslashes inside links may be lost"
    if "\\" not in text:
        assert back == text


@settings(max_examples=150, deadline=None)
@given(texts, st.integers(min_value=1, max_value=3000))
def test_trimmed_escaped_text_still_pings_nobody(text: str, limit: int) -> None:
    assert not PINGS.search(trim(escape_user_text(text), limit))
    assert all(not PINGS.search(p) for p in split_text(escape_user_text(text), max(limit, 5)))


# -- embeds -------------------------------------------------------------------------------------------
def test_answer_embed_has_passage_question_source_section_and_confidence() -> None:
    embed = answer_embed(make_answer())
    assert embed.title == "COO guide"
    assert embed.description == "A COO runs operations."
    assert [(f.name, f.value) for f in embed.fields] == [(QUESTION_FIELD, "What does a COO do?")]
    assert embed.footer.text == "📄 coo.txt › Role · confidence 87%"


def test_question_is_recovered_from_the_answer_embed() -> None:
    question = "Is the **COO** above @everyone? `x` \\ [a](b) _c_"
    embed = answer_embed(make_answer(question))
    round_tripped = discord.Embed.from_dict(embed.to_dict())  # as it comes back from Discord
    assert question_from_embeds([round_tripped]) == question
    assert question_from_embeds([discord.Embed(title="no question here")]) is None


@settings(max_examples=150, deadline=None)
@given(question=texts, passage=texts, title=texts, section=st.one_of(st.none(), texts),
       source=st.text(max_size=300), score=st.floats(0, 1))
def test_any_answer_embed_fits_and_pings_nobody(question: str, passage: str, title: str, section: str | None,
                                                source: str, score: float) -> None:
    answer = make_answer(question, passage or "x", title=title, section=section, source=source, score=score,
                         alternatives=(Alternative(passage or "y", source, section, score),) * 3)
    for embed in (answer_embed(answer), alternatives_embed(question, answer)):
        assert_embed_within_limits(embed)
        for f in embed.fields:
            if f.name == QUESTION_FIELD:
                assert not PINGS.search(f.value or "")


def test_long_passage_is_trimmed_at_a_sentence_boundary() -> None:
    passage = " ".join(f"Sentence number {i} explains one more detail of the role." for i in range(400))
    embed = answer_embed(make_answer(text=passage, question="q" * 1900))
    assert_embed_within_limits(embed)
    assert embed.description is not None and embed.description.endswith(".…")
    assert len(embed.fields[0].value or "") <= FIELD_VALUE_LIMIT


def test_fit_embed_enforces_the_total_limit() -> None:
    embed = discord.Embed(title="t" * 400, description="d. " * 2000)
    for i in range(30):
        embed.add_field(name=f"n{i}" * 100, value="v " * 800)
    embed.set_footer(text="f" * 3000)
    assert_embed_within_limits(fit_embed(embed))


def test_unknown_embed_offers_at_most_three_suggestions() -> None:
    answer = Answer("refunds?", "unknown", "Sorry", suggestions=("A", "B", "C", "D"), reason="low_confidence")
    embed = unknown_embed(answer, "COO")
    assert embed.title == "I don't know the answer to that"
    assert embed.description == "Closest topics I know about:\n• A\n• B\n• C"
    no_suggestions = unknown_embed(Answer("x", "unknown", "Sorry", reason="low_confidence"), "COO and VP")
    assert no_suggestions.description == "I can answer questions about COO and VP."


def test_render_answer_visibility() -> None:
    assert render_answer(make_answer(), topics="", public=True).ephemeral is False
    assert render_answer(make_answer(), topics="").ephemeral is True
    unknown = Answer("x", "unknown", "Sorry", reason="low_confidence")
    assert render_answer(unknown, topics="", public=True).ephemeral is True, "I don't know is always private"
    chat = render_answer(Answer("hi", "smalltalk", "Hello @everyone!"), topics="", public=True)
    assert chat.content == f"Hello @{ZWSP}everyone!" and not chat.buttons


LONG_LABEL = " ".join(["very long label"] * 10)


def test_did_you_mean_choices_are_numbered_and_become_button_labels() -> None:
    choices = (Alternative("COO pay", "coo.txt", "Salary", 0.8, "COO: Salary"),
               Alternative("VP pay", "vp.txt", "Pay", 0.7, "VP of Operations: " + LONG_LABEL),
               Alternative("x", "ops.txt", "Pay", 0.7, ""))
    answer = make_answer("salary?", choices=choices, resolved="salary? COO")
    reply = render_answer(answer, topics="")
    fields = {f.name: f.value for f in reply.embeds[0].fields}
    assert fields[CHOICES_FIELD].splitlines()[:3] == ["1. COO: Salary", "2. VP of Operations: " + LONG_LABEL,
                                                      "3. ops.txt › Pay"]
    assert fields[RESOLVED_FIELD] == "salary? COO"
    assert reply.choices[0] == "1 · COO: Salary" and reply.choices[2] == "3 · ops.txt › Pay"
    assert len(reply.choices[1]) <= BUTTON_LABEL_LIMIT and reply.choices[1].endswith("…")
    assert render_answer(make_answer(), topics="").choices == ()


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=5), texts)
def test_any_button_label_is_one_non_empty_line_within_the_limit(number: int, text: str) -> None:
    label = button_label(number, text)
    assert 0 < len(label) <= BUTTON_LABEL_LIMIT and "\n" not in label and label.startswith(f"{number} · ")


def test_sources_are_paginated_within_limits() -> None:
    sources = [(f"document-{i:03}-{'x' * 60}.txt", f"A long title number {i} " * 4, i) for i in range(200)]
    pages = sources_embeds(sources)
    assert len(pages) > 1
    for page in pages:
        assert_embed_within_limits(page)
    assert sum((p.description or "").count("\n") + 1 for p in pages) == 200


def test_stats_embed_shows_counts_and_index_age() -> None:
    view = StatsView(documents=5, passages=64, built_at=1_700_000_000, started_at=1_700_000_100, questions=7,
                     answered=5, unknown=1, smalltalk=1, auto_answered=2, helpful=3, not_helpful=1, reloads=1,
                     guilds=1, shards="0 of 1")
    values = {f.name: f.value for f in stats_embed(view).fields}
    assert "64 passages" in values["Index"] and "<t:1700000000:R>" in values["Index"]
    assert values["Questions"].startswith("7 asked: 5 answered")
    assert values["Feedback"] == "👍 3 helpful · 👎 1 not helpful"


# -- classification -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["What does a COO do?", "how much does a COO earn", "Does anyone know the answer",
                                  "Is the VP above the COO", "coo salary?", "Can’t a COO also be CFO",
                                  "**anyone know this?**"])
def test_questions_are_recognised(text: str) -> None:
    assert looks_like_question(text)


@pytest.mark.parametrize("text", ["", "Thanks everyone!", "The COO is great.", "lol", "I wonder about the COO",
                                  "Meeting at 3pm"])
def test_chat_is_not_a_question(text: str) -> None:
    assert not looks_like_question(text)


def test_strip_mention() -> None:
    assert strip_mention("<@42> what is a COO?", 42) == "what is a COO?"
    assert strip_mention("hey <@!42>, what is a COO?", 42) == "hey what is a COO?"
    assert strip_mention("<@42>", 42) == ""


# -- config -------------------------------------------------------------------------------------------
def test_config_from_environment() -> None:
    config = DiscordConfig.from_sources({"DISCORD_TOKEN": " secret-token ", "FAQBOT_GUILD_ID": "123",
                                         "FAQBOT_AUTO_CHANNELS": "5, 6 ,7"}, sync=True)
    assert config.token == "secret-token" and config.guild_id == 123 and config.sync
    assert config.auto_channels == frozenset({5, 6, 7})
    assert (config.shard_count, config.shard_ids) == (1, None)
    assert "secret-token" not in repr(config) and "secret-token" not in str(config)


@pytest.mark.parametrize(("env", "message"), [
    ({}, "DISCORD_TOKEN is not set"),
    ({"DISCORD_TOKEN": "t", "FAQBOT_GUILD_ID": "abc"}, "FAQBOT_GUILD_ID must be a Discord id"),
    ({"DISCORD_TOKEN": "t", "FAQBOT_AUTO_CHANNELS": "1,x"}, "FAQBOT_AUTO_CHANNELS must be a Discord id"),
])
def test_bad_environment_is_one_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(DiscordSetupError, match=message):
        DiscordConfig.from_sources(env)


def test_shard_options() -> None:
    assert parse_shards(None, None, None) == (1, None)
    assert parse_shards(3, None, None) == (3, None)
    assert parse_shards(None, "2, 0", 4) == (4, (0, 2))
    assert parse_shards(None, None, 2) == (2, None)
    for args in ((2, "0", 2), (None, "0,1", None), (None, "4", 4), (0, None, None), (None, " ", 2)):
        with pytest.raises(DiscordSetupError):
            parse_shards(*args)
    assert parse_snowflakes("X", "") == frozenset()


# -- cooldowns ----------------------------------------------------------------------------------------
def test_token_bucket_allows_a_burst_then_one_per_period() -> None:
    now = [0.0]
    cooldowns = Cooldowns(seconds=3.0, burst=2, clock=lambda: now[0])
    assert cooldowns.hit("u").allowed and cooldowns.hit("u").allowed
    refused = cooldowns.hit("u")
    assert not refused.allowed and refused.retry_after == pytest.approx(3.0) and refused.first_refusal
    assert not cooldowns.hit("u").first_refusal, "told once per cooldown"
    assert cooldowns.hit("other").allowed, "per user"
    now[0] = 1.5
    assert cooldowns.check("u") == pytest.approx(1.5)
    now[0] = 3.0
    assert cooldowns.check("u") == 0.0 and cooldowns.hit("u").allowed
    assert not cooldowns.hit("u").allowed


def test_cooldowns_are_bounded_and_can_be_disabled() -> None:
    cooldowns = Cooldowns(seconds=1.0, burst=1, max_keys=10)
    for user in range(100):
        cooldowns.hit(user)
    assert len(cooldowns._buckets) == 10
    disabled = Cooldowns(seconds=0, burst=3)
    assert all(disabled.hit("u").allowed for _ in range(100))
