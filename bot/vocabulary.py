"""The knowledge owner's vocabulary file (``synonyms.ini``): roles, synonyms, title words.

Roles are rewritten to one term on both sides (question and passage) so a role name made of
common words ("operations manager") cannot match another role ("operations director").
Synonyms are added to questions only: the articles' own wording needs no help.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bot.textproc import normalize

ROLE_PREFIX = "role_"
VOCABULARY_FILE = "synonyms.ini"


class VocabularyError(ValueError):
    """The vocabulary file cannot be read or parsed."""


def _split_aliases(value: str) -> list[str]:
    return [normalize(a) for a in re.split(r"[,\n]", value) if a.strip()]


# Phrases are grouped by their first characters, this many levels deep ("c(?:h(?:ief operating
# officer|...)|oo)|v(?:p(?: of operations|))"): the same matches as one longest-first alternation,
# but at each position re tries only the few phrases starting there. Two levels: matching takes
# about half the time of grouping by the first character alone and compiles as fast (deeper
# groups match a little faster still but compile slower, which every process start pays).
_GROUPED_CHARACTERS = 2


def phrase_pattern(phrases: list[str], word: str = r"\w$") -> re.Pattern[str] | None:
    """The phrases, each neither preceded nor followed by a ``word`` character, longest first."""
    if not phrases:
        return None
    alternatives = _alternation(sorted(set(phrases), key=len, reverse=True), _GROUPED_CHARACTERS)
    return re.compile(rf"(?<![{word}])(?:{alternatives})(?![{word}])")


def _alternation(phrases: list[str], depth: int) -> str:
    """A pattern for ``phrases`` (longest first, so the longest that fits is taken), grouped by
    first character ``depth`` levels deep; an empty phrase (a shorter one ending here) comes last."""
    if depth == 0 or len(phrases) == 1:
        return "|".join(map(re.escape, phrases))
    groups: dict[str, list[str]] = {}
    for phrase in phrases:  # longest first, and so within each group
        groups.setdefault(phrase[:1], []).append(phrase[1:])
    return "|".join(re.escape(first) + (f"(?:{_alternation(rest, depth - 1)})" if rest != [""] else "")
                    for first, rest in groups.items())


_POSSESSIVES = ("my", "your", "his", "her", "their", "our")
_POSSESSIVE = re.compile(rf"\b(?:{'|'.join(_POSSESSIVES)})\b")


def _pronoun_variants(phrase: str) -> list[str]:
    """``phrase`` with its one possessive pronoun swapped for each of the others."""
    found = _POSSESSIVE.findall(phrase)
    if len(found) != 1:
        return []
    return [_POSSESSIVE.sub(other, phrase) for other in _POSSESSIVES if other != found[0]]


def role_token(name: str) -> str:
    """The single term a role is rewritten to, e.g. ``VP of Operations`` -> ``role_vp_of_operations``."""
    return ROLE_PREFIX + re.sub(r"[^a-z0-9]+", "_", normalize(name)).strip("_")


@dataclass
class Vocabulary:
    """Parsed vocabulary: what each alias means, plus the phrase matchers built from it."""

    roles: dict[str, list[str]] = field(default_factory=dict)  # display name -> aliases
    terms: dict[str, list[str]] = field(default_factory=dict)  # canonical -> aliases
    titles: frozenset[str] = frozenset()
    stopwords: frozenset[str] = frozenset()
    uncovered: frozenset[str] = frozenset()  # subjects asked about that the articles don't answer

    def __post_init__(self) -> None:
        self._role_of: dict[str, str] = {}
        for name, aliases in self.roles.items():
            token = role_token(name)
            for alias in [normalize(name), *aliases]:
                self._role_of[alias] = token
        self._role_pattern = phrase_pattern(list(self._role_of))
        self._term_of: dict[str, str] = {}
        for canonical, aliases in self.terms.items():
            for alias in [normalize(canonical), *aliases]:
                # Terms are matched after role names are rewritten ("become ceo" -> "become role_ceo").
                alias = " ".join(self.canonicalize(alias).split())
                self._term_of.setdefault(alias, normalize(canonical))
        # A phrase means the same whoever's it is: "work your way up" also as "work their way up".
        # Written aliases come first, so one the owner wrote for another pronoun is kept.
        for alias, canonical in list(self._term_of.items()):
            for variant in _pronoun_variants(alias):
                self._term_of.setdefault(variant, canonical)
        self._term_pattern = phrase_pattern(list(self._term_of))
        self.role_names: dict[str, str] = {role_token(n): n for n in self.roles}
        self._uncovered_pattern = phrase_pattern([" ".join(self.canonicalize(normalize(u)).split())
                                                  for u in self.uncovered])

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        """Read a vocabulary file; a missing file means an empty vocabulary."""
        if not path.is_file():
            return cls()
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise VocabularyError(f"cannot read {path}: {exc}") from exc
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, source: str = VOCABULARY_FILE) -> Vocabulary:
        """Parse the text of a vocabulary file (``source`` names it in error messages)."""
        parser = configparser.ConfigParser(
            delimiters=("=",), comment_prefixes=("#", ";"), inline_comment_prefixes=None,
            interpolation=None, strict=False,
        )
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep display names' case
        try:
            parser.read_string(text, source=source)
        except configparser.Error as exc:
            detail = " ".join(str(exc).split())  # configparser messages span lines
            raise VocabularyError(f"cannot read {source}: {detail}") from exc
        section = lambda name: dict(parser.items(name)) if parser.has_section(name) else {}  # noqa: E731
        return cls(
            roles={k.strip(): _split_aliases(v) for k, v in section("roles").items()},
            terms={k.strip(): _split_aliases(v) for k, v in section("terms").items()},
            titles=frozenset(a for v in section("titles").values() for a in _split_aliases(v)),
            stopwords=frozenset(a for v in section("stopwords").values() for a in _split_aliases(v)),
            uncovered=frozenset(a for v in section("uncovered").values() for a in _split_aliases(v)),
        )

    def canonicalize(self, text: str) -> str:
        """Rewrite role names in normalised text to their single role term."""
        if self._role_pattern is None:
            return text
        return self._role_pattern.sub(lambda m: f" {self._role_of[m.group(0)]} ", text)

    def expansions(self, text: str) -> list[tuple[str, str]]:
        """(alias found, canonical term) for the synonyms and abbreviations in normalised text."""
        if self._term_pattern is None:
            return []
        if "  " in text:  # role terms come padded with spaces ("become  role_ceo"); aliases have single ones
            text = " ".join(text.split())
        return [(m.group(0), self._term_of[m.group(0)]) for m in self._term_pattern.finditer(text)]

    def uncovered_in(self, text: str) -> list[str]:
        """The subjects of ``[uncovered]`` named in normalised, canonicalised text, except inside a
        longer phrase of ``[terms]`` ("what do coos have on their resume" asks about experience)."""
        if self._uncovered_pattern is None:
            return []
        text = " ".join(text.split())
        found = list(self._uncovered_pattern.finditer(text))
        if not found or self._term_pattern is None:
            return [m.group(0) for m in found]
        phrases = [m.span() for m in self._term_pattern.finditer(text)]
        return [m.group(0) for m in found
                if not any(start <= m.start() and m.end() <= end and end - start > m.end() - m.start()
                           for start, end in phrases)]

    def alias_words(self) -> set[str]:
        """Every word the vocabulary knows, for spelling correction."""
        known: set[str] = set()
        for phrase in [*self._role_of, *self._term_of, *self.titles]:
            known.update(re.findall(r"[a-z]+", phrase))
        return known


# -- adding an alias (``faqbot alias add``) ---------------------------------------------------------
_MAX_PHRASE = 80
_SECTION_LINE = re.compile(r"^\s*\[(?P<name>[^\]]+)\]\s*$")


@dataclass(frozen=True)
class AliasAdded:
    """Where ``add_alias`` put an alias."""

    term: str
    canonical: str  # the group it joined (a role's display name, or a [terms] canonical word)
    section: str  # "roles" or "terms"
    new_group: bool  # a new line was started (the target was not in the file yet)
    path: Path


def _check_phrase(what: str, value: str) -> str:
    phrase = " ".join(value.split())
    if not phrase:
        raise VocabularyError(f"the {what} is empty")
    if len(phrase) > _MAX_PHRASE:
        raise VocabularyError(f"the {what} is too long ({len(phrase)} characters; at most {_MAX_PHRASE})")
    if any(not ch.isprintable() for ch in value.replace("\n", " ").replace("\t", " ")) or "\n" in value:
        raise VocabularyError(f"the {what} must be one line of plain text")
    for bad, why in ((",", "separates aliases"), ("=", "separates a group's name from its aliases")):
        if bad in phrase:
            raise VocabularyError(f"the {what} {phrase!r} contains {bad!r}, which {why} in {VOCABULARY_FILE}")
    if phrase[0] in "#;[":
        raise VocabularyError(f"the {what} {phrase!r} must not start with {phrase[0]!r} (comment or section syntax)")
    if not re.search(r"[\w$]", normalize(phrase)):
        raise VocabularyError(f"the {what} {phrase!r} has no letters or digits")
    return phrase


def _value_end(lines: list[str], start: int) -> int:
    """The last line of the option that starts at ``start`` (continuation lines are indented)."""
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start
    for i in range(start + 1, len(lines)):
        stripped = lines[i].strip()
        if not stripped or stripped[0] in "#;":
            continue  # blank lines and comments may sit inside a value
        if len(lines[i]) - len(lines[i].lstrip()) <= indent:
            break
        end = i
    return end


def _sections(lines: list[str]) -> list[tuple[str, int, int]]:
    """(name, first line after the header, end) for each section of the file, in order."""
    found: list[tuple[str, int, int]] = []
    for i, line in enumerate(lines):
        match = _SECTION_LINE.match(line)
        if match:
            if found:
                found[-1] = (found[-1][0], found[-1][1], i)
            found.append((match["name"].strip(), i + 1, len(lines)))
    return found


def add_alias(path: Path, term: str, target: str) -> AliasAdded:
    """Add ``term`` as another way of saying ``target`` to the vocabulary file, safely.

    The target may be a role (its name or one of its aliases: the term joins the role), a [terms]
    canonical word or one of its aliases (the term joins that group), or a new word (a new
    ``target = term`` line in [terms]). Refused: malformed phrases, a term the file already knows,
    a term equal to its target. Comments and layout are kept; the result is parsed again and must
    differ from the old vocabulary by exactly this alias before it atomically replaces the file.
    The alias takes effect the next time the index is loaded: the file is part of the index's
    fingerprint, so the index is rebuilt then.
    """
    term = _check_phrase("term", term)
    target = _check_phrase("target", target)
    key_term, key_target = normalize(term), normalize(target)
    if key_term == key_target:
        raise VocabularyError(f"the term and the target are the same ({term!r})")
    try:
        text = path.read_bytes().decode("utf-8") if path.exists() else ""  # bytes: keep its line endings
    except (OSError, UnicodeDecodeError) as exc:
        raise VocabularyError(f"cannot read {path}: {exc}") from exc
    old = Vocabulary.parse(text, str(path))

    for name, aliases in old.roles.items():
        if key_term in [normalize(name), *aliases]:
            raise VocabularyError(f"{term!r} is already a name of the role {name!r} in {path}")
    for canonical, aliases in old.terms.items():
        if key_term == normalize(canonical):
            raise VocabularyError(f"{term!r} is already a group in [terms] of {path}")
        if key_term in aliases:
            raise VocabularyError(f"{term!r} is already an alias of {canonical!r} in [terms] of {path}")

    section, canonical = "terms", target
    role = next((n for n, a in old.roles.items() if key_target in [normalize(n), *a]), None)
    if role is not None:
        section, canonical = "roles", role
    else:
        canonical = next((c for c, a in old.terms.items() if key_target in [normalize(c), *a]), target)
    new_group = not (canonical in old.roles or canonical in old.terms)

    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    sections = [s for s in _sections(lines) if s[0] == section]
    if not new_group:
        # configparser keeps the last of repeated keys, so the alias goes to the last one.
        starts = [i for _, first, end in sections for i in range(first, end)
                  if "=" in lines[i] and not lines[i][:1].isspace() and lines[i].split("=", 1)[0].strip() == canonical]
        if not starts:
            raise VocabularyError(f"cannot find the line of {canonical!r} in {path}; add {term!r} by hand")
        end = _value_end(lines, starts[-1])
        value_line = lines[end].rstrip()
        lines[end] = f"{value_line} {term}" if value_line.endswith(",") else f"{value_line}, {term}"
    elif sections:
        _, first, end = sections[-1]
        last = max((i for i in range(first, end) if lines[i].strip()), default=first - 1)
        lines.insert(last + 1, f"{canonical} = {term}")
    else:
        if lines and lines[-1].strip():
            lines.append("")
        lines += [f"[{section}]", f"{canonical} = {term}"]
    new_text = newline.join(lines) + newline

    new = Vocabulary.parse(new_text, str(path))
    expected_roles = dict(old.roles)
    expected_terms = dict(old.terms)
    target_map = expected_roles if section == "roles" else expected_terms
    target_map[canonical] = [*target_map.get(canonical, []), key_term]
    if new.roles != expected_roles or new.terms != expected_terms or new.titles != old.titles \
            or new.stopwords != old.stopwords:
        raise VocabularyError(f"adding {term!r} to {path} would change more than that alias (unusual layout?); "
                              "add it by hand")
    _replace_file(path, new_text)
    return AliasAdded(term, canonical, section, new_group, path)


def _replace_file(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and ``os.replace``: readers (a bot reloading
    its index) see the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
