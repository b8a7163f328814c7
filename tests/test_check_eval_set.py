"""scripts/check_eval_set.py: the validator every evaluation set goes through."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("check_eval_set", REPO / "scripts" / "check_eval_set.py")
assert spec is not None and spec.loader is not None
check_eval_set = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_eval_set)


def test_the_projects_own_set_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_eval_set.main([]) == 0
    out = capsys.readouterr().out
    assert "'in': 121" in out and "problem" not in out


def test_bad_rows_are_each_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    articles = tmp_path / "kb"
    articles.mkdir()
    (articles / "a.txt").write_text("A COO is the second-in-command at a company.\nCOO\n", encoding="utf-8")
    questions = tmp_path / "q.jsonl"
    lines = [
        {"id": 1, "question": "who is number two", "gold": ["the second-in-command at a company"], "kind": "in"},
        {"id": 2, "question": "Who is number two?", "gold": ["the second-in-command at a company"], "kind": "in"},
        {"id": 3, "question": "coo pay", "gold": ["a sentence the articles do not have"], "kind": "in"},
        {"id": 4, "question": "weather", "gold": ["COO"], "kind": "ood"},
        {"id": 5, "question": "hi", "gold": [], "kind": "greeting"},
    ]
    questions.write_text("\n".join(map(json.dumps, lines)) + "\nnot json\n", encoding="utf-8")
    dialogues = tmp_path / "d.jsonl"
    dialogues.write_text(json.dumps({"id": "d", "turns": [{"question": "and the coo?", "gold": ["COO"],
                                                           "kind": "followup"}]}) + "\n", encoding="utf-8")

    assert check_eval_set.main(["--questions", str(questions), "--dialogues", str(dialogues),
                                "--articles", str(articles)]) == 1
    problems = [line for line in capsys.readouterr().out.splitlines() if line.startswith("problem:")]
    assert len(problems) == 6, problems
    for needle in ("q.jsonl:2: question also in q.jsonl:1", "q.jsonl:3: gold not found", "q.jsonl:4: a ood",
                   "q.jsonl:5: needs a question and a kind", "q.jsonl:6: not JSON", "d.jsonl:1: needs 2-4 turns"):
        assert any(needle in p for p in problems), needle
