"""Knowledge ingestion: turn ``.txt`` / ``.md`` articles into passages a user can be shown.

The articles are real web pages saved as text, so structure has to be recognised from layout:
headings are short lines without final punctuation, FAQ entries are numbered questions followed by
their answer, ``Q:``/``A:`` blocks, two-column comparison tables written as plain lines, bullet
lists, and plain paragraphs. Page furniture (navigation, search boxes, dates, tag lines) is dropped.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from bot.textproc import ends_sentence, is_preamble, pack, sentences

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".markdown")
MAX_PASSAGE_CHARS = 1200
MAX_FILE_BYTES = 5_000_000  # a bigger "article" is almost certainly not one (a dump, a log)

_BULLET = re.compile(r"^\s*(?:[•·▪◦●*\-–+]|\(?\d{1,2}[.)])\s+")
_NUMBER = re.compile(r"^\s*\(?(\d{1,2})[.)]\s+")
_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_QUESTION = re.compile(r"^\s*(?:\*\*)?(?:q|question)\s*[:.)]\s*(?:\*\*)?\s*", re.IGNORECASE)
_ANSWER = re.compile(r"^\s*(?:\*\*)?(?:a|answer)\s*[:.)]\s*(?:\*\*)?\s*", re.IGNORECASE)
_PIPE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_PIPE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_DATE_WITHIN = 10  # lines from the top of an article where its date is looked for
_DATE = re.compile(
    r"^(?:(?:published|updated|posted)(?: on)?:?\s*)?(?:"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}"
    r"|\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]* \d{4}"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})$",
    re.IGNORECASE,
)
# Page furniture seen on saved web pages; a line equal to one of these is never content.
_NAVIGATION = {
    "previous", "next", "previous post", "next post", "previous article", "next article", "back",
    "back to top", "job search", "back to job search", "share", "share this", "share this article",
    "advertisement", "read more", "related posts", "related articles", "subscribe", "menu", "home",
    "skip to content", "table of contents", "search", "log in", "sign up", "print",
}


class SourceError(Exception):
    """A knowledge file that cannot be used, and why."""


@dataclass(frozen=True)
class Passage:
    """One answerable piece of an article."""

    text: str
    source: str  # file name, relative to the knowledge folder
    title: str
    section: str | None  # nearest heading above the passage
    kind: str  # faq, qa, section, list, table, date (when the article was published)
    position: int  # order within its document
    line: int  # 1-based line where it starts
    context: str = ""  # headings above it (and a FAQ's question): matched as a field of its own
    question: str | None = None

    def to_dict(self) -> dict:
        # Every field is a str, int or None: a shallow dict equals ``asdict`` without its deep copies.
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict) -> Passage:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class _Unit:
    """A block of one kind (paragraph, list, table, faq, qa) inside one section."""

    kind: str
    lines: list[str]
    line: int
    question: str | None = None
    intro: str | None = None

    @property
    def text(self) -> str:
        body = "\n".join(self.lines)
        return f"{self.intro}\n{body}" if self.intro else body


@dataclass
class _Section:
    heading: str | None
    path: list[str]
    line: int
    level: int = 0
    question: str | None = None
    raw: str = ""  # the heading line as written, shown above the section's first passage
    units: list[_Unit] = field(default_factory=list)


def _clean_heading(text: str) -> str:
    return text.strip().strip("*#").strip().rstrip(":").strip()


def _word_count(text: str) -> int:
    return len(text.split())


def _is_navigation(line: str) -> bool:
    return line.strip().strip(":|»«›‹<>").strip().lower() in _NAVIGATION


def _heading_like(line: str, max_words: int = 14) -> bool:
    text = line.strip()
    if not text or len(text) > 120 or _word_count(text) > max_words:
        return False
    if text[0].islower() or _BULLET.match(line):
        return False
    return not ends_sentence(text) or text.endswith(("?", ":"))


def _unpunctuated(line: str) -> bool:
    text = line.strip()
    return bool(text) and len(text) <= 200 and not ends_sentence(text) and not _BULLET.match(line)


def strip_furniture(lines: list[str]) -> list[str]:
    """Blank out page furniture: navigation, dates, and the short trailing lines after the article."""
    out = [("" if _is_navigation(ln) or _DATE.match(ln.strip()) else ln) for ln in lines]
    # Everything after a navigation marker near the end is links to other pages.
    for i, ln in enumerate(lines):
        if i > len(lines) * 0.6 and _is_navigation(ln):
            out[i:] = [""] * (len(lines) - i)
            break
    # Trailing short lines that are not prose: search boxes, tag lines ("vp of operations vs coo").
    for i in range(len(out) - 1, -1, -1):
        text = out[i].strip()
        if not text:
            continue
        is_prose = text.endswith((".", "!"))
        if is_prose or _BULLET.match(out[i]) or _QUESTION.match(text) or _ANSWER.match(text):
            break
        if _word_count(text) > 12:
            break
        out[i] = ""
    return out


class _Parser:
    """Walks the lines of one article and groups them into sections of units."""

    def __init__(self, lines: list[str], markdown: bool) -> None:
        self.lines = lines
        self.markdown = markdown
        self.sections: list[_Section] = [_Section(None, [], 1)]
        self.levels: list[tuple[int, str]] = []

    # -- helpers -------------------------------------------------------------------------
    def _next_nonblank(self, i: int) -> int | None:
        for j in range(i, len(self.lines)):
            if self.lines[j].strip():
                return j
        return None

    def _is_heading_at(self, i: int) -> bool:
        line = self.lines[i]
        if self.markdown and _MD_HEADING.match(line):
            return True
        if not _heading_like(line) or _QUESTION.match(line) or _ANSWER.match(line):
            return False
        nxt = self._next_nonblank(i + 1)
        if nxt is None:
            return False
        if line.strip().endswith(":") and _BULLET.match(self.lines[nxt]):
            return False  # "Key responsibilities include:" introduces the list below it
        return not self._is_table_at(i)

    def _is_table_at(self, i: int) -> bool:
        """A header line and two or more rows, all short and unpunctuated, with no blank line between."""
        if self.markdown and _PIPE_ROW.match(self.lines[i]):
            return True
        if not _unpunctuated(self.lines[i]) or _word_count(self.lines[i]) > 8:
            return False
        rows = 0
        for j in range(i + 1, len(self.lines)):
            if not _unpunctuated(self.lines[j]):
                break
            rows += 1
        return rows >= 2

    def _heading_level(self, i: int) -> int:
        md = _MD_HEADING.match(self.lines[i]) if self.markdown else None
        if md:
            return len(md.group(1))
        if _NUMBER.match(self.lines[i]):
            return 3  # "1. Streamlining Operations": a numbered sub-heading
        nxt = self._next_nonblank(i + 1)
        if nxt is not None and self._is_heading_at(nxt) and not _NUMBER.match(self.lines[nxt]):
            return 1  # a heading directly above another heading is the larger one
        return 2

    def _open_section(self, i: int, text: str) -> None:
        level = self._heading_level(i)
        md = _MD_HEADING.match(text)
        heading = _clean_heading(md.group(2) if md else text)
        # Only sub-headings keep their parent in the path: top-level headings in saved web pages
        # are broad ("Recommendations for ...") and would blur every passage below them.
        self.levels = [(lv, h) for lv, h in self.levels if 2 <= lv < level] + [(level, heading)]
        is_title = all(s.heading is None and not s.units for s in self.sections)
        question = heading if heading.endswith("?") and not is_title else None
        raw = md.group(2).strip() if md else self.lines[i].strip()
        self.sections.append(_Section(heading, [h for _, h in self.levels], i + 1, level, question, raw))

    def _add(self, unit: _Unit) -> None:
        self.sections[-1].units.append(unit)

    # -- the walk ------------------------------------------------------------------------
    def parse(self) -> list[_Section]:
        i, n = 0, len(self.lines)
        while i < n:
            line = self.lines[i]
            text = line.strip()
            if not text:
                i += 1
            elif _QUESTION.match(text):
                i = self._take_qa(i)
            elif _BULLET.match(line) and not (self.markdown and _MD_HEADING.match(line)):
                i = self._take_bullets(i)
            elif self._is_table_at(i):
                i = self._take_table(i)
            elif self._is_heading_at(i):
                self._open_section(i, text)
                i += 1
            else:
                i = self._take_paragraph(i)
        return self.sections

    def _take_qa(self, i: int) -> int:
        question = _QUESTION.sub("", self.lines[i].strip())
        lines, j = [self.lines[i].strip()], i + 1
        while j < len(self.lines):
            text = self.lines[j].strip()
            if not text:
                nxt = self._next_nonblank(j)
                if nxt is None or not _ANSWER.match(self.lines[nxt].strip()) or len(lines) > 1:
                    break
                j = nxt
                continue
            if _QUESTION.match(text) or (len(lines) > 1 and self._is_heading_at(j)):
                break
            lines.append(text)
            j += 1
        self._add(_Unit("qa", lines, i + 1, question=question))
        return j

    def _take_bullets(self, i: int) -> int:
        body = _BULLET.sub("", self.lines[i]).strip()
        number = _NUMBER.match(body) or _NUMBER.match(self.lines[i])
        question = _NUMBER.sub("", body).strip()
        nxt = self._next_nonblank(i + 1)
        # "1. Can one person hold both roles?" followed by its answer: one FAQ entry.
        if question.endswith("?") and nxt is not None and not _NUMBER.match(_BULLET.sub("", self.lines[nxt])):
            j = nxt
            answer: list[str] = []
            while j < len(self.lines) and self.lines[j].strip():
                candidate = _BULLET.sub("", self.lines[j]).strip()
                if answer and (candidate.endswith("?") or _NUMBER.match(candidate)):
                    break
                answer.append(self.lines[j].strip())
                j += 1
            self._add(_Unit("faq", [self.lines[i].strip(), *answer], i + 1, question=question))
            return j
        # "1. Streamlining Operations" above a paragraph is a numbered sub-heading.
        if number and _heading_like(question, 8) and not ends_sentence(question) and nxt is not None \
                and not _BULLET.match(self.lines[nxt]):
            self._open_section(i, body)
            return i + 1
        items, j = [], i
        while j < len(self.lines):
            if not self.lines[j].strip():
                nxt = self._next_nonblank(j)
                if nxt is None or not _BULLET.match(self.lines[nxt]):
                    break
                j = nxt
                continue
            if not _BULLET.match(self.lines[j]):
                break
            items.append(self.lines[j].strip())  # verbatim, marker included
            j += 1
        unit = _Unit("list", items, i + 1)
        units = self.sections[-1].units
        # An intro paragraph ending in ':' belongs to its list.
        if units and units[-1].kind == "paragraph" and units[-1].text.rstrip().endswith(":"):
            unit.intro = units.pop().text
        self._add(unit)
        return j

    def _take_table(self, i: int) -> int:
        rows, j = [], i
        while j < len(self.lines) and self.lines[j].strip():
            text = self.lines[j].strip()
            if self.markdown and _PIPE_RULE.match(text):
                j += 1
                continue
            if self.markdown and _PIPE_ROW.match(text):
                text = " | ".join(c.strip() for c in text.strip("|").split("|"))
            elif not _unpunctuated(self.lines[j]):
                break
            rows.append(text)
            j += 1
        if not rows:  # only a markdown rule line: nothing to show
            return max(j, i + 1)
        unit = _Unit("table", rows, i + 1)
        units = self.sections[-1].units
        if units and units[-1].kind == "paragraph" and units[-1].text.rstrip().endswith(":"):
            unit.intro = units.pop().text
        self._add(unit)
        return j

    def _take_paragraph(self, i: int) -> int:
        parts, j = [self.lines[i].strip()], i + 1
        # Hard-wrapped prose continues until a line ends a sentence.
        while j < len(self.lines) and self.lines[j].strip() and not ends_sentence(parts[-1]):
            if _BULLET.match(self.lines[j]) or self._is_heading_at(j) or self._is_table_at(j):
                break
            parts.append(self.lines[j].strip())
            j += 1
        self._add(_Unit("paragraph", [" ".join(parts)], i + 1))
        return j


def _word_chunks(sentence: str, limit: int) -> list[str]:
    """A run-on sentence longer than ``limit`` cut between words (nothing is dropped)."""
    if len(sentence) <= limit:
        return [sentence]
    # a "word" longer than a passage (a URL, say) is cut into pieces that fit
    words = [w[i:i + limit] for w in sentence.split(" ") for i in range(0, max(len(w), 1), limit)]
    return pack(words, limit, " ")


def _split_long(text: str, limit: int) -> list[str]:
    """Cut text longer than ``limit`` at line, then sentence, boundaries into balanced pieces."""
    if len(text) <= limit:
        return [text]
    pieces: list[tuple[str, str]] = []  # (separator before it, piece)
    for line in text.split("\n"):
        parts = sentences(line) if len(line) > limit else [line]
        for k, part in enumerate(parts):
            for j, chunk in enumerate(_word_chunks(part, limit)):
                pieces.append((" " if k or j else "\n", chunk))
    target = len(text) / -(-len(text) // limit)  # equal sizes rather than a tiny last piece
    chunks, current = [], ""
    for sep, piece in pieces:
        if current.strip() and (len(current) + len(sep) + len(piece) > limit or len(current) >= target):
            chunks.append(current)
            current = ""
        current = f"{current}{sep}{piece}" if current else piece
    chunks.append(current)
    return [c.strip("\n") for c in chunks if c.strip()]


def _pack(units: list[_Unit], limit: int) -> list[list[_Unit]]:
    """Consecutive units of one section grouped into passages of at most ``limit`` characters.

    A whole section when it fits; otherwise neighbours are joined greedily, so a long section
    becomes a few complete passages rather than many fragments.
    """
    groups: list[list[_Unit]] = []
    size = 0
    for unit in units:
        length = len(unit.text)
        if groups and size + 2 + length <= limit:
            groups[-1].append(unit)
            size += 2 + length
        else:
            groups.append([unit])
            size = length
    return groups


_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")


def _atx_headings(lines: list[str]) -> list[str]:
    """Markdown "Title" + "=====" (or "-----") underline headings, rewritten as "# Title"."""
    out = list(lines)
    for i in range(1, len(out)):
        mark = _SETEXT.match(out[i])
        above = out[i - 1].strip()
        if mark and above and not _BULLET.match(out[i - 1]) and not _MD_HEADING.match(out[i - 1]) \
                and len(mark.group(1)) >= 2:
            out[i - 1] = ("# " if mark.group(1)[0] == "=" else "## ") + above
            out[i] = ""
    return out


def _title_for(sections: list[_Section], path: Path) -> str:
    for section in sections:
        if section.heading:
            return section.heading
    return path.stem.replace("-", " ").replace("_", " ").strip().capitalize()


def parse_document(text: str, source: str, max_chars: int = MAX_PASSAGE_CHARS,
                   pack_sections: bool = True) -> list[Passage]:
    """Passages of one article. ``source`` is the file name shown to users."""
    markdown = source.lower().endswith((".md", ".markdown"))
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if markdown:
        lines = _atx_headings(lines)
    sections = _Parser(strip_furniture(lines), markdown).parse()
    title = _title_for(sections, Path(source))
    passages: list[Passage] = []

    def emit(kind: str, body: str, section: _Section, line: int, question: str | None = None,
             headed: bool = False) -> None:
        if not body.strip():
            return
        # The heading line goes above the passage that starts right under it (for display and
        # matching); the article title is shown separately.
        if headed and section.raw and section.heading != title and len(section.raw) + 1 + len(body) <= max_chars:
            body = f"{section.raw}\n{body}"
            line = section.line
        # The headings above the passage (not the article title: every passage shares it).
        headings = section.path if section.heading not in (None, title) else []
        context = " > ".join(dict.fromkeys([*headings, *([question] if question else [])]))
        for piece in _split_long(body, max_chars):
            passages.append(Passage(
                text=piece, source=source, title=title, section=section.heading or None,
                kind=kind, position=len(passages), line=line, context=context, question=question,
            ))

    def emit_section(section: _Section) -> None:
        # FAQ entries and Q:/A: blocks stand alone; the other units between them are packed.
        runs: list[list[_Unit]] = []
        for unit in section.units:
            if unit.kind in ("faq", "qa") or not runs or runs[-1][0].kind in ("faq", "qa"):
                runs.append([unit])
            else:
                runs[-1].append(unit)
        for run in runs:
            if run[0].kind in ("faq", "qa"):
                emit(run[0].kind, run[0].text, section, run[0].line, run[0].question)
                continue
            first = run[0] is section.units[0]
            room = max_chars - (len(section.raw) + 1 if first else 0)
            for group in _pack(run, room) if pack_sections else [[u] for u in run]:
                body = "\n\n".join(u.text for u in group)
                kinds = {u.kind for u in group}
                kind = "table" if "table" in kinds else "list" if "list" in kinds else "section"
                # A lone short sentence announcing what comes ("Here are the main differences...")
                # says nothing by itself; a short fact ("Parking is free for visitors.") does.
                if kinds == {"paragraph"} and len(body) < 120 and len(sentences(body)) <= 1 \
                        and not section.question and (is_preamble(body) or body.rstrip().endswith(":")):
                    continue
                emit("faq" if section.question else kind, body, section, group[0].line, section.question,
                     headed=group[0] is section.units[0])

    i = 0
    while i < len(sections):
        section = sections[i]
        children = []
        for child in sections[i + 1:]:
            if child.level <= section.level or child.level < 3:
                break
            children.append(child)
        intro = section.units[-1].text.rstrip() if section.units else ""
        if children and intro.endswith(":") and all(u.kind == "paragraph" for u in section.units):
            # "...can help in numerous ways:" then "1. Streamlining Operations" etc.: one list.
            parts = ["\n\n".join(u.text for u in section.units)]
            parts += [f"{c.raw}\n" + "\n\n".join(u.text for u in c.units) for c in children]
            whole = "\n\n".join(parts)
            if len(whole) <= max_chars:
                emit("list", whole, section, section.units[0].line, headed=True)
                i += 1 + len(children)
                continue
            # Too long for one passage: the introduction goes with the first of what it
            # announces, rather than alone with nothing in it.
            first = "\n\n".join(parts[:2])
            if len(section.raw) + 1 + len(first) <= max_chars:
                emit("list", first, section, section.units[0].line, headed=True)
                i += 2
                continue
        emit_section(section)
        i += 1
    # The date under the title is page furniture to the text, but it says when the article was
    # published ("when was the small business article written?"): a passage of its own.
    dated = next(((n, ln.strip()) for n, ln in enumerate(lines[:_DATE_WITHIN], 1) if _DATE.match(ln.strip())), None)
    if dated is not None:
        line, date = dated
        stated = date if re.match(r"(?i)published|updated|posted", date) else f"Published {date}"
        passages.append(Passage(text=stated, source=source, title=title, section=title, kind="date",
                                position=len(passages), line=line, context=title, question=None))
    passages.sort(key=lambda p: (p.line, p.position))
    return [Passage(**{**p.to_dict(), "position": i}) for i, p in enumerate(passages)]


def iter_sources(folder: Path) -> Iterator[Path]:
    """Candidate knowledge files (by name) in a folder, recursively, in a stable order.

    Hidden paths are skipped, and symlinked folders are not followed (no loops). Whether a
    candidate can actually be read is ``read_source``'s business.
    """
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False, onerror=lambda _exc: None):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root) / f for f in files if not f.startswith(".") and f.lower().endswith(SUFFIXES)]
    return iter(sorted(found))


def read_source(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The text of one knowledge file; ``SourceError`` says in a few words why it can't be used."""
    try:
        if not path.is_file():
            raise SourceError("not a regular file (a broken link or a link loop?)")
        size = path.stat().st_size
        if size > max_bytes:
            raise SourceError(f"larger than {max_bytes / 1e6:g} MB ({size / 1e6:.1f} MB)")
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError("it disappeared while being read") from None
    except OSError as exc:
        raise SourceError(exc.strerror or str(exc)) from None
    if b"\0" in data[:8192]:
        raise SourceError("binary file, not text")
    try:
        text = data.decode("utf-8-sig")  # tolerate a byte-order mark
    except UnicodeDecodeError:
        raise SourceError("not UTF-8 text") from None
    if not text.strip():
        raise SourceError("empty file")
    return text


def load_folder(folder: Path, max_chars: int = MAX_PASSAGE_CHARS, pack_sections: bool = True,
                max_bytes: int = MAX_FILE_BYTES) -> tuple[list[Passage], list[str]]:
    """Passages of every readable article in ``folder`` and one warning per skipped file."""
    sources = list(iter_sources(folder))
    workers = min(4, os.cpu_count() or 1) if len(sources) >= PARALLEL_FROM_FILES else 1
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        # Thousands of files: parse consecutive shares in forked processes, joined in order.
        edges = [round(len(sources) * k / workers) for k in range(workers + 1)]
        shares = [(folder, sources[a:b], max_chars, pack_sections, max_bytes) for a, b in pairwise(edges)]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            done = pool.starmap(_load_files, shares, chunksize=1)
        return [p for ps, _ in done for p in ps], [w for _, ws in done for w in ws]
    return _load_files(folder, sources, max_chars, pack_sections, max_bytes)


PARALLEL_FROM_FILES = 500


def _load_files(folder: Path, sources: list[Path], max_chars: int, pack_sections: bool,
                max_bytes: int) -> tuple[list[Passage], list[str]]:
    passages: list[Passage] = []
    warnings: list[str] = []
    for path in sources:
        rel = path.relative_to(folder).as_posix()
        try:
            text = read_source(path, max_bytes)
        except SourceError as exc:
            warnings.append(f"skipped {rel}: {exc}")
            continue
        found = parse_document(text, rel, max_chars, pack_sections)
        if not found:
            warnings.append(f"skipped {rel}: nothing to answer from (only headings or a lead-in)")
        passages.extend(found)
    return passages, warnings


def describe(passages: Iterable[Passage]) -> dict[str, int]:
    """Passage counts by kind, for reports."""
    counts: dict[str, int] = {}
    for p in passages:
        counts[p.kind] = counts.get(p.kind, 0) + 1
    return dict(sorted(counts.items()))
