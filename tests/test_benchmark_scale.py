"""The scale benchmark's synthetic knowledge bases and queries are deterministic and the size asked for."""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))

import scale_bench

from bot.ingest import load_folder


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def test_generated_knowledge_is_deterministic_and_has_the_passages_asked_for(tmp_path):
    first = scale_bench.generate_knowledge(tmp_path / "a", 45)
    second = scale_bench.generate_knowledge(tmp_path / "b", 45)
    assert _digest(first) == _digest(second)
    passages, warnings = load_folder(first)
    assert len(passages) == 45 and not warnings
    assert all(120 <= len(p.text) <= 1200 for p in passages)
    assert (first / "synonyms.ini").is_file() and (first / "faqbot.toml").is_file()
    other_seed = scale_bench.generate_knowledge(tmp_path / "c", 45, seed=scale_bench.SEED + 1)
    assert _digest(other_seed) != _digest(first)


def test_queries_are_fixed_and_use_generated_terms(tmp_path):
    assert scale_bench.queries() == scale_bench.queries()
    generated = scale_bench.queries()[-100:]
    knowledge = scale_bench.generate_knowledge(tmp_path / "kb", 300)
    text = " ".join(p.read_text(encoding="utf-8").lower() for p in knowledge.glob("*.md"))
    # The query terms are drawn first from the same seed, so knowledge bases of any size know some.
    assert sum(any(w in text for w in q.split() if len(w) > 5) for q in generated) >= 50


def test_sizes_are_parsed():
    assert scale_bench.parse_sizes("1000,10k, 100_000") == [1000, 10000, 100000]
    with pytest.raises(argparse.ArgumentTypeError):
        scale_bench.parse_sizes("0")
