"""The on-disk index: where it goes, what it holds (no pickle), staleness, atomic and robust loading."""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import BOTH_ROLES_ANSWER, BOTH_ROLES_QUESTION, copy_knowledge, write

import bot.index_store as index_store
from bot.config import Settings
from bot.engine import Engine
from bot.index_store import (
    INDEX_DIRNAME,
    MANIFEST,
    IndexStore,
    KnowledgeError,
    build_index,
    library_versions,
    load_index,
)

QUESTIONS = [
    BOTH_ROLES_QUESTION, "what does a coo earn", "who does the vp of operations report to",
    "key responsibilities of an operations director", "what is the best pizza topping", "opertaions managr salary",
]
SETTINGS = Settings()


def _index_dir(knowledge: Path) -> Path:
    return knowledge / INDEX_DIRNAME


def _manifest(knowledge: Path) -> dict:
    return json.loads((_index_dir(knowledge) / MANIFEST).read_text(encoding="utf-8"))


def _arrays_path(knowledge: Path) -> Path:
    return _index_dir(knowledge) / _manifest(knowledge)["arrays"]


def _find(obj, key: str):
    """The value of ``key`` anywhere in a nested JSON document (None when absent)."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        children = obj.values()
    elif isinstance(obj, list):
        children = obj
    else:
        return None
    for child in children:
        found = _find(child, key)
        if found is not None:
            return found
    return None


def _results(retriever) -> list[list[tuple[str, int, float]]]:
    return [[(h.passage.source, h.passage.position, h.score) for h in retriever.retrieve(q, k=5)] for q in QUESTIONS]


def _answers(loaded) -> list[str]:
    engine = Engine(loaded.retriever, SETTINGS, calibration=loaded.calibration)
    return [engine.ask(BOTH_ROLES_QUESTION).text or ""]


def _log_lines(caplog, level: int = logging.INFO) -> list[str]:
    """What the index store logged at ``level`` (INFO for a stale index, WARNING for a damaged one)."""
    return [r.getMessage() for r in caplog.records if r.name == "bot.index_store" and r.levelno == level]


def _info_lines(caplog) -> list[str]:
    return _log_lines(caplog, logging.INFO)


@pytest.fixture(scope="module")
def built_template(tmp_path_factory) -> Path:
    knowledge = copy_knowledge(tmp_path_factory.mktemp("template") / "knowledge")
    assert load_index(knowledge, None, SETTINGS).rebuilt  # nothing there yet
    return knowledge


@pytest.fixture
def built(built_template: Path, tmp_path: Path) -> Path:
    """A private knowledge copy with a current index in <knowledge>/.index (copied: it is path-independent)."""
    return Path(shutil.copytree(built_template, tmp_path / "knowledge"))


# -- where and what ------------------------------------------------------------------------
def test_index_goes_to_dot_index_in_the_knowledge_folder(built):
    assert (_index_dir(built) / MANIFEST).is_file()
    assert _arrays_path(built).is_file()


def test_index_dir_can_be_chosen(knowledge_copy, tmp_path):
    elsewhere = tmp_path / "elsewhere" / "idx"
    _, report = build_index(knowledge_copy, elsewhere, SETTINGS)
    assert (elsewhere / MANIFEST).is_file()
    assert not _index_dir(knowledge_copy).exists()
    assert report.index_dir == elsewhere
    assert load_index(knowledge_copy, elsewhere, SETTINGS).rebuilt is False
    assert not _index_dir(knowledge_copy).exists()


def test_build_report(knowledge_copy, tmp_path):
    _, report = build_index(knowledge_copy, tmp_path / "idx", SETTINGS)
    assert report.documents == 5
    assert set(report.passages_by_kind) <= {"faq", "qa", "section", "table", "list", "date"}
    assert {"faq", "qa", "table"} <= set(report.passages_by_kind)
    assert report.vocabulary > 100 and report.seconds >= 0
    assert report.warnings == []
    text = "\n".join(report.lines())
    assert "5 documents" in text and str(report.vocabulary) in text


def test_manifest_is_plain_json_with_everything_needed(built):
    manifest = _manifest(built)
    vocabulary = _find(manifest, "vocabulary")
    assert isinstance(vocabulary, dict) and len(vocabulary) > 100
    assert all(isinstance(k, str) and isinstance(v, int) for k, v in vocabulary.items())
    assert sorted(vocabulary.values()) == list(range(len(vocabulary)))
    passages = _find(manifest, "passages")  # by column: {"source": [...], "title": [...], ...}
    assert isinstance(passages, dict) and passages["source"]
    assert {"source", "title", "section", "kind", "position"} <= set(passages)
    assert len({len(column) for column in passages.values()}) == 1
    with np.load(_arrays_path(built), allow_pickle=False) as npz:  # the long texts, as UTF-8
        texts = npz["passages.text.utf8"].tobytes().decode("utf-8")
        assert len(npz["passages.text.ends"]) == len(passages["source"])
    assert BOTH_ROLES_ANSWER in texts
    assert isinstance(manifest["fingerprint"], str) and manifest["fingerprint"]
    versions = _find(manifest, "versions")
    assert versions == library_versions()
    assert versions["numpy"] == np.__version__
    # idf-related data: one weight per vocabulary term, in the arrays file
    with np.load(_arrays_path(built), allow_pickle=False) as npz:
        idf = [npz[k] for k in npz.files if "idf" in k]
    assert idf and idf[0].shape == (len(vocabulary),) and np.all(np.isfinite(idf[0]))


def test_arrays_hold_no_objects_and_nothing_is_pickled(built):
    directory = _index_dir(built)
    assert not [p for p in directory.iterdir() if p.suffix in (".pkl", ".pickle", ".joblib", ".joblib.gz")]
    npz_files = list(directory.glob("*.npz"))
    assert len(npz_files) == 1
    with np.load(npz_files[0], allow_pickle=False) as npz:
        assert npz.files
        for key in npz.files:
            assert npz[key].dtype != object, key


def test_loading_never_unpickles(built, monkeypatch):
    calls: list[dict] = []
    real_read = np.lib.format.read_array  # what reads a compressed member (a small index's)

    def spy_read(*args, **kwargs):
        calls.append(kwargs)
        return real_read(*args, **kwargs)

    def no_pickle(*args, **kwargs):
        raise AssertionError("pickle used while loading the index")

    monkeypatch.setattr(np.lib.format, "read_array", spy_read)
    monkeypatch.setattr(pickle, "load", no_pickle)
    monkeypatch.setattr(pickle, "loads", no_pickle)
    loaded = load_index(built, None, SETTINGS)
    assert loaded.rebuilt is False
    assert calls and all(c.get("allow_pickle") is False for c in calls)


def test_save_load_round_trip_gives_identical_results(knowledge_copy):
    fresh = load_index(knowledge_copy, None, SETTINGS)
    assert fresh.rebuilt
    again = load_index(knowledge_copy, None, SETTINGS)
    assert again.rebuilt is False
    assert [p.to_dict() for p in again.retriever.passages_] == [p.to_dict() for p in fresh.retriever.passages_]
    for before, after in zip(_results(fresh.retriever), _results(again.retriever), strict=True):
        assert [r[:2] for r in after] == [r[:2] for r in before]
        assert [r[2] for r in after] == pytest.approx([r[2] for r in before], rel=1e-6, abs=1e-9)
    assert json.loads(json.dumps(again.calibration)) == json.loads(json.dumps(fresh.calibration))
    e1 = Engine(fresh.retriever, SETTINGS, calibration=fresh.calibration)
    e2 = Engine(again.retriever, SETTINGS, calibration=again.calibration)
    for q in QUESTIONS:
        a, b = e1.ask(q).to_json(), e2.ask(q).to_json()
        assert a["score"] == pytest.approx(b["score"], abs=1e-4)
        assert {**a, "score": 0, "alternatives": len(a["alternatives"])} == \
               {**b, "score": 0, "alternatives": len(b["alternatives"])}


# -- staleness -----------------------------------------------------------------------------
def test_unchanged_index_is_loaded_not_rebuilt(built, caplog):
    caplog.set_level(logging.INFO, logger="bot.index_store")
    for _ in range(2):
        loaded = load_index(built, None, SETTINGS)
        assert loaded.rebuilt is False
    assert _info_lines(caplog) == []


def test_touching_files_without_changing_them_does_not_rebuild(built):
    for path in built.iterdir():
        if path.is_file():
            os.utime(path, (1_000_000_000, 1_000_000_000))
    assert load_index(built, None, SETTINGS).rebuilt is False


def _edit_source(k: Path) -> None:
    path = k / "head-of-operations-vs-coo.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("day-to-day", "daily"), encoding="utf-8")


def _add_file(k: Path) -> None:
    write(k / "extra.md", "# Extra\n\nA brand new article about zebracorn operations. It has two sentences.\n")


def _delete_file(k: Path) -> None:
    (k / "coo-vs-operations-director.txt").unlink()


def _edit_synonyms(k: Path) -> None:
    path = k / "synonyms.ini"
    path.write_text(path.read_text(encoding="utf-8").replace("[terms]\n", "[terms]\nzebracorn = unicorn\n"),
                    encoding="utf-8")


def _change_versions(k: Path) -> None:
    manifest = _manifest(k)
    manifest["versions"] = {**manifest["versions"], "scikit-learn": "0.0.1"}
    (_index_dir(k) / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def _change_build_setting(k: Path) -> None:
    write(k / "faqbot.toml", "[ingestion]\nmax_passage_chars = 900\n")


@pytest.mark.parametrize("change", [_edit_source, _add_file, _delete_file, _edit_synonyms, _change_versions,
                                    _change_build_setting])
def test_stale_index_is_rebuilt_with_one_info_line(built, caplog, change):
    change(built)
    from bot.config import load_settings

    settings = load_settings(built / "faqbot.toml")
    caplog.set_level(logging.INFO, logger="bot.index_store")
    loaded = load_index(built, None, settings)
    assert loaded.rebuilt is True
    # One line: INFO for changed sources or settings, WARNING for an index built by other libraries.
    lines = _info_lines(caplog) + _log_lines(caplog, logging.WARNING)
    assert len(lines) == 1, lines
    caplog.clear()
    # ...and the rebuilt index is current from now on
    assert load_index(built, None, settings).rebuilt is False
    assert _info_lines(caplog) == []


def test_rebuild_sees_the_new_content(built):
    _add_file(built)
    loaded = load_index(built, None, SETTINGS)
    assert loaded.rebuilt
    assert any("zebracorn" in p.text for p in loaded.retriever.passages_)


def test_explicit_rebuild(built):
    assert load_index(built, None, SETTINGS, rebuild=True).rebuilt is True


def test_unrelated_files_do_not_make_the_index_stale(built):
    write(built / "notes.rst", "not an article")
    write(built / ".hidden" / "draft.txt", "Draft\n\nNot published yet. Really not.\n")
    assert load_index(built, None, SETTINGS).rebuilt is False


def test_knowledge_folder_errors(tmp_path):
    with pytest.raises(KnowledgeError, match="not found"):
        load_index(tmp_path / "missing", None, SETTINGS)
    (tmp_path / "empty").mkdir()
    with pytest.raises(KnowledgeError):
        load_index(tmp_path / "empty", None, SETTINGS)


# -- broken or crashed writes --------------------------------------------------------------
def _corrupt_arrays(k: Path) -> None:
    path = _arrays_path(k)
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = b"\x00" * 64
    path.write_bytes(bytes(data))


def _garbage_arrays(k: Path) -> None:
    _arrays_path(k).write_bytes(b"this is not a zip file")


def _missing_arrays(k: Path) -> None:
    _arrays_path(k).unlink()


def _truncated_manifest(k: Path) -> None:
    path = _index_dir(k) / MANIFEST
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _empty_manifest(k: Path) -> None:
    (_index_dir(k) / MANIFEST).write_bytes(b"")


def _wrong_format(k: Path) -> None:
    manifest = _manifest(k)
    manifest["format"] = 999
    (_index_dir(k) / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def _manifest_not_an_object(k: Path) -> None:
    (_index_dir(k) / MANIFEST).write_text("[1, 2, 3]", encoding="utf-8")


def _arrays_outside_index(k: Path) -> None:
    manifest = _manifest(k)
    manifest["arrays"] = "../" + manifest["arrays"]
    (_index_dir(k) / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def _inconsistent_passages(k: Path) -> None:
    manifest = _manifest(k)
    passages = _find(manifest, "passages")
    passages["source"] = passages["source"][:3]  # one column shorter than the others
    (_index_dir(k) / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def _object_arrays_with_valid_checksum(k: Path) -> None:
    """A pickled object array that even passes the checksum: must be refused, not unpickled."""
    with np.load(_arrays_path(k), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    idf_key = next(key for key in arrays if "idf" in key)
    arrays[idf_key] = np.array([{"evil": True}] * len(arrays[idf_key]), dtype=object)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    data = buf.getvalue()
    _arrays_path(k).write_bytes(data)
    manifest = _manifest(k)
    for key in ("arrays_sha256", "sha256", "checksum"):
        if key in manifest:
            import hashlib

            manifest[key] = hashlib.sha256(data).hexdigest()
    (_index_dir(k) / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize("damage", [
    _corrupt_arrays, _garbage_arrays, _missing_arrays, _truncated_manifest, _empty_manifest, _wrong_format,
    _manifest_not_an_object, _arrays_outside_index, _inconsistent_passages, _object_arrays_with_valid_checksum,
])
def test_damaged_index_is_detected_and_rebuilt(built, caplog, monkeypatch, damage):
    damage(built)

    def no_pickle(*args, **kwargs):
        raise AssertionError("pickle used while loading the index")

    monkeypatch.setattr(pickle, "load", no_pickle)
    monkeypatch.setattr(pickle, "loads", no_pickle)
    caplog.set_level(logging.INFO, logger="bot.index_store")
    loaded = load_index(built, None, SETTINGS)
    assert loaded.rebuilt is True
    warnings = _log_lines(caplog, logging.WARNING)
    assert len(warnings) == 1 and "damaged" in warnings[0]
    assert _info_lines(caplog) == []
    assert BOTH_ROLES_ANSWER in _answers(loaded)[0]
    assert load_index(built, None, SETTINGS).rebuilt is False  # repaired on disk


def _crash_when(monkeypatch, target: str, match) -> None:
    real = getattr(index_store.os, target) if target != "savez" else np.lib.format.write_array

    def crashing(*args, **kwargs):
        if match(args):
            raise OSError("simulated crash")
        return real(*args, **kwargs)

    if target == "savez":  # writing the arrays file's contents
        monkeypatch.setattr(np.lib.format, "write_array", crashing)
    else:
        monkeypatch.setattr(index_store.os, target, crashing)


@pytest.mark.parametrize("crash", ["arrays", "manifest", "savez", "fsync"])
def test_crash_during_rebuild_keeps_the_previous_index(built, monkeypatch, crash):
    before = _manifest(built)
    source = built / "head-of-operations-vs-coo.txt"
    original = source.read_text(encoding="utf-8")
    source.write_text(original + "\nA new closing paragraph about zebracorn. It changes the fingerprint.\n",
                      encoding="utf-8")
    with monkeypatch.context() as m:
        if crash == "arrays":
            _crash_when(m, "replace", lambda a: str(a[1]).endswith(".npz"))
        elif crash == "manifest":
            _crash_when(m, "replace", lambda a: str(a[1]).endswith(MANIFEST))
        elif crash == "savez":
            _crash_when(m, "savez", lambda a: True)
        else:
            _crash_when(m, "fsync", lambda a: True)
        with pytest.raises(OSError, match="simulated crash"):
            build_index(built, None, SETTINGS)
    # The previous manifest and the arrays it names are untouched...
    assert _manifest(built) == before
    assert _arrays_path(built).is_file()
    assert not list(_index_dir(built).glob("*.tmp")), "temporary files left behind"
    # ...so with the old sources back, the old index loads (no rebuild) and answers.
    source.write_text(original, encoding="utf-8")
    loaded = load_index(built, None, SETTINGS)
    assert loaded.rebuilt is False
    assert BOTH_ROLES_ANSWER in _answers(loaded)[0]


def test_automatic_rebuild_that_cannot_save_still_answers(built, monkeypatch, caplog):
    _edit_source(built)

    def fail(self, manifest, arrays):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(IndexStore, "write", fail)
    caplog.set_level(logging.INFO)
    loaded = load_index(built, None, SETTINGS)
    assert loaded.rebuilt is True
    assert BOTH_ROLES_ANSWER in _answers(loaded)[0]
    assert any(r.levelno == logging.WARNING and "index" in r.getMessage().lower() for r in caplog.records)


def test_explicit_build_that_cannot_save_fails(knowledge_copy, monkeypatch):
    def fail(self, manifest, arrays):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(IndexStore, "write", fail)
    with pytest.raises(OSError):
        build_index(knowledge_copy, None, SETTINGS)


def test_rebuild_replaces_old_arrays(built):
    first = _arrays_path(built)
    _add_file(built)
    load_index(built, None, SETTINGS)
    second = _arrays_path(built)
    assert second != first
    assert not first.exists()
    assert [p.name for p in _index_dir(built).glob("*.npz")] == [second.name]


def test_first_load_builds_and_saves_the_index(knowledge_copy, caplog):
    caplog.set_level(logging.INFO, logger="bot.index_store")
    loaded = load_index(knowledge_copy, None, SETTINGS)
    assert loaded.rebuilt is True and loaded.report is not None
    assert len(_info_lines(caplog)) == 1
    assert (_index_dir(knowledge_copy) / MANIFEST).is_file()


@pytest.mark.parametrize("compress", [True, False])
def test_arrays_files_round_trip_compressed_or_stored(tmp_path, monkeypatch, compress):
    """Big indexes are stored uncompressed and read as views of the file's bytes: same arrays."""
    monkeypatch.setattr(index_store, "COMPRESS_BELOW_BYTES", 10**12 if compress else 0)
    arrays = {"a": np.arange(10, dtype=np.int32), "b": np.ones((3, 4), dtype=np.float32, order="F"),
              "c": np.zeros(0, dtype=np.int64), "d": np.array([True, False]), "e": np.float32(2.5) * np.ones((2, 2))}
    name, digest = index_store._write_npz(tmp_path, arrays)
    data = (tmp_path / name).read_bytes()
    assert name.startswith("arrays-") and digest.startswith(name[7:23])
    got = index_store._read_npz(data)
    assert got.keys() == arrays.keys()
    for key, array in arrays.items():
        assert got[key].dtype == array.dtype and np.array_equal(got[key], array)


def test_stored_object_arrays_are_refused(tmp_path):
    buf = io.BytesIO()
    np.savez(buf, evil=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError):
        index_store._read_npz(buf.getvalue())


def test_loading_rereads_only_sources_that_may_have_changed(knowledge_copy, monkeypatch):
    day_ago = time.time() - 86_400
    for path in knowledge_copy.iterdir():
        os.utime(path, (day_ago, day_ago))
    load_index(knowledge_copy, None, SETTINGS)  # builds, recording each file's size and time
    read: list[str] = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or real(self))
    assert load_index(knowledge_copy, None, SETTINGS).rebuilt is False
    assert not [name for name in read if name.endswith(".txt")]  # unchanged for a day: trusted
    # Same size, same recorded time, new content, but modified around the build: read again.
    source = knowledge_copy / "head-of-operations-vs-coo.txt"
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace("COO", "CEO", 1), encoding="utf-8")
    recent = _manifest(knowledge_copy)["built_at"]
    os.utime(source, (recent, recent))
    manifest = _manifest(knowledge_copy)
    manifest["files"][source.name][1] = source.stat().st_mtime_ns
    (_index_dir(knowledge_copy) / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert load_index(knowledge_copy, None, SETTINGS).rebuilt is True


def test_a_loaded_index_answers_known_words_without_importing_nltk_or_scikit_learn(built):
    """The index records the stem of every word it has seen (and of English words that may
    stem to its terms), so a new process answering such questions needs neither library (each
    takes a second to import)."""
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path; from bot.engine import Engine\n"
        f"engine = Engine.open(Path({str(built)!r}))\n"
        "for question in ['how much does a coo earn', 'do operations managers supervise employes',\n"
        "                 'has your coo plateaued']:\n"
        "    engine.ask(question)\n"
        "    print('nltk' in sys.modules, 'sklearn' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    # "employes" is rare in English but may stem to "employ" (indexed): the index records its
    # stem; "plateaued" cannot stem to any indexed term, so its stem does not matter.
    assert out.stdout.split() == ["False", "False"] * 3, out.stderr


def test_stems_in_the_index_are_checked_on_load(built, caplog):
    manifest_path = built / ".index" / "index.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest["stems"]["salaries"] == "salari"
    manifest["stems"] = {"salaries": 3}
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        Engine.open(built)
    assert any("damaged" in r.getMessage() for r in caplog.records)


def test_packed_common_stems_are_checked_on_load(built, caplog):
    manifest_path = built / ".index" / "index.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest["common_stems"].count(" ") > 10_000  # pairs of words
    manifest["common_stems"] = "toppings top pizzas"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        Engine.open(built)
    assert any("damaged" in r.getMessage() for r in caplog.records)


def test_an_index_from_another_format_is_rebuilt_with_a_warning_that_says_so(built, caplog):
    _wrong_format(built)
    with caplog.at_level(logging.WARNING, logger="bot.index_store"):
        assert load_index(built, None, SETTINGS).rebuilt
    message = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "index format 999" in message and "damaged" not in message


def test_a_rebuild_over_an_index_reuses_its_stems_and_records_the_same(built, monkeypatch):
    import bot.textproc as textproc

    before = _manifest(built)
    stemmer = textproc._stemmer()
    calls: list[str] = []

    class Counting:
        def stem(self, word: str) -> str:
            calls.append(word)
            return stemmer.stem(word)

    def stems(manifest: dict) -> dict[str, str]:  # every stem an index records
        parts = manifest["common_stems"].split(" ")
        return {**dict(zip(parts[::2], parts[1::2], strict=True)), **manifest["stems"]}

    monkeypatch.setattr(textproc, "_stemmer", lambda: Counting())
    build_index(built, None, SETTINGS)
    after = stems(_manifest(built))
    # the same stems (this process may have stemmed more words since, for other tests' questions)
    assert all(after.get(word) == found for word, found in stems(before).items())
    assert len(calls) < 100  # not the 33,000 common English words again
    # From nothing (or over an index of other library versions) they are all worked out.
    other = json.loads((_index_dir(built) / MANIFEST).read_text(encoding="utf-8"))
    other["versions"] = {**other["versions"], "nltk": "0.0"}
    (_index_dir(built) / MANIFEST).write_text(json.dumps(other), encoding="utf-8")
    assert index_store._earlier_stems(_index_dir(built)) == {}
    calls.clear()
    build_index(built, None, SETTINGS)
    assert len(calls) > 10_000 and stems(_manifest(built)) == after
