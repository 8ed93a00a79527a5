"""``python -m chat_server.demo_bot``: a small bot for the demo, a client like any other.

It joins a room, greets whoever joins, and posts one of a few lines whenever
the room has been quiet for ``--every`` seconds, so a newcomer never finds an
empty room.  It reconnects with backoff when the server goes away.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import random
import sys
from collections.abc import Sequence

from protocol import (
    PROTOCOL_VERSION,
    Bye,
    Decoder,
    Error,
    Hello,
    Join,
    Message,
    Ping,
    Pong,
    Presence,
    Say,
    Welcome,
    encode,
    parse_server,
)

log = logging.getLogger("chat_server.demo_bot")

LINES = (
    "Tip: /join another-room to start a new room, /list shows them all.",
    "Tip: /msg NICK text whispers to one person.",
    "Tip: /topic sets what this room is about.",
    "Anyone around? Say hi, the room is listening.",
    "Fun fact: every message here carries a seq, so clients notice a gap.",
)


async def run_once(args: argparse.Namespace) -> None:
    """One connection: hello, join, then greet and chat until the server goes away."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(args.host, args.port), 10)
    decoder = Decoder()
    nicks = itertools.chain([args.nick], (f"{args.nick}{n}" for n in itertools.count(2)))
    writer.write(encode(Hello(nick=next(nicks), protocol=PROTOCOL_VERSION)))
    lines = itertools.cycle(random.sample(LINES, len(LINES)))
    me = ""
    quiet_since = asyncio.get_running_loop().time()
    try:
        while True:
            try:
                data = await asyncio.wait_for(reader.read(65536), 1.0)
            except TimeoutError:
                data = None
            if data == b"":
                return
            if data:
                decoder.feed(data)
            while (body := decoder.next_frame()) is not None:
                message = parse_server(body)
                now = asyncio.get_running_loop().time()
                match message:
                    case Welcome(nick=nick):
                        me = nick
                        writer.write(encode(Join(room=args.room)))
                        log.info("connected as %s", me)
                    case Error(code="nick_taken", ref="hello"):
                        writer.write(encode(Hello(nick=next(nicks), protocol=PROTOCOL_VERSION)))
                    case Presence(event="join", nick=nick, room=room) if nick != me:
                        writer.write(
                            encode(
                                Say(
                                    room=room,
                                    text=f"Welcome to {room}, {nick}! {args.hint}".strip(),
                                )
                            )
                        )
                    case Message(from_=sender) if sender != me:
                        quiet_since = now
                    case Ping(token=token):
                        writer.write(encode(Pong(token=token)))
                    case Bye():
                        return
            now = asyncio.get_running_loop().time()
            if me and now - quiet_since >= args.every:
                writer.write(encode(Say(room=args.room, text=next(lines))))
                quiet_since = now
            await writer.drain()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def run(args: argparse.Namespace) -> None:
    delay = 1.0
    while True:
        try:
            await run_once(args)
            delay = 1.0
        except (OSError, TimeoutError, ValueError) as exc:
            log.warning("connection to %s:%d failed: %s", args.host, args.port, exc)
        await asyncio.sleep(delay)
        delay = min(30.0, delay * 2)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hubbub-demo-bot", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7878)
    parser.add_argument("--nick", default="hubbot")
    parser.add_argument("--room", default="lobby")
    parser.add_argument("--every", type=float, default=120.0, help="seconds of quiet per post")
    parser.add_argument("--hint", default="Type /help for the commands.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
