#!/usr/bin/env python3
"""Sanity checks for the faqbot evaluation set (stdlib only).

Checks questions.jsonl and dialogues.jsonl in this directory:
  * every line is valid JSON with the expected fields and types
  * ids are unique
  * every gold snippet is an exact substring of a single line of a seed article
    (seeds are read from <repo root>/../shared/seeds, i.e. /work/shared/seeds)
  * snippets are 30-200 characters (a shorter snippet is accepted only when it
    is a whole line of the article, e.g. the table row "COO $200,000 – $400,000+")
  * "in"/"followup"/"switch" items have >= 1 gold snippet, "ood"/"chit" have none
  * dialogues have 2-4 turns and start with an "in" turn
  * no question duplicates a question of the shared dev set
  * minimum counts per kind are met
Prints the counts and exits non-zero when a problem is found.

Usage: python tests/eval/check_eval.py [--seeds DIR] [--dev-dir DIR]
"""

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DEFAULT_SEEDS = REPO_ROOT.parent / "shared" / "seeds"
DEFAULT_DEV = REPO_ROOT.parent / "shared" / "eval"

Q_KINDS = {"in", "ood", "chit"}
TURN_KINDS = {"in", "followup", "switch"}
MINIMUMS = {"in": 110, "ood": 30, "chit": 12}
MIN_DIALOGUES = 32
MIN_LEN, MAX_LEN = 30, 200

problems = []


def problem(msg):
    problems.append(msg)


def norm(q):
    return " ".join(re.sub(r"[^\w\s]", " ", q.lower()).split())


def load_jsonl(path):
    rows = []
    if not path.exists():
        problem(f"{path}: file missing")
        return rows
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                problem(f"{path.name}:{n}: empty line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                problem(f"{path.name}:{n}: invalid JSON ({e})")
                continue
            if not isinstance(obj, dict):
                problem(f"{path.name}:{n}: not a JSON object")
                continue
            rows.append((n, obj))
    return rows


def load_seeds(seed_dir):
    seeds = {}
    for p in sorted(seed_dir.glob("*.txt")):
        seeds[p.name] = p.read_text(encoding="utf-8").split("\n")
    if not seeds:
        problem(f"no seed articles found in {seed_dir}")
    return seeds


def check_gold(where, gold, seeds, need_gold):
    if not isinstance(gold, list) or not all(isinstance(g, str) for g in gold):
        problem(f"{where}: gold must be a list of strings")
        return
    if need_gold and not gold:
        problem(f"{where}: needs at least one gold snippet")
    if not need_gold and gold:
        problem(f"{where}: must have no gold snippets")
    if len(set(gold)) != len(gold):
        problem(f"{where}: duplicate gold snippets")
    for g in gold:
        hits = [(name, i) for name, lines in seeds.items() for i, line in enumerate(lines) if g in line]
        if not hits:
            problem(f"{where}: gold not found verbatim in any seed line: {g!r}")
            continue
        whole_line = any(seeds[name][i].strip() == g.strip() for name, i in hits)
        if len(g) > MAX_LEN or (len(g) < MIN_LEN and not whole_line):
            problem(f"{where}: gold length {len(g)} outside {MIN_LEN}-{MAX_LEN}: {g!r}")
        if g != g.strip():
            problem(f"{where}: gold has leading/trailing whitespace: {g!r}")


def dev_questions(dev_dir):
    qs = set()
    for name in ("dev.jsonl", "dialogues_dev.jsonl"):
        p = dev_dir / name
        if not p.exists():
            continue
        for line in p.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "question" in obj:
                qs.add(norm(obj["question"]))
            for t in obj.get("turns", []):
                qs.add(norm(t.get("question", "")))
    return qs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS)
    ap.add_argument("--dev-dir", type=Path, default=DEFAULT_DEV)
    args = ap.parse_args()

    seeds = load_seeds(args.seeds)
    dev_qs = dev_questions(args.dev_dir)
    if not dev_qs:
        print(f"warning: no dev questions found in {args.dev_dir}; duplicate check skipped")

    seen_questions = {}
    kinds = Counter()
    notes = Counter()
    docs = Counter()

    # ---- questions.jsonl
    ids = set()
    for n, q in load_jsonl(HERE / "questions.jsonl"):
        where = f"questions.jsonl:{n}"
        missing = {"id", "question", "gold", "kind", "doc", "note"} - q.keys()
        if missing:
            problem(f"{where}: missing fields {sorted(missing)}")
            continue
        qid = q["id"]
        where = f"questions.jsonl:{n} ({qid})"
        if qid in ids:
            problem(f"{where}: duplicate id")
        ids.add(qid)
        if not isinstance(q["question"], str) or not q["question"].strip():
            problem(f"{where}: empty question")
            continue
        kind = q["kind"]
        if kind not in Q_KINDS:
            problem(f"{where}: bad kind {kind!r}")
            continue
        kinds[kind] += 1
        check_gold(where, q["gold"], seeds, need_gold=(kind == "in"))
        if kind == "in":
            if q["doc"] not in seeds:
                problem(f"{where}: doc {q['doc']!r} is not a seed file name")
            else:
                docs[q["doc"]] += 1
        elif q["doc"] is not None:
            problem(f"{where}: doc must be null for {kind}")
        if kind == "ood":
            notes[q["note"]] += 1
        key = norm(q["question"])
        if key in dev_qs:
            problem(f"{where}: duplicates a dev question: {q['question']!r}")
        if key in seen_questions:
            problem(f"{where}: same question as {seen_questions[key]}")
        seen_questions[key] = where

    # ---- dialogues.jsonl
    dids = set()
    turn_kinds = Counter()
    n_dialogues = 0
    for n, d in load_jsonl(HERE / "dialogues.jsonl"):
        where = f"dialogues.jsonl:{n}"
        if "id" not in d or "turns" not in d:
            problem(f"{where}: missing id/turns")
            continue
        where = f"dialogues.jsonl:{n} ({d['id']})"
        if d["id"] in dids or d["id"] in ids:
            problem(f"{where}: duplicate id")
        dids.add(d["id"])
        n_dialogues += 1
        turns = d["turns"]
        if not isinstance(turns, list) or not 2 <= len(turns) <= 4:
            problem(f"{where}: needs 2-4 turns")
            continue
        for i, t in enumerate(turns):
            tw = f"{where} turn {i + 1}"
            if not isinstance(t, dict) or not {"question", "gold", "kind"} <= t.keys():
                problem(f"{tw}: turn needs question, gold, kind")
                continue
            if t["kind"] not in TURN_KINDS:
                problem(f"{tw}: bad kind {t['kind']!r}")
                continue
            if i == 0 and t["kind"] != "in":
                problem(f"{tw}: first turn must be 'in'")
            if i > 0 and t["kind"] == "in":
                problem(f"{tw}: later turns must be 'followup' or 'switch'")
            turn_kinds[t["kind"]] += 1
            check_gold(tw, t["gold"], seeds, need_gold=True)
            if norm(t["question"]) in dev_qs:
                problem(f"{tw}: duplicates a dev question: {t['question']!r}")

    # ---- counts
    for k, m in MINIMUMS.items():
        if kinds[k] < m:
            problem(f"questions.jsonl: only {kinds[k]} '{k}' questions (need >= {m})")
    if n_dialogues < MIN_DIALOGUES:
        problem(f"dialogues.jsonl: only {n_dialogues} dialogues (need >= {MIN_DIALOGUES})")

    print(
        "questions.jsonl:",
        ", ".join(f"{k}={kinds[k]}" for k in ("in", "ood", "chit")),
        f"(total {sum(kinds.values())})",
    )
    print("  ood notes:", dict(notes))
    print("  in per doc:", {k[:3]: v for k, v in sorted(docs.items())})
    print(
        f"dialogues.jsonl: {n_dialogues} dialogues,",
        ", ".join(f"{k}={turn_kinds[k]}" for k in ("in", "followup", "switch")),
        f"(turns {sum(turn_kinds.values())})",
    )
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for p in problems:
            print("  -", p)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
