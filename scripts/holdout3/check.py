#!/usr/bin/env python3
"""Validate scripts/holdout3/questions.jsonl and scripts/holdout3/dialogues.jsonl (stdlib only).

questions.jsonl checks: valid JSON per line, exactly the fields
{id, question, gold, kind, doc, note}, unique ids, allowed kinds, "in" items
have >=1 gold snippet that is an exact substring of a single line of one of
the seed articles (<repo root>/../shared/seeds/*.txt), 25-200 chars unless it
is a whole line, and a valid doc; "ood"/"chit" items have no gold and doc
null; expected counts (125 in / 35 ood (18 near, 17 far) / 10 chit); every
seed article has >=1 "in" question; no duplicate questions inside the file or
against shared/eval/dev.jsonl, scripts/holdout/questions.jsonl,
scripts/holdout2/questions.jsonl and tests/eval/questions.jsonl (compared
mechanically after normalisation; only our colliding question is printed).

dialogues.jsonl checks: valid JSON, exactly {id, turns}, unique ids, 2-4
turns, each turn exactly {question, gold, kind}, first turn kind "in", later
turns "followup" or "switch", every turn has >=1 gold snippet verbatim in a
single seed line (same length rule), expected counts (30 dialogues, 35
followup, 15 switch turns), no dialogue duplicating one in
shared/eval/dialogues_dev.jsonl or tests/eval/dialogues.jsonl (same
normalised question sequence or same opening question).
"""
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = (REPO / ".." / "shared").resolve()
SEEDS = SHARED / "seeds"
QFILE = HERE / "questions.jsonl"
DFILE = HERE / "dialogues.jsonl"
OTHER_QFILES = [
    SHARED / "eval" / "dev.jsonl",
    REPO / "scripts" / "holdout" / "questions.jsonl",
    REPO / "scripts" / "holdout2" / "questions.jsonl",
    REPO / "tests" / "eval" / "questions.jsonl",
]
OTHER_DFILES = [
    SHARED / "eval" / "dialogues_dev.jsonl",
    REPO / "tests" / "eval" / "dialogues.jsonl",
]

EXPECTED = {"in": 125, "ood": 35, "chit": 10}
EXPECTED_OOD_NOTES = {"near": 18, "far": 17}
EXPECTED_DIALOGUES = 30
EXPECTED_TURN_KINDS = {"followup": 35, "switch": 15}
FIELDS = {"id", "question", "gold", "kind", "doc", "note"}
DFIELDS = {"id", "turns"}
TFIELDS = {"question", "gold", "kind"}


def rel(p):
    p = Path(p).resolve()
    for base in (REPO, SHARED.parent):
        try:
            return str(p.relative_to(base))
        except ValueError:
            pass
    return str(p)


def norm(q):
    return re.sub(r"[^a-z0-9]+", " ", q.lower()).strip()


def read_jsonl(path, errors, label):
    out = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            errors.append(f"{label} line {n}: blank line")
            continue
        try:
            out.append((n, json.loads(raw)))
        except json.JSONDecodeError as e:
            errors.append(f"{label} line {n}: invalid JSON ({e})")
    return out


def check_gold(gold, lines, tag, errors):
    if not isinstance(gold, list):
        errors.append(f"{tag}: gold must be a list")
        return
    if len(set(gold)) != len(gold):
        errors.append(f"{tag}: repeated gold snippet")
    for g in gold:
        if not isinstance(g, str) or not g.strip():
            errors.append(f"{tag}: empty gold snippet")
            continue
        hits = [ln for ln in lines if g in ln]
        if not hits:
            errors.append(f"{tag}: gold not found verbatim in any single line: {g!r}")
            continue
        whole_line = any(ln.strip().lstrip("•- ").strip() == g.strip() for ln in hits)
        if len(g) > 200 or (len(g) < 25 and not whole_line):
            errors.append(f"{tag}: gold length {len(g)} outside 25-200 (and not a whole line): {g!r}")


def check_questions(lines, seed_names, errors):
    other_qs = {}
    for p in OTHER_QFILES:
        if not p.exists():
            errors.append(f"comparison file not found: {p}")
            continue
        for raw in p.read_text(encoding="utf-8").splitlines():
            if raw.strip():
                other_qs.setdefault(norm(json.loads(raw)["question"]), rel(p))

    items = []
    for n, obj in read_jsonl(QFILE, errors, "questions"):
        if not isinstance(obj, dict) or set(obj) != FIELDS:
            errors.append(f"questions line {n}: fields must be exactly {sorted(FIELDS)}")
            continue
        items.append((n, obj))

    ids = Counter(o["id"] for _, o in items)
    for i, c in ids.items():
        if c > 1:
            errors.append(f"duplicate question id {i!r} ({c}x)")
    seen_q = {}
    kinds, ood_notes, docs = Counter(), Counter(), Counter()
    for n, o in items:
        tag = f"questions line {n} ({o.get('id')})"
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
        if nq in other_qs:
            errors.append(f"{tag}: question duplicates one in {other_qs[nq]}: {q!r}")
        kind = o["kind"]
        kinds[kind] += 1
        gold = o["gold"]
        if kind == "in":
            if o["doc"] not in seed_names:
                errors.append(f"{tag}: doc {o['doc']!r} is not a seed file name")
            docs[o["doc"]] += 1
            if not gold:
                errors.append(f"{tag}: 'in' question needs >=1 gold snippet")
            check_gold(gold, lines, tag, errors)
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
    return kinds, ood_notes, docs


def check_dialogues(lines, errors):
    other_seqs, other_first = {}, {}
    for p in OTHER_DFILES:
        if not p.exists():
            errors.append(f"comparison file not found: {p}")
            continue
        for raw in p.read_text(encoding="utf-8").splitlines():
            if raw.strip():
                d = json.loads(raw)
                qs = tuple(norm(t["question"]) for t in d["turns"])
                other_seqs.setdefault(qs, rel(p))
                if qs:
                    other_first.setdefault(qs[0], rel(p))

    dialogues = []
    for n, obj in read_jsonl(DFILE, errors, "dialogues"):
        if not isinstance(obj, dict) or set(obj) != DFIELDS:
            errors.append(f"dialogues line {n}: fields must be exactly {sorted(DFIELDS)}")
            continue
        dialogues.append((n, obj))

    ids = Counter(d["id"] for _, d in dialogues)
    for i, c in ids.items():
        if c > 1:
            errors.append(f"duplicate dialogue id {i!r} ({c}x)")
    turn_kinds = Counter()
    seen_seq = {}
    for n, d in dialogues:
        tag = f"dialogues line {n} ({d.get('id')})"
        if not isinstance(d["id"], str) or not d["id"]:
            errors.append(f"{tag}: bad id")
        turns = d["turns"]
        if not isinstance(turns, list) or not 2 <= len(turns) <= 4:
            errors.append(f"{tag}: needs 2-4 turns")
            continue
        ok = True
        for j, t in enumerate(turns):
            ttag = f"{tag} turn {j + 1}"
            if not isinstance(t, dict) or set(t) != TFIELDS:
                errors.append(f"{ttag}: fields must be exactly {sorted(TFIELDS)}")
                ok = False
                continue
            if not isinstance(t["question"], str) or not t["question"].strip():
                errors.append(f"{ttag}: empty question")
                ok = False
            want = ("in",) if j == 0 else ("followup", "switch")
            if t["kind"] not in want:
                errors.append(f"{ttag}: kind {t['kind']!r} not in {want}")
            turn_kinds[t["kind"]] += 1
            if not t["gold"]:
                errors.append(f"{ttag}: needs >=1 gold snippet")
            check_gold(t["gold"], lines, ttag, errors)
        if not ok:
            continue
        seq = tuple(norm(t["question"]) for t in turns)
        if seq in seen_seq:
            errors.append(f"{tag}: duplicate dialogue (also line {seen_seq[seq]})")
        seen_seq[seq] = n
        if seq in other_seqs:
            errors.append(f"{tag}: dialogue duplicates one in {other_seqs[seq]}")
        elif seq[0] in other_first:
            errors.append(f"{tag}: opening question duplicates one in {other_first[seq[0]]}: {turns[0]['question']!r}")

    if len(dialogues) != EXPECTED_DIALOGUES:
        errors.append(f"{len(dialogues)} dialogues, expected {EXPECTED_DIALOGUES}")
    for k, v in EXPECTED_TURN_KINDS.items():
        if turn_kinds[k] != v:
            errors.append(f"count of {k!r} turns is {turn_kinds[k]}, expected {v}")
    if turn_kinds["in"] != len(dialogues):
        errors.append(f"'in' turns {turn_kinds['in']} != number of dialogues {len(dialogues)}")
    return len(dialogues), turn_kinds


def main():
    errors = []
    seed_files = sorted(SEEDS.glob("*.txt"))
    if not seed_files:
        print(f"no seed articles found in {SEEDS}")
        return 1
    lines = []
    for p in seed_files:
        lines.extend(p.read_text(encoding="utf-8").split("\n"))
    seed_names = {p.name for p in seed_files}

    kinds, ood_notes, docs = check_questions(lines, seed_names, errors)
    n_dialogues, turn_kinds = check_dialogues(lines, errors)

    if errors:
        print("FAIL")
        for e in errors:
            print(" -", e)
        return 1
    print("OK questions:", dict(kinds), "ood:", dict(ood_notes), "docs:", dict(sorted(docs.items())))
    print("OK dialogues:", n_dialogues, "turns:", dict(turn_kinds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
