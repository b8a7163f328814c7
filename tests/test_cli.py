"""The ``faqbot`` command: index, ask (one question, --json, stdin batch), errors, real subprocesses."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest
from conftest import BOTH_ROLES_ANSWER, BOTH_ROLES_QUESTION, UNRELATED_QUESTIONS, copy_knowledge, run_faqbot

from bot import __version__
from bot.cli import main

JSON_KEYS = {"id", "question", "kind", "answer", "score", "source", "section", "alternatives", "reply"}
ALTERNATIVE_KEYS = {"text", "source", "section", "score"}


def faqbot(*args: str, stdin: str | None = None, monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str]:
    """Run the command in-process; returns (exit status, stdout text)."""
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out = io.StringIO()
    status = main(list(args), out=out)
    return status, out.getvalue()


def _one_json(text: str) -> dict:
    obj = json.loads(text)  # the whole output is exactly one JSON document
    assert isinstance(obj, dict)
    return obj


def _check_contract(obj: dict) -> None:
    assert set(obj) == JSON_KEYS
    assert obj["kind"] in ("answer", "smalltalk", "unknown")
    assert isinstance(obj["score"], (int, float)) and 0 <= obj["score"] <= 1
    assert isinstance(obj["reply"], str) and obj["reply"]
    assert isinstance(obj["alternatives"], list)
    for alt in obj["alternatives"]:
        assert set(alt) == ALTERNATIVE_KEYS


# -- basics ----------------------------------------------------------------------------------
def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_prints_help():
    status, out = faqbot()
    assert status != 0
    for command in ("index", "ask", "chat"):
        assert command in out


@pytest.mark.parametrize("args", [["ask", "--top-k", "-1", "q"], ["ask", "--top-k", "many", "q"],
                                  ["ask", "--threshold", "2", "q"], ["nonsense"]])
def test_bad_arguments_are_usage_errors(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


# -- index -----------------------------------------------------------------------------------
def test_index_prints_a_report(knowledge_copy):
    status, out = faqbot("index", "--knowledge", str(knowledge_copy))
    assert status == 0
    assert re.search(r"\b5 documents\b", out)
    kinds = dict((k, int(n)) for k, n in re.findall(r"\b(faq|qa|section|table|list|date) (\d+)\b", out))
    assert {"faq", "qa", "table", "list", "section"} <= set(kinds)
    total = re.search(r"passages:\s*(\d+)", out)
    assert total and int(total.group(1)) == sum(kinds.values())
    assert re.search(r"vocabulary:\s*\d+", out)
    assert re.search(r"\d+\.\d+ s\b", out)
    assert (knowledge_copy / ".index" / "index.json").is_file()


def test_index_dir_option(knowledge_copy, tmp_path):
    target = tmp_path / "my-index"
    status, out = faqbot("index", "--knowledge", str(knowledge_copy), "--index", str(target))
    assert status == 0
    assert (target / "index.json").is_file()
    assert not (knowledge_copy / ".index").exists()
    status, out = faqbot("ask", "--knowledge", str(knowledge_copy), "--index", str(target), "--json",
                         BOTH_ROLES_QUESTION)
    assert status == 0 and BOTH_ROLES_ANSWER in _one_json(out)["answer"]
    assert not (knowledge_copy / ".index").exists()


def test_common_options_may_come_before_the_command(knowledge_copy, tmp_path):
    target = tmp_path / "before"
    status, out = faqbot("--knowledge", str(knowledge_copy), "--index", str(target), "index")
    assert status == 0 and (target / "index.json").is_file()
    assert not (knowledge_copy / ".index").exists()
    status, out = faqbot("--knowledge", str(knowledge_copy), "--index", str(target), "ask", "--json",
                         BOTH_ROLES_QUESTION)
    assert status == 0 and BOTH_ROLES_ANSWER in _one_json(out)["answer"]


def test_index_reports_skipped_files(knowledge_copy, capsys):
    (knowledge_copy / "broken.txt").write_bytes(b"caf\xe9 au lait\n")
    status, out = faqbot("index", "--knowledge", str(knowledge_copy))
    assert status == 0
    assert "broken.txt" in out + capsys.readouterr().err


# -- ask -------------------------------------------------------------------------------------
def test_ask_prints_passage_source_section_and_confidence(shared_knowledge):
    status, out = faqbot("ask", "--knowledge", str(shared_knowledge), BOTH_ROLES_QUESTION)
    assert status == 0
    assert BOTH_ROLES_ANSWER in out
    assert "vp-operations-vs-coo.txt" in out
    assert "Frequently Asked Questions" in out
    assert re.search(r"confidence \d+%", out)


def test_ask_words_are_joined_into_one_question(shared_knowledge):
    status, out = faqbot("ask", "--knowledge", str(shared_knowledge), "--json", *BOTH_ROLES_QUESTION.split())
    assert status == 0
    obj = _one_json(out)
    assert obj["question"] == BOTH_ROLES_QUESTION
    assert BOTH_ROLES_ANSWER in obj["answer"]


def test_ask_json_answer(shared_knowledge):
    status, out = faqbot("ask", "--json", "--knowledge", str(shared_knowledge), BOTH_ROLES_QUESTION)
    assert status == 0
    obj = _one_json(out)
    _check_contract(obj)
    assert obj["id"] is None and obj["question"] == BOTH_ROLES_QUESTION
    assert obj["kind"] == "answer"
    assert BOTH_ROLES_ANSWER in obj["answer"]
    assert obj["source"] == "vp-operations-vs-coo.txt"
    assert obj["section"] == "Frequently Asked Questions"
    assert 0 < obj["score"] <= 1
    assert len(obj["alternatives"]) <= 3


@pytest.mark.parametrize(("question", "kind"), [(UNRELATED_QUESTIONS[0], "unknown"), ("hi", "smalltalk"),
                                                ("   ", "unknown")])
def test_ask_json_without_answer(shared_knowledge, question, kind):
    status, out = faqbot("ask", "--json", "--knowledge", str(shared_knowledge), question)
    assert status == 0
    obj = _one_json(out)
    _check_contract(obj)
    assert obj["kind"] == kind
    assert obj["answer"] is None and obj["source"] is None and obj["section"] is None
    assert obj["alternatives"] == []


@pytest.mark.parametrize("k", [0, 1, 2])
def test_top_k_option(shared_knowledge, k):
    status, out = faqbot("ask", "--json", "--top-k", str(k), "--knowledge", str(shared_knowledge),
                         BOTH_ROLES_QUESTION)
    assert status == 0
    obj = _one_json(out)
    assert obj["kind"] == "answer"
    assert len(obj["alternatives"]) <= k


def test_threshold_option(shared_knowledge):
    status, out = faqbot("ask", "--json", "--threshold", "1", "--knowledge", str(shared_knowledge),
                         BOTH_ROLES_QUESTION)
    assert status == 0 and _one_json(out)["kind"] == "unknown"


BATCH = [
    BOTH_ROLES_QUESTION,
    json.dumps({"id": 7, "question": "what does a coo earn?", "session": "s1"}),
    '{"id": 8, "question": "broken json',
    "thanks!",
    json.dumps({"id": "q-5", "question": UNRELATED_QUESTIONS[1]}),
    json.dumps({"id": 9, "text": "no question field"}),
    json.dumps({"id": None, "question": "Who does the VP of Operations report to?", "session": 2}),
]


def _check_batch(out: str) -> list[dict]:
    lines = out.splitlines()
    assert len(lines) == len(BATCH)
    objs = [json.loads(line) for line in lines]
    for obj in objs:
        _check_contract(obj)
    assert [o["id"] for o in objs] == [None, 7, None, None, "q-5", 9, None]
    assert objs[0]["question"] == BOTH_ROLES_QUESTION and objs[0]["kind"] == "answer"
    assert BOTH_ROLES_ANSWER in objs[0]["answer"]
    assert objs[1]["question"] == "what does a coo earn?"
    assert objs[2]["kind"] == "unknown" and objs[2]["answer"] is None
    assert "JSON" in objs[2]["reply"]
    assert objs[3]["kind"] == "smalltalk"
    assert objs[4]["kind"] == "unknown"
    assert objs[5]["kind"] == "unknown" and "question" in objs[5]["reply"]
    assert objs[6]["question"] == "Who does the VP of Operations report to?"
    return objs


def test_batch_reads_stdin_one_object_per_line(shared_knowledge, monkeypatch):
    status, out = faqbot("ask", "--json", "--knowledge", str(shared_knowledge),
                         stdin="\n".join(BATCH) + "\n", monkeypatch=monkeypatch)
    assert status == 0
    _check_batch(out)


def test_batch_without_final_newline_and_with_crlf(shared_knowledge, monkeypatch):
    status, out = faqbot("ask", "--json", "--knowledge", str(shared_knowledge),
                         stdin="\r\n".join(BATCH), monkeypatch=monkeypatch)
    assert status == 0
    _check_batch(out)


def test_batch_plain_text_output(shared_knowledge, monkeypatch):
    status, out = faqbot("ask", "--knowledge", str(shared_knowledge),
                         stdin=f"{BOTH_ROLES_QUESTION}\n{UNRELATED_QUESTIONS[0]}\n", monkeypatch=monkeypatch)
    assert status == 0
    assert out.index(BOTH_ROLES_ANSWER) < out.lower().index("know")


# -- where the knowledge comes from ----------------------------------------------------------
def test_knowledge_from_environment(shared_knowledge, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FAQBOT_KNOWLEDGE", str(shared_knowledge))
    status, out = faqbot("ask", "--json", BOTH_ROLES_QUESTION)
    assert status == 0 and BOTH_ROLES_ANSWER in _one_json(out)["answer"]


def test_knowledge_from_current_folder(monkeypatch, tmp_path):
    copy_knowledge(tmp_path / "knowledge")
    monkeypatch.chdir(tmp_path)
    status, out = faqbot("ask", "--json", BOTH_ROLES_QUESTION)
    assert status == 0 and BOTH_ROLES_ANSWER in _one_json(out)["answer"]
    assert (tmp_path / "knowledge" / ".index" / "index.json").is_file()


# -- errors ----------------------------------------------------------------------------------
def _one_error_line(err: str) -> str:
    """The error: one line, the last thing on stderr (an INFO line about building may come before)."""
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [i for i, ln in enumerate(lines) if "error" in ln.lower()]
    assert errors, err
    assert errors[0] == len(lines) - 1, f"the error takes {len(lines) - errors[0]} lines:\n{err}"
    return lines[-1]


@pytest.mark.parametrize("command", [["ask", "q"], ["ask", "--json", "q"], ["index"], ["chat"]])
def test_missing_knowledge_folder(tmp_path, capsys, command):
    missing = tmp_path / "no-such-folder"
    status, out = faqbot(*command, "--knowledge", str(missing))
    assert status != 0
    assert out == ""
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert str(missing) in _one_error_line(err)


def test_folder_without_readable_articles(tmp_path, capsys):
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "latin1.txt").write_bytes(b"caf\xe9\n")
    status, _ = faqbot("ask", "--knowledge", str(tmp_path / "kb"), "q")
    assert status != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "latin1.txt" in err  # the skip warning names the file
    assert any(str(tmp_path / "kb") in ln and "latin1" not in ln for ln in err.splitlines())


def test_unexpected_error_is_one_line_unless_verbose(shared_knowledge, capsys, monkeypatch):
    from bot.engine import Engine

    def boom(self, question):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(Engine, "ask", boom)
    status, _ = faqbot("ask", "--knowledge", str(shared_knowledge), "q")
    assert status != 0
    assert "kaboom" in _one_error_line(capsys.readouterr().err)
    with pytest.raises(RuntimeError):
        main(["ask", "-v", "--knowledge", str(shared_knowledge), "q"], out=io.StringIO())


def test_broken_vocabulary_file_is_one_line(knowledge_copy, capsys):
    (knowledge_copy / "synonyms.ini").write_text("[roles\nbroken", encoding="utf-8")
    status, _ = faqbot("ask", "--knowledge", str(knowledge_copy), "q")
    assert status != 0
    assert "synonyms.ini" in _one_error_line(capsys.readouterr().err)


# -- real subprocesses -----------------------------------------------------------------------


@pytest.mark.slow
def test_subprocess_version(tmp_path):
    result = run_faqbot("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"faqbot {__version__}"
    script = Path(sys.executable).with_name("faqbot")
    if script.exists():
        result = run_faqbot(str(script), "--version", cwd=tmp_path, module=False)
        assert result.returncode == 0 and __version__ in result.stdout


@pytest.mark.slow
def test_subprocess_ask_json_with_no_nltk_data(tmp_path):
    knowledge = copy_knowledge(tmp_path / "knowledge")  # built from scratch in the subprocess
    empty = tmp_path / "nltk_data"
    empty.mkdir()
    env = {"NLTK_DATA": str(empty), "HOME": str(tmp_path)}
    result = run_faqbot("ask", "--json", "--knowledge", str(knowledge), BOTH_ROLES_QUESTION, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    obj = _one_json(result.stdout)
    _check_contract(obj)
    assert obj["kind"] == "answer" and BOTH_ROLES_ANSWER in obj["answer"]
    assert "Resource" not in result.stderr and "nltk.download" not in result.stderr


@pytest.mark.slow
def test_subprocess_batch(shared_knowledge, tmp_path):
    result = run_faqbot("ask", "--json", "--knowledge", str(shared_knowledge), cwd=tmp_path,
                        input="\n".join(BATCH) + "\n")
    assert result.returncode == 0, result.stderr
    _check_batch(result.stdout)


@pytest.mark.slow
def test_subprocess_missing_knowledge(tmp_path):
    result = run_faqbot("ask", "--knowledge", str(tmp_path / "nope"), "hello?", cwd=tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert str(tmp_path / "nope") in _one_error_line(result.stderr)


@pytest.mark.slow
def test_ask_and_chat_do_not_import_discord(shared_knowledge, tmp_path):
    code = (
        "import io, sys\n"
        "from bot.cli import main\n"
        f"k = {str(shared_knowledge)!r}\n"
        f"q = {BOTH_ROLES_QUESTION!r}\n"
        "out = io.StringIO()\n"
        "codes = [main(['ask', '--knowledge', k, q], out=out), main(['ask', '--json', '--knowledge', k, q], out=out)]\n"
        "sys.stdin = io.StringIO(q + '\\n')\n"
        "codes.append(main(['ask', '--json', '--knowledge', k], out=out))\n"
        "sys.stdin = io.StringIO(q + '\\n/quit\\n')\n"
        "codes.append(main(['chat', '--knowledge', k], out=out))\n"
        f"assert {BOTH_ROLES_ANSWER!r} in out.getvalue()\n"
        "print(codes, 'discord' in sys.modules)\n"
    )
    result = run_faqbot("-c", code, cwd=tmp_path, module=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[0, 0, 0, 0] False"
