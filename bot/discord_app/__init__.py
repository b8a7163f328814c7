"""The Discord front end of faqbot (``faqbot discord``).

Modules, from the outside in:

* ``runner``     process set-up: environment/.env, logging, signals, errors -> one line + exit status;
* ``config``     ``DiscordConfig``, the only thing the runner hands down (parsed, validated);
* ``client``     ``FaqBot``: state (engine, conversations, cooldowns, stats) and ``setup_hook``;
* ``cog``        ``FaqCog``: ``/ask``, ``/faq reload|sources|stats`` and the ``on_message`` listener;
* ``views``      the persistent answer buttons (``ui.DynamicItem``, custom ids ``faqbot:answer:*``);
* ``responding`` answering an interaction within Discord's 3-second window (defer when slow);
* ``formatting`` pure functions: embeds, escaping, trimming and splitting to Discord's limits;
* ``ratelimit``  a per-user token bucket.

The core (``bot.engine`` and friends) never imports discord; this package only calls it.
"""
