"""Small talk: greetings, thanks, "who are you", help. Answered politely, never with a passage.

A message is small talk only when nothing is left once its small-talk phrases and filler are
removed, so "hey, what does a coo earn?" is still a question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.textproc import normalize
from bot.vocabulary import phrase_pattern

# Category -> phrases. Matched as whole words on normalised text, longest first.
PHRASES: dict[str, tuple[str, ...]] = {
    "greeting": (
        "hi", "hii", "hiii", "hello", "hey", "heya", "hiya", "howdy", "yo", "sup", "greetings", "hola",
        "good morning", "good afternoon", "good evening", "morning", "evening", "hey there", "hi there",
        "hello there", "whats up", "what's up", "wassup",
        "heyy", "heyyy", "helloo", "hellooo", "hey hey", "hi all", "hey all", "hello all", "hi everyone",
        "hey everyone", "hello everyone", "hey yall", "hey y'all", "good day", "gm", "morning all", "whats good",
        "what's good", "anyone here", "anyone there", "is anyone there", "is anyone here", "are you there",
        "you there", "ping", "test", "testing", "nice to meet you", "pleased to meet you", "long time no see",
        "whats new", "what's new", "how have you been",
    ),
    "how_are_you": (
        "how are you", "how are you doing", "how r u", "how are u", "hows it going", "how's it going",
        "how is it going", "how are things", "how do you do", "you ok", "are you ok", "how you doing",
        "hows your day", "how's your day", "how is your day", "hows your day going", "how's your day going",
        "hows life", "how's life", "how you been", "you good", "are you good", "how are ya", "hru", "wyd",
        "what are you up to", "whatcha doing", "how do you feel",
    ),
    "thanks": (
        "thanks", "thank you", "thank u", "thx", "ty", "tysm", "cheers", "much appreciated",
        "appreciate it", "i appreciate it", "thanks a lot", "thank you so much", "thanks so much",
        "that helped", "that really helped", "that helps", "helpful", "great answer", "perfect",
        "thanks for the help", "thank you for the help", "thanks for your help", "thank you for your help",
        "thanks a bunch", "thanks a ton", "many thanks", "thanks heaps", "much obliged", "thank you very much",
        "tyvm", "youre the best", "you're the best", "you are the best", "you rock", "good bot", "nice bot",
        "good job", "well done", "youre awesome", "you're awesome", "you are awesome", "love it", "amazing",
        "brilliant", "thats helpful", "that's helpful", "very helpful", "super helpful", "that was helpful",
        "that answers it", "that answers my question", "exactly what i needed", "great help",
        "useful", "very useful", "super useful", "informative", "very informative", "great info", "good info",
        "nice info", "thanks for the info", "thanks for the answer", "clear answer", "great explanation",
    ),
    "bye": (
        "bye", "goodbye", "good bye", "bye bye", "see you", "see ya", "see you later", "see ya later",
        "cya", "later", "good night", "gn", "ttyl", "im off", "i'm off", "take care",
        "goodnight", "night", "nite", "catch you later", "catch ya later", "talk later", "talk to you later",
        "gotta go", "got to go", "gtg", "g2g", "have a good one", "have a nice day", "have a good day", "peace",
        "peace out", "farewell", "adios", "ciao", "thats all", "that's all", "that is all", "nothing else",
        "im done", "i'm done",
    ),
    "identity": (
        "who are you", "what are you", "who r u", "are you a bot", "are you human", "are you a human",
        "are you real", "are you a real person", "are you a person", "are you a real person or a bot",
        "are you a bot or a person", "are you a bot or a human",
        "are you a person or a bot", "are you human or a bot", "are you a human or a bot", "bot or human",
        "what is your name", "whats your name", "what's your name", "your name", "who made you",
        "who built you", "are you ai", "are you an ai", "is this a bot",
        "whats your purpose", "what's your purpose", "what is your purpose", "how old are you",
        "where are you from", "are you chatgpt", "are you gpt", "are you sentient", "tell me about yourself",
        "introduce yourself", "who created you", "who programmed you", "who wrote you", "what is this bot",
        "whats this bot", "what's this bot", "what bot is this", "are you a robot", "what should i call you",
        "do you have a name", "what are you exactly", "who built this", "who made this", "who created this",
        "who wrote this", "who am i talking to", "who am i talking with", "who am i chatting with",
        "who am i chatting to", "who is this", "who's this", "whos this", "am i talking to a bot",
        "am i talking to a human", "am i talking to a real person", "am i talking to a person",
        "am i talking to ai", "am i talking to an ai", "is this a human", "is this a real person", "is this ai",
    ),
    "help": (
        "help", "help me", "what can you do", "what do you do", "how does this work", "what can i ask",
        "what do you know", "what do you know about", "what can you help with", "how do i use you",
        "commands", "menu", "options", "can you help", "can you help me", "i need help", "usage",
        "what topics", "what can you answer", "what can you help me with", "what can you help with",
        "what can i ask you", "what can i ask you about", "what kind of stuff can i ask",
        "what kind of questions can i ask", "what sort of questions can i ask", "what questions can i ask",
        "what are you for", "what do you cover", "what do you know", "what topics do you cover",
        "how can you help", "what do i type", "what should i type", "what do i ask", "what do i do",
        "how do i use this", "how does this bot work", "how to use this", "what can this bot do",
        "what are your commands", "what can you tell me", "what can you tell me about", "what are you able to do",
        "show me what you can do", "can i ask you something", "can i ask a question", "can i ask you a question",
        "i have a question", "quick question", "got a question", "i got a question", "what should i ask",
        "where do i start", "give me an example", "examples", "what topics do you know",
        "what kind of things do you know", "what kinds of things do you know", "what kind of things can i ask",
        "what kinds of things can i ask", "what sort of things do you know",
    ),
    "ack": (
        "ok", "okay", "k", "kk", "cool", "nice", "great", "awesome", "got it", "gotcha", "i see",
        "lol", "lmao", "haha", "hahaha", "hehe", "sure", "alright", "right", "yes", "no", "yep", "nope",
        "yeah", "nah", "fine", "good", "wow", "interesting", "makes sense", "ok cool", "oh",
        "ok then", "fair enough", "true", "nice one", "sweet", "neat", "hmm", "hm", "ah ok", "oh ok", "oh okay",
        "understood", "noted", "roger", "ahh", "ooh", "bet", "np", "no problem", "no worries", "never mind",
        "nevermind", "nvm", "all right", "good to know", "oh nice", "agreed",
    ),
    "rude": (
        "you suck", "stupid bot", "dumb bot", "useless", "you are useless", "youre useless",
        "you're useless", "bad bot", "shut up", "wrong",
        "youre dumb", "you're dumb", "you are dumb", "youre stupid", "you're stupid", "you are stupid",
        "this is useless", "worst bot", "terrible", "thats wrong", "that's wrong", "wrong answer", "not helpful",
        "that didnt help", "that didn't help", "that doesnt help", "bad answer", "youre wrong", "you're wrong",
        "you are wrong", "useless bot", "thanks for nothing",
    ),
}
FILLER = {"so", "much", "really", "very", "today", "again", "all", "everyone", "guys", "folks", "bot",
          "faqbot", "there", "mate", "buddy", "friend", "pal", "a", "lot", "and", "the", "for", "just",
          "then", "well", "doing", "u", "you", "too", "man", "dude",  # "um", "hmm": _HESITATION
          "please", "pls", "btw", "anyway", "now", "everybody", "yall", "y'all", "bro", "bruh", "fam", "sir",
          "super", "bunch", "here", "exactly", "ok", "okay", "about", "wait", "even", "actually", "right",
          "rn", "lol", "lmao", "haha", "tbh", "tho", "though", "thing",
          # pointing at the answer just given: "that was useful", "this is great"
          "that", "this", "it", "was", "is", "that's", "thats", "it's", "its"}

REPLIES: dict[str, str] = {
    "greeting": "Hi! I answer questions about {topics}. Ask me anything, e.g. \"{example}\".",
    "how_are_you": "I'm doing well, thanks for asking! What would you like to know about {topics}?",
    "thanks": "You're welcome! Ask me anything else any time.",
    "bye": "Bye! Come back any time you have a question.",
    "identity": (
        "I'm faqbot, a bot that answers questions from a small library of articles about {topics}. "
        "I quote the passage that answers you and say where it comes from."
    ),
    "help": (
        "Ask me a question in plain words, e.g. \"{example}\". I answer with the best-matching passage "
        "from the articles, and say where it comes from. Follow-up questions work too "
        "(\"and the coo?\"). I know about {topics}."
    ),
    "ack": "👍 Anything else you'd like to know?",
    "rude": "Sorry I couldn't help better. Try rephrasing your question, or ask for help to see what I know.",
}

_WORD = re.compile(r"[a-z']+")
# Sounds of hesitation, however drawn out: "umm", "uhhh", "hmmm", "errr", "ermm".
_HESITATION = re.compile(r"^(?:u+m+|u+h+|h+m+|e+r+m*|a+h+|o+h+|m+h*m+)$")
_PATTERN = phrase_pattern([p for ps in PHRASES.values() for p in ps], word=r"\w'")
_CATEGORY = {p: cat for cat, ps in PHRASES.items() for p in ps}
# Which category wins when a message has several ("hi, who are you?" is about identity).
_PRIORITY = ["help", "identity", "how_are_you", "thanks", "bye", "rude", "greeting", "ack"]


@dataclass(frozen=True)
class SmallTalk:
    category: str

    def reply(self, topics: str, example: str) -> str:
        return REPLIES[self.category].format(topics=topics, example=example)


# Chat spellings folded before matching ("what can u do" is "what can you do").
_CHAT = {"u": "you", "r": "are", "ur": "your", "ya": "you", "thnx": "thanks", "thanx": "thanks", "kinda": "kind of",
         "sorta": "sort of", "wanna": "want to", "gotta": "got to", "whatcha": "what are you"}
_INTENSIFIER = re.compile(r"(?<![a-z'])(?:even|actually|really|just|literally)\s+")
# "what kind of stuff can you help with" asks what "what can you help with" asks.
_KIND_OF = re.compile(r"(?<![a-z'])what\s+(?:kinds?|sorts?|types?)\s+of\s+(?:stuff|things|questions|topics)\s+")
# What someone thanks for, at the end of a message: "... helpful for my job spec".
_THANKED_FOR = re.compile(r"(?<![a-z'])for(?:\s+[a-z']+){1,6}\W*$")
_ASKING = re.compile(r"(?:^|[,.;!]\s*)(?:is|are|does|do|did|can|could|should|would|will|what|whats|how|"
                     r"who|whos|why|when|where|which)(?![a-z'])")
_CHAT_WORD = re.compile(r"(?<![a-z'])(?:" + "|".join(sorted(_CHAT, key=len, reverse=True)) + r")(?![a-z'])")


def detect(message: str) -> SmallTalk | None:
    """The small-talk category of a message, or None when it asks something."""
    text = normalize(message).replace("’", "'")
    text = _CHAT_WORD.sub(lambda m: _CHAT[m.group(0)], text)
    text = _INTENSIFIER.sub("", text)  # "who am i even talking to" is "who am i talking to"
    text = _KIND_OF.sub("what ", text)
    found = [_CATEGORY[m.group(0)] for m in _PATTERN.finditer(text)]
    if not found:
        return None
    rest = _PATTERN.sub(" ", text)
    if "thanks" in found and "?" not in text and not _ASKING.search(text):
        # "thank you, this was really helpful for my job spec." (not "is that useful for a coo")
        rest = _THANKED_FOR.sub(" ", rest)
    leftover = [w for w in _WORD.findall(rest)
                if w.strip("'") and w.strip("'") not in FILLER and not _HESITATION.match(w)]
    if leftover:
        return None
    return SmallTalk(min(found, key=_PRIORITY.index))
