"""How a turn refers back to the conversation: "how much do they make?", "and the coo?".

``read_turn`` reads what a question's wording says (it points at a person or a thing said before,
leaves words out, asks the same of another role, compares ...); ``adds_roles`` and
``adds_subject`` decide from that reading what of the conversation's ``Topic`` the question needs;
``resolve_follow_up`` writes the question out with it. What the articles cover and the roles'
display names are passed in: this module knows wording and the analysed ``Query``, not the engine.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache

from bot.analysis import Query
from bot.textproc import STOP_WORDS, stem, words
from bot.topic import Topic
from bot.vocabulary import ROLE_PREFIX

# Words that point back to what was said before: a person ("how much do THEY make?") or a
# thing ("who implements THEM?", "when does THAT happen?").
_ANAPHORA_PERSON = re.compile(r"\b(?:they|their|theirs|themselves|he|she|his|hers|him|her|which one|either|"
                              r"both|each|neither|the other)\b")
# "what's the first one about?": an item of the list just shown (its words are no subject)
_ITEM_REFERENCE = re.compile(r"\bthe (?:first|second|third|fourth|fifth|last) "
                             r"(?:one|point|item|factor|bullet|option)\b")
_ANAPHORA_THING = re.compile(r"\b(?:them|it|its|that|this|those|these|same|such)\b|"
                             r"\bthe (?:numbers?|figures?|range)\b|"  # "what makes the number go up?"
                             + _ITEM_REFERENCE.pattern)
# "them" as whom a verb about people acts on: the people said before ("what industries hire them"),
# not the thing asked about ("who implements them?").
_THEM_PERSON = re.compile(r"\b(?:hire|hires|hiring|hired|employ|employs|employing|recruit|recruits|recruiting|"
                          r"promote|promotes|promoting|pay|pays|paying|paid)\s+them\b")
# "the salary diff between them": the people said before, not a thing.
_AMONG_THEM = re.compile(r"\b(?:between|among|amongst) them\b|\bthem (?:both|all)\b")
# "they" doing something before any role is named: the people said before ("do they work with the
# coo?" after the Operations Director), not the role named after it ("and the coo, do they ...").
_SUBJECT_PERSON = re.compile(r"\b(?:they|he|she)\b")
_COMPARATIVES = ("more", "less", "higher", "lower", "better", "bigger", "greater", "smaller")
# A comparison naming one role: with whom is the conversation's ("how does a coo compare?", "is a
# coo different?", "vs a coo?", set against it: "what does the coo do instead", "a similar list");
# and words that only say "compare" are no subject of their own.
_COMPARISON = re.compile(r"\bcompar(?:e|ed|es|ing|ison)\b|"
                         r"\b(?:instead|meanwhile|differently|similar|in contrast|by contrast|on the other hand)\b|"
                         r"\bthen\W*$|"
                         r"\bdiff(?:er|ers|erent|erence|erences|s)?\s+(?:from|to|than|with)\b|"
                         r"\bdiff(?:er|ers|erent)?\W*$|\b(?:vs|versus)\b|\bstacks? up\b|"
                         r"\bsame (?:thing |role |job |position |title )?as\b|"
                         rf"\b(?:{'|'.join(_COMPARATIVES)})\s+than\b")
_COMPARATIVE = re.compile(rf"\b(?:{'|'.join(_COMPARATIVES)})\b")  # "is it higher for a coo?"
# "can a coo make the work culture better" asks about improving it, not comparing roles.
_MAKE_BETTER = re.compile(r"\bmak(?:e|es|ing)\b(?:\s+[\w']+){1,5}?\s+(?:better|bigger|greater|smaller)\b")
_COMPARING_STEMS = ("compar", "differ", "similar")
# "and the coo's side of that?", "the vp ops part?": the role's share of what was asked before.
_ROLE_SIDE = re.compile(r"\brole_\w+\s*(?:'s|s)?\s+(side|part|end|bit|angle|perspective|version)\b")
# "which one is higher up?" asks who ranks above whom, whatever was compared before.
_HIGHER_UP = re.compile(r"\bhigher[- ]up\b")
# "is it the same for a vp?", "same question for the coo": the old subject, the new role.
_SAME_FOR = re.compile(r"\b(?:the )?same (?:question |thing |goes |applies |is true )?(?:for|with|of)\b")
# "it" and "that" that point at nothing said before: "is it true that ...", "what is it like to
# ...", "is it common for a vp to ...", "make sure that ...", "i heard that ...".
_NOT_POINTING = re.compile(r"\b(?:it|this)(?:\s+\w+){0,3}?\s+(?:to|that|like)\b|"
                           r"\b(?:is|are|was)\s+(?:it|that)\s+the\s+same\s+(?!for\b|as\b|thing\b|with\b)\w+|"
                           r"\b(?:it|this)(?:\s+\w+){0,2}?\s+for\s+(?:\w+\s+){1,5}?to\b|"
                           r"\b(?:sure|heard|hear|think|know|true|say|said|mean|means|believe|seem|seems|so|told)\s+that\b")
# Words for the roles of the last two turns ("how do i pick between them", "who earns more?").
_PLURAL = re.compile(r"\b(?:both|either|neither|the two|which one|which of|between them|the other|them both|"
                     r"together|each other|(?:these|those) (?:roles|jobs|positions|titles|people|execs|executives))\b|"
                     r"^(?:(?:so|and|ok|okay|but)\s+)?who\b.*\b(?:more|less|better|higher|lower|most|least)\b")
# "that job", "this role": the person again, not the thing asked about before.
_DETERMINER = r"(?:that|this|these|those|the same|such an?)"
_NAMING_REFERENCE = re.compile(rf"\b{_DETERMINER}\s+(?:person|people|guy|individual)s?\b")
_ROLE_REFERENCE = re.compile(r"\bthe\s+(?:role|job|position)\b|"  # "what's the role like in small orgs"
                             r"\b(?:that|this|the other) one\b|"  # "how much does that one pay"
                             rf"\b{_DETERMINER}\s+(?:role|job|position|post|title|"
                             r"career|person|people)s?\b|\b(?:which|each|both|either|neither|one|all|none|any)\s+of\s+"
                             r"(?:them|those|these)\b"  # "which of them": the people, not a thing
                             # "what quals would i need for it", "which industries would hire me for that"
                             r"|\b(?:need|needs|needed|hire|hires|qualify|qualified|apply|study|train|prepare|"
                             r"ready|required|requirements?|quals?|qualifications?)\b.*\bfor (?:it|that|this)\W*$")
# The opening of a clause that asks something (also what the engine looks for in a long message).
ASKS = re.compile(r"(?:so |but |and |ok |okay |like )?(?:is|are|does|do|did|can|could|should|would|will|what|whats|"
                  r"what's|who|whos|who's|which|how|hows|why|whys|when|where|wheres)\b")
# An elliptical follow-up: "what about the coo?", "and the ops director?", "is the coo allowed to?".
_ELLIPTICAL_END = re.compile(r"\b(?:too|also|as well|either|on top|in addition|(?:are|r) we talking|"
                             r"we(?:'re| are)? talking)\W*$")  # "how many years are we talking?"
_ELLIPSIS = re.compile(r"^(?:and|also|plus|or|but|so|then|ok and|okay and|what about|how about|same for|"
                       r"and for|what of|and what about|and how about)\b|" + _ELLIPTICAL_END.pattern)
_BESIDE = re.compile(r"^\W*(?:and|or|but|what about|how about)\s+(?:with|to|alongside|beside|and)\b")
# With a role named, what marks a question as elliptical rather than a new one: no question of
# its own ("and the coo?", "for a coo?"), "what about ...", a closing "too"/"as well", or asking for
# more than was said ("what extra does a coo bring", "what else").
_DISCOURSE = re.compile(r"^(?:(?:and|so|ok|okay|but|also|then|plus|or|well)\W+)+")
_ABOUT = re.compile(r"^(?:what|how) about\b|^what of\b")
# The question before, asked again on another condition: "and if i want to run the company?".
_CONDITION = re.compile(r"^(?:what |but |and |so |ok |okay )*if\b")
_ADDITIVE = re.compile(r"\b(?:extra|else|additional|additionally|besides|on top)\b")
# A final "to" leaves the verb's object out ("is the coo allowed to?"), except in a question that
# asks for that object ("who does a vp of operations report to").
_STRANDED_TO = re.compile(r"\bto\W*$")
# A question that stops at the role it names: "can an operations manager?", "and does a coo?"
# (read on the analysed text, where a role is one term).
_ENDS_AT_ROLE = re.compile(r"^(?:(?:and|so|but|ok|okay|what about|how about)\s+)?"
                           r"(?:can|could|does|do|did|is|are|will|would|should|has|have|must|may)\s+"
                           r"(?:an?\s+|the\s+)?role_\w+\W*$")
_ASKS_FOR_OBJECT = re.compile(r"^(?:(?:so|and|ok|okay|but)\s+)?(?:who|whom|what|whats|what's|which|where)\b")


# "the vp", "a director": a word of one role's name, with an article, in a conversation about
# that role names it ("who does the vp report to?"); "the vp of sales" is someone else.
_PARTIAL_ROLE = r"\b(?:the|a|an|that|this|our|their|your)\s+({words})s?\b(?!\s+of\b)"
_PARTIAL_ROLE_ONE = r"\b(?:the|a|an|that|this|our|their|your)\s+({words})\b(?!\s+of\b)"


@lru_cache(maxsize=8)
def _distinctive_words(names: tuple[tuple[str, str], ...]) -> dict[str, tuple[str, ...]]:
    """Per role, the words of its display name that no other role's name has (worked out once per
    vocabulary, not per question)."""
    counts = Counter(word for _, name in names for word in set(name.lower().split()))
    return {role: tuple(w for w in name.lower().split() if counts[w] == 1 and len(w) > 1 and w != name.lower())
            for role, name in names}


@lru_cache(maxsize=256)
def _words_pattern(template: str, words: tuple[str, ...]) -> re.Pattern[str]:
    """``template`` with ``{words}`` (and ``{before}``) filled in, compiled once per set of words."""
    return re.compile(template.format(words="|".join(map(re.escape, words)), before="|".join(_BARE_BEFORE)))


def name_partial_roles(text: str, query: Query, topic: Topic | None, role_names: Mapping[str, str],
                       covered: Collection[str] = ()) -> str:
    """``text`` with a role the conversation is about written out where a word of its name alone
    stands for it ("who does the vp report to" -> "who does the VP of Operations report to").

    Only words of one role's name count ("vp", "director", "manager", "head"; not "operations"),
    and only for roles of ``topic`` (its roles and frame) or, when it is about one of the
    ``covered`` roles (those the articles are about), for those, that ``query`` does not name.
    """
    if topic is None:
        return text
    distinctive = _distinctive_words(tuple(role_names.items()))
    # The conversation's roles, and (talking about roles the articles cover) the articles' other
    # roles: "and the director?" after the VP of Operations is the Operations Director.
    # Those others only in the singular: "works with the managers" are the people managed.
    talked_about = [*topic.roles, *topic.frame]
    others = [r for r in sorted(covered) if r not in talked_about] if set(topic.roles) & set(covered) else []
    for roles, template in ((talked_about, _PARTIAL_ROLE), (others, _PARTIAL_ROLE_ONE)):
        own = {word: role for role in dict.fromkeys(roles) if role not in query.roles
               for word in distinctive.get(role, ())}  # distinctive word -> role
        if own:
            text = _words_pattern(template, tuple(own)).sub(
                lambda m, own=own: m.group(0)[:m.start(1) - m.start(0)] + role_names[own[m.group(1)]], text)
    return text


# A word of a role's name standing alone next to another role ("vps and coos", "coo or vp?",
# "wider than the vp's", "who sets strategy, vp or coo"): the word begins its noun phrase (nothing
# but these words or a comma before it; "hr director", "the other managers" are others) and no
# "of" follows ("vp of sales").
_BARE_ROLE = r"(^|[,;/(]\s*|\b(?:{before})\s)({words})(?:'s)?\b(?!\s+of\b)"
# The same with no other role named: also the plural ("why do vps need people skills").
_LONE_ROLE = r"(^|[,;/(]\s*|\b(?:{before})\s)({words})(?:s|'s)?\b(?!\s+of\b)"
_BARE_BEFORE = ("the", "a", "an", "that", "this", "our", "their", "your", "or", "and", "vs", "versus", "than",
                "to", "for", "with", "from", "like", "as", "do", "does", "is", "are", "can", "should", "would")


def name_compared_roles(text: str, query: Query, role_names: Mapping[str, str], covered: Collection[str],
                        alone: bool = False) -> str:
    """``text`` with a role of the articles written out where a word of its name alone stands for
    it beside another role the question names ("coo or vp?" -> "coo or VP of Operations?").

    Only when ``query`` names one of the ``covered`` roles, and only words of one role's name
    ("vp", "director", "manager", "head"), heading their noun phrase. With ``alone`` (no
    conversation to go by), also in a question naming no role, for a word written in capitals in
    the role's name: an abbreviation ("VP") means that role on its own ("vp salary"), a word like
    "director" or "head" does not.
    """
    lone = alone and not query.roles
    if not lone and not any(r in covered for r in query.roles):
        return text
    distinctive = _distinctive_words(tuple(role_names.items()))
    own = {word: role for role in covered if role not in query.roles for word in distinctive.get(role, ())
           if not lone or word.upper() in role_names[role].split()}
    if not own:
        return text
    pattern = _words_pattern(_LONE_ROLE if lone else _BARE_ROLE, tuple(sorted(own)))
    return pattern.sub(lambda m: m.group(1) + role_names[own[m.group(2)]], text)


@dataclass(frozen=True)
class TurnReading:
    """What a turn's wording says about the conversation before it (see ``read_turn``)."""

    text: str  # the wording, with "the same (question) for" rewritten to "for": what is looked up
    names_roles: bool  # it names a role of its own
    person: bool  # points at a person said before: "they", "that job", "which of them", "both"
    subject_first: bool  # "they" before any role named: "do they work with the coo?"
    thing: bool  # points at a thing said before ("who implements them?"), or compares one role with the old
    plural: bool  # names no role and means the roles of the last two turns: "both", "between them"
    ellipsis: bool  # leaves words out: "and ...", "what about ...", "... too?", "is the coo allowed to?"
    same_for: bool  # asks the old question of the role it names: "is it the same for a vp?"
    comparison: bool  # compares the one role it names with the old ones: "how does a coo compare?"
    elliptical: bool  # with a role named, no whole question of its own: "and the coo?", "what extra ..."
    asks: bool  # opens, discourse words ("and", "so" ...) aside, like a question: "what", "is", "how" ...
    statement: bool  # tells rather than asks: "i like being hands-on"
    condition: bool  # the question before on another condition: "and if i want to run the company?"
    own_subject: tuple[str, ...]  # its own subject words: known to the articles, no "compare" when comparing
    nothing_new: bool  # asks nothing of its own: "who can then?", "where do they differ?"


def read_turn(text: str, query: Query) -> TurnReading:
    """What the wording of a question (``text``, normalised; ``query``, its analysis) says."""
    names_roles = bool(query.roles)
    # What the words point at and leave out, in the question as asked.
    points_at_person = bool(_ROLE_REFERENCE.search(text) or _ANAPHORA_PERSON.search(text) or _THEM_PERSON.search(text))
    points_at_thing = bool(_ANAPHORA_THING.search(_NOT_POINTING.sub(" ", _ROLE_REFERENCE.sub(
        " ", _THEM_PERSON.sub(" ", _AMONG_THEM.sub(" ", text))))))
    stranded_to = bool(_STRANDED_TO.search(text)) and not _ASKS_FOR_OBJECT.match(text)
    ellipsis = stranded_to or bool(_ELLIPSIS.search(text))
    plural = bool(_PLURAL.search(text)) and not names_roles
    same_for = names_roles and bool(_SAME_FOR.search(text))
    if same_for:  # the new role instead of the old ones, asked the old question
        text = _SAME_FOR.sub("for", text)
    comparison = len(query.roles) == 1 and bool(_COMPARISON.search(text)
                                                or _COMPARATIVE.search(_MAKE_BETTER.sub(" ", text)))
    # "who decides strategy between the two": people mentioned before; the "it" of "is it the same
    # for a vp?" points at neither the old person nor the old thing.
    person = (points_at_person or plural) and not same_for
    thing = comparison or (points_at_thing and not same_for)  # comparing: like "how is that different from a coo?"
    ellipsis = ellipsis or same_for  # "same for a vp" leaves the question out
    own_subject = [w for w in query.subject if w not in query.unknown_words]
    side = _ROLE_SIDE.search(query.text)
    if side:
        own_subject = [w for w in own_subject if w != side.group(1)]
    # "which is higher?", "who earns more?": a comparative alone leaves out what is compared
    said = [w for w in words(text) if w not in STOP_WORDS]
    only_comparative = (not names_roles and bool(said) and all(w in _COMPARATIVES for w in said)
                        and not _HIGHER_UP.search(text))
    ellipsis = ellipsis or only_comparative
    if same_for or comparison or (thing and names_roles):
        own_subject = [w for w in own_subject
                       if not stem(w).startswith(_COMPARING_STEMS) and w not in _COMPARATIVES]
    clause = _DISCOURSE.sub("", text)
    asks = bool(ASKS.match(clause))
    elliptical = same_for or comparison or thing or not asks or bool(
        _ABOUT.match(clause) or _ADDITIVE.search(text) or _ELLIPTICAL_END.search(text) or stranded_to
        or _ENDS_AT_ROLE.match(" ".join(query.text.split())))
    subject = _SUBJECT_PERSON.search(query.text)  # roles are terms there: where the first is named
    subject_first = (names_roles and not same_for and subject is not None
                     and subject.start() < query.text.find(ROLE_PREFIX))
    return TurnReading(
        text=text, names_roles=names_roles, person=person, subject_first=subject_first, thing=thing,
        plural=plural, ellipsis=ellipsis,
        same_for=same_for, comparison=comparison, elliptical=elliptical, asks=asks,
        # Telling, not asking ("i like being hands-on"): more about the question before.
        statement=not asks and "?" not in text and len(own_subject) <= 2,
        condition=bool(_CONDITION.match(text)),
        own_subject=tuple(own_subject),
        nothing_new=only_comparative or not [w for w in own_subject if not stem(w).startswith(_COMPARING_STEMS)],
    )


def adds_roles(turn: TurnReading, query: Query, topic: Topic, covers_roles: Callable[[list[str]], bool]) -> bool:
    """Whether the question is about the topic's roles (those it does not name itself).

    Naming no role: when it points back ("how much do they make?", "what does that job pay?"),
    leaves words out, asks the question before on another condition ("what if i want to run the
    whole company one day?"), or asks little of its own ("is an mba needed?"). With a role
    named, a comparison points back to the old roles ("how is that different from a coo?", "is it
    higher for a coo?"; but "does the coo do that too?" asks the old subject of the coo alone), so
    does "they" before the role named ("do they work with the coo?"), or "they"/"their"/"that" when
    the role named is one the articles are not about ("is the ceo their boss?", "is that the ceo?"). ``covers_roles``
    tells whether the articles are about any of the roles given.
    """
    if not topic.roles or set(topic.roles) <= set(query.roles):
        return False
    if not turn.names_roles:
        return (turn.person or turn.thing or turn.ellipsis or turn.condition
                or (min(len(turn.own_subject), query.asked) <= 2 and not query.unknown_words))
    # "and with the ceo?": the roles before, beside one the articles are not about
    beside = turn.ellipsis and bool(_BESIDE.match(turn.text))
    return turn.comparison or turn.subject_first or ((turn.person or turn.thing or beside)
                                                     and not covers_roles(query.roles))


def adds_subject(turn: TurnReading, query: Query, topic: Topic) -> bool:
    """Whether the question is about the topic's subject (the words of the question before).

    The old subject, when the question has (almost) none of its own and is elliptical ("and the
    coo?"; with a role named, a whole question such as "what does a coo do" is a new one), or when
    it points back to it ("who implements them?"). Naming no role, also when it asks the question
    before on another condition ("and if i want to run the company?") or tells rather than asks
    ("i like being hands-on").
    """
    if not topic.subject:
        return False
    if not turn.names_roles:
        return ((turn.nothing_new and (turn.ellipsis or turn.person or not query.terms)) or turn.thing
                or turn.condition or turn.statement)
    if turn.comparison and turn.own_subject:  # "how does their salary compare with a coo's": compares that
        return False
    # a fragment with words of its own says something ("so the coo reports to the ceo?")
    # (the words it says: "that duty" counts once, not again as the vocabulary's "responsibilities")
    said = min(len(turn.own_subject), max(query.asked - len(query.roles), 0))
    # "and if i moved up to coo?" after the VP's pay: the question before, on that condition
    return turn.elliptical and said <= (1 if turn.asks or turn.condition else 0)


@dataclass(frozen=True)
class FollowUp:
    """A follow-up written out with what it borrows from the conversation."""

    text: str  # the question with the topic's roles and/or subject added: what is looked up
    about: tuple[str, ...] = ()  # when set, the roles it asks about, of those named in ``text``


def resolve_follow_up(text: str, query: Query, topic: Topic | None, *,
                      covers_roles: Callable[[list[str]], bool], role_names: Mapping[str, str],
                      turn: TurnReading | None = None) -> FollowUp | None:
    """The question with the conversation's topic added, or None when it stands on its own.

    "how much do they make?" and "what does that job pay?" get the previous roles; "what
    about the coo?", "is it the same for a vp?" and "who implements them?" get the previous
    subject; "how is that different from a coo?" and "how does a coo compare?" get both roles;
    "how do i choose between them?" gets the roles of the last two turns. A question that
    names a role and says what it asks ("what is the average salary for an ops manager", also
    after "and"/"so") is a new topic and is left alone.

    ``text`` is the normalised question and ``query`` its analysis; ``covers_roles`` tells whether
    the articles are about any of the roles given, ``role_names`` maps role terms to the names
    written out; ``turn`` is ``read_turn(text, query)`` when the caller has it already.
    "do they work with the coo?" is about the people before (``FollowUp.about``); the coo is only
    what is asked of them.
    """
    if topic is None or not (topic.roles or topic.subject):
        return None
    if turn is None:
        turn = read_turn(text, query)
    if turn.plural and len(topic.roles) < 2 and len(topic.frame) >= 2:
        topic = replace(topic, roles=topic.frame)  # "both", "between them": the roles compared
    add_roles = adds_roles(turn, query, topic, covers_roles)
    add_subject = adds_subject(turn, query, topic)
    if not (add_roles or add_subject):
        return None
    # "that person" stands for the roles added: its noun is no subject ("what background would
    # that person need" after "can one person be both?" asks about background, not one person).
    said = _ITEM_REFERENCE.sub(" ", _NAMING_REFERENCE.sub(" ", turn.text) if add_roles else turn.text)
    parts = [" ".join(said.split())]
    if add_roles:
        parts += [role_names.get(r, r) for r in topic.roles if r not in query.roles]
    if add_subject:
        parts += [w for w in topic.subject if w not in query.subject]
    about: tuple[str, ...] = ()
    if turn.subject_first:
        about = tuple(dict.fromkeys([*(r for r in query.roles if r in topic.roles),
                                     *(topic.roles if add_roles else ())]))
    return FollowUp(" ".join(parts), about)
