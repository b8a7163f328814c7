#!/usr/bin/env python3
"""Check an evaluation set before trusting its figures (stdlib only).

    python scripts/check_eval_set.py                                   # the project's own set
    python scripts/check_eval_set.py --questions scripts/holdout3/questions.jsonl \
        --dialogues scripts/holdout3/dialogues.jsonl --unlike ../shared/eval/dev.jsonl tests/eval/questions.jsonl

Question files: one ``{"id", "question", "gold", "kind", ...}`` per line; dialogue files: one
``{"id", "turns": [{"question", "gold", "kind"}]}`` per line (the formats ``scripts/benchmark.py``
reads). Checked: valid JSON objects with those fields; unique ids and questions; known kinds;
answerable questions and every dialogue turn have gold snippets, each found verbatim in one line
of an article (so it identifies the passage that answers), of 25-200 characters unless it is a
whole line; out-of-domain questions and small talk have none; dialogues have 2-4 turns starting
with an "in" turn; no question repeats one of the ``--unlike`` files (a set meant to be unseen
must not share questions with the sets faqbot was developed on). Prints the counts; exits 1 on a
problem.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QUESTION_KINDS = {"in", "ood", "chit"}
TURN_KINDS = {"in", "followup", "switch"}


def normal(question: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", question.lower()).strip()


def rows(path: Path, problems: list[str]) -> Iterator[tuple[str, dict]]:
    """(where, object) for each line of a JSONL file; bad lines become problems."""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.name}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not JSON ({exc})")
            continue
        if isinstance(row, dict):
            yield where, row
        else:
            problems.append(f"{where}: not a JSON object")


def check_gold(where: str, gold: object, lines: list[str], problems: list[str]) -> None:
    if not isinstance(gold, list) or not gold:
        problems.append(f"{where}: needs a list of gold snippets")
        return
    for snippet in gold:
        found = [line for line in lines if isinstance(snippet, str) and snippet.strip() and snippet in line]
        if not found:
            problems.append(f"{where}: gold not found verbatim in one line of an article: {snippet!r}")
        elif not 25 <= len(snippet) <= 200 and not any(line.strip(" •-\t") == snippet.strip() for line in found):
            problems.append(f"{where}: gold of {len(snippet)} characters (25-200, or a whole line): {snippet!r}")


def check_questions(path: Path, lines: list[str], unlike: dict[str, str], problems: list[str]) -> Counter[str]:
    kinds: Counter[str] = Counter()
    ids: set[object] = set()
    seen: dict[str, str] = {}
    for where, row in rows(path, problems):
        question, kind = row.get("question"), row.get("kind")
        if not isinstance(question, str) or not question.strip() or kind not in QUESTION_KINDS:
            problems.append(f"{where}: needs a question and a kind in {sorted(QUESTION_KINDS)}")
            continue
        kinds[kind] += 1
        if row.get("id") in ids:
            problems.append(f"{where}: id {row.get('id')!r} used twice")
        ids.add(row.get("id"))
        key = normal(question)
        if key in seen or key in unlike:
            problems.append(f"{where}: question also in {seen.get(key) or unlike[key]}: {question!r}")
        seen.setdefault(key, where)
        if kind == "in":
            check_gold(where, row.get("gold"), lines, problems)
        elif row.get("gold"):
            problems.append(f"{where}: a {kind} question has no gold")
    return kinds


def check_dialogues(path: Path, lines: list[str], problems: list[str]) -> Counter[str]:
    kinds: Counter[str] = Counter()
    ids: set[object] = set()
    for where, row in rows(path, problems):
        turns = row.get("turns")
        if not isinstance(turns, list) or not 2 <= len(turns) <= 4:
            problems.append(f"{where}: needs 2-4 turns")
            continue
        if row.get("id") in ids:
            problems.append(f"{where}: id {row.get('id')!r} used twice")
        ids.add(row.get("id"))
        kinds["dialogues"] += 1
        for number, turn in enumerate(turns, 1):
            at = f"{where} turn {number}"
            kind = turn.get("kind") if isinstance(turn, dict) else None
            if kind not in TURN_KINDS or (kind == "in") != (number == 1):
                problems.append(f"{at}: the first turn is 'in', later ones 'followup' or 'switch'")
                continue
            kinds[kind] += 1
            if not isinstance(turn.get("question"), str) or not turn["question"].strip():
                problems.append(f"{at}: empty question")
            check_gold(at, turn.get("gold"), lines, problems)
    return kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", nargs="*", type=Path, default=[REPO / "tests" / "eval" / "questions.jsonl"])
    parser.add_argument("--dialogues", nargs="*", type=Path, default=[REPO / "tests" / "eval" / "dialogues.jsonl"])
    parser.add_argument("--articles", type=Path, default=REPO / "knowledge", help="folder of the articles")
    parser.add_argument("--unlike", nargs="*", type=Path, default=[],
                        help="question files whose questions must not appear in the checked ones")
    args = parser.parse_args(argv)
    lines = [line for path in sorted(args.articles.glob("*")) if path.suffix in (".txt", ".md")
             for line in path.read_text(encoding="utf-8").splitlines()]
    if not lines:
        parser.error(f"no .txt or .md articles in {args.articles}")
    problems: list[str] = []
    unlike = {normal(row["question"]): f"{path}" for path in args.unlike
              for _, row in rows(path, problems) if isinstance(row.get("question"), str)}
    for path in args.questions:
        print(f"{path}: {dict(check_questions(path, lines, unlike, problems))}")
    for path in args.dialogues:
        print(f"{path}: {dict(check_dialogues(path, lines, problems))}")
    for problem in problems:
        print(f"problem: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
