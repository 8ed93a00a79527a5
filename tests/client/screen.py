"""The real screen of the client on a pipe input and a ``DummyOutput``, without a network."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from prompt_toolkit.application import Application
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

from chat_client.state import ChatState
from chat_client.ui import ScrollbackControl, build_application

PAGE_UP = "\x1b[5~"
PAGE_DOWN = "\x1b[6~"
END = "\x1b[F"
CTRL_R = "\x12"
CTRL_C = "\x03"


@dataclass
class Screen:
    app: Application[int]
    pipe: PipeInput
    state: ChatState

    @property
    def scrollback(self) -> ScrollbackControl:
        control = self.app.layout.container.get_children()[1].content  # type: ignore[attr-defined]
        assert isinstance(control, ScrollbackControl)
        return control

    def rows(self) -> list[str]:
        """The rows of the scrollback as they are drawn now."""
        control = self.scrollback
        width = self.app.output.get_size().columns
        content = control.create_content(width, control.height)
        lines = [content.get_line(row) for row in range(content.line_count)]
        return ["".join(fragment[1] for fragment in line) for line in lines]

    async def keys(self, text: str, until: Callable[[], bool] | None = None) -> None:
        """Type ``text``; wait for ``until`` (or for the keys to be handled)."""
        self.pipe.send_text(text)
        await eventually(until or (lambda: True))
        await asyncio.sleep(0.05)


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


@asynccontextmanager
async def on_screen(state: ChatState) -> AsyncIterator[Screen]:
    """Run the full-screen client over ``state`` (40 x 80) until the block ends."""

    def on_line(line: str) -> None:
        state.submit(line)

    with create_pipe_input() as pipe:
        app = build_application(
            state, on_line, on_quit=lambda: None, input=pipe, output=DummyOutput()
        )
        task = asyncio.create_task(app.run_async())
        screen = Screen(app, pipe, state)
        try:
            await eventually(lambda: screen.scrollback.height != 24)
            yield screen
        finally:
            app.exit(result=0)
            await asyncio.wait_for(task, 5)
