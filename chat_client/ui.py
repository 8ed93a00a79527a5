"""The screen: topic bar, scrollback, status bar, one input line.

The calculator layout of prompt_toolkit's examples, plus two bars::

    +--------------------------------------------------+
    | topic of the current room                        |  class:topic
    | 12:34 <alice> hello                              |
    | 12:35 -!- bob has joined general                 |  scrollback
    | ...                                              |
    | [2:general] connected [alice] act: 3:dev(1)      |  class:status
    | [general] half-typed line_                       |  input
    +--------------------------------------------------+

:func:`build_application` returns an ``Application`` that reads a
:class:`~chat_client.state.ChatState`; whoever changes the state calls
``app.invalidate()`` to repaint.  The scrollback (:mod:`chat_client.scrollback`)
renders only the visible tail of the window, so a 10,000-line window costs no
more to draw than a short one; the status bar is :mod:`chat_client.status`.
Typed lines go to ``on_line``; it is called with the text and the input line
is cleared.  While Ctrl-R searches (:mod:`chat_client.search`) the input line
holds the search text instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from prompt_toolkit.application import Application, get_app
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.layout import HSplit, Layout, Window
from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
from prompt_toolkit.layout.dimension import Dimension
from prompt_toolkit.layout.processors import BeforeInput
from prompt_toolkit.output import Output
from prompt_toolkit.styles import Style

from protocol import fold

from . import commands
from .sanitize import sanitize
from .scrollback import ScrollbackControl, page_down, page_up
from .search import Search
from .state import ChatState
from .status import status_bar
from .view import MENTION_COLOUR, NICK_COLOURS

__all__ = ["STYLE", "ChatCompleter", "ScrollbackControl", "build_application"]

STYLE = Style.from_dict(
    {
        "topic": "bg:ansiblue ansiwhite",
        "status": "bg:ansiblue ansiwhite",
        "status.window": "bold",
        "status.state": "bold",
        "status.offline": "bg:ansired ansiwhite bold",
        "status.act": "ansiyellow",
        "status.mention": "ansibrightred bold",
        "status.away": "italic",
        "time": "ansibrightblack",
        "rule": "ansibrightblack",
        "marker": "ansired",
        "queued": "ansibrightblack italic",
        "search.match": "reverse",
        "system": "ansibrightblack",
        "system.mark": "ansibrightblack",
        "motd": "ansigreen",
        "join": "ansibrightblack",
        "part": "ansibrightblack",
        "error": "ansired",
        "action": "italic",
        "whisper": "ansimagenta",
        "text.mention": f"bold {MENTION_COLOUR}",
        "nick.self": "bold",
        "prompt": "bold",
        **{f"nick.{i}": colour for i, colour in enumerate(NICK_COLOURS)},
    }
)

_WORD = re.compile(r"\S*$")
_ROOM_COMMANDS = frozenset({"join", "j", "leave", "part", "who", "names"})
_WINDOW_COMMANDS = frozenset({"switch", "window", "win", "w"})
_NICK_COMMANDS = frozenset({"msg", "query"})


class ChatCompleter(Completer):
    """Completes command names, rooms after ``/join``-like commands, nicks elsewhere.

    Nicks come from the current room's members (yourself excluded), recent
    speakers first; a nick completed at the start of the line gets ``": "``.
    """

    def __init__(self, state: ChatState) -> None:
        self.state = state

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        before = document.text_before_cursor
        word = _WORD.search(before)
        prefix = word.group() if word else ""
        head = before[: len(before) - len(prefix)]
        if head == "" and prefix.startswith("/"):
            names = ["/" + name for name in commands.command_names()]
            yield from _matching(prefix, names, suffix=" ")
            return
        words = head.split()
        command = words[0][1:].lower() if words and words[0].startswith("/") else None
        if command is not None and len(words) == 1:
            if command in _ROOM_COMMANDS:
                yield from _matching(prefix.lstrip("#"), self._rooms(), replace=len(prefix))
                return
            if command in _WINDOW_COMMANDS:
                names = [w.name for w in self.state.windows[1:]]
                yield from _matching(prefix, names)
                return
            if command in _NICK_COMMANDS:
                yield from _matching(prefix, self._all_nicks(), suffix=" ")
                return
        suffix = ": " if head == "" else " "
        me = fold(self.state.nick)
        window = self.state.window
        others = [nick for nick in window.completion_nicks() if fold(nick) != me]
        yield from _matching(prefix, others, suffix=suffix, shown=window.marked)

    def _rooms(self) -> list[str]:
        joined = [w.name for w in self.state.windows if w.kind == "room"]
        known = sorted(self.state.rooms.values(), key=fold)
        return list(dict.fromkeys([*joined, *known]))

    def _all_nicks(self) -> list[str]:
        nicks = self.state.window.completion_nicks()
        for window in self.state.windows:
            nicks.extend(window.completion_nicks())
            if window.kind == "query":
                nicks.append(window.name)
        return list(dict.fromkeys(nicks))


def _matching(
    prefix: str,
    candidates: Iterable[str],
    *,
    suffix: str = "",
    replace: int | None = None,
    shown: Callable[[str], str] = str,
) -> Iterable[Completion]:
    """Completions of ``prefix``; ``shown`` is how a candidate is displayed (``@op``)."""
    key = fold(prefix)
    for candidate in candidates:
        if fold(candidate).startswith(key) and candidate:
            text = sanitize(candidate)
            yield Completion(
                text + suffix,
                start_position=-(len(prefix) if replace is None else replace),
                display=sanitize(shown(candidate)),
            )


class _Searching:
    """The Ctrl-R search under way, if any (see :mod:`chat_client.search`)."""

    def __init__(self) -> None:
        self.search: Search | None = None

    def match(self, state: ChatState) -> int | None:
        """The line to highlight in the current window."""
        search = self.search
        return search.match if search is not None and search.window is state.window else None


def build_application(
    state: ChatState,
    on_line: Callable[[str], None],
    *,
    on_quit: Callable[[], None],
    input: Input | None = None,
    output: Output | None = None,
) -> Application[int]:
    """The full-screen client.  ``on_quit`` is called for Ctrl-D on an empty line."""
    searching = _Searching()
    scrollback = ScrollbackControl(state, highlight=lambda: searching.match(state))

    def accept(buffer: Buffer) -> bool:
        text = buffer.text
        on_line(text)
        return False

    def text_changed(buffer: Buffer) -> None:
        if searching.search is not None:
            searching.search.update(buffer.text)

    buffer = Buffer(
        name="input",
        multiline=False,
        history=InMemoryHistory(),
        completer=ChatCompleter(state),
        complete_while_typing=False,
        accept_handler=accept,
        on_text_changed=text_changed,
    )

    def topic() -> StyleAndTextTuples:
        window = state.window
        if window.kind == "room":
            return [("", " " + sanitize(window.topic or f"{window.name}: no topic"))]
        if window.kind == "query":
            return [("", f" private conversation with {sanitize(window.name)}")]
        return [("", f" hubbub - {sanitize(state.server_name or state.server)}")]

    def status() -> StyleAndTextTuples:
        return status_bar(state, get_app().output.get_size().columns)

    def prompt() -> StyleAndTextTuples:
        search = searching.search
        if search is not None:
            found = "search" if search.match is not None or not search.query else "no match"
            return [("class:prompt", f"({found}, Ctrl-R: older) ")]
        return [("class:prompt", f"[{sanitize(state.window.name)}] ")]

    bindings = _key_bindings(state, scrollback, searching, on_quit)
    layout = Layout(
        HSplit(
            [
                Window(FormattedTextControl(topic), height=1, style="class:topic"),
                Window(scrollback, wrap_lines=False),
                Window(FormattedTextControl(status), height=1, style="class:status"),
                Window(
                    BufferControl(buffer, input_processors=[BeforeInput(prompt)]),
                    height=Dimension(min=1, max=8),
                    wrap_lines=True,
                    dont_extend_height=True,
                ),
            ]
        ),
        focused_element=buffer,
    )
    return Application(
        layout=layout,
        key_bindings=bindings,
        style=STYLE,
        full_screen=True,
        input=input,
        output=output,
    )


def _key_bindings(
    state: ChatState,
    scrollback: ScrollbackControl,
    searching: _Searching,
    on_quit: Callable[[], None],
) -> KeyBindings:
    kb = KeyBindings()
    in_search = Condition(lambda: searching.search is not None)

    @kb.add("c-n")
    def _next(event: KeyPressEvent) -> None:
        _stop_search(event, searching, keep=True)
        state.cycle(1)

    @kb.add("c-p")
    def _previous(event: KeyPressEvent) -> None:
        _stop_search(event, searching, keep=True)
        state.cycle(-1)

    for digit in "1234567890":

        @kb.add("escape", digit)
        def _window(event: KeyPressEvent, number: int = int(digit) or 10) -> None:
            _stop_search(event, searching, keep=True)
            state.switch(number - 1)

    @kb.add("pageup")
    def _page_up(event: KeyPressEvent) -> None:
        if page_up(state.window, scrollback.width, scrollback.height):
            state.load_older()

    @kb.add("pagedown")
    def _page_down(event: KeyPressEvent) -> None:
        page_down(state.window, scrollback.width, scrollback.height)

    @kb.add("end")
    @kb.add("c-end")
    def _bottom(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        buffer.cursor_position = len(buffer.text)
        window = state.window
        window.scroll = 0
        window.unread = window.mentions = 0

    @kb.add("c-r")
    def _search(event: KeyPressEvent) -> None:
        if searching.search is None:
            window = state.window
            searching.search = Search(window, event.current_buffer.text, window.scroll)
            event.current_buffer.reset()
        else:
            searching.search.older()

    @kb.add("enter", filter=in_search, eager=True)
    def _search_done(event: KeyPressEvent) -> None:
        _stop_search(event, searching, keep=True)

    @kb.add("escape", filter=in_search, eager=True)
    @kb.add("c-c", filter=in_search, eager=True)
    def _search_cancel(event: KeyPressEvent) -> None:
        _stop_search(event, searching, keep=False)

    @kb.add("tab")
    def _complete(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if buffer.complete_state:
            buffer.complete_next()
        else:
            buffer.start_completion(select_first=True)

    @kb.add("s-tab")
    def _complete_back(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if buffer.complete_state:
            buffer.complete_previous()

    @kb.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    @kb.add("c-c")
    def _clear(event: KeyPressEvent) -> None:
        event.current_buffer.reset()

    @kb.add("c-d")
    def _quit(event: KeyPressEvent) -> None:
        if not event.current_buffer.text:
            on_quit()
        else:
            event.current_buffer.delete()

    return kb


def _stop_search(event: KeyPressEvent, searching: _Searching, *, keep: bool) -> None:
    """End the search (if any): ``keep`` the view where the match is, or go back."""
    search = searching.search
    if search is None:
        return
    searching.search = None
    if not keep:
        search.cancel()
    event.current_buffer.set_document(Document(search.saved_text), bypass_readonly=True)
