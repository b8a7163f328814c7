"""``faqbot chat``: piped input gets answers only; /help, /sources, /reset, /quit; end of input exits."""

from __future__ import annotations

import builtins
import io

import pytest
from conftest import ARTICLES, BOTH_ROLES_ANSWER, BOTH_ROLES_QUESTION, UNRELATED_QUESTIONS, run_faqbot

import bot.chat as chat
from bot.chat import HELP, run_chat

BANNER_OR_PROMPT = ("you>", "/help for commands")


def _chat(engine, text: str) -> tuple[int, str]:
    out = io.StringIO()
    status = run_chat(engine, io.StringIO(text), out, interactive=False)
    return status, out.getvalue()


def test_piped_chat_prints_answers_only(engine):
    status, out = _chat(engine, f"{BOTH_ROLES_QUESTION}\n{UNRELATED_QUESTIONS[0]}\n")
    assert status == 0
    assert BOTH_ROLES_ANSWER in out
    assert out.lstrip().startswith(engine.ask(BOTH_ROLES_QUESTION).reply.split("\n")[0])
    assert "know" in out[out.index(BOTH_ROLES_ANSWER):]
    for noise in BANNER_OR_PROMPT:
        assert noise not in out


def test_non_tty_input_is_detected(engine):
    out = io.StringIO()
    assert run_chat(engine, io.StringIO(f"{BOTH_ROLES_QUESTION}\n"), out) == 0  # StringIO is not a TTY
    assert BOTH_ROLES_ANSWER in out.getvalue()
    assert not any(noise in out.getvalue() for noise in BANNER_OR_PROMPT)


def test_end_of_input_exits_cleanly(engine):
    assert _chat(engine, "") == (0, "")
    status, out = _chat(engine, BOTH_ROLES_QUESTION)  # no final newline
    assert status == 0 and BOTH_ROLES_ANSWER in out


def test_blank_lines_are_ignored(engine):
    assert _chat(engine, "\n   \n\n") == (0, "")


def test_help_command(engine):
    status, out = _chat(engine, "/help\n")
    assert status == 0
    assert out.strip() == HELP.strip()
    for command in ("/help", "/sources", "/quit"):
        assert command in out


def test_sources_command_lists_the_documents(engine):
    status, out = _chat(engine, "/sources\n")
    assert status == 0
    listed = [name for name in ARTICLES if name in out]
    assert listed == ARTICLES and len(ARTICLES) == 5
    for _, title, _ in engine.sources():
        assert title in out


@pytest.mark.parametrize("quit_command", ["/quit", "/QUIT", "  /quit  ", "/exit"])
def test_quit_stops_reading(engine, quit_command):
    status, out = _chat(engine, f"hi\n{quit_command}\n{BOTH_ROLES_QUESTION}\n")
    assert status == 0
    assert out.strip()  # "hi" was answered
    assert BOTH_ROLES_ANSWER not in out  # nothing after /quit


def test_reset_command(engine):
    status, out = _chat(engine, "/reset\n")
    assert status == 0 and out.strip()


def test_small_talk_in_chat(engine):
    status, out = _chat(engine, "thanks!\n")
    assert status == 0
    assert out.strip() == engine.ask("thanks!").reply.strip()


def test_interactive_chat_shows_a_banner_and_prompts(engine, monkeypatch):
    lines = iter(["/help", BOTH_ROLES_QUESTION])
    prompts: list[str] = []

    def fake_input(prompt=""):
        prompts.append(prompt)
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", fake_input)
    monkeypatch.setattr(chat, "_setup_readline", lambda: None)  # never touch the user's history file
    out = io.StringIO()
    assert run_chat(engine, io.StringIO(), out, interactive=True) == 0
    text = out.getvalue()
    assert text.splitlines()[0].startswith("faqbot")
    assert "/help" in text.splitlines()[0]
    assert BOTH_ROLES_ANSWER in text and HELP.strip() in text
    assert len(prompts) == 3 and all(prompts)


@pytest.mark.slow
def test_chat_command_with_piped_stdin(engine, shared_knowledge, tmp_path):
    stdin = f"{BOTH_ROLES_QUESTION}\n/sources\n/help\n/quit\n{UNRELATED_QUESTIONS[0]}\n"
    result = run_faqbot("chat", "--knowledge", str(shared_knowledge), cwd=tmp_path, input=stdin,
                        env={"HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(engine.ask(BOTH_ROLES_QUESTION).reply)  # the answer comes first: no banner
    assert all(name in out for name in ARTICLES)
    assert "/quit" in out  # from /help
    assert "don't know" not in out.lower()  # the question after /quit is never read
    for noise in BANNER_OR_PROMPT:
        assert noise not in out


@pytest.mark.slow
def test_chat_command_exits_at_end_of_input(shared_knowledge, tmp_path):
    result = run_faqbot("chat", "--knowledge", str(shared_knowledge), cwd=tmp_path, input="hi\n",
                        env={"HOME": str(tmp_path)})
    assert result.returncode == 0
    assert result.stdout.strip()
    assert "Traceback" not in result.stderr
