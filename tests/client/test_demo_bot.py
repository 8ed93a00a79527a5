"""The demo bot of docker-compose.yml greets newcomers and keeps the room alive."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys

from chat_client.demo_bot import run
from protocol import Message
from tests.server.helpers import close_all, serving, welcomed


async def test_the_bot_greets_a_newcomer_and_posts_when_quiet() -> None:
    async with serving() as server:
        args = argparse.Namespace(
            host="127.0.0.1", port=server.port, nick="hubbot", room="lobby", every=0.5, hint=""
        )
        bot = asyncio.create_task(run(args))
        try:
            for _ in range(100):
                if "lobby" in server.hub.rooms:
                    break
                await asyncio.sleep(0.05)
            (alice,) = await welcomed(server.port, "alice")
            await alice.join("lobby")
            greeting = await alice.expect(Message)
            assert (greeting.from_, greeting.text) == ("hubbot", "Welcome to lobby, alice!")
            chatter = await alice.expect(Message)
            assert chatter.from_ == "hubbot"
            await close_all([alice])
        finally:
            bot.cancel()
            await asyncio.gather(bot, return_exceptions=True)


def test_python_m_chat_client_demo_bot_is_the_bot() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chat_client.demo_bot", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: hubbub-demo-bot")
    assert "--every" in done.stdout
