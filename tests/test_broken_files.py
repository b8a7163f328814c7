"""Broken knowledge files and an index under stress: skipped with a warning, never a traceback.

Each bad file is skipped with one warning naming it and the reason, and the good files are still
indexed and answered. A rebuild killed at any point, or two rebuilds at once, leave an index that
loads.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.config import Settings
from bot.engine import Engine
from bot.index_store import IndexStore, KnowledgeError, build_index, load_index
from bot.ingest import load_folder

GOOD = """Widget Care

How often should I oil a widget?
Oil a widget once a month with light machine oil, more often in dusty rooms.
"""
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "widgets.txt").write_text(GOOD, encoding="utf-8")
    return knowledge


def _warnings_for(folder: Path) -> list[str]:
    passages, warnings = load_folder(folder)
    assert any("machine oil" in p.text for p in passages), "the good file must still be indexed"
    return warnings


def test_binary_file_is_skipped(folder):
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert _warnings_for(folder) == ["skipped image.txt: binary file, not text"]


def test_huge_file_is_skipped(folder):
    with open(folder / "dump.txt", "wb") as fh:
        fh.truncate(6_000_000)  # sparse: no 6 MB written to disk
    [warning] = _warnings_for(folder)
    assert warning.startswith("skipped dump.txt: larger than 5 MB")


def test_non_utf8_file_is_skipped(folder):
    (folder / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me, na\xefve.".encode("latin-1"))
    assert _warnings_for(folder) == ["skipped latin1.txt: not UTF-8 text"]


def test_empty_file_is_skipped(folder):
    (folder / "empty.md").write_text("  \n\n", encoding="utf-8")
    assert _warnings_for(folder) == ["skipped empty.md: empty file"]


def test_symlink_loops_are_skipped(folder):
    os.symlink("loop.txt", folder / "loop.txt")  # a link to itself
    (folder / "sub").mkdir()
    os.symlink("..", folder / "sub" / "up")  # a folder loop: must not be followed forever
    warnings = _warnings_for(folder)
    assert len(warnings) == 1 and warnings[0].startswith("skipped loop.txt: not a regular file")


def test_file_that_disappears_during_a_rebuild_is_skipped(folder, monkeypatch):
    (folder / "gone.txt").write_text("Here today, gone tomorrow. This file will vanish.", encoding="utf-8")
    real_read = Path.read_bytes

    def vanishing(self: Path) -> bytes:
        if self.name == "gone.txt":
            self.unlink()
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", vanishing)
    assert _warnings_for(folder) == ["skipped gone.txt: it disappeared while being read"]


def test_bad_files_are_logged_once_and_good_ones_answered(folder, caplog):
    (folder / "image.txt").write_bytes(b"\x00\x01\x02")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    caplog.set_level(logging.WARNING, logger="bot.index_store")
    engine = Engine.open(folder, folder / ".index", Settings())
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert lines == ["skipped empty.txt: empty file", "skipped image.txt: binary file, not text"]
    assert "machine oil" in (engine.ask("how often do I oil a widget").text or "")


def test_folder_with_only_bad_files_is_a_clear_error(tmp_path):
    knowledge = tmp_path / "k"
    knowledge.mkdir()
    (knowledge / "x.txt").write_bytes(b"\x00")
    with pytest.raises(KnowledgeError, match=r"no \.txt or \.md articles with text to answer from"):
        build_index(knowledge, None, Settings())


def test_damaged_index_without_sources_is_a_clear_error(folder):
    build_index(folder, None, Settings())
    (folder / ".index" / "index.json").write_text("{not json", encoding="utf-8")
    for f in folder.iterdir():
        if f.is_file():
            f.unlink()
    with pytest.raises(KnowledgeError, match=r"no \.txt or \.md articles with text"):
        load_index(folder, None, Settings())


# -- the index under stress ----------------------------------------------------------------------
REBUILD_LOOP = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from bot.config import Settings
    from bot.index_store import build_index
    knowledge = Path(sys.argv[1])
    progress = Path(sys.argv[2]) if len(sys.argv) > 2 else None  # rebuilds done so far, for the test
    n = 0
    while True:
        n += 1
        (knowledge / "counter.txt").write_text(f"Counter\\n\\nThe counter was rebuilt {{n}} times.\\n")
        build_index(knowledge, None, Settings())
        print(n, flush=True)
        if progress is not None:
            progress.write_text(str(n))
""")


def _assert_loadable(folder: Path) -> None:
    manifest, arrays = IndexStore(folder / ".index").read()  # raises if torn
    assert manifest["retriever"]["passages"] and arrays


@pytest.mark.slow
def test_rebuild_killed_at_any_point_leaves_a_loadable_index(folder, tmp_path):
    build_index(folder, None, Settings())
    script = tmp_path / "rebuild_loop.py"
    script.write_text(REBUILD_LOOP.format(root=str(ROOT)), encoding="utf-8")
    for delay in (0.3, 0.45, 0.6, 0.75, 0.9, 1.1, 1.3, 1.6):
        proc = subprocess.Popen([sys.executable, str(script), str(folder)], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _assert_loadable(folder)
    leftovers = [p.name for p in (folder / ".index").iterdir() if p.name.endswith(".tmp")]
    # Temp files of killed writers may remain, but never under the names the manifest uses.
    assert all(name.startswith(".") for name in leftovers)
    engine = Engine.open(folder, None, Settings())
    assert "machine oil" in (engine.ask("how often do I oil a widget").text or "")


@pytest.mark.slow
def test_concurrent_rebuilds_do_not_corrupt_the_index(folder, tmp_path):
    script = tmp_path / "rebuild_loop.py"
    script.write_text(REBUILD_LOOP.format(root=str(ROOT)), encoding="utf-8")
    progress = [tmp_path / f"writer-{i}.txt" for i in range(2)]
    procs = [subprocess.Popen([sys.executable, str(script), str(folder), str(done)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for done in progress]
    # Read for at least 6 s and until both writers have finished two rebuilds (a slow machine
    # takes longer), reading in the middle of two writers all along.
    started = time.monotonic()
    reads = 0
    while time.monotonic() - started < 6 or not all(p.exists() and int(p.read_text() or 0) >= 2 for p in progress):
        assert time.monotonic() - started < 120, "the writers did not finish two rebuilds each"
        if (folder / ".index" / "index.json").exists():
            _assert_loadable(folder)
            reads += 1
        time.sleep(0.02)
    for proc in procs:
        proc.terminate()
    outputs = [proc.communicate(timeout=10) for proc in procs]
    assert all("Traceback" not in err for _, err in outputs), [err for _, err in outputs]
    assert all(out.split() for out, _ in outputs), "both writers completed rebuilds"
    assert reads > 10
    _assert_loadable(folder)
