"""Ingestion: articles (.txt / .md) -> passages with text, source, title, section, kind, position."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from conftest import ARTICLES, KNOWLEDGE, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.index_store import KnowledgeError, build_index
from bot.ingest import MAX_PASSAGE_CHARS, Passage, describe, load_folder, parse_document
from bot.textproc import sentences

KINDS = {"faq", "qa", "section", "table", "list", "date"}

WIDGETS_TXT = """\
Job Search

Widget Makers Guide

Jan 19, 2024

Widgets are small mechanical parts used in many machines. They come in many shapes and sizes.

Choosing a Widget

When you pick a widget, think about the load it carries. A good widget lasts for years if it is looked after.

Frequently Asked Questions

  • 1. Can a widget be painted?
  • Yes, most widgets can be painted with an enamel paint after cleaning the surface.

  • 2. How long does a widget last?
  • A typical widget lasts ten years when it is oiled once a month.

Steel Versus Brass

Steel Widget Brass Widget
Heavy and strong Light and soft
Rusts when wet Never rusts at all

Where Widgets Come From

Q: Where are widgets made?
A: Most widgets are made in small workshops across the north of the country.

Care Tips

Follow these steps to keep widgets working for a long time:
  • Oil the widget every month.
  • Keep the widget dry.
  • Store spare widgets in a wooden box.

Closing Words

Widgets reward the people who look after them. Treat them well and they keep machines running.

Previous

Gadget Makers Guide: What Are the Differences?

Back to Job Search
Next

Sprocket Guide: What Are the Differences?

Find For Your Dream Job:

Enter your dream job:Where:
widget makers guide
"""

GIZMO_MD = """\
# Gizmo Handbook

Gizmos are handy tools for every workshop. This handbook explains how they work and how to care for them.

## Buying a Gizmo

- Check the battery before you buy the gizmo.
- Ask the seller for a warranty card.
- Compare prices in three different shops.

## Gizmo Models

| Model | Weight | Price |
|-------|--------|-------|
| Mini  | 1 kg   | $10   |
| Maxi  | 3 kg   | $25   |

### Repairs

A broken gizmo can often be repaired at home with a small screwdriver and some patience. Replace the fuse first.
"""

BOILERPLATE = [
    "Find For Your Dream Job", "Enter your dream job", "Back to Job Search", "Jan 19, 2024",
    "Gadget Makers Guide", "Sprocket Guide",
]


def _passages(tmp_path: Path, name: str, text: str) -> list[Passage]:
    write(tmp_path / name, text)
    passages, warnings = load_folder(tmp_path)
    assert warnings == []
    return passages


def _lines(passage: Passage) -> list[str]:
    return [ln.strip() for ln in passage.text.split("\n")]


def _containing(passages: list[Passage], needle: str) -> list[Passage]:
    return [p for p in passages if needle in p.text]


def _one(passages: list[Passage], needle: str) -> Passage:
    found = _containing(passages, needle)
    assert len(found) == 1, f"{needle!r} is in {len(found)} passages"
    return found[0]


# -- the constructs, on a small fixture article ----------------------------------------------
@pytest.fixture
def widgets(tmp_path: Path) -> list[Passage]:
    return _passages(tmp_path, "widgets.txt", WIDGETS_TXT)


def test_every_passage_has_the_required_fields(widgets):
    assert widgets
    for i, p in enumerate(widgets):
        assert p.source == "widgets.txt"
        assert p.title == "Widget Makers Guide"
        assert p.kind in KINDS
        assert p.position == i
        assert p.text.strip()
    assert {"faq", "qa", "table", "list", "section"} <= {p.kind for p in widgets}


def test_section_is_the_nearest_heading_above(widgets):
    assert _one(widgets, "When you pick a widget").section == "Choosing a Widget"
    assert _one(widgets, "Can a widget be painted?").section == "Frequently Asked Questions"
    assert _one(widgets, "Heavy and strong").section == "Steel Versus Brass"
    assert _one(widgets, "Where are widgets made?").section == "Where Widgets Come From"
    assert _one(widgets, "Oil the widget every month").section == "Care Tips"
    assert _one(widgets, "Widgets reward the people").section == "Closing Words"


def test_numbered_faq_question_and_answer_form_one_passage(widgets):
    first = _one(widgets, "Can a widget be painted?")
    assert first.kind == "faq"
    assert "Yes, most widgets can be painted with an enamel paint" in first.text
    second = _one(widgets, "How long does a widget last?")
    assert second.kind == "faq"
    assert "A typical widget lasts ten years" in second.text
    assert first is not second  # each entry is its own passage
    assert "How long does a widget last?" not in first.text


def test_qa_block_is_one_passage(widgets):
    qa = _one(widgets, "Q: Where are widgets made?")
    assert qa.kind == "qa"
    assert "A: Most widgets are made in small workshops" in qa.text


def test_two_column_table_rows_stay_together(widgets):
    table = _one(widgets, "Steel Widget Brass Widget")
    assert table.kind == "table"
    for row in ["Heavy and strong Light and soft", "Rusts when wet Never rusts at all"]:
        assert row in _lines(table)


def test_bullet_list_keeps_its_intro_and_items(widgets):
    items = ["Oil the widget every month.", "Keep the widget dry.", "Store spare widgets in a wooden box."]
    lists = _containing(widgets, items[0])
    assert len(lists) == 1 and lists[0].kind == "list"
    for item in items:
        assert item in lists[0].text
    assert "Follow these steps to keep widgets working" in lists[0].text


def test_plain_paragraphs_are_section_passages(widgets):
    p = _one(widgets, "When you pick a widget, think about the load it carries")
    assert p.kind == "section"
    assert "A good widget lasts for years if it is looked after." in p.text


@pytest.mark.parametrize("needle", BOILERPLATE)
def test_page_furniture_is_dropped(widgets, needle):
    assert not _containing([p for p in widgets if p.kind != "date"], needle)


def test_the_date_under_the_title_is_a_passage_of_its_own(widgets):
    dated = [p for p in widgets if p.kind == "date"]
    assert [(p.text, p.section, p.context) for p in dated] == [
        ("Published Jan 19, 2024", "Widget Makers Guide", "Widget Makers Guide")]
    undated = parse_document("Title\n\nA plain sentence that ends here. And another one follows it.\n", "a.txt")
    assert [p.kind for p in undated] == ["section"]


def test_when_an_article_was_published_is_answered_with_its_date(engine):
    a = engine.ask("when was the small business article published?")
    assert a.kind == "answer" and "Jan 19, 2024" in a.text
    assert "Jan 19, 2024" not in engine.ask("vp of operations vs coo in a small business").text


def test_navigation_and_tag_lines_are_dropped(widgets):
    lines = {ln.lower() for p in widgets for ln in _lines(p)}
    for furniture in ["previous", "next", "job search", "widget makers guide", "where:"]:
        assert furniture not in lines
    assert not any("dream job" in ln for ln in lines)


def test_passages_follow_document_order(tmp_path):
    """``position`` is the order in the document: a table before a Q/A stays before it."""
    text = (
        "Widget Facts\n\n"
        "Widgets are small mechanical parts used in many machines. They come in many shapes and sizes.\n\n"
        "Comparison\n\n"
        "Steel Widget Brass Widget\nHeavy and strong Light and soft\nRusts when wet Never rusts at all\n\n"
        "Q: Where are widgets made?\nA: Most widgets are made in small workshops in the north.\n\n"
        "Widgets are sold in hardware shops everywhere. Ask for them at the counter near the door.\n"
    )
    passages = _passages(tmp_path, "facts.txt", text)
    order = ["Widgets are small mechanical parts", "Heavy and strong", "Q: Where are widgets made?",
             "Widgets are sold in hardware shops"]
    positions = [_one(passages, needle).position for needle in order]
    assert positions == sorted(positions), positions


# -- markdown ----------------------------------------------------------------------------------
def test_markdown_headings_lists_and_pipe_tables(tmp_path):
    passages = _passages(tmp_path, "gizmo.md", GIZMO_MD)
    assert {p.title for p in passages} == {"Gizmo Handbook"}
    assert not any("#" in ln[:1] for p in passages for ln in _lines(p)), "heading markers leaked"
    bullets = _one(passages, "Check the battery before you buy the gizmo.")
    assert bullets.kind == "list" and bullets.section == "Buying a Gizmo"
    assert "Compare prices in three different shops." in bullets.text
    table = _one(passages, "Mini")
    assert table.kind == "table" and table.section == "Gizmo Models"
    assert "Maxi" in table.text
    assert not any(re.fullmatch(r"[\s|:-]+", ln) for ln in _lines(table)), "the |---| rule is not content"
    repairs = _one(passages, "A broken gizmo can often be repaired")
    assert repairs.section == "Repairs"


def test_markdown_setext_heading_is_a_heading(tmp_path):
    text = ("Gadget Notes\n============\n\n"
            "Gadgets are small electronic helpers. This note explains how to keep them running for years.\n")
    passages = _passages(tmp_path, "gadget.md", text)
    for p in passages:
        assert (p.title, p.section) == ("Gadget Notes", "Gadget Notes")
        assert "====" not in p.text


def test_markdown_qa_block(tmp_path):
    text = ("# Gizmo FAQ\n\n**Q:** Can I wash a gizmo?\n**A:** No, water damages the motor inside the gizmo.\n")
    passages = _passages(tmp_path, "faq.md", text)
    qa = _one(passages, "Can I wash a gizmo?")
    assert qa.kind == "qa"
    assert "water damages the motor" in qa.text


# -- long text -----------------------------------------------------------------------------
def _long_sentences(count: int) -> list[str]:
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta",
             "theta", "iota", "kappa", "lambda", "omicron", "sigma"]
    return [f"Sentence number {i} says " + " ".join(words[(i + k) % len(words)] for k in range(5 + i % 20)) + "."
            for i in range(count)]


def test_long_paragraph_is_split_at_sentence_boundaries(tmp_path):
    sents = _long_sentences(200)
    para = " ".join(sents)
    while len(para) > 5000:
        sents.pop()
        para = " ".join(sents)
    assert len(para) > 4800
    passages = _passages(tmp_path, "long.txt", f"Long Topic\n\n{para}\n")
    assert len(passages) >= 5
    assert all(len(p.text) <= MAX_PASSAGE_CHARS for p in passages)
    for s in sents:  # nothing lost, and no sentence cut in two
        assert _containing(passages, s), s
    assert all(p.section == "Long Topic" for p in passages)


def test_max_passage_chars_is_respected(tmp_path):
    write(tmp_path / "long.txt", "Long Topic\n\n" + " ".join(_long_sentences(40)) + "\n")
    passages, _ = load_folder(tmp_path, max_chars=300)
    assert len(passages) > 3
    assert all(len(p.text) <= 300 for p in passages)


def test_run_on_sentence_longer_than_a_passage_is_not_truncated(tmp_path):
    clauses = [f"clause{i} of the run on" for i in range(200)]
    text = "Run On\n\n" + ", ".join(clauses) + ".\n"
    passages = _passages(tmp_path, "runon.txt", text)
    assert all(len(p.text) <= MAX_PASSAGE_CHARS for p in passages)
    body = " ".join(p.text for p in passages)
    missing = [c.split()[0] for c in clauses if not re.search(rf"\b{c.split()[0]}\b", body)]
    assert not missing, f"{len(missing)} clauses lost, e.g. {missing[:3]}"


def test_short_last_line_of_an_answer_is_kept(tmp_path):
    text = ("Widget Guide\n\nWidgets are small mechanical parts used in many machines. They come in many sizes.\n\n"
            "Question: Can I paint a widget?\nAnswer: Yes, with enamel paint.\nIt dries in one day.\n")
    passages = _passages(tmp_path, "w.txt", text)
    qa = _one(passages, "Can I paint a widget?")
    assert "Yes, with enamel paint." in qa.text
    assert "It dries in one day." in qa.text


def test_crlf_line_endings_and_bom(tmp_path):
    text = "\ufeffWidget Guide\r\n\r\nWidgets are small mechanical parts used in many machines. " \
           "They come in many shapes and sizes.\r\n"
    (tmp_path / "w.txt").write_bytes(text.encode("utf-8"))
    passages, warnings = load_folder(tmp_path)
    assert warnings == []
    assert [p.title for p in passages] == ["Widget Guide"]
    assert all("\r" not in p.text and "\ufeff" not in p.text for p in passages)


# -- files and folders ---------------------------------------------------------------------
def test_non_utf8_and_empty_files_are_skipped_with_a_warning(tmp_path):
    write(tmp_path / "good.txt", WIDGETS_TXT)
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 menu\n\nA caf\xe9 sells coffee. Open daily.\n".encode("latin-1"))
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text("  \n\n\t\n", encoding="utf-8")
    passages, warnings = load_folder(tmp_path)
    assert {p.source for p in passages} == {"good.txt"}
    assert len(warnings) == 3
    for name in ["latin1.txt", "empty.txt", "blank.md"]:
        assert sum(name in w for w in warnings) == 1, warnings


def test_skipped_files_are_logged_during_a_build(tmp_path, caplog):
    write(tmp_path / "good.txt", WIDGETS_TXT)
    (tmp_path / "latin1.txt").write_bytes(b"Caf\xe9\n")
    caplog.set_level(logging.WARNING)
    _, report = build_index(tmp_path, tmp_path / "idx", Settings())
    assert any("latin1.txt" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert any("latin1.txt" in w for w in report.warnings)


def test_other_files_and_hidden_folders_are_ignored(tmp_path):
    write(tmp_path / "good.txt", WIDGETS_TXT)
    write(tmp_path / "notes.rst", "Ignored\n\nThis is not a knowledge file at all, it is restructured text.\n")
    write(tmp_path / ".index" / "stale.txt", "Hidden\n\nThis file sits in a hidden folder. It must not be read.\n")
    write(tmp_path / "sub" / "more.md", GIZMO_MD)
    passages, warnings = load_folder(tmp_path)
    assert warnings == []
    assert {p.source for p in passages} == {"good.txt", "sub/more.md"}


@pytest.mark.parametrize("setup", ["missing", "file", "empty_folder", "unreadable_only"])
def test_missing_or_useless_folder_is_a_knowledge_error(tmp_path, setup):
    folder = tmp_path / "kb"
    if setup == "file":
        write(folder, "not a folder")
    elif setup == "empty_folder":
        folder.mkdir()
    elif setup == "unreadable_only":
        folder.mkdir()
        (folder / "a.txt").write_bytes(b"\xff\xfe\x00bad")
        (folder / "b.md").write_bytes(b"")
        write(folder / "c.rst", "Not an article\n\nWith text that is not read.\n")
    with pytest.raises(KnowledgeError) as info:
        build_index(folder, tmp_path / "idx", Settings())
    assert str(folder) in str(info.value)


def test_describe_counts_passages_by_kind(widgets):
    counts = describe(widgets)
    assert sum(counts.values()) == len(widgets)
    assert set(counts) <= KINDS
    assert counts["faq"] == 2


def test_passage_dict_round_trip(widgets):
    for p in widgets:
        assert Passage.from_dict(p.to_dict()) == p


# -- the real articles ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def real() -> list[Passage]:
    passages, warnings = load_folder(KNOWLEDGE)
    assert warnings == []
    return passages


def test_real_articles_all_ingested(real):
    assert sorted({p.source for p in real}) == ARTICLES
    assert {p.kind for p in real} <= KINDS
    assert all(len(p.text) <= MAX_PASSAGE_CHARS for p in real)
    for source in ARTICLES:
        doc = [p for p in real if p.source == source]
        assert [p.position for p in doc] == list(range(len(doc)))
        assert len({p.title for p in doc}) == 1 and doc[0].title


def test_real_faq_entry_is_one_passage(real):
    p = _one(real, "Can one person hold both the VP Operations and COO roles?")
    assert p.kind == "faq"
    assert p.source == "vp-operations-vs-coo.txt"
    assert p.section == "Frequently Asked Questions"
    assert "Yes, in some organizations, the VP Operations may assume the role of the COO" in p.text
    assert "What are the qualifications for these roles?" not in p.text


def test_real_qa_block_is_one_passage(real):
    p = _one(real, "Q: What are the educational requirements for these roles?")
    assert p.kind == "qa"
    assert "A: A bachelor’s degree is typically required for both positions" in p.text


def _table_rows(source: str, header: str) -> list[list[str]]:
    lines = (KNOWLEDGE / source).read_text(encoding="utf-8").split("\n")
    tables = []
    for i, line in enumerate(lines):
        if line.strip() == header:
            rows = []
            for row in lines[i + 1:]:
                if not row.strip():
                    break
                rows.append(row.strip())
            tables.append(rows)
    return tables


def test_real_comparison_table_rows_are_table_passages(real):
    tables = _table_rows("vp-operations-vs-coo.txt", "VP Operations COO")
    assert len(tables) == 2 and all(len(t) >= 3 for t in tables)
    for rows in tables:
        holders = {id(p) for row in rows for p in real if row in _lines(p)}
        assert len(holders) == 1, "a table's rows belong in one passage"
        for row in rows:
            found = [p for p in real if row in _lines(p)]
            assert [p.kind for p in found] == ["table"], row
            assert "VP Operations COO" in _lines(found[0])


def test_real_salary_table_is_a_table(real):
    p = _one(real, "VP Operations $150,000 – $250,000")
    assert p.kind == "table"
    assert "COO $200,000 – $400,000+" in p.text


REAL_BOILERPLATE = [
    "Find For Your Dream Job", "Enter your dream job", "Back to Job Search", "Jan 19, 2024",
    "Demand Planner vs. Production Planner", "Event Producer vs. Event Coordinator",
]
TAG_LINES = ["vp of operations vs coo", "coo vs operations director", "head of operations vs coo"]


def test_real_articles_have_no_boilerplate(real):
    for p in real:
        for needle in REAL_BOILERPLATE:
            assert needle not in p.text or p.kind == "date", (p.source, needle)
        for line in _lines(p):
            assert line not in ("Previous", "Next", "Job Search", "Where:"), (p.source, line)
            assert line not in TAG_LINES, (p.source, line)


@pytest.mark.parametrize("source", ARTICLES)
def test_real_articles_lose_no_content(real, source):
    """Every long line, and every sentence of every prose line, ends up in some passage."""
    texts = [p.text for p in real if p.source == source]
    text = (KNOWLEDGE / source).read_text(encoding="utf-8")
    for line in (ln.strip() for ln in text.split("\n")):
        if len(line) > 150:
            assert any(line in t for t in texts), line[:80]
        if len(line) >= 100 and line.endswith((".", "!", "?")):
            for sentence in sentences(line):
                assert any(sentence in t for t in texts), sentence[:80]


# -- any text at all -------------------------------------------------------------------------
_LINE = st.one_of(
    st.sampled_from(["", "", "Some Heading", "• 1. Is this a question?", "• Yes, it is an answer.", "Q: Why?",
                     "A: Because.", "- an item", "| a | b |", "|---|---|", "Col A Col B", "Previous", "Next",
                     "# Title", "Jan 19, 2024", "A plain sentence that ends here. And another one follows it."]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300),
)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_LINE, max_size=40), markdown=st.booleans(), limit=st.integers(200, 1500))
def test_any_text_gives_well_formed_passages(lines, markdown, limit):
    source = "doc.md" if markdown else "doc.txt"
    passages = parse_document("\n".join(lines), source, max_chars=limit)
    assert [p.position for p in passages] == list(range(len(passages)))
    for p in passages:
        assert p.kind in KINDS and p.source == source
        assert p.text.strip() and len(p.text) <= limit


def _benefits_article(body_words: int) -> str:
    body = " ".join(["Widgets make the work in the shop go faster and better."] * body_words)
    return ("Widget Guide\n\nThe Benefits of Widgets\n\nWidgets help your workshop in numerous ways:\n\n"
            f"1. Saving Time\n{body}\n\n2. Saving Money\n{body}\n\n3. Fewer Errors\n{body}\n")


def test_an_introduction_and_the_numbered_sections_it_announces_are_one_list_when_they_fit():
    passages = parse_document(_benefits_article(2), "widgets.txt", max_chars=1200)
    [listing] = [p for p in passages if "numerous ways:" in p.text]
    assert listing.kind == "list" and all(h in listing.text for h in ("Saving Time", "Saving Money", "Fewer Errors"))


def test_an_introduction_too_long_to_pack_with_its_sections_goes_with_the_first_not_alone():
    passages = parse_document(_benefits_article(5), "widgets.txt", max_chars=900)
    [intro] = [p for p in passages if "numerous ways:" in p.text]
    assert "1. Saving Time" in intro.text and "Saving Money" not in intro.text  # never the intro alone
    assert [p.section for p in passages if p is not intro][-2:] == ["Saving Money", "Fewer Errors"]


def test_a_short_fact_is_a_passage_but_a_lone_lead_in_is_not():
    fact = parse_document("Parking\n\nParking is free for visitors in lot B.\n", "parking.md")
    assert [(p.title, p.text) for p in fact] == [("Parking", "Parking is free for visitors in lot B.")]
    assert parse_document("Office hours\n\nOur office opens at 9am on weekdays.\n", "hours.txt")
    lead_in = "Widget Guide\n\nHere are the main differences between widgets and gadgets.\n\nGadgets\n\n" \
              "Gadgets are larger than widgets and cost more to run.\n"
    assert [p.section for p in parse_document(lead_in, "guide.txt")] == ["Gadgets"]


def test_an_article_with_nothing_to_answer_from_is_skipped_with_a_warning(tmp_path):
    write(tmp_path / "empty-ish.md", "# Just a title\n\nHere are the main points:\n")
    write(tmp_path / "hours.txt", "Our office opens at 9am on weekdays.\n")
    passages, warnings = load_folder(tmp_path)
    assert [p.source for p in passages] == ["hours.txt"]
    assert warnings == ["skipped empty-ish.md: nothing to answer from (only headings or a lead-in)"]
