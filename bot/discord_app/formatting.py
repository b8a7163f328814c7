"""Pure functions that turn engine results into Discord messages, within Discord's limits.

Nothing here talks to the network, so every rule (escaping, trimming, splitting, embed limits)
is unit-tested without a bot. Two rules matter most:

* user text shown back (the question) is escaped: no markdown breakage and no pings, even if a
  message is ever sent without ``AllowedMentions.none()``; the escaping is reversible, because the
  answer buttons recover the question from the embed after a restart;
* every message fits: content 2,000, embed title 256, description 4,096, field name 256,
  field value 1,024, footer 2,048, 25 fields, 6,000 characters per embed. Long text is cut at a
  sentence boundary (then a word boundary) and marked with an ellipsis.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import discord
from discord.utils import escape_markdown, escape_mentions, format_dt

from bot.engine import Alternative, Answer
from bot.gaps import GapReport
from bot.textproc import pack

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
BUTTON_LABEL_LIMIT = 80
MAX_CHOICE_BUTTONS = 5
MAX_FIELDS = 25
EMBED_TOTAL_LIMIT = 6000

ELLIPSIS = "…"
QUESTION_FIELD = "Question"
RESOLVED_FIELD = "Understood as"
CHOICES_FIELD = "Did you mean"
ZWSP = "\u200b"

ANSWER_COLOUR = discord.Colour.blurple()
UNKNOWN_COLOUR = discord.Colour.light_grey()
ADMIN_COLOUR = discord.Colour.dark_teal()
FAILURE_COLOUR = discord.Colour.red()

QUESTION_WORDS = frozenset({"what", "who", "whom", "whose", "when", "where", "why", "how", "which"})
AUXILIARY_VERBS = frozenset({
    "is", "are", "am", "was", "were", "do", "does", "did", "can", "could", "should", "would", "will",
    "shall", "may", "might", "must", "has", "have", "had", "isn't", "aren't", "wasn't", "weren't",
    "don't", "doesn't", "didn't", "can't", "couldn't", "shouldn't", "wouldn't", "won't", "hasn't",
    "haven't",
})

_SENTENCE_END = re.compile(r"[.!?…](?:[\"'”’)\]]*)(?=\s)|\n")
_FIRST_WORD = re.compile(r"[A-Za-z']+")


# -- escaping -------------------------------------------------------------------------------------
def escape_user_text(text: str) -> str:
    """Make user text inert in a message: markdown shown literally, no @everyone/@here/role pings."""
    return escape_mentions(escape_markdown(text))


def unescape_user_text(text: str) -> str:
    """The inverse of ``escape_user_text`` (used to recover a question from an answer embed).

    ``escape_markdown`` puts a backslash before each markdown character (backslashes included),
    so "backslash + next character -> that character" undoes it. Links and URLs are escaped as a
    whole, so a backslash inside one is lost on the way back; that never changes what the engine
    finds for the question.
    """
    return re.sub(r"\\(.)", r"\1", text.replace("@" + ZWSP, "@"), flags=re.DOTALL)


def _drop_dangling_escape(text: str) -> str:
    """A cut right after an escaping backslash would escape whatever follows; drop that backslash."""
    run = len(text) - len(text.rstrip("\\"))
    return text[:-1] if run % 2 else text


# -- trimming and splitting -----------------------------------------------------------------------
def _boundary(text: str, limit: int) -> int:
    """Where to cut ``text`` to at most ``limit`` characters: the last sentence end, else the last
    whitespace, else exactly ``limit``; boundaries in the first half are ignored (too much lost)."""
    window = text[: limit + 1]
    floor = limit // 2
    ends = [m.end() for m in _SENTENCE_END.finditer(window) if floor <= m.end() <= limit]
    if ends:
        return ends[-1]
    space = max(window.rfind(" ", 0, limit + 1), window.rfind("\n", 0, limit + 1))
    if space >= floor and space > 0:
        return space
    return limit


def trim(text: str, limit: int, *, ellipsis: str = ELLIPSIS) -> str:
    """``text`` if it fits in ``limit`` characters, else cut at a sentence boundary plus an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= len(ellipsis):
        return text[:limit]
    budget = limit - len(ellipsis)
    head = _drop_dangling_escape(text[: _boundary(text, budget)].rstrip())
    return head + ellipsis


def split_text(text: str, limit: int = CONTENT_LIMIT) -> list[str]:
    """Split ``text`` into non-empty parts of at most ``limit`` characters, at paragraph, sentence
    or word boundaries; only a single over-long "word" is cut hard (never inside an escape)."""
    parts: list[str] = []
    rest = text.strip()
    while rest:
        if len(rest) <= limit:
            parts.append(rest)
            break
        window = rest[: limit + 1]
        paragraph = window.rfind("\n\n", 0, limit)
        cut = paragraph if paragraph >= limit // 2 else _boundary(rest, limit)
        part = rest[:cut].rstrip()
        if cut == limit or not part:  # hard cut: keep an escaping backslash with what it escapes
            cut = limit
            part = rest[:cut]
            if _drop_dangling_escape(part) != part and cut > 1:
                cut -= 1
                part = rest[:cut]
        parts.append(part)
        rest = rest[cut:].lstrip()
    return parts


def pack_lines(lines: Iterable[str], limit: int) -> list[str]:
    """Join lines with newlines into chunks of at most ``limit`` characters (lines are trimmed)."""
    return pack((trim(line, limit) for line in lines), limit, "\n")


# -- embeds ---------------------------------------------------------------------------------------
def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Enforce every embed limit in place (and return the embed): the last line of defence.

    Parts are trimmed to their own limits first; if the total is still over 6,000 characters the
    description shrinks first, then the last fields (what matters most comes first).
    """
    if embed.title:
        embed.title = trim(embed.title, TITLE_LIMIT)
    if embed.description:
        embed.description = trim(embed.description, DESCRIPTION_LIMIT)
    if embed.footer.text:
        embed.set_footer(text=trim(embed.footer.text, FOOTER_LIMIT), icon_url=embed.footer.icon_url)
    if embed.author.name:
        embed.set_author(name=trim(embed.author.name, AUTHOR_LIMIT), url=embed.author.url,
                         icon_url=embed.author.icon_url)
    fields = embed.fields[:MAX_FIELDS]
    embed.clear_fields()
    for f in fields:
        embed.add_field(name=trim(f.name or ZWSP, FIELD_NAME_LIMIT),
                        value=trim(f.value or ZWSP, FIELD_VALUE_LIMIT), inline=bool(f.inline))
    excess = len(embed) - EMBED_TOTAL_LIMIT
    if excess > 0 and embed.description:
        keep = max(0, len(embed.description) - excess)
        embed.description = trim(embed.description, keep) if keep > len(ELLIPSIS) else None
    while len(embed) > EMBED_TOTAL_LIMIT and embed.fields:
        last = embed.fields[-1]
        excess = len(embed) - EMBED_TOTAL_LIMIT
        keep = len(last.value or "") - excess
        if keep > 20:
            embed.set_field_at(len(embed.fields) - 1, name=last.name, value=trim(last.value or "", keep),
                               inline=bool(last.inline))
        else:
            embed.remove_field(len(embed.fields) - 1)
    return embed


def _where(source: str | None, section: str | None) -> str:
    return f"{source} › {section}" if source and section else (source or section or "")


def _question_field(embed: discord.Embed, question: str) -> None:
    """Show the (escaped) question; the buttons read it back from here after a restart."""
    if question.strip():
        value = trim(escape_user_text(question.strip()), FIELD_VALUE_LIMIT)
        embed.add_field(name=QUESTION_FIELD, value=value, inline=False)


def answer_embed(answer: Answer) -> discord.Embed:
    """The answer: passage as the description, question as a field, source and confidence below.

    When the engine read the question in the light of the conversation, the question as understood
    is shown (and used again by the buttons, since it stands on its own). "Did you mean" choices
    are listed by number, as in the terminal; the message also gets one button per choice, and
    asking again with just the number works too (the conversation remembers the offer).
    """
    embed = discord.Embed(title=answer.title or "Answer", colour=ANSWER_COLOUR,
                          description=escape_mentions(answer.text or answer.reply))
    _question_field(embed, answer.question)
    resolved = (answer.resolved or "").strip()
    if resolved and resolved != answer.question.strip():
        embed.add_field(name=RESOLVED_FIELD, value=trim(escape_user_text(resolved), FIELD_VALUE_LIMIT),
                        inline=False)
    if answer.choices:
        listing = "\n".join(f"{i}. {escape_markdown(choice_label(c))}"
                            for i, c in enumerate(answer.choices, start=1))
        embed.add_field(name=CHOICES_FIELD, inline=False, value=trim(
            f"{listing}\nPick one with the buttons below, or ask again with just its number.",
            FIELD_VALUE_LIMIT))
    footer = f"📄 {_where(answer.source, answer.section)} · confidence {answer.score:.0%}"
    embed.set_footer(text=footer)
    return fit_embed(embed)


def choice_label(choice: Alternative) -> str:
    """What a "did you mean" option is called: the engine's label, else where the passage is."""
    return choice.label or _where(choice.source, choice.section) or "this answer"


def button_label(number: int, text: str) -> str:
    """A button label for option ``number``: "2 · COO: Salary", on one line, within 80 characters.

    Button labels are plain text (no markdown, no mentions), so nothing needs escaping; but they
    must be non-empty and at most 80 characters, and a newline would be shown as a space anyway.
    """
    flat = re.sub(r"\s+", " ", text).strip() or "this answer"
    return trim(f"{number} · {flat}", BUTTON_LABEL_LIMIT)


def unknown_embed(answer: Answer, topics: str) -> discord.Embed:
    """"I don't know", with up to three closest topics, or why the question could not be used."""
    if answer.reason in ("empty", "too_long"):
        description = answer.reply
    elif answer.suggestions:
        bullets = "\n".join(f"• {escape_markdown(s)}" for s in answer.suggestions[:3])
        description = f"Closest topics I know about:\n{bullets}"
    else:
        description = f"I can answer questions about {escape_markdown(topics)}." if topics else None
    embed = discord.Embed(title="I don't know the answer to that", description=description,
                          colour=UNKNOWN_COLOUR)
    _question_field(embed, answer.question)
    return fit_embed(embed)


def alternatives_embed(question: str, answer: Answer) -> discord.Embed:
    """"Other answers": the next-best passages, or "did you mean" topics when there are none."""
    embed = discord.Embed(title="Other answers", colour=ANSWER_COLOUR)
    _question_field(embed, question)
    alternatives: Sequence[Alternative] = answer.alternatives if answer.kind == "answer" else ()
    for rank, alt in enumerate(alternatives, start=2):
        name = f"#{rank} · {alt.score:.0%} · {_where(alt.source, alt.section)}"
        value = trim(escape_mentions(alt.text), FIELD_VALUE_LIMIT)
        embed.add_field(name=trim(name, FIELD_NAME_LIMIT), value=value, inline=False)
    if not alternatives:
        if answer.suggestions:
            bullets = "\n".join(f"• {escape_markdown(s)}" for s in answer.suggestions[:3])
            embed.description = f"No other answers found. Did you mean:\n{bullets}"
        else:
            embed.description = "No other answers found."
    return fit_embed(embed)


def question_from_embeds(embeds: Iterable[discord.Embed]) -> str | None:
    """The question an answer message was for, read back from its fields: the question as
    understood in context when there is one (it stands on its own), else the question as asked."""
    found: dict[str, str] = {}
    for embed in embeds:
        for f in embed.fields:
            if f.name in (QUESTION_FIELD, RESOLVED_FIELD) and f.value:
                found.setdefault(f.name, unescape_user_text(f.value))
    return found.get(RESOLVED_FIELD) or found.get(QUESTION_FIELD)


# -- what a reply looks like ----------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    """One message to send: content and/or embeds, whether it gets the answer buttons, visibility."""

    content: str | None = None
    embeds: tuple[discord.Embed, ...] = field(default_factory=tuple)
    buttons: bool = False
    ephemeral: bool = True
    choices: tuple[str, ...] = ()  # labels of the "did you mean" buttons (at most five)
    passage_id: str | None = None  # the passage answered with, carried by the feedback buttons


def render_answer(answer: Answer, *, topics: str, public: bool = False) -> Reply:
    """How an ``Answer`` is shown. "I don't know" is always ephemeral (it only helps the asker)."""
    if answer.kind == "answer":
        labels = tuple(button_label(i, choice_label(c))
                       for i, c in enumerate(answer.choices[:MAX_CHOICE_BUTTONS], start=1))
        return Reply(embeds=(answer_embed(answer),), buttons=True, ephemeral=not public, choices=labels,
                     passage_id=answer.passage_id)
    if answer.kind == "smalltalk":
        return Reply(content=trim(escape_mentions(answer.reply), CONTENT_LIMIT), ephemeral=not public)
    return Reply(embeds=(unknown_embed(answer, topics),), ephemeral=True)


APOLOGY = "Sorry, something went wrong while answering that. It has been logged."


def cooldown_text(retry_after: float) -> str:
    seconds = max(1, math.ceil(retry_after))
    return f"⏳ You're asking faster than I can keep up — please try again in {seconds} s."


# -- message classification -----------------------------------------------------------------------
def looks_like_question(text: str) -> bool:
    """A message worth answering unprompted: ends with "?" or starts with a question word or an
    auxiliary verb ("does anyone know ..."). Everything else in an auto-answer channel is chat."""
    text = text.strip()
    if not text:
        return False
    if text.rstrip("*_~`)\"'” ").endswith("?"):
        return True
    match = _FIRST_WORD.search(text.replace("’", "'"))
    if match is None or match.start() > 3:
        return False
    return match.group().lower() in QUESTION_WORDS | AUXILIARY_VERBS


def mentions_user(content: str, user_id: int) -> bool:
    return re.search(rf"<@!?{user_id}>", content) is not None


def strip_mention(content: str, user_id: int) -> str:
    """The question in "@bot what is a COO?" (the bot's mention and separators removed)."""
    text = re.sub(rf"<@!?{user_id}>[,:;]?", " ", content)
    return re.sub(r"\s+", " ", text).strip(" ,:;")


# -- admin views ----------------------------------------------------------------------------------
def _timestamp(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def sources_embeds(sources: Sequence[tuple[str, str, int]]) -> list[discord.Embed]:
    """The documents, one line each, over as many embeds (one per message) as needed."""
    passages = sum(n for _, _, n in sources)
    lines = [f"• **{escape_markdown(title)}** — {escape_markdown(src)} ({n} passages)"
             for src, title, n in sources] or ["(no documents)"]
    chunks = pack_lines(lines, DESCRIPTION_LIMIT - 96)
    title = f"Knowledge: {len(sources)} documents, {passages} passages"
    return [fit_embed(discord.Embed(title=title if i == 0 else f"{title} (continued)", description=chunk,
                                    colour=ADMIN_COLOUR))
            for i, chunk in enumerate(chunks)]


@dataclass(frozen=True)
class StatsView:
    """What ``/faq stats`` shows (collected by the bot, formatted here)."""

    documents: int
    passages: int
    built_at: float
    started_at: float
    questions: int
    answered: int
    unknown: int
    smalltalk: int
    auto_answered: int
    helpful: int
    not_helpful: int
    reloads: int
    guilds: int
    shards: str


def stats_embed(s: StatsView) -> discord.Embed:
    index = f"{s.documents} documents, {s.passages} passages"
    if s.built_at:
        built = _timestamp(s.built_at)
        index += f"\nbuilt {format_dt(built, 'R')} ({format_dt(built, 'f')})"
    questions = (f"{s.questions} asked: {s.answered} answered, {s.unknown} unknown, "
                 f"{s.smalltalk} small talk; {s.auto_answered} answered unprompted")
    feedback = f"👍 {s.helpful} helpful · 👎 {s.not_helpful} not helpful"
    running = (f"since {format_dt(_timestamp(s.started_at), 'R')}; {s.reloads} reloads; "
               f"{s.guilds} servers; shards {s.shards}")
    embed = discord.Embed(title="faqbot statistics", colour=ADMIN_COLOUR)
    rows = (("Index", index), ("Questions", questions), ("Feedback", feedback), ("Running", running))
    for name, value in rows:
        embed.add_field(name=name, value=value, inline=False)
    return fit_embed(embed)


def reload_embed(ok: bool, message: str) -> discord.Embed:
    title = "Index reloaded" if ok else "Reload failed — still serving the previous index"
    return fit_embed(discord.Embed(title=title, description=message,
                                   colour=ADMIN_COLOUR if ok else FAILURE_COLOUR))


def report_embed(report: GapReport | None, days: int) -> discord.Embed:
    """``/faq report``: this server's most frequent unanswered questions, and the answer rate."""
    title = f"Unanswered questions — last {days} day{'s' if days != 1 else ''}"
    if report is None:
        return fit_embed(discord.Embed(title=title, colour=ADMIN_COLOUR, description=(
            "The usage log is turned off (FAQBOT_LOG=off), so there is nothing to report.")))
    lines = []
    for i, group in enumerate(report.gaps, start=1):
        similar = f" (+{len(group.variants) - 1} similar)" if len(group.variants) > 1 else ""
        lines.append(f"{i}. **{group.count}×** {trim(escape_user_text(group.question), 200)}{similar}")
    description = pack_lines(lines, DESCRIPTION_LIMIT - 200)[0] if lines else (
        "No unanswered or low-confidence questions. 🎉" if report.questions else "No questions were asked.")
    embed = discord.Embed(title=title, colour=ADMIN_COLOUR, description=description)
    if report.questions:
        embed.add_field(name="Answer rate", inline=False, value=(
            f"{report.answer_rate:.0%} of {report.answered + report.unanswered} questions "
            f"({report.low_confidence_answers} answers below {report.low_confidence:.0%} confidence)"))
    if report.not_helpful:
        worst = "\n".join(f"👎 {p.not_helpful} · {escape_markdown(trim(p.where, 150))}" for p in report.not_helpful[:5])
        embed.add_field(name="Most “Not helpful” answers", value=trim(worst, FIELD_VALUE_LIMIT), inline=False)
    embed.set_footer(text="Only this server's questions · faqbot report --suggest for synonyms to add")
    return fit_embed(embed)
