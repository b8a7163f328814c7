"""Small-talk detection: greetings, thanks, identity, help... never mistaken for a question."""

from __future__ import annotations

import pytest

from bot import smalltalk
from bot.smalltalk import REPLIES, SmallTalk, detect


@pytest.mark.parametrize(("message", "category"), [
    ("hi", "greeting"), ("Hello there!", "greeting"), ("hey guys", "greeting"), ("good morning", "greeting"),
    ("thanks!", "thanks"), ("Thank you so much", "thanks"), ("thx", "thanks"),
    ("who are you", "identity"), ("Are you a bot?", "identity"), ("what's your name", "identity"),
    ("help", "help"), ("what can you do?", "help"),
    ("bye", "bye"), ("see you later", "bye"),
    ("how are you?", "how_are_you"),
    ("ok", "ack"), ("cool", "ack"),
    ("you suck", "rude"),
    # chat as people type it
    ("hey how's it going?", "how_are_you"), ("thanks for the help!", "thanks"), ("good bot", "thanks"),
    ("anyone here?", "greeting"), ("nice to meet you", "greeting"), ("gotta go", "bye"),
    ("what's your purpose", "identity"), ("can i ask you something", "help"),
    ("what kinds of things do you know about", "help"), ("what kind of stuff can you help me with", "help"),
    ("what sorts of topics can you answer?", "help"), ("hmm", "ack"), ("no worries", "ack"),
    ("wait who am i even talking to", "identity"), ("are you a bot or a person", "identity"),
    ("am i talking to a bot?", "identity"),
    ("wrong answer", "rude"), ("who built this bot", "identity"), ("how does this work, what do i type", "help"),
    ("wait who am i even talking to rn", "identity"), ("hi, how do i use this thing", "help"), ("lol thanks", "thanks"),
    ("thanks, that was really useful", "thanks"), ("this is very informative", "thanks"),
    ("ok that's great", "ack"),
    ("Thank you so much, this was really helpful for my job spec.", "thanks"), ("thanks for nothing", "rude"),
    # hesitation, however drawn out
    ("uhh how do i use this thing", "help"), ("ummm hi", "greeting"), ("hmmm thanks", "thanks"), ("errr ok", "ack"),
])
def test_small_talk_categories(message, category):
    assert detect(message) == SmallTalk(category)


@pytest.mark.parametrize("message", ["HI!!!", "  hello  ", "Thanks\u200b!", "ＨＩ", "what’s up", "WHAT’S YOUR NAME"])
def test_detection_is_robust_to_case_spacing_and_lookalikes(message):
    assert detect(message) is not None


@pytest.mark.parametrize(("message", "category"), [
    ("hi, who are you?", "identity"), ("hey, can you help me", "help"), ("ok thanks", "thanks"),
])
def test_most_specific_category_wins(message, category):
    assert detect(message).category == category


@pytest.mark.parametrize("message", [
    "hey, what does a coo earn?", "hi what is the difference between a vp of operations and a coo",
    "thanks, and who does the coo report to?", "what does a coo do", "help me understand the coo role",
    "who are you reporting to as a vp", "", "   ", "coo", "is the coo the boss",
    "tell me about the coo", "test the coo's budget plan", "thanks for the help, and what about the coo?",
    "who is this coo person", "wait, who does the coo talk to",
    "thanks, that was useful, is it the same for a vp?", "is that useful for a coo", "this is it",
    "what kind of things does a coo handle", "what kind of stuff can a vp of ops help with",
    "ummm hi, what does a coo do", "thanks for the help, now the vp of ops salary?",
])
def test_questions_are_not_small_talk(message):
    assert detect(message) is None


def test_every_category_has_a_reply_that_fills_its_placeholders():
    assert set(REPLIES) == set(smalltalk.PHRASES)
    for category in smalltalk.PHRASES:
        reply = SmallTalk(category).reply("COO and VP of Operations", "What is a COO?")
        assert reply.strip()
        assert "{" not in reply and "}" not in reply
    assert "COO and VP of Operations" in SmallTalk("greeting").reply("COO and VP of Operations", "x")
