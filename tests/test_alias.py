"""``faqbot alias add TERM TARGET``: appends to the synonyms file safely (validated, no duplicates,
comments kept, atomic), and the alias works the next time the index is loaded."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from conftest import write

from bot.cli import main
from bot.engine import Engine

MOOLAH = "how much moolah does a coo get"


def faqbot(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


def _changed(before: str, after: str) -> tuple[list[str], list[str]]:
    """(lines only in before, lines only in after), in order."""
    old, new = before.splitlines(), after.splitlines()
    return [line for line in old if line not in new], [line for line in new if line not in old]


def test_an_alias_joins_the_group_of_its_target_keeping_everything_else(knowledge_copy: Path) -> None:
    synonyms = knowledge_copy / "synonyms.ini"
    before = synonyms.read_text(encoding="utf-8")
    status, out = faqbot("alias", "add", "moolah", "salary", "--knowledge", str(knowledge_copy))
    assert status == 0
    assert out.startswith(f'Added "moolah" to "salary" in [terms] of {synonyms}.')
    assert "/faq reload" in out
    after = synonyms.read_text(encoding="utf-8")
    removed, added = _changed(before, after)
    assert len(removed) == len(added) == 1 and added[0] == removed[0] + ", moolah", "one line grew by the alias"
    assert [c for c in after.splitlines() if c.startswith("#")] == [c for c in before.splitlines()
                                                                    if c.startswith("#")], "comments kept"
    assert not [p for p in knowledge_copy.iterdir() if p.name.endswith(".tmp")], "no temporary file left"


def test_an_alias_of_an_alias_joins_its_group(knowledge_copy: Path) -> None:
    status, out = faqbot("alias", "add", "dough", "pay", "--knowledge", str(knowledge_copy))
    assert status == 0 and '"dough" to "salary"' in out, "pay is an alias of salary"


def test_a_role_alias_goes_to_the_roles(knowledge_copy: Path) -> None:
    synonyms = knowledge_copy / "synonyms.ini"
    status, out = faqbot("alias", "add", "chief ops guy", "chief operating officer", "--knowledge", str(knowledge_copy))
    assert status == 0 and '"chief ops guy" to "COO" in [roles]' in out
    assert "    chief operation officer, chief of operations, chief of ops, c.o.o, chief ops guy" in \
        synonyms.read_text(encoding="utf-8").splitlines()


def test_a_new_target_starts_a_group_at_the_end_of_terms(knowledge_copy: Path) -> None:
    synonyms = knowledge_copy / "synonyms.ini"
    status, out = faqbot("alias", "add", "swag", "company merchandise", "--knowledge", str(knowledge_copy))
    assert status == 0 and 'Added "swag" to a new group in [terms]' in out
    lines = synonyms.read_text(encoding="utf-8").splitlines()
    stopwords = lines.index("[stopwords]")
    assert "company merchandise = swag" in lines[:stopwords], "inside [terms], before the next section"


def test_a_missing_synonyms_file_is_created(tmp_path: Path) -> None:
    knowledge = tmp_path / "kb"
    write(knowledge / "a.md", "# A\n\nText.\n")
    assert faqbot("alias", "add", "moolah", "salary", "--knowledge", str(knowledge))[0] == 0
    assert (knowledge / "synonyms.ini").read_text(encoding="utf-8") == "[terms]\nsalary = moolah\n"


def test_line_endings_and_permissions_are_kept(tmp_path: Path) -> None:
    knowledge = tmp_path / "kb"
    synonyms = write(knowledge / "synonyms.ini", "")
    synonyms.write_bytes(b"# mine\r\n[terms]\r\nsalary = pay,\r\n    wage\r\n\r\n[stopwords]\r\nwords = hey\r\n")
    os.chmod(synonyms, 0o640)
    assert faqbot("alias", "add", "moolah", "salary", "--knowledge", str(knowledge))[0] == 0
    assert synonyms.read_bytes() == (b"# mine\r\n[terms]\r\nsalary = pay,\r\n    wage, moolah\r\n\r\n"
                                     b"[stopwords]\r\nwords = hey\r\n")
    assert stat.S_IMODE(synonyms.stat().st_mode) == 0o640


@pytest.mark.parametrize(("term", "target", "message"), [
    ("pay", "salary", "'pay' is already an alias of 'salary' in [terms]"),
    ("PAY", "wages", "'PAY' is already an alias of 'salary' in [terms]"),
    ("salary", "money", "'salary' is already a group in [terms]"),
    ("ops manager", "boss", "'ops manager' is already a name of the role 'Operations Manager'"),
    ("moolah", "Moolah", "the term and the target are the same"),
    ("a, b", "salary", "contains ',', which separates aliases"),
    ("x = y", "salary", "contains '=', which separates a group's name from its aliases"),
    ("moolah", "[terms]", "must not start with '['"),
    ("moolah", "# salary", "must not start with '#'"),
    ("two\nlines", "salary", "must be one line of plain text"),
    ("   ", "salary", "the term is empty"),
    ("!!!", "salary", "has no letters or digits"),
    ("x" * 81, "salary", "is too long"),
])
def test_bad_or_duplicate_aliases_are_refused_and_nothing_changes(knowledge_copy: Path, term: str, target: str,
                                                                  message: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    synonyms = knowledge_copy / "synonyms.ini"
    before = synonyms.read_bytes()
    assert faqbot("alias", "add", term, target, "--knowledge", str(knowledge_copy)) == (1, "")
    err = capsys.readouterr().err
    assert err.startswith("faqbot: error: ") and message in err and err.count("\n") == 1
    assert synonyms.read_bytes() == before


def test_a_broken_synonyms_file_is_not_edited(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    synonyms = write(tmp_path / "kb" / "synonyms.ini", "salary = pay\n")  # no section header
    assert faqbot("alias", "add", "moolah", "salary", "--knowledge", str(tmp_path / "kb"))[0] == 1
    assert "cannot read" in capsys.readouterr().err and synonyms.read_text() == "salary = pay\n"


def test_a_missing_knowledge_folder_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert faqbot("alias", "add", "moolah", "salary", "--knowledge", str(tmp_path / "nope"))[0] == 1
    assert capsys.readouterr().err == f"faqbot: error: knowledge folder not found: {tmp_path / 'nope'}\n"


def test_the_alias_answers_the_question_at_the_next_load(knowledge_copy: Path) -> None:
    Engine.open(knowledge_copy)  # builds and saves the index
    old = Engine.open(knowledge_copy)
    assert old.ask(MOOLAH).kind == "unknown"
    assert Engine.open(knowledge_copy).built_at == old.built_at, "an unchanged index is loaded, not rebuilt"
    assert faqbot("alias", "add", "moolah", "salary", "--knowledge", str(knowledge_copy))[0] == 0
    new = Engine.open(knowledge_copy)
    assert new.built_at > old.built_at, "the synonyms file is part of the index's fingerprint: rebuilt"
    after = new.ask(MOOLAH)
    assert after.kind == "answer" and "salary" in (after.section or "").lower() + after.text.lower()  # type: ignore[union-attr]
