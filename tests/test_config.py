"""Settings: defaults, ``faqbot.toml`` overrides, type checking, and how the CLI and index use them."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from conftest import BOTH_ROLES_ANSWER, BOTH_ROLES_QUESTION, write

from bot.cli import main
from bot.config import CONFIG_FILE, ConfigError, Settings, load_settings
from bot.index_store import load_index


def test_defaults():
    s = Settings()
    assert s.max_passage_chars == 1200
    assert s.top_k >= 1 and 0 < s.threshold < 1 and s.max_question_chars > 0
    # one weight per confidence feature
    from bot.analysis import Query
    from bot.engine import confidence_features
    from bot.ingest import Passage
    from bot.retriever import Hit

    hit = Hit(Passage("t", "s.txt", "T", None, "section", 0, 1), 0.5, 0.5, 1.0)
    assert len(s.confidence_weights) == len(confidence_features(hit, Query("q", ["q"], [])))


def test_settings_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().top_k = 9  # type: ignore[misc]


@pytest.mark.parametrize("path", [None, "missing.toml"])
def test_no_file_means_defaults(tmp_path, path):
    assert load_settings(None if path is None else tmp_path / path) == Settings()


def test_tables_are_merged_and_top_level_keys_work(tmp_path):
    path = write(tmp_path / CONFIG_FILE, (
        "top_k = 5\n"
        "[ingestion]\nmax_passage_chars = 800\npack_sections = false\n"
        "[answering]\nthreshold = 0.3\nconfidence_weights = [1, 2.5, 3, 4, 5]\n"
    ))
    s = load_settings(path)
    assert (s.top_k, s.max_passage_chars, s.pack_sections, s.threshold) == (5, 800, False, 0.3)
    assert s.confidence_weights == (1, 2.5, 3, 4, 5)
    assert s.max_question_chars == Settings().max_question_chars  # untouched keys keep their default


def test_an_int_is_accepted_for_a_float(tmp_path):
    assert load_settings(write(tmp_path / CONFIG_FILE, "threshold = 1\n")).threshold == 1


@pytest.mark.parametrize(("content", "needle"), [
    ("no_such_knob = 1\n", "no_such_knob"),
    ("top_k = \"five\"\n", "top_k"),
    ("top_k = true\n", "top_k"),
    ("top_k = 2.5\n", "top_k"),
    ("pack_sections = 1\n", "pack_sections"),
    ("threshold = \"high\"\n", "threshold"),
    ("confidence_weights = [\"a\", 1]\n", "confidence_weights"),
    ("confidence_weights = 3\n", "confidence_weights"),
    ("top_k = \n", CONFIG_FILE),
    ("[broken\n", CONFIG_FILE),
])
def test_bad_files_are_config_errors(tmp_path, content, needle):
    path = write(tmp_path / CONFIG_FILE, content)
    with pytest.raises(ConfigError, match=needle):
        load_settings(path)


def test_non_utf8_file_is_a_config_error(tmp_path):
    path = tmp_path / CONFIG_FILE
    path.write_bytes(b"top_k = 1 # caf\xe9\n")
    with pytest.raises(ConfigError, match=CONFIG_FILE):
        load_settings(path)


def test_with_overrides():
    s = Settings().with_overrides(top_k=7, threshold=None)
    assert s.top_k == 7 and s.threshold == Settings().threshold
    assert Settings().with_overrides() == Settings()
    with pytest.raises(ConfigError):
        Settings().with_overrides(bogus=1)
    with pytest.raises(ConfigError):
        Settings().with_overrides(top_k="3")


# -- used by the CLI and the index -------------------------------------------------------------
def _ask_json(*args: str) -> tuple[int, dict | None]:
    out = io.StringIO()
    status = main(["ask", "--json", *args], out=out)
    return status, json.loads(out.getvalue()) if out.getvalue() else None


def test_knowledge_config_file_is_used(knowledge_copy):
    write(knowledge_copy / CONFIG_FILE, "[answering]\ntop_k = 0\nmax_question_chars = 50\n")
    status, obj = _ask_json("--knowledge", str(knowledge_copy), BOTH_ROLES_QUESTION)
    assert status == 0 and obj["kind"] == "answer" and obj["alternatives"] == []
    status, obj = _ask_json("--knowledge", str(knowledge_copy), "x" * 51)
    assert obj["kind"] == "unknown" and "50" in obj["reply"]


def test_command_line_overrides_the_config_file(knowledge_copy):
    write(knowledge_copy / CONFIG_FILE, "top_k = 0\n")
    status, obj = _ask_json("--knowledge", str(knowledge_copy), "--top-k", "2", BOTH_ROLES_QUESTION)
    assert status == 0 and 0 < len(obj["alternatives"]) <= 2


def test_config_option_points_to_another_file(knowledge_copy, tmp_path):
    other = write(tmp_path / "other.toml", "top_k = 1\n")
    status, obj = _ask_json("--knowledge", str(knowledge_copy), "--config", str(other), BOTH_ROLES_QUESTION)
    assert status == 0 and len(obj["alternatives"]) <= 1
    assert BOTH_ROLES_ANSWER in obj["answer"]


@pytest.mark.parametrize("case", ["missing", "bad"])
def test_config_errors_are_one_line(knowledge_copy, tmp_path, capsys, case):
    if case == "missing":
        args = ["--config", str(tmp_path / "nope.toml")]
        needle = "nope.toml"
    else:
        write(knowledge_copy / CONFIG_FILE, "top_k = \"lots\"\n")
        args, needle = [], "top_k"
    status, obj = _ask_json("--knowledge", str(knowledge_copy), *args, BOTH_ROLES_QUESTION)
    assert status != 0 and obj is None
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and needle in err


def test_build_settings_are_part_of_the_index_but_answer_settings_are_not(knowledge_copy):
    assert load_index(knowledge_copy, None, Settings()).rebuilt
    assert load_index(knowledge_copy, None, Settings(top_k=1, max_question_chars=10)).rebuilt is False
    small = load_index(knowledge_copy, None, Settings(max_passage_chars=500))
    assert small.rebuilt is True
    assert max(len(p.text) for p in small.retriever.passages_) <= 500
