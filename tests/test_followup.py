"""Follow-up reading on its own: what a turn's wording says (``read_turn``) and what of the topic
it borrows (``adds_roles``, ``adds_subject``, ``resolve_follow_up``). The engine-level behaviour
(which passage a follow-up gets) is tested in test_conversation.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.followup import (
    TurnReading,
    adds_roles,
    adds_subject,
    name_compared_roles,
    name_partial_roles,
    read_turn,
    resolve_follow_up,
)
from bot.textproc import normalize
from bot.topic import Topic

VP, COO, OPS_MANAGER, CEO = "role_vp_of_operations", "role_coo", "role_operations_manager", "role_ceo"
VP_SALARY = Topic((VP,), ("salary",))


def read(engine, question: str) -> tuple[TurnReading, object]:
    query = engine.retriever.analyzer.query(question)
    return read_turn(normalize(question), query), query


def query_of(engine, question: str):
    return engine.retriever.analyzer.query(question)


def resolve(engine, question: str, topic: Topic | None) -> str | None:
    found = resolve_follow_up(normalize(question), engine.retriever.analyzer.query(question), topic,
                              covers_roles=engine.retriever.covers_roles, role_names=engine.role_names)
    return None if found is None else found.text


def test_and_the_coo_is_elliptical_and_borrows_the_subject_not_the_roles(engine):
    turn, query = read(engine, "and the coo?")
    assert turn.names_roles and turn.ellipsis and turn.elliptical
    assert not (turn.asks or turn.person or turn.thing) and turn.own_subject == () and turn.nothing_new
    assert adds_subject(turn, query, VP_SALARY)
    assert not adds_roles(turn, query, VP_SALARY, engine.retriever.covers_roles)
    assert resolve(engine, "and the coo?", VP_SALARY) == "and the coo? salary"


def test_a_whole_question_naming_a_role_resolves_to_none(engine):
    question = "what is the average salary for an operations manager"
    turn, _ = read(engine, question)
    assert turn.asks and not turn.elliptical and not turn.ellipsis
    assert set(turn.own_subject) == {"average", "salary"}
    assert resolve(engine, question, Topic((COO,), ("salary",))) is None


def test_the_same_for_a_role_is_read_as_the_old_question_for_it(engine):
    turn, _ = read(engine, "is it the same for a vp of operations?")
    assert turn.same_for and turn.ellipsis
    assert not (turn.person or turn.thing)  # its "it" is the question left out, not a thing said before
    assert turn.text == "is it for a vp of operations?"
    assert not read(engine, "is it the same for them?")[0].same_for  # no role of its own: nothing to ask it of


def test_they_next_to_a_named_role_points_back_only_when_the_articles_do_not_cover_that_role(engine):
    turn, query = read(engine, "could they take over from the ceo?")
    assert query.roles == [CEO] and turn.person and not turn.thing
    assert not engine.retriever.covers_roles([CEO])
    assert adds_roles(turn, query, VP_SALARY, engine.retriever.covers_roles)
    turn, query = read(engine, "is the ceo their boss?")  # the role named first: "their" may be its people
    assert turn.person and not turn.subject_first
    assert adds_roles(turn, query, VP_SALARY, engine.retriever.covers_roles)
    assert not adds_roles(turn, query, VP_SALARY, lambda roles: True)


def test_both_means_the_frame_only_when_the_topic_holds_fewer_than_two_roles(engine):
    turn, _ = read(engine, "who earns more")
    assert turn.plural and turn.person
    assert resolve(engine, "who earns more", Topic((VP,), ("salary",), frame=(VP, COO))) \
        == "who earns more VP of Operations COO"
    assert resolve(engine, "who earns more", Topic((VP,), ("salary",))) == "who earns more VP of Operations"
    two = Topic((VP, COO), ("salary",), frame=(OPS_MANAGER, CEO))
    assert resolve(engine, "who earns more", two) == "who earns more VP of Operations COO"
    assert not read(engine, "do both coos need a degree")[0].plural  # a role named: "both" is not the frame


@pytest.mark.parametrize("question", ["what kinda companies have these roles", "do those jobs pay well"])
def test_these_roles_mean_the_roles_of_the_last_two_turns(engine, question):
    assert read(engine, question)[0].plural
    resolved = resolve(engine, question, Topic((COO,), ("day-to-day",), frame=(COO, VP)))
    assert "COO" in resolved and "VP of Operations" in resolved


def test_them_after_a_verb_about_people_is_the_people_not_the_old_subject(engine):
    turn, _ = read(engine, "what industries hire them")
    assert turn.person and not turn.thing
    assert resolve(engine, "what industries hire them", Topic((VP,), ("skills",))) \
        == "what industries hire them VP of Operations"
    assert read(engine, "who implements them")[0].thing  # a thing done: the old subject


def test_a_comparison_points_back_and_its_comparing_words_are_no_subject(engine):
    turn, query = read(engine, "how does a coo compare")
    assert "compare" in query.subject
    assert turn.comparison and turn.thing and turn.elliptical
    assert turn.own_subject == () and turn.nothing_new
    assert resolve(engine, "how does a coo compare", VP_SALARY) == "how does a coo compare VP of Operations salary"


@pytest.mark.parametrize("question", ["what does the coo do instead", "and what does the coo do differently",
                                      "what's the coo doing meanwhile?", "does the coo have a similar list",
                                      "who does the coo collaborate with then"])
def test_setting_a_role_against_the_one_before_compares_them(engine, question):
    turn, _ = read(engine, question)
    assert turn.comparison
    director = Topic(("role_operations_director",), ("responsibilities",))
    assert "Operations Director" in resolve(engine, question, director)


def test_then_compares_only_at_the_end_of_the_question(engine):
    assert read(engine, "what does a coo focus on then")[0].comparison
    assert not read(engine, "what skills does a coo need then to get hired")[0].comparison


@pytest.mark.parametrize(("question", "points"), [
    ("is it true that the coo reports to the ceo", False),
    ("what is it like to be a coo", False),
    ("can a coo do that", True),
    ("who implements them?", True),
    ("is it the same degree for both", False),  # asks about the degree, not the thing before
    ("is it the same for both", True),
    ("what makes the number go up or down", True),
])
def test_it_and_that_point_at_a_thing_only_when_nothing_follows_them(engine, question, points):
    assert read(engine, question)[0].thing is points


def test_telling_and_new_conditions_borrow_the_subject_a_fragment_with_words_of_its_own_does_not(engine):
    telling, query = read(engine, "i like being hands-on")
    assert telling.statement and not telling.asks and adds_subject(telling, query, VP_SALARY)
    condition, query = read(engine, "and if we are growing fast?")
    assert condition.condition and not condition.statement and adds_subject(condition, query, VP_SALARY)
    both = Topic((VP, COO), ("hands", "person"))  # the question before, with a long condition: its roles too
    assert resolve(engine, "what if i eventually want to run the whole company", both) \
        == "what if i eventually want to run the whole company VP of Operations COO hands person"
    fragment, query = read(engine, "so the coo reports to the ceo?")
    assert fragment.elliptical and fragment.own_subject == ("reports",)
    assert not adds_subject(fragment, query, VP_SALARY)


def test_nothing_is_borrowed_from_an_empty_topic_or_roles_already_named(engine):
    assert resolve(engine, "how much do they make?", None) is None
    assert resolve(engine, "how much do they make?", Topic()) is None
    turn, query = read(engine, "what about the coo, is it higher?")
    assert turn.thing and adds_subject(turn, query, Topic((COO,), ("salary",)))
    assert not adds_roles(turn, query, Topic((COO,), ("salary",)), engine.retriever.covers_roles)
    assert not adds_subject(turn, query, Topic((VP,)))


@pytest.mark.parametrize("module", ["followup", "topic"])
def test_follow_up_reading_does_not_depend_on_the_engine(module):
    tree = ast.parse((Path(__file__).parent.parent / "bot" / f"{module}.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported.isdisjoint({"bot.engine", "bot.conversation", "bot.chat", "bot.cli"})


def test_a_word_of_a_role_name_names_that_role_of_the_conversation(engine):
    def named(question: str, topic: Topic | None, covered=()) -> str:
        query = engine.retriever.analyzer.query(question)
        return name_partial_roles(normalize(question), query, topic, engine.role_names, covered)

    both = Topic((COO,), ("production",), frame=(COO, VP))
    assert named("who does the vp report to", both) == "who does the VP of Operations report to"
    directors = Topic((OPS_MANAGER, "role_operations_director"), ())
    assert named("and the director?", directors) == "and the Operations Director?"
    for question in ["who does the vp of sales report to",  # someone else
                     "my manager says the coo decides", "does a vp ops report to the coo"]:  # no article / named
        assert named(question, both) == normalize(question)
    assert named("who does the vp report to", VP_SALARY) == "who does the VP of Operations report to"
    assert named("who does the vp report to", Topic((OPS_MANAGER,), ("salary",))) == "who does the vp report to"
    assert named("who does the vp report to", None) == "who does the vp report to"
    # talking about roles the articles cover, their other roles too: "and the director?" after VPs
    covered = engine.retriever.covered_roles
    assert named("and the director?", VP_SALARY, covered) == "and the Operations Director?"
    assert named("who does the vp report to", Topic((OPS_MANAGER,), ("salary",)), covered) == \
        "who does the VP of Operations report to"
    assert named("and the director?", Topic((CEO,), ("salary",)), covered) == "and the director?"  # not covered
    # ... but only in the singular: the managers a COO works with are the people managed
    executives = Topic((COO, "role_operations_director"), ())
    assert named("which one works with the managers?", executives, covered) == "which one works with the managers?"
    assert named("and the manager?", executives, covered) == "and the Operations Manager?"
    assert named("and the managers?", Topic((OPS_MANAGER,), ()), covered) == "and the Operations Manager?"


def test_a_word_of_a_role_name_beside_another_role_names_that_role(engine):
    def named(question: str) -> str:
        query = engine.retriever.analyzer.query(question)
        return name_compared_roles(normalize(question), query, engine.role_names, engine.retriever.covered_roles)

    assert named("coo or vp?") == "coo or VP of Operations?"
    assert named("is the coo's focus wider than the vp's") == "is the coo's focus wider than the VP of Operations"
    assert named("vp or coo, which pays more") == "VP of Operations or coo, which pays more"
    assert named("who sets the ops strategy, vp or coo") == "who sets the ops strategy, VP of Operations or coo"
    for question in ["vp of sales vs coo",  # someone else
                     "does the coo guide the other managers", "hr director vs coo",  # a word before: others
                     "do vps report to the coo",  # vice presidents in general
                     "who does the vp report to"]:  # no role of the articles named beside it
        assert named(question) == normalize(question)
    answer = engine.ask("coo track or vp track?")
    assert set(answer.about) == {"COO", "VP of Operations"} and not answer.used_context


def test_an_abbreviation_of_a_role_name_alone_names_that_role(engine):
    def named(question: str, alone: bool = True) -> str:
        query = engine.retriever.analyzer.query(question)
        return name_compared_roles(normalize(question), query, engine.role_names, engine.retriever.covered_roles,
                                   alone=alone)

    assert named("vp salary") == "VP of Operations salary"
    assert named("why do vps need people skills") == "why do VP of Operations need people skills"
    assert named("vp salary", alone=False) == "vp salary"  # in a conversation, its roles decide
    for question in ["what does a director do",  # an ordinary word, not an abbreviation
                     "my vp of sales is rude",  # someone else
                     "our company vp"]:  # a word before it: not the noun phrase's head
        assert named(question) == normalize(question)
    answer = engine.ask("vp pay?")
    assert answer.about == ("VP of Operations",) and "$" in answer.text


def test_the_role_without_a_role_named_is_the_role_talked_about(engine):
    coo = Topic((COO,), ("successor",))
    assert read(engine, "what's the role like in smaller orgs")[0].person
    assert resolve(engine, "what's the role like in smaller orgs", coo) == "what's the role like in smaller orgs COO"
    assert resolve(engine, "what is the role of a vp of ops", coo) is None  # names its own


def test_that_next_to_a_role_the_articles_do_not_cover_points_back(engine):
    assert resolve(engine, "is that the ceo?", Topic((COO,), ("report",))) == "is that the ceo? COO report"


def test_a_fragment_beside_a_role_the_articles_do_not_cover_asks_about_the_roles_before(engine):
    works = Topic((COO,), ("work",))
    assert resolve(engine, "and with the ceo?", works) == "and with the ceo? COO work"
    assert resolve(engine, "and to the cfo?", Topic((COO,), ("report",))) == "and to the cfo? COO report"
    # a role the articles cover is asked about itself: "and with the vp of ops?" is the VP's turn
    assert "COO" not in (resolve(engine, "and with the vp of ops?", works) or "")


@pytest.mark.parametrize("question", ["which is higher?", "which one is better?", "so which is more?"])
def test_a_comparative_alone_compares_the_old_subject(engine, question):
    resolved = resolve(engine, question, Topic((VP, COO), ("salary",)))
    assert resolved is not None and resolved.endswith("VP of Operations COO salary")


@pytest.mark.parametrize("question", ["and the coo's side of that?", "and the coo part?"])
def test_a_roles_side_of_it_asks_the_old_subject_of_that_role(engine, question):
    assert resolve(engine, question, Topic((VP,), ("salary",))) == f"{question} salary"


def test_higher_up_asks_who_ranks_above_not_the_old_subject(engine):
    resolved = resolve(engine, "which one is higher up", Topic((VP, COO), ("salary",)))
    assert resolved == "which one is higher up VP of Operations COO"


def test_a_bare_why_with_chat_filler_asks_why_of_the_topic(engine):
    both = Topic((VP, COO), ("one person hold both",))
    assert resolve(engine, "why tho?", both) == "why tho? VP of Operations COO one person hold both"


@pytest.mark.parametrize("question", ["which ones", "like which ones?", "more details pls"])
def test_asking_for_the_particulars_of_the_answer_asks_the_question_before(engine, question):
    departments = Topic((VP,), ("coordinate", "departments"))
    assert resolve(engine, question, departments) == f"{question} VP of Operations coordinate departments"


def test_they_before_the_role_named_are_the_people_said_before(engine):
    director = Topic(("role_operations_director",), ("responsibilities",))
    turn, query = read(engine, "do they work with the coo?")
    assert turn.subject_first and adds_roles(turn, query, director, engine.retriever.covers_roles)
    assert resolve(engine, "do they work with the coo?", director) == "do they work with the coo? Operations Director"
    found = resolve_follow_up("do they work with the coo?", query_of(engine, "do they work with the coo?"), director,
                              covers_roles=engine.retriever.covers_roles, role_names=engine.role_names)
    assert found is not None and found.about == ("role_operations_director",)  # the coo is what is asked
    turn, query = read(engine, "and the coo, do they report to the ceo?")  # "they" are the coo
    assert not turn.subject_first and not adds_roles(turn, query, director, engine.retriever.covers_roles)


def test_together_means_the_roles_talked_about_before(engine):
    topic = Topic((COO,), ("benefits",), frame=(COO, VP))
    assert read(engine, "can they work together?")[0].plural
    assert resolve(engine, "can they work together?", topic) == "can they work together? COO VP of Operations"


def test_a_comparison_with_a_subject_of_its_own_compares_that(engine):
    degree = Topic((OPS_MANAGER,), ("need", "degree", "education"))
    resolved = resolve(engine, "how does their salary compare with a coo's", degree)
    assert resolved == "how does their salary compare with a coo's Operations Manager"  # the old role, not the degree
    assert resolve(engine, "how does a coo compare?", degree).endswith("need degree education")


@pytest.mark.parametrize("question", ["can an operations manager?", "and does a coo?"])
def test_a_question_that_stops_at_its_role_asks_the_old_question_of_it(engine, question):
    hiring = Topic((VP,), ("hire", "people"))
    turn, query = read(engine, question)
    assert turn.elliptical and adds_subject(turn, query, hiring)
    assert resolve(engine, question, hiring).endswith("hire people")
    assert not read(engine, "can an operations manager hire people?")[0].elliptical


@pytest.mark.parametrize("question", ["hows that diff from a coo", "how is that different from a coo",
                                      "whats the diff with a coo"])
def test_diff_and_hows_compare_with_the_roles_before(engine, question):
    turn, _ = read(engine, question)
    assert turn.comparison and turn.asks
    assert "Operations Director" in resolve(engine, question, Topic(("role_operations_director",), ("budgets",)))


def test_a_word_the_vocabulary_adds_is_no_subject_of_the_turns_own(engine):
    # "duty" also reads as the vocabulary's "responsibilities": still one word said, about "that"
    compliance = Topic(("role_operations_director",), ("regulatory", "compliance"))
    resolved = resolve(engine, "does a vp ops have that duty as well", compliance)
    assert resolved is not None and "compliance" in resolved and "Operations Director" not in resolved
    assert resolve(engine, "does a vp ops have budgeting and hiring duties as well", compliance) is None


def test_that_one_is_a_person_not_the_thing_said_before(engine):
    turn, _ = read(engine, "how much does that one pay")
    assert turn.person and not turn.thing
    fits = Topic((VP, COO), ("hands", "fits"))
    assert resolve(engine, "how much does that one pay", fits) == "how much does that one pay VP of Operations COO"



def test_making_something_better_is_no_comparison_but_paid_better_is(engine):
    director = Topic(("role_operations_director",), ("budgets",))
    question = "can a coo make a company's work culture better"
    assert not read(engine, question)[0].comparison
    assert resolve(engine, question, director) is None
    assert read(engine, "is a coo paid better?")[0].comparison


@pytest.mark.parametrize("question", ["any certifications worth getting on top?", "any certifications in addition?"])
def test_on_top_leaves_the_roles_out_like_too(engine, question):
    study = Topic((OPS_MANAGER,), ("education",))
    assert read(engine, question)[0].ellipsis
    assert resolve(engine, question, study) == f"{question} Operations Manager"


@pytest.mark.parametrize("question", ["how many years of experience are we talking?", "what salary r we talking"])
def test_are_we_talking_asks_of_the_roles_before(engine, question):
    qualifications = Topic((VP, COO), ("qualifications",))
    assert read(engine, question)[0].ellipsis
    assert resolve(engine, question, qualifications) == f"{question} VP of Operations COO"


def test_between_them_are_the_people_before_not_the_thing(engine):
    turn, _ = read(engine, "and the salary diff between them")
    assert turn.person and not turn.thing
    styles = Topic((VP, COO), ("leadership", "style"))
    assert resolve(engine, "and the salary diff between them", styles).endswith("VP of Operations COO")


@pytest.mark.parametrize("question", ["what's the first one about?", "and the last point?"])
def test_an_item_of_the_list_just_shown_asks_the_old_topic(engine, question):
    factors = Topic((VP, COO), ("career", "factors"))
    assert read(engine, question)[0].thing
    resolved = resolve(engine, question, factors)
    assert resolved is not None and resolved.endswith("VP of Operations COO career factors")
    assert "first" not in resolved and "last" not in resolved  # the item's place is no subject


def test_a_condition_naming_a_role_asks_the_old_question_on_it(engine):
    assert resolve(engine, "and if i moved up to coo?", VP_SALARY) == "and if i moved up to coo? salary"
    assert resolve(engine, "what if i want to be a coo and run strategy?", VP_SALARY) is None  # says its own
