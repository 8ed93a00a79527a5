"""The client's model fed with server messages as they come off the wire."""

from __future__ import annotations

from pydantic import BaseModel

from chat_client.events import Connected, Disconnected, Incoming, Retrying
from chat_client.state import ChatState
from protocol import (
    Error,
    History,
    HistoryRequest,
    Join,
    Joined,
    Leave,
    Message,
    NickChanged,
    Presence,
    Say,
    Topic,
    Welcome,
    Whisper,
)

from .helpers import message, whisper


class Harness:
    def __init__(self, *, scrollback: int = 1000, bell: str = "mentions") -> None:
        self.sent: list[BaseModel] = []
        self.rings = 0
        self.state = ChatState(
            nick="alice", server="test:1", send=self._send, ring=self._ring, scrollback=scrollback
        )
        self.state.submit(f"/bell {bell}")
        self.state.welcomed(welcome("e1"), again=False)

    def _send(self, message: BaseModel) -> bool:
        self.sent.append(message)
        return True

    def _ring(self) -> None:
        self.rings += 1

    def join(self, room: str, history: list[Message] | None = None) -> None:
        self.state.join(room)
        self.state.apply(
            Joined(room=room, members=["alice", "bob"], topic=None, history=history or [])
        )

    def seqs(self, room: str = "general") -> list[int]:
        window = self.state.find(room)
        assert window is not None
        return [line.seq for line in window.lines if line.seq is not None]

    def reconnect(self, epoch: str = "e1") -> None:
        self.state.handle(Disconnected("gone"))
        self.sent.clear()
        self.state.handle(Connected(welcome(epoch), again=True))


def welcome(epoch: str) -> Welcome:
    return Welcome(nick="alice", epoch=epoch, server="hubbub 1", rooms=["general"])


def test_joined_history_is_shown_in_seq_order() -> None:
    h = Harness()
    h.join("general", [message("b", seq=2), message("a", seq=1)])
    assert h.seqs() == [1, 2]
    assert h.state.window.name == "general"


def test_reconnect_rejoins_and_shows_only_unseen_messages() -> None:
    h = Harness()
    h.join("general", [message(str(n), seq=n) for n in (1, 2, 3)])
    h.reconnect()
    assert h.sent == [Join(room="general")]
    h.state.apply(
        Joined(
            room="general",
            members=["alice"],
            topic=None,
            history=[message(str(n), seq=n) for n in (2, 3, 4, 5)],
        )
    )
    h.state.handle(Incoming(message("5 again", seq=5)))
    assert h.seqs() == [1, 2, 3, 4, 5]


def test_a_gap_longer_than_joined_history_is_fetched_without_duplicates() -> None:
    h = Harness()
    h.join("general", [message("1", seq=1)])
    h.reconnect()
    recent = [message(str(n), seq=n) for n in range(60, 110)]
    h.state.apply(Joined(room="general", members=["alice"], topic=None, history=recent))
    assert h.sent[-1] == HistoryRequest(room="general", before=60, limit=58)
    h.state.apply(message("live", seq=110))
    assert h.seqs() == [1]
    older = [message(str(n), seq=n) for n in range(1, 60)]
    h.state.apply(History(room="general", messages=older[-58:]))
    assert h.seqs() == list(range(1, 111))


def test_new_epoch_replays_history_under_a_rule_and_never_repeats_a_line() -> None:
    h = Harness()
    seen = [message(f"m-{n}", seq=n, ts=1000.0 + n) for n in (1, 2, 3)]
    h.join("general", seen)
    h.reconnect(epoch="e2")
    fresh = message("after the restart", seq=4, ts=1004.0)
    h.state.apply(Joined(room="general", members=["alice"], topic=None, history=[*seen, fresh]))
    texts = [line.text for line in h.state.window.lines]
    assert sum("m-1" in text for text in texts) == 1
    rule = texts.index("-- history after server restart --")
    assert "after the restart" in texts[rule + 1]
    assert h.seqs() == [1, 2, 3, 4]
    assert h.state.window.unread == 0
    h.state.apply(message("live", seq=5, ts=1005.0))
    assert h.seqs() == [1, 2, 3, 4, 5]


def test_same_epoch_replay_shows_nothing_twice() -> None:
    h = Harness()
    h.join("general", [message(f"m-{n}", seq=n) for n in (1, 2, 3)])
    h.reconnect(epoch="e1")
    again = [message(f"m-{n}", seq=n) for n in (1, 2, 3)]
    h.state.apply(Joined(room="general", members=["alice"], topic=None, history=again))
    h.state.apply(message("m-3", seq=3))
    assert h.seqs() == [1, 2, 3]
    assert not any("history after" in line.text for line in h.state.window.lines)


def test_mention_and_whisper_ring_the_bell_but_own_lines_do_not() -> None:
    h = Harness()
    h.join("general")
    h.state.apply(message("nothing to see", seq=1))
    assert h.rings == 0
    h.state.apply(message("hey ALICE!", seq=2))
    assert h.rings == 1
    assert h.state.window.lines[-1].mention
    h.state.apply(message("alice talks to herself", nick="alice", seq=3))
    assert h.rings == 1
    h.state.apply(whisper("psst"))
    assert h.rings == 2


def test_bell_on_rings_for_everything_and_off_for_nothing() -> None:
    h = Harness(bell="on")
    h.join("general")
    h.state.apply(message("plain", seq=1))
    assert h.rings == 1
    h.state.submit("/bell off")
    h.state.apply(message("alice!", seq=2))
    h.state.apply(whisper("psst"))
    assert h.rings == 1


def test_unread_and_mentions_counted_in_other_windows() -> None:
    h = Harness()
    h.join("general")
    h.join("random")
    assert h.state.window.name == "random"
    h.state.apply(message("x", seq=1))
    h.state.apply(message("alice: y", seq=2))
    general = h.state.find("general")
    assert general is not None
    assert (general.unread, general.mentions) == (2, 1)
    assert [n for n, _ in h.state.activity()] == [2]
    h.state.submit("/switch general")
    assert (general.unread, general.mentions) == (0, 0)


def test_typed_text_becomes_say_with_an_id_and_unknown_command_sends_nothing() -> None:
    h = Harness()
    h.join("general")
    h.sent.clear()
    h.state.submit("hello")
    h.state.submit("/nonsense")
    assert len(h.sent) == 1
    say = h.sent[0]
    assert isinstance(say, Say)
    assert (say.room, say.text, bool(say.id)) == ("general", "hello", True)
    assert "unknown command" in h.state.window.lines[-1].text


def test_msg_opens_a_private_window_and_whispers_land_there() -> None:
    h = Harness()
    h.join("general")
    h.state.submit("/msg carol hi")
    assert isinstance(h.sent[-1], Whisper)
    assert (h.state.window.kind, h.state.window.name) == ("query", "carol")
    h.state.submit("/switch general")
    h.state.apply(whisper("back at you", nick="carol"))
    carol = h.state.find("carol", "query")
    assert carol is not None
    assert "back at you" in carol.lines[-1].text
    assert carol.mentions == 1


def test_nick_change_renames_members_and_self() -> None:
    h = Harness()
    renamed: list[str] = []
    h.state.nick_changed = renamed.append
    h.join("general")
    h.state.apply(NickChanged(old="bob", new="robert"))
    h.state.apply(NickChanged(old="alice", new="alicia"))
    window = h.state.window
    assert sorted(window.members.values()) == ["alicia", "robert"]
    assert h.state.nick == "alicia"
    assert renamed == ["alicia"]


def test_completion_puts_recent_speakers_first() -> None:
    h = Harness()
    h.join("general")
    for nick in ("zed", "amy", "carl"):
        h.state.apply(Presence(room="general", nick=nick, event="join"))
    h.state.apply(message("hi", nick="zed", seq=1))
    h.state.apply(message("yo", nick="carl", seq=2))
    assert h.state.window.completion_nicks() == ["carl", "zed", "alice", "amy", "bob"]


def test_scrollback_is_capped_per_window() -> None:
    h = Harness(scrollback=100)
    h.join("general")
    for n in range(1, 1001):
        h.state.apply(message(str(n), seq=n))
    assert len(h.state.window.lines) == 100
    assert h.seqs()[-1] == 1000


def test_page_up_at_the_top_asks_for_older_history() -> None:
    h = Harness()
    h.join("general", [message(str(n), seq=n) for n in range(51, 101)])
    h.sent.clear()
    h.state.load_older()
    assert h.sent == [HistoryRequest(room="general", before=51, limit=50)]
    h.state.apply(History(room="general", messages=[message("old", seq=n) for n in range(1, 51)]))
    assert h.seqs() == list(range(1, 101))


def test_a_whisper_to_nobody_closes_the_window_it_opened() -> None:
    h = Harness()
    h.join("general")
    h.state.submit("/msg nosuchnick hello")
    sent = h.sent[-1]
    assert isinstance(sent, Whisper)
    assert h.state.window.name == "nosuchnick"
    h.state.apply(Error(code="no_such_nick", message="no such nick", ref="whisper", id=sent.id))
    assert h.state.find("nosuchnick", "query") is None
    assert h.state.window.name == "general"
    assert "no such nick (no_such_nick)" in h.state.window.lines[-1].text
    h.state.submit("/help me")
    assert "/me ACTION" in h.state.window.lines[-1].text


def test_an_error_for_a_whisper_in_a_conversation_shows_there() -> None:
    h = Harness()
    h.join("general")
    h.state.apply(whisper("are you there?", nick="carol"))
    h.state.submit("/msg carol yes")
    sent = h.sent[-1]
    assert isinstance(sent, Whisper)
    h.state.submit("/switch general")
    h.state.apply(Error(code="no_such_nick", message="carol left", ref="whisper", id=sent.id))
    carol = h.state.find("carol", "query")
    assert carol is not None
    assert "carol left (no_such_nick)" in carol.lines[-1].text
    assert "no_such_nick" not in h.state.window.lines[-1].text


def test_welcome_lists_the_rooms_to_join() -> None:
    h = Harness()
    assert "rooms here: general (/join ROOM)" in h.state.status.lines[-1].text


def test_your_own_nick_change_says_you() -> None:
    h = Harness()
    h.join("general")
    h.state.apply(NickChanged(old="alice", new="alicia"))
    texts = [line.text for line in h.state.window.lines]
    assert texts[-1].endswith("-!- you are now known as alicia")
    assert not any("alice is now known as" in text for text in texts)


def test_welcome_with_rooms_to_join_does_not_say_join_one() -> None:
    state = ChatState(nick="alice", server="test:1")
    state.welcomed(welcome("e1").model_copy(update={"rooms": []}), again=False, joining=("dev",))
    texts = [line.text for line in state.status.lines]
    assert texts[-1].endswith("no rooms yet: joining dev creates it")
    assert not any("/join ROOM creates one" in text for text in texts)


def test_topic_shows_who_set_it_and_when() -> None:
    h = Harness()
    h.state.now = lambda: 1_800_000_000.0
    h.state.join("general")
    h.state.apply(
        Joined(
            room="general",
            members=["alice", "bob"],
            topic="release on Friday",
            history=[],
            topic_by="bob",
            topic_ts=1_800_000_000.0 - 3600,
        )
    )
    texts = [line.text for line in h.state.window.lines]
    assert any("topic: release on Friday (set by bob, " in text for text in texts)
    h.state.apply(Topic(room="general", topic="cats only", by="carol"))
    h.state.submit("/topic")
    assert "topic: cats only (set by carol, " in h.state.window.lines[-1].text


def test_the_status_bar_counts_down_to_the_next_attempt() -> None:
    now = [100.0]
    state = ChatState(nick="alice", server="test:1", clock=lambda: now[0])
    state.handle(Disconnected("gone"))
    state.handle(Retrying(delay=15.0, attempt=5, error=""))
    assert state.connection == "reconnecting in 15s (try 5)"
    now[0] += 3.2
    assert state.connection == "reconnecting in 12s (try 5)"
    now[0] += 20
    assert state.connection == "reconnecting in 0s (try 5)"


def test_url_lists_the_recent_web_addresses() -> None:
    h = Harness()
    h.join("general")
    h.state.apply(message("see https://example.com/a_(b) and www.example.org.", seq=1))
    h.state.apply(whisper("psst http://x.example/\x1b[2J", nick="carol"))
    h.state.submit("/switch general")
    h.state.submit("/url")
    notes = [line.text for line in h.state.window.lines][-3:]
    assert notes[0].endswith("general <bob> https://example.com/a_(b)")
    assert notes[1].endswith("general <bob> www.example.org")
    assert notes[2].endswith("carol <carol> http://x.example/^[[2J")


def test_window_list_and_wc() -> None:
    h = Harness()
    h.join("general")
    h.state.submit("/query carol")
    h.state.submit("/window list")
    notes = [line.text for line in h.state.window.lines][-3:]
    assert [note.split("-!- ")[1] for note in notes] == [
        "1: status",
        "2: general (room)",
        "3: carol (private)  <- here",
    ]
    h.state.submit("/wc")
    assert h.state.find("carol") is None
    h.sent.clear()
    h.state.submit("/wc")
    assert h.sent == [Leave(room="general")]
