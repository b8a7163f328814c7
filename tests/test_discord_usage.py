"""The usage log in Discord, end to end against the fake Discord: questions and "Not helpful" clicks
land in the database (ids only, user hashed), the event loop never waits for it, and ``/faq report``
shows a server's admins that server's unanswered questions."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_discord_support import (
    COO_QUESTION,
    EPHEMERAL,
    UNKNOWN_QUESTION,
    ask,
    async_test,
    copy_knowledge,
    custom_ids,
    faq,
    mention,
    open_engine,
    running,
)

from bot.engine import Engine
from bot.usage import NullRecorder, QuestionEvent, UsageLog, UsageRecorder

pytestmark = pytest.mark.discord

OTHER_GUILD = 999_000_000_000_000_001


@pytest.fixture(scope="module")
def faq_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return open_engine(copy_knowledge(tmp_path_factory.mktemp("usage") / "knowledge"))


@pytest.fixture
def recorder(usage_db: Path) -> Iterator[UsageRecorder]:
    with UsageRecorder(usage_db) as recorder:
        yield recorder


def _rows(path: Path, table: str) -> list[sqlite3.Row]:
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
    finally:
        db.close()


@async_test
async def test_questions_are_recorded_with_ids_and_a_hashed_user(faq_engine: Engine, recorder: UsageRecorder,
                                                                 usage_db: Path) -> None:
    async with running(faq_engine, usage=recorder) as (fake, _bot):
        await ask(fake, COO_QUESTION)
        await ask(fake, UNKNOWN_QUESTION, user=fake.admin)
        await mention(fake, COO_QUESTION)
        assert recorder.flush()
        slash, unknown, mentioned = _rows(usage_db, "questions")
    expected = faq_engine.ask(COO_QUESTION)
    assert (slash["frontend"], slash["guild_id"], slash["channel_id"]) == ("discord", fake.guild.id, fake.general.id)
    assert (slash["question"], slash["kind"], slash["passage_id"], slash["abstained"]) == (
        COO_QUESTION, "answer", expected.passage_id, 0)
    assert slash["score"] == pytest.approx(expected.score)
    assert (unknown["kind"], unknown["abstained"], unknown["passage_id"]) == ("unknown", 1, None)
    assert slash["user_hash"] == mentioned["user_hash"] != unknown["user_hash"], "one user, one hash"
    with UsageLog(usage_db) as db:
        assert slash["user_hash"] == db.hash_user("discord", fake.user.id)
    stored = usage_db.read_bytes() + Path(f"{usage_db}-wal").read_bytes()
    assert str(fake.user.id).encode() not in stored and fake.user.username.encode() not in stored, "no ids, no names"


@async_test
async def test_a_not_helpful_click_lands_in_the_database(faq_engine: Engine, recorder: UsageRecorder,
                                                        usage_db: Path) -> None:
    expected = faq_engine.ask(COO_QUESTION)
    async with running(faq_engine, usage=recorder) as (fake, bot):
        _, callback = await ask(fake, COO_QUESTION, public=True)
        message = callback.response["resource"]["message"]
        unhelpful = next(c for c in custom_ids(message["components"]) if "unhelpful" in c)
        assert unhelpful == f"faqbot:answer:unhelpful:{expected.passage_id}", "the button names the passage"

        click = await fake.inject_component_click(unhelpful, message=int(message["id"]))
        assert (await fake.wait_for_response(click)).json["data"]["content"] == "Thanks for the feedback!"
        assert recorder.flush()
        (row,) = _rows(usage_db, "feedback")
        assert (row["helpful"], row["passage_id"], row["question"], row["message_id"]) == (
            0, expected.passage_id, COO_QUESTION, int(message["id"]))
        assert (row["guild_id"], row["channel_id"]) == (fake.guild.id, fake.general.id)
        assert row["user_hash"] == _rows(usage_db, "questions")[0]["user_hash"]

        helpful = unhelpful.replace("unhelpful", "helpful")
        click = await fake.inject_component_click(helpful, message=int(message["id"]))  # a change of mind
        await fake.wait_for_response(click)
        assert recorder.flush()
        assert [r["helpful"] for r in _rows(usage_db, "feedback")] == [1], "one vote per user and answer"
        assert bot.stats.helpful == 1 and bot.stats.not_helpful == 0


@async_test
async def test_answering_never_waits_for_the_database(faq_engine: Engine, recorder: UsageRecorder,
                                                      usage_db: Path) -> None:
    UsageLog(usage_db).close()
    blocker = sqlite3.connect(usage_db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # e.g. a long `faqbot report --prune` in another process
    try:
        async with running(faq_engine, usage=recorder) as (fake, _bot):
            started = time.perf_counter()
            for _ in range(3):
                _, callback = await ask(fake, COO_QUESTION)
                assert callback.json["type"] == 4, "answered at once, not deferred"
            assert time.perf_counter() - started < 2.0
            assert _rows(usage_db, "questions") == [], "nothing could be written yet"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert recorder.flush(timeout=10)
    assert len(_rows(usage_db, "questions")) == 3, "written once the lock was released"


@async_test
async def test_faq_report_shows_admins_this_servers_unanswered_questions(faq_engine: Engine, recorder: UsageRecorder,
                                                                         usage_db: Path) -> None:
    with UsageLog(usage_db) as db:
        db.write([QuestionEvent(ts=time.time(), frontend="discord", question="secret question of another server",
                                kind="unknown", score=0.1, guild_id=OTHER_GUILD, channel_id=1, user_id=1)] * 5)
    async with running(faq_engine, usage=recorder) as (fake, _bot):
        for question in (UNKNOWN_QUESTION, "how to reverse a linked list in python", "best pizza topping?",
                         COO_QUESTION):
            await ask(fake, question)
        interaction, callback = await faq(fake, "report", fake.admin)
        assert callback.json["type"] == 5 and callback.json["data"]["flags"] == EPHEMERAL, "deferred, private"
        followup = await fake.wait_for_followup(interaction, timeout=10)
        (embed,) = followup.json["embeds"]
    assert followup.json["flags"] == EPHEMERAL
    assert embed["title"] == "Unanswered questions — last 30 days"
    lines = embed["description"].splitlines()
    assert lines[0].startswith("1. **2×** ") and "reverse a linked list in python" in lines[0].lower()
    assert lines[0].endswith("(+1 similar)"), "two wordings of one question count together"
    assert lines[1].startswith("2. **1×** best pizza topping?")
    assert "secret" not in str(embed), "another server's questions are not shown"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Answer rate"].startswith("25% of 4 questions")


@async_test
async def test_faq_report_is_for_admins_only(faq_engine: Engine, recorder: UsageRecorder) -> None:
    async with running(faq_engine, usage=recorder) as (fake, _bot):
        _, callback = await faq(fake, "report", fake.user)
        data = callback.json["data"]
        assert data["flags"] == EPHEMERAL and "Manage Server" in data["content"]


@async_test
async def test_faq_report_when_recording_is_off(faq_engine: Engine) -> None:
    async with running(faq_engine, usage=NullRecorder()) as (fake, _bot):
        interaction, _ = await faq(fake, "report", fake.admin)
        (embed,) = (await fake.wait_for_followup(interaction, timeout=10)).json["embeds"]
        assert "turned off (FAQBOT_LOG=off)" in embed["description"]


def test_a_bad_faqbot_log_value_stops_the_runner_with_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                               faq_engine: Engine,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from bot.discord_app.runner import run_discord

    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("DISCORD_TOKEN", "token")
    monkeypatch.setenv("FAQBOT_LOG", "sometimes")
    opened: list[argparse.Namespace] = []
    args = argparse.Namespace(knowledge=None, index=None, config=None, verbose=False, top_k=None, threshold=None,
                              sync=False, shards=None, shard_ids=None, shard_count=None)
    assert run_discord(args, lambda a, rebuild=False: opened.append(a) or faq_engine) == 2
    assert not opened, "fails before loading the engine"
    assert capsys.readouterr().err == "faqbot: error: FAQBOT_LOG must be 'on' or 'off', got 'sometimes'\n"


@async_test
async def test_faq_report_on_a_broken_log_says_why(faq_engine: Engine, usage_db: Path) -> None:
    usage_db.write_text("this is not a database " * 100)
    with UsageRecorder(usage_db) as broken:
        async with running(faq_engine, usage=broken) as (fake, _bot):
            interaction, _ = await faq(fake, "report", fake.admin)
            followup = await fake.wait_for_followup(interaction, timeout=10)
    assert followup.json["flags"] == EPHEMERAL
    assert followup.json["content"].startswith(f"Cannot read the usage log: cannot use the usage log {usage_db}")
