"""A small load test: 200 questions from 20 users in bursts, through the real bot and the fake Discord.

``scripts/loadtest.py`` runs the full size (2,000 questions, 50 users) and prints latency figures;
here only what must hold at any size is asserted: every question answered exactly once.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from test_discord_support import async_test

pytestmark = pytest.mark.discord

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "loadtest.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("faqbot_loadtest", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


loadtest = load_script()


@async_test
async def test_200_questions_in_bursts_are_each_answered_exactly_once() -> None:
    options = loadtest.LoadOptions(users=20, questions=200, burst=25, in_process=True, timeout=20.0)
    report = await loadtest.run_load(options)

    assert report.questions == 200
    assert report.mentions > 50 and report.slash_commands > 50, "both ways of asking are exercised"
    assert (report.answered, report.lost, report.duplicated) == (200, 0, 0)
    assert 0 < report.p50_ms <= report.p99_ms <= report.max_ms


@async_test
async def test_a_question_with_no_reply_is_counted_lost_not_answered() -> None:
    """The counting itself: a fake that drops the bot's replies must show up as losses."""
    options = loadtest.LoadOptions(users=2, questions=4, burst=4, in_process=True, timeout=1.0,
                                   mention_share=1.0)
    original = loadtest.FakeDiscord.__aenter__

    async def dropping_replies(self: loadtest.FakeDiscord) -> loadtest.FakeDiscord:
        fake = await original(self)
        fake.fail_next("POST", "/channels/*/messages", status=403, count=1000)  # no permission to post
        return fake

    loadtest.FakeDiscord.__aenter__ = dropping_replies
    try:
        report = await asyncio.wait_for(loadtest.run_load(options), 60)
    finally:
        loadtest.FakeDiscord.__aenter__ = original
    assert (report.answered, report.lost, report.duplicated) == (0, 4, 0)
