"""Questions about one article: "in the head of ops comparison, how is the coo described?",
"what's the vp ops vs coo article about?", "when was the small biz vp of ops vs coo post published?".

The reference is found in a question's canonical text (roles already role terms) and matched to
the articles' titles by the roles and words it names; what is left is the question asked of
that article. This module knows wording and titles, not the index.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.textproc import STOP_WORDS, words
from bot.vocabulary import ROLE_PREFIX

# "(in|according to) the <words> article|piece|post|comparison", and what may follow it ("the
# article comparing it with an operations director"). The words before the noun name the article.
_REFERENCE = re.compile(
    r"(?:\b(?:in|from|according to|of|on|per|by|for)\s+)?\b(?:the|that|this|your)\s+"
    r"((?:(?!(?:the|a|an|in|of|to|according|from|on|per|by|for|is|are|was|what|whats|how|does|do|and|or)\b)"
    r"[\w'&.-]+\s+){0,10}?)(?:article|piece|post|blog post|blog|write-?up|comparison)s?\b"
    r"(?!\s+(?:table|chart|grid|matrix))"  # "the vp ops vs coo comparison table" is in an article
    r"((?:\s+(?:comparing|about|on|with|of|between|vs|versus|and|to|it|them|an?|the)\b|\s+role_\w+\b)*)")
# Words of a reference that name no article: "that coo vs ops director piece", "the article about".
_NOT_NAMING = frozenset({"vs", "versus", "comparing", "about", "between", "with", "one", "other", "same", "new",
                         "old", "first", "second", "last", "whole", "full", "original", "long", "short"})
# What asks for the article's gist rather than something in it.
_SUMMARY = re.compile(r"\b(?:tl;?dr|summary|summari[sz]e|sum (?:it )?up|gist|takeaways?|in short|nutshell|"
                      r"bottom line|conclusion|conclude|concludes)\b")
# Words that ask only what an article is about ("what's covered in ...", "what does ... say").
OVERVIEW_WORDS = frozenset({"about", "cover", "covers", "covered", "covering", "say", "says", "said", "discuss",
                            "discusses", "discussed", "topic", "topics", "main", "point", "gist", "summary",
                            "tldr", "tl", "dr", "overall", "basically", "mostly", "quick", "go", "goes", "over",
                            "conclude", "concludes", "concluded", "conclusion", "conclusions", "summarize",
                            "summarise", "sum", "takeaway", "takeaways", "short", "nutshell"})


@dataclass(frozen=True)
class ArticleQuestion:
    """A question asked of one article (or of the few its reference fits equally)."""

    sources: frozenset[str]
    rest: str  # the question without the reference, roles as role terms
    summary: bool  # asks for the article's gist ("tl;dr of ...")


def _title_words(canonical_title: str) -> set[str]:
    return {w for w in words(canonical_title) if w not in STOP_WORDS and not w.startswith(ROLE_PREFIX)}


def read_reference(canonical: str, titles: Mapping[str, str]) -> ArticleQuestion | None:
    """The article(s) a question's canonical text names, and what it asks of them; None when it
    names none, or names one that fits every article ("the coo article": they all are)."""
    text = " ".join(canonical.split())
    match = _REFERENCE.search(text)
    if match is None:
        return None
    named = f"{match.group(1)} {match.group(2)}"
    roles = {w for w in words(named) if w.startswith(ROLE_PREFIX)}
    said = {w for w in words(named) if w not in STOP_WORDS and w not in _NOT_NAMING
            and not w.startswith(ROLE_PREFIX)}
    rest = " ".join(f"{text[:match.start()]} {text[match.end():]}".split())
    also = said | {w for w in words(rest) if w not in STOP_WORDS}  # "the article about ... in small business"
    # Per fitting article: the reference's words in its title (more is better), then the whole
    # question's, then its title's words left unsaid (fewer is better: "the vp ops vs coo article"
    # is the one titled with little else than those roles, not the one "in Small Business Management").
    fits: dict[str, tuple[int, int, int]] = {}
    for source, title in titles.items():
        if roles <= {w for w in words(title) if w.startswith(ROLE_PREFIX)}:
            own = _title_words(title)
            fits[source] = (len(said & own), len(also & own), -len(own - also))
    if not fits:
        return None
    best = max(fits.values())
    chosen = frozenset(s for s, n in fits.items() if n == best)
    if not roles and best[0] == 0:
        return None
    if len(fits) == len(titles) and best[0] == 0:  # "the coo article": every one is
        return None
    return ArticleQuestion(chosen, rest, bool(_SUMMARY.search(text)))
