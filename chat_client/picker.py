"""Choosing one of several discovered servers, in the terminal.

:func:`pick` shows the servers as a numbered table (name, address, TLS,
password needed) under the cursor, not full screen.  Up and Down move the
highlight and Enter takes it; typing a number highlights that server, and
takes it at once when no longer number could follow.  Escape declines;
Ctrl-C raises ``KeyboardInterrupt``, as the nick prompt does.
"""

from __future__ import annotations

from collections.abc import Sequence

from prompt_toolkit.application import Application
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.layout import Layout, Window
from prompt_toolkit.layout.controls import FormattedTextControl
from prompt_toolkit.output import Output
from prompt_toolkit.styles import Style
from prompt_toolkit.utils import get_cwidth

from .discovery import Found

__all__ = ["Picker", "pick"]

STYLE = Style.from_dict(
    {
        "title": "bold",
        "header": "ansibrightblack",
        "chosen": "reverse",
        "hint": "ansibrightblack",
    }
)


class Picker:
    """The choice being made: which row is highlighted, which digits were typed."""

    def __init__(self, servers: Sequence[Found]) -> None:
        if not servers:
            raise ValueError("nothing to pick from")
        self.servers = list(servers)
        self.index = 0
        self.digits = ""

    def move(self, step: int) -> None:
        self.digits = ""
        self.index = (self.index + step) % len(self.servers)

    def type_digit(self, digit: str) -> bool:
        """Highlight the server with the number typed so far; true when it is
        unambiguous (no server's number starts with these digits and goes on)."""
        digits = (self.digits + digit).lstrip("0")
        if not digits or int(digits) > len(self.servers):
            digits = digit.lstrip("0")  # start again from this digit
        if not digits or int(digits) > len(self.servers):
            self.digits = ""
            return False
        self.digits = digits
        self.index = int(digits) - 1
        return int(digits) * 10 > len(self.servers)

    @property
    def chosen(self) -> Found:
        return self.servers[self.index]

    def render(self) -> StyleAndTextTuples:
        columns = [("#", "NAME", "ADDRESS", "TLS", "PASSWORD")] + [
            (
                str(number),
                server.name,
                server.address,
                "yes" if server.tls else "no",
                "needed" if server.password else "no",
            )
            for number, server in enumerate(self.servers, 1)
        ]
        widths = [max(get_cwidth(row[i]) for row in columns) for i in range(5)]

        def row(cells: Sequence[str]) -> str:
            padded = (
                cell + " " * (width - get_cwidth(cell))
                for cell, width in zip(cells, widths, strict=True)
            )
            return "  ".join(padded).rstrip()

        lines: StyleAndTextTuples = [
            ("class:title", "Several hubbub servers answered. Which one?\n"),
            ("class:header", "  " + row(columns[0]) + "\n"),
        ]
        for number, cells in enumerate(columns[1:]):
            if number == self.index:
                lines.append(("class:chosen", "> " + row(cells)))
                lines.append(("", "\n"))
            else:
                lines.append(("", "  " + row(cells) + "\n"))
        lines.append(("class:hint", "Up/Down and Enter, or type its number; Esc to give up"))
        return lines


def build_application(
    picker: Picker, *, input: Input | None = None, output: Output | None = None
) -> Application[Found | None]:
    """The prompt_toolkit application; its result is the chosen server or ``None``."""
    keys = KeyBindings()

    @keys.add("up")
    def _up(event: KeyPressEvent) -> None:
        picker.move(-1)

    @keys.add("down")
    def _down(event: KeyPressEvent) -> None:
        picker.move(1)

    @keys.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        event.app.exit(result=picker.chosen)

    @keys.add("escape", eager=True)
    def _give_up(event: KeyPressEvent) -> None:
        event.app.exit(result=None)

    @keys.add("c-c")
    def _interrupt(event: KeyPressEvent) -> None:
        event.app.exit(exception=KeyboardInterrupt())

    for digit in "0123456789":

        @keys.add(digit)
        def _number(event: KeyPressEvent) -> None:
            if picker.type_digit(event.data):
                event.app.exit(result=picker.chosen)

    control = FormattedTextControl(picker.render, focusable=True, show_cursor=False)
    return Application(
        layout=Layout(Window(control, dont_extend_height=True)),
        key_bindings=keys,
        style=STYLE,
        full_screen=False,
        erase_when_done=True,
        input=input,
        output=output,
    )


async def pick(
    servers: Sequence[Found], *, input: Input | None = None, output: Output | None = None
) -> Found | None:
    """Ask which server to connect to: the chosen one, or ``None`` on Escape.

    Raises ``KeyboardInterrupt`` on Ctrl-C.  ``input`` and ``output`` default
    to the terminal (tests pass a pipe input and a dummy output).
    """
    return await build_application(Picker(servers), input=input, output=output).run_async()
