#!/usr/bin/env python3
"""Validate the holdout evaluation set (scripts/holdout/questions.jsonl).

Stdlib only. Exits non-zero when a problem is found.

Checks:
  * every line is a JSON object with the expected keys and types
  * ids are unique, questions are unique (case/space-insensitive)
  * kind is one of in / ood / chit; counts are 110 / 30 / 8
  * "in": >= 1 gold snippet, each an exact substring of ONE line of
    ../shared/seeds/*.txt (relative to the repo root), doc names a seed file
  * "ood" / "chit": no gold, doc is null; ood note is "near" or "far"
  * no question duplicates a question of ../shared/eval/dev.jsonl
Snippet lengths outside 25-200 characters are reported as warnings only.
"""
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
SEEDS = os.path.normpath(os.path.join(REPO, "..", "shared", "seeds"))
DEV = os.path.normpath(os.path.join(REPO, "..", "shared", "eval", "dev.jsonl"))
QFILE = os.path.join(HERE, "questions.jsonl")

EXPECTED = {"in": 110, "ood": 30, "chit": 8}
KEYS = {"id", "question", "gold", "kind", "doc", "note"}


def norm(q):
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", q.lower())).strip()


def main():
    errors, warnings = [], []

    seed_files = sorted(glob.glob(os.path.join(SEEDS, "*.txt")))
    if not seed_files:
        print(f"ERROR: no seed files under {SEEDS}")
        return 2
    seed_names = {os.path.basename(p) for p in seed_files}
    lines = []
    for p in seed_files:
        with open(p, encoding="utf-8") as f:
            lines.extend(line.rstrip("\r\n") for line in f)

    dev_qs = set()
    if os.path.exists(DEV):
        with open(DEV, encoding="utf-8") as f:
            for row in f:
                if row.strip():
                    dev_qs.add(norm(json.loads(row)["question"]))
    else:
        warnings.append(f"dev file not found: {DEV}")

    ids, qs = set(), {}
    counts = {"in": 0, "ood": 0, "chit": 0}
    ood_notes = {"near": 0, "far": 0}
    with open(QFILE, encoding="utf-8") as f:
        raw = f.read().splitlines()
    for n, line in enumerate(raw, 1):
        if not line.strip():
            errors.append(f"line {n}: blank line")
            continue
        try:
            o = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"line {n}: invalid JSON ({e})")
            continue
        if not isinstance(o, dict) or set(o) != KEYS:
            errors.append(f"line {n}: keys must be exactly {sorted(KEYS)}")
            continue
        i, q, gold, kind, doc = o["id"], o["question"], o["gold"], o["kind"], o["doc"]
        tag = f"line {n} ({i})"
        if not isinstance(i, str) or not re.fullmatch(r"h\d{3}", i):
            errors.append(f"{tag}: bad id")
        if i in ids:
            errors.append(f"{tag}: duplicate id")
        ids.add(i)
        if not isinstance(q, str) or not q.strip():
            errors.append(f"{tag}: empty question")
            continue
        k = norm(q)
        if k in qs:
            errors.append(f"{tag}: duplicate question (also {qs[k]})")
        qs[k] = i
        if k in dev_qs:
            errors.append(f"{tag}: question duplicates a dev.jsonl question")
        if not isinstance(o["note"], str) or not o["note"].strip():
            errors.append(f"{tag}: empty note")
        if not isinstance(gold, list) or not all(isinstance(g, str) for g in gold):
            errors.append(f"{tag}: gold must be a list of strings")
            continue
        if kind not in counts:
            errors.append(f"{tag}: bad kind {kind!r}")
            continue
        counts[kind] += 1
        if kind == "in":
            if not gold:
                errors.append(f"{tag}: 'in' question without gold")
            if doc not in seed_names:
                errors.append(f"{tag}: doc {doc!r} is not a seed file name")
            if len(set(gold)) != len(gold):
                errors.append(f"{tag}: repeated gold snippet")
            for g in gold:
                if not any(g in line for line in lines):
                    errors.append(f"{tag}: gold not a substring of any seed line: {g[:80]!r}")
                if not 25 <= len(g) <= 200:
                    warnings.append(f"{tag}: gold length {len(g)} outside 25-200: {g[:60]!r}")
        else:
            if gold:
                errors.append(f"{tag}: {kind} question must have empty gold")
            if doc is not None:
                errors.append(f"{tag}: {kind} question must have doc null")
            if kind == "ood":
                if o["note"] in ood_notes:
                    ood_notes[o["note"]] += 1
                else:
                    errors.append(f"{tag}: ood note must be 'near' or 'far'")

    for kind, want in EXPECTED.items():
        if counts[kind] != want:
            errors.append(f"count of {kind!r} is {counts[kind]}, expected {want}")

    for w in warnings:
        print("WARNING:", w)
    for e in errors:
        print("ERROR:", e)
    print(f"counts: {counts}, ood notes: {ood_notes}, total: {sum(counts.values())}")
    if errors:
        print(f"FAILED with {len(errors)} error(s)")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
