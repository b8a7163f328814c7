#!/usr/bin/env python3
"""Validate scripts/holdout2/questions.jsonl (stdlib only).

Checks: valid JSON per line, required fields, unique ids, allowed kinds,
"in" items have >=1 gold snippet that is an exact substring of a single line
of one of the seed articles (<repo root>/../shared/seeds/*.txt) and a valid
doc; "ood"/"chit" items have no gold and doc null; expected counts; no
duplicate questions inside the file or against shared/eval/dev.jsonl.
"""
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SEEDS = (REPO / ".." / "shared" / "seeds").resolve()
DEV = (REPO / ".." / "shared" / "eval" / "dev.jsonl").resolve()
QFILE = HERE / "questions.jsonl"

EXPECTED = {"in": 120, "ood": 30, "chit": 8}
EXPECTED_OOD_NOTES = {"near": 18, "far": 12}
FIELDS = {"id", "question", "gold", "kind", "doc", "note"}


def norm(q):
    return re.sub(r"[^a-z0-9]+", " ", q.lower()).strip()


def main():
    errors = []
    seed_files = sorted(SEEDS.glob("*.txt"))
    if not seed_files:
        print(f"no seed articles found in {SEEDS}")
        return 1
    lines = []
    for p in seed_files:
        for ln in p.read_text(encoding="utf-8").split("\n"):
            lines.append((p.name, ln))
    seed_names = {p.name for p in seed_files}

    dev_qs = set()
    if DEV.exists():
        for raw in DEV.read_text(encoding="utf-8").splitlines():
            if raw.strip():
                dev_qs.add(norm(json.loads(raw)["question"]))
    else:
        errors.append(f"dev file not found: {DEV}")

    items = []
    for n, raw in enumerate(QFILE.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            errors.append(f"line {n}: blank line")
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            errors.append(f"line {n}: invalid JSON ({e})")
            continue
        if not isinstance(obj, dict) or set(obj) != FIELDS:
            errors.append(f"line {n}: fields must be exactly {sorted(FIELDS)}")
            continue
        items.append((n, obj))

    ids = Counter(o["id"] for _, o in items)
    for i, c in ids.items():
        if c > 1:
            errors.append(f"duplicate id {i!r} ({c}x)")
    seen_q = {}
    kinds = Counter()
    ood_notes = Counter()
    docs = Counter()
    for n, o in items:
        tag = f"line {n} ({o.get('id')})"
        if not isinstance(o["id"], str) or not o["id"]:
            errors.append(f"{tag}: bad id")
        q = o["question"]
        if not isinstance(q, str) or not q.strip():
            errors.append(f"{tag}: empty question")
            continue
        nq = norm(q)
        if nq in seen_q:
            errors.append(f"{tag}: duplicate question (also line {seen_q[nq]})")
        seen_q[nq] = n
        if nq in dev_qs:
            errors.append(f"{tag}: question duplicates dev.jsonl: {q!r}")
        kind = o["kind"]
        kinds[kind] += 1
        gold = o["gold"]
        if not isinstance(gold, list):
            errors.append(f"{tag}: gold must be a list")
            continue
        if kind == "in":
            if o["doc"] not in seed_names:
                errors.append(f"{tag}: doc {o['doc']!r} is not a seed file name")
            docs[o["doc"]] += 1
            if not gold:
                errors.append(f"{tag}: 'in' question needs >=1 gold snippet")
            if len(set(gold)) != len(gold):
                errors.append(f"{tag}: repeated gold snippet")
            for g in gold:
                if not isinstance(g, str) or not g.strip():
                    errors.append(f"{tag}: empty gold snippet")
                    continue
                hits = [ln for _, ln in lines if g in ln]
                if not hits:
                    errors.append(f"{tag}: gold not found verbatim in any single line: {g!r}")
                    continue
                whole_line = any(ln.strip().lstrip("•- ").strip() == g.strip() for ln in hits)
                if len(g) > 200 or (len(g) < 25 and not whole_line):
                    errors.append(f"{tag}: gold length {len(g)} outside 25-200 (and not a whole line): {g!r}")
        elif kind in ("ood", "chit"):
            if gold:
                errors.append(f"{tag}: {kind} must have empty gold")
            if o["doc"] is not None:
                errors.append(f"{tag}: {kind} must have doc null")
            if kind == "ood":
                ood_notes[o["note"]] += 1
        else:
            errors.append(f"{tag}: bad kind {kind!r}")

    for k, v in EXPECTED.items():
        if kinds[k] != v:
            errors.append(f"count of {k!r} is {kinds[k]}, expected {v}")
    for k, v in EXPECTED_OOD_NOTES.items():
        if ood_notes[k] != v:
            errors.append(f"ood note {k!r} count is {ood_notes[k]}, expected {v}")
    missing_docs = seed_names - set(docs)
    if missing_docs:
        errors.append(f"seed articles without any 'in' question: {sorted(missing_docs)}")

    if errors:
        print("FAIL")
        for e in errors:
            print(" -", e)
        return 1
    print("OK", dict(kinds), "ood:", dict(ood_notes), "docs:", dict(sorted(docs.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
