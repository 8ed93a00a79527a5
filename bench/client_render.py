"""How long does the terminal client take to draw a frame of a busy window?

Fills a room window with ``--lines`` messages, then ``--frames`` times applies
one more message and draws the scrollback as the screen does (the
``ScrollbackControl`` of ``chat_client.ui``, at ``--width`` x ``--height``),
and prints the time per frame, steady and while the terminal is resized
(every visible line wrapped again).  The control renders only the visible
tail, so the figures should not grow with the window: compare the default
sizes, 100 lines and a full 10,000-line scrollback.

    python bench/client_render.py --lines 100 --lines 10000 --frames 200
"""

from __future__ import annotations

import argparse
import statistics
import time

from chat_client.state import ChatState
from chat_client.ui import ScrollbackControl
from chat_client.windows import DEFAULT_SCROLLBACK
from protocol import Message


def message(seq: int, text: str, nick: str) -> Message:
    return Message.model_validate(
        {"room": "general", "from": nick, "text": text, "ts": 0.0, "seq": seq, "action": False}
    )


def busy_state(lines: int) -> ChatState:
    """A client with ``lines`` messages of varied length in its current window."""
    state = ChatState(nick="alice", server="bench:1", scrollback=DEFAULT_SCROLLBACK)
    window = state.open_window("room", "general")
    window.joined = True
    state.switch_to(window)
    for n in range(1, lines + 1):
        state.apply(message(n, f"message number {n} " + "words " * (n % 30), f"u{n % 40}"))
    return state


def measure(lines: int, frames: int, width: int, height: int, *, resize: bool) -> list[float]:
    """Seconds per frame: one new message, then one draw of the window.

    With ``resize`` every frame is one column narrower or wider than the one
    before, so every visible line is wrapped again (a terminal being resized).
    """
    state = busy_state(lines)
    control = ScrollbackControl(state)
    control.create_content(width, height)
    times: list[float] = []
    for n in range(lines + 1, lines + 1 + frames):
        columns = width - (n % 2 if resize else 0)
        start = time.perf_counter()
        state.apply(message(n, f"flood {n}", "bob"))
        content = control.create_content(columns, height)
        for row in range(content.line_count):
            content.get_line(row)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lines", type=int, action="append", help="lines in the window (repeatable)"
    )
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--height", type=int, default=50)
    args = parser.parse_args()
    for lines in args.lines or [100, DEFAULT_SCROLLBACK]:
        for resize in (False, True):
            times = measure(lines, args.frames, args.width, args.height, resize=resize)
            ms = sorted(t * 1000 for t in times)
            print(
                f"{lines:>6} lines, {args.width}x{args.height}"
                f"{', resizing' if resize else ''}, {len(ms)} frames: "
                f"median {statistics.median(ms):.2f} ms, p90 {ms[int(0.9 * (len(ms) - 1))]:.2f} ms,"
                f" max {ms[-1]:.2f} ms per frame"
            )


if __name__ == "__main__":
    main()
