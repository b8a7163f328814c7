"""Load test of the Discord bot: the real ``FaqBot`` against the fake Discord, many users at once.

    python scripts/loadtest.py [--users 50] [--questions 2000] [--burst 50] [--seed 1] [--json]

``--users`` members ask ``--questions`` realistic questions (from ``tests/eval/questions.jsonl``),
half by mentioning the bot in a channel and half with ``/ask``, ``--burst`` at a time: a burst is
injected all at once, then the script waits until every question of it is answered (or
``--timeout`` passes) before the next one. It reports how many questions were answered exactly
once, lost (no reply) or duplicated (more than one), and the latency from the question reaching
Discord to the bot's reply reaching Discord (p50/p99/max).

Two things are switched off so that the figures are about the bot itself, and the output says so:
the bot's per-user cooldown (``cooldown_seconds=0``; 50 users asking 40 questions each in a few
seconds would otherwise mostly be told to slow down), and Discord's own per-route rate limits
(the fake advertises a large ``X-RateLimit-Limit``; real Discord allows about 5 messages per 5 s
in one channel, which no bot can beat).

Everything runs in this one process on one event loop, the fake included, so the latency figures
are pessimistic: the fake's work (recording, echoing the bot's messages back over the gateway)
competes with the bot's for the same CPU. ``tests/test_load.py`` runs a small version.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import random
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the fake Discord lives with the tests
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from fake_discord import FakeDiscord, FakeMember, RecordedRequest, patch_discord, run_client  # noqa: E402

from bot.config import CONFIG_FILE, load_settings  # noqa: E402
from bot.discord_app.client import FaqBot  # noqa: E402
from bot.discord_app.config import DiscordConfig  # noqa: E402
from bot.engine import Engine  # noqa: E402

QUESTIONS_FILE = REPO / "tests" / "eval" / "questions.jsonl"
UNLIMITED = 1_000_000  # X-RateLimit-Limit advertised by the fake: no route is ever exhausted


@dataclass(frozen=True)
class LoadOptions:
    users: int = 50
    questions: int = 2000
    burst: int = 50
    seed: int = 1
    mention_share: float = 0.5  # the rest are /ask
    timeout: float = 30.0  # per burst
    knowledge: Path = REPO / "knowledge"
    in_process: bool = False  # the bot in this process and event loop (faster to start, for tests)


@dataclass
class LoadReport:
    users: int
    questions: int
    burst: int
    answered: int  # exactly once
    lost: int
    duplicated: int
    mentions: int
    slash_commands: int
    deferred: int
    seconds: float
    questions_per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"users {self.users}, questions {self.questions} ({self.mentions} mentions, "
            f"{self.slash_commands} /ask), bursts of {self.burst}",
            f"answered exactly once {self.answered} / {self.questions}; lost {self.lost}; "
            f"duplicated {self.duplicated}; deferred {self.deferred}",
            f"latency question -> reply: p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, "
            f"max {self.max_ms:.1f} ms",
            f"{self.seconds:.1f} s in all, {self.questions_per_second:.0f} questions/s",
            *(f"note: {note}" for note in self.notes),
        ]


@dataclass
class Question:
    """One question put to the bot, and what came back."""

    text: str
    user: FakeMember
    via_mention: bool
    in_faq_channel: bool
    sent_at: float = 0.0
    target: str = ""  # "m<message id>" or "i<interaction id>": how its replies are recognised
    replies: list[float] = field(default_factory=list)  # when each reply reached the fake
    deferred: bool = False


class LoadBot(FaqBot):
    """The production bot; only the wait for guild member chunks is shortened (no member intent)."""

    def __init__(self, engine: Engine, config: DiscordConfig) -> None:
        super().__init__(engine, config, guild_ready_timeout=0.05)


def load_questions(path: Path = QUESTIONS_FILE) -> list[str]:
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plan(options: LoadOptions, users: Sequence[FakeMember], pool: Sequence[str]) -> list[Question]:
    """Who asks what, and how: reproducible from ``options.seed``."""
    rng = random.Random(options.seed)
    return [Question(rng.choice(pool), rng.choice(users), rng.random() < options.mention_share, rng.random() < 0.5)
            for _ in range(options.questions)]


def open_engine(knowledge: Path, workdir: Path) -> Engine:
    """The engine on a copy of the articles (no index is written into the repository), with the
    per-user cooldown off."""
    copy = workdir / "knowledge"
    shutil.copytree(knowledge, copy, ignore=shutil.ignore_patterns(".index", "__pycache__"))
    settings = load_settings(copy / CONFIG_FILE).with_overrides(cooldown_seconds=0.0)
    return Engine.open(copy, settings=settings)


class ReplyIndex:
    """Reads the fake's request journal incrementally and files each reply under its question."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.questions: dict[str, Question] = {}
        self.tokens: dict[str, str] = {}  # interaction token -> target, for followups
        self._done = 0  # journal entries before this index are filed
        self._waiting: list[RecordedRequest] = []  # still being answered by the fake

    def add(self, question: Question, token: str | None = None) -> None:
        self.questions[question.target] = question
        if token:
            self.tokens[token] = question.target

    def update(self) -> None:
        entries = self.fake.requests.entries
        fresh, self._done = entries[self._done:], len(entries)
        pending = self._waiting + fresh
        self._waiting = [r for r in pending if r.status is None]
        for request in pending:
            if request.status is not None and request.ok:
                self._file(request)

    def _file(self, r: RecordedRequest) -> None:
        parts = r.path.split("/")
        if r.method == "POST" and r.path.startswith("/channels/") and parts[-1] == "messages":
            reference = (r.json or {}).get("message_reference") or {}
            question = self.questions.get(f"m{reference.get('message_id')}")
            if question is not None:
                question.replies.append(r.received_at)
        elif r.method == "POST" and r.path.startswith("/interactions/") and parts[-1] == "callback":
            question = self.questions.get(f"i{parts[2]}")
            if question is None:
                return
            if (r.json or {}).get("type") == 5:
                question.deferred = True  # the answer follows as a followup
            else:
                question.replies.append(r.received_at)
        elif r.method == "POST" and r.path.startswith("/webhooks/") and len(parts) == 4:
            question = self.questions.get(self.tokens.get(parts[3], ""))
            if question is not None:
                question.replies.append(r.received_at)


async def put(fake: FakeDiscord, index: ReplyIndex, question: Question) -> None:
    """Inject one question (a mention in a channel, or /ask) and register it for its replies."""
    channel = fake.faq_channel if question.in_faq_channel else fake.general
    question.sent_at = time.monotonic()
    if question.via_mention:
        message = await fake.inject_message(f"{fake.bot_user.mention} {question.text}", author=question.user,
                                            channel=channel)
        question.target = f"m{message['id']}"
        index.add(question)
    else:
        interaction = await fake.inject_slash_command("ask", options={"question": question.text},
                                                      user=question.user, channel=channel)
        question.target = f"i{interaction.id}"
        index.add(question, interaction.token)


async def settle(index: ReplyIndex, burst: Sequence[Question], timeout: float) -> None:
    """Wait until every question of ``burst`` has a reply, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        index.update()
        if all(q.replies for q in burst):
            return
        await asyncio.sleep(0.002)


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of ``values``; 0.0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def report(options: LoadOptions, questions: Sequence[Question], seconds: float) -> LoadReport:
    latencies = [(q.replies[0] - q.sent_at) * 1000 for q in questions if q.replies]
    return LoadReport(
        users=options.users, questions=len(questions), burst=options.burst,
        answered=sum(len(q.replies) == 1 for q in questions),
        lost=sum(not q.replies for q in questions),
        duplicated=sum(len(q.replies) > 1 for q in questions),
        mentions=sum(q.via_mention for q in questions),
        slash_commands=sum(not q.via_mention for q in questions),
        deferred=sum(q.deferred for q in questions),
        seconds=seconds, questions_per_second=len(questions) / seconds if seconds else 0.0,
        p50_ms=percentile(latencies, 0.50), p99_ms=percentile(latencies, 0.99),
        max_ms=max(latencies, default=0.0),
        notes=["per-user cooldown disabled (cooldown_seconds=0)",
               f"Discord's per-route rate limits disabled in the fake (X-RateLimit-Limit {UNLIMITED})",
               "bot and fake Discord share one process and one event loop" if options.in_process
               else "bot in its own process, fake Discord in this one (2 processes)"],
    )


async def serve_bot(api_base: str, gateway_url: str, token: str, knowledge: Path,
                    ready: Callable[[], None], stop: Awaitable[object]) -> None:
    """Run the production bot against the fake at these URLs until ``stop`` completes."""
    with tempfile.TemporaryDirectory(prefix="faqbot-load-") as workdir, patch_discord(api_base, gateway_url):
        bot = LoadBot(open_engine(knowledge, Path(workdir)), DiscordConfig(token=token))
        async with run_client(bot, token):
            ready()
            await stop


def bot_process_main(api_base: str, gateway_url: str, token: str, knowledge: str) -> int:
    """``--bot``: the bot side in its own process; prints "ready" once connected, stops at stdin EOF."""
    async def run() -> None:
        stop = asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await serve_bot(api_base, gateway_url, token, Path(knowledge), lambda: print("ready", flush=True), stop)

    asyncio.run(run())
    return 0


@contextlib.asynccontextmanager
async def bot_running(fake: FakeDiscord, options: LoadOptions) -> AsyncIterator[None]:
    """The bot, connected to ``fake``: in a child process (like a real deployment, where Discord
    is elsewhere) unless ``options.in_process``."""
    if options.in_process:
        connected, stop = asyncio.Event(), asyncio.get_running_loop().create_future()
        task = asyncio.create_task(serve_bot(fake.api_base, fake.gateway_url, fake.token, options.knowledge,
                                             connected.set, stop))
        waiter = asyncio.create_task(connected.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # raises why the bot did not start
        try:
            yield
        finally:
            stop.set_result(None)
            await task
        return
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--bot", fake.api_base, fake.gateway_url, fake.token, str(options.knowledge),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    try:
        line = await asyncio.wait_for(child.stdout.readline(), 60)
        if line.strip() != b"ready":
            raise RuntimeError(f"the bot process did not start (exit status {await child.wait()})")
        yield
    finally:
        child.stdin.close()
        await asyncio.wait_for(child.wait(), 30)


async def run_load(options: LoadOptions) -> LoadReport:
    """Run the whole load test and report; the bot and the fake are torn down afterwards."""
    async with FakeDiscord(patch=options.in_process) as fake:
        fake.ratelimit_limit = UNLIMITED
        users = [fake.create_member(f"user{i:03}") for i in range(options.users)]
        questions = plan(options, users, load_questions())
        async with bot_running(fake, options):
            index = ReplyIndex(fake)
            started = time.monotonic()
            for at in range(0, len(questions), options.burst):
                burst = questions[at:at + options.burst]
                await asyncio.gather(*(put(fake, index, q) for q in burst))
                await settle(index, burst, options.timeout)
            seconds = time.monotonic() - started
            await asyncio.sleep(0.5)  # late duplicates would arrive now
            index.update()
    return report(options, questions, seconds)


def parse_args(argv: Sequence[str] | None) -> tuple[LoadOptions, bool]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=LoadOptions.users)
    parser.add_argument("--questions", type=int, default=LoadOptions.questions)
    parser.add_argument("--burst", type=int, default=LoadOptions.burst, help="questions injected at once")
    parser.add_argument("--seed", type=int, default=LoadOptions.seed)
    parser.add_argument("--timeout", type=float, default=LoadOptions.timeout, help="seconds to wait per burst")
    parser.add_argument("--in-process", action="store_true",
                        help="run the bot in this process, sharing the event loop with the fake Discord")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args(argv)
    if min(args.users, args.questions, args.burst) < 1:
        parser.error("--users, --questions and --burst must be at least 1")
    return LoadOptions(users=args.users, questions=args.questions, burst=args.burst, seed=args.seed,
                       timeout=args.timeout, in_process=args.in_process), args.json


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord.client").setLevel(logging.ERROR)  # "PyNaCl is not installed"
    if argv[:1] == ["--bot"]:  # internal: the bot side of a two-process run
        return bot_process_main(*argv[1:5])
    options, as_json = parse_args(argv)
    result = asyncio.run(run_load(options))
    print(json.dumps(asdict(result)) if as_json else "\n".join(result.lines()))
    return 0 if result.lost == 0 and result.duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
