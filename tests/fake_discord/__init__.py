"""A fake Discord server for end-to-end tests with the real discord.py client.

Example::

    async with FakeDiscord() as fake:                 # starts + patches discord.py
        client = MyBot(...)
        async with run_client(client, fake.token):    # login, connect, on_ready
            msg = await fake.inject_message(f'{fake.bot_user.mention} hi')
            reply = await fake.wait_for_bot_message()
            assert reply.json['message_reference']['message_id'] == int(msg['id'])

            interaction = await fake.inject_slash_command('faq', subcommand='ask', options={'question': 'x'})
            callback = await fake.wait_for_response(interaction)
            assert callback.json['data']['flags'] & 64

Modules: ``server`` (FakeDiscord: state, test API), ``rest`` (REST routes),
``gateway`` (websocket sessions, shards), ``models`` (guild/users/payload
builders), ``records`` (what was seen on the wire, fault rules), ``harness``
(patching discord.py, running a client).
"""

from .harness import patch_discord, run_client
from .models import (
    ADMINISTRATOR,
    INTENT_MESSAGE_CONTENT,
    MANAGE_GUILD,
    PRIVILEGED_INTENTS,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
)
from .records import FakeInteraction, FaultRule, GatewayFrame, RecordedFile, RecordedRequest
from .server import DEFAULT_TOKEN, ApiError, FakeDiscord

__all__ = [
    "ADMINISTRATOR",
    "DEFAULT_TOKEN",
    "INTENT_MESSAGE_CONTENT",
    "MANAGE_GUILD",
    "PRIVILEGED_INTENTS",
    "ApiError",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "FaultRule",
    "GatewayFrame",
    "RecordedFile",
    "RecordedRequest",
    "patch_discord",
    "run_client",
]
