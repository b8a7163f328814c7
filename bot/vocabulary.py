"""The knowledge owner's vocabulary file (``synonyms.ini``): roles, synonyms, title words.

Roles are rewritten to one term on both sides (question and passage) so a role name made of
common words ("operations manager") cannot match another role ("operations director").
Synonyms are added to questions only: the articles' own wording needs no help.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.textproc import normalize

ROLE_PREFIX = "role_"
VOCABULARY_FILE = "synonyms.ini"


class VocabularyError(ValueError):
    """The vocabulary file cannot be read or parsed."""


def _split_aliases(value: str) -> list[str]:
    return [normalize(a) for a in re.split(r"[,\n]", value) if a.strip()]


def _phrase_pattern(phrases: list[str]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    # Longest first so "vp of operations" wins over "vp"; whole words only.
    alternatives = "|".join(re.escape(p) for p in sorted(set(phrases), key=len, reverse=True))
    return re.compile(rf"(?<![\w$])(?:{alternatives})(?![\w$])")


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

    def __post_init__(self) -> None:
        self._role_of: dict[str, str] = {}
        for name, aliases in self.roles.items():
            token = role_token(name)
            for alias in [normalize(name), *aliases]:
                self._role_of[alias] = token
        self._role_pattern = _phrase_pattern(list(self._role_of))
        self._term_of: dict[str, str] = {}
        for canonical, aliases in self.terms.items():
            for alias in [normalize(canonical), *aliases]:
                # Terms are matched after role names are rewritten ("become ceo" -> "become role_ceo").
                alias = " ".join(self.canonicalize(alias).split())
                self._term_of.setdefault(alias, normalize(canonical))
        self._term_pattern = _phrase_pattern(list(self._term_of))
        self.role_names: dict[str, str] = {role_token(n): n for n in self.roles}

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        """Read a vocabulary file; a missing file means an empty vocabulary."""
        if not path.is_file():
            return cls()
        parser = configparser.ConfigParser(
            delimiters=("=",), comment_prefixes=("#", ";"), inline_comment_prefixes=None,
            interpolation=None, strict=False,
        )
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep display names' case
        try:
            parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
        except (configparser.Error, UnicodeDecodeError) as exc:
            detail = " ".join(str(exc).split())  # configparser messages span lines
            raise VocabularyError(f"cannot read {path}: {detail}") from exc
        section = lambda name: dict(parser.items(name)) if parser.has_section(name) else {}  # noqa: E731
        return cls(
            roles={k.strip(): _split_aliases(v) for k, v in section("roles").items()},
            terms={k.strip(): _split_aliases(v) for k, v in section("terms").items()},
            titles=frozenset(a for v in section("titles").values() for a in _split_aliases(v)),
            stopwords=frozenset(a for v in section("stopwords").values() for a in _split_aliases(v)),
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
        return [(m.group(0), self._term_of[m.group(0)]) for m in self._term_pattern.finditer(text)]

    def alias_words(self) -> set[str]:
        """Every word the vocabulary knows, for spelling correction."""
        known: set[str] = set()
        for phrase in [*self._role_of, *self._term_of, *self.titles]:
            known.update(re.findall(r"[a-z]+", phrase))
        return known
