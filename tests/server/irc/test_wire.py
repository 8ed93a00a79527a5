"""The IRC line codec: bytes split anywhere, hostile lines, tags, and round trips."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_server.doors.irc.errors import (
    InvalidUtf8,
    LineTooLong,
    LocalIrcError,
    MalformedLine,
    RemoteIrcError,
)
from chat_server.doors.irc.wire import (
    MAX_BODY,
    MAX_CLIENT_TAG_DATA,
    MAX_LINE,
    IrcMessage,
    LineDecoder,
    cut_utf8,
    escape_tag_value,
    unescape_tag_value,
)


def decode_all(*chunks: bytes) -> list[IrcMessage | RemoteIrcError]:
    """Every message and every error, in order, from ``chunks`` fed one by one."""
    decoder = LineDecoder()
    out: list[IrcMessage | RemoteIrcError] = []
    for chunk in chunks:
        decoder.feed(chunk)
        while True:
            try:
                message = decoder.next_message()
            except RemoteIrcError as exc:
                out.append(exc)
                continue
            if message is None:
                break
            out.append(message)
    return out


def one_byte_at_a_time(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


# --- parsing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "source", "command", "params"),
    [
        ("foo bar baz asdf", None, "FOO", ["bar", "baz", "asdf"]),
        (":coolguy foo bar baz asdf", "coolguy", "FOO", ["bar", "baz", "asdf"]),
        ("foo bar baz :asdf quux", None, "FOO", ["bar", "baz", "asdf quux"]),
        ("foo bar baz :", None, "FOO", ["bar", "baz", ""]),
        ("foo bar baz ::asdf", None, "FOO", ["bar", "baz", ":asdf"]),
        (":coolguy foo bar baz :  asdf quux ", "coolguy", "FOO", ["bar", "baz", "  asdf quux "]),
        (":coolguy PRIVMSG bar :lol :) ", "coolguy", "PRIVMSG", ["bar", "lol :) "]),
        (":src JOIN #chan", "src", "JOIN", ["#chan"]),
        (":src JOIN :#chan", "src", "JOIN", ["#chan"]),
        (":src AWAY", "src", "AWAY", []),
        (":src AWAY ", "src", "AWAY", []),
        (":cool\tguy foo bar baz", "cool\tguy", "FOO", ["bar", "baz"]),
        ("PRIVMSG   #a    b:c   :x", None, "PRIVMSG", ["#a", "b:c", "x"]),
        ("001 nick :Welcome", None, "001", ["nick", "Welcome"]),
    ],
)
def test_parse_splits_source_command_and_params(
    line: str, source: str | None, command: str, params: list[str]
) -> None:
    message = IrcMessage.parse(line)
    assert (message.source, message.command, message.params) == (source, command, params)


@pytest.mark.parametrize(
    ("line", "tags"),
    [
        ("@a=b;c=32;k;rt=ql7 foo", {"a": "b", "c": "32", "k": "", "rt": "ql7"}),
        (r"@a=b\\and\nk;c=72\s45;d=gh\:764 foo", {"a": "b\\and\nk", "c": "72 45", "d": "gh;764"}),
        ("@c;h=;a=b :quux ab cd", {"c": "", "h": "", "a": "b"}),
        (r"@tag1=value\\ntest COMMAND", {"tag1": "value\\ntest"}),
        (r"@tag1=value\1 COMMAND", {"tag1": "value1"}),
        ("@tag1=value1\\ COMMAND", {"tag1": "value1"}),
        ("@tag1=1;tag2=3;tag1=5 COMMAND", {"tag1": "5", "tag2": "3"}),
        ("@+example.com/foo=bar;vendor/x=1 CMD", {"+example.com/foo": "bar", "vendor/x": "1"}),
        ("@=x;good=1;bad!key=2;+=3 CMD", {"good": "1"}),
    ],
)
def test_parse_reads_and_unescapes_tags(line: str, tags: dict[str, str]) -> None:
    assert IrcMessage.parse(line).tags == tags


def test_tag_escaping_follows_the_message_tags_example() -> None:
    raw = "raw+:=,escaped; \\"
    assert escape_tag_value(raw) == r"raw+:=,escaped\:\s\\"
    assert unescape_tag_value(r"raw+:=,escaped\:\s\\") == raw


@pytest.mark.parametrize(
    ("escaped", "raw"),
    [
        ("test\\", "test"),  # a lone trailing backslash gives nothing
        (r"\b\x", "bx"),  # an unknown escape drops the backslash
        (r"\r\n", "\r\n"),
        (r"\\s", "\\s"),
        ("", ""),
    ],
)
def test_unescape_tag_value_edge_cases(escaped: str, raw: str) -> None:
    assert unescape_tag_value(escaped) == raw


def test_escape_tag_value_drops_nul() -> None:
    assert escape_tag_value("a\0b") == "ab"


@pytest.mark.parametrize("line", ["", "   ", "@a=b", ":src", "@a=b :src", "@a=b    "])
def test_a_line_without_a_command_is_malformed_with_no_command(line: str) -> None:
    with pytest.raises(MalformedLine) as caught:
        IrcMessage.parse(line)
    assert caught.value.command is None


@pytest.mark.parametrize("word", ["PRIV-MSG", "1234", "12", "A1", "\x01", "é"])
def test_a_command_neither_letters_nor_three_digits_is_malformed_and_named(word: str) -> None:
    with pytest.raises(MalformedLine) as caught:
        IrcMessage.parse(f"{word} #a :hi")
    assert caught.value.command == word


def test_parse_refuses_cr_or_lf_inside_a_line() -> None:
    with pytest.raises(MalformedLine):
        IrcMessage.parse("PRIVMSG #a :x\rQUIT")


def test_parse_drops_nul() -> None:
    assert IrcMessage.parse("PRIV\0MSG #a :h\0i").params == ["#a", "hi"]


# --- the decoder: where bytes are split ---------------------------------------


STREAM = (
    b"NICK alice\r\nUSER a 0 * :Alice A\r\n@+typing=active TAGMSG #r\r\nPRIVMSG #r :h\xc3\xa9\r\n"
)
EXPECTED = [
    IrcMessage("NICK", ["alice"]),
    IrcMessage("USER", ["a", "0", "*", "Alice A"]),
    IrcMessage("TAGMSG", ["#r"], tags={"+typing": "active"}),
    IrcMessage("PRIVMSG", ["#r", "hé"]),
]


def test_decoder_reads_a_whole_stream_in_one_chunk() -> None:
    assert decode_all(STREAM) == EXPECTED


def test_decoder_reads_a_stream_fed_one_byte_at_a_time() -> None:
    assert decode_all(*one_byte_at_a_time(STREAM)) == EXPECTED


def test_decoder_needs_more_data_for_an_unfinished_line() -> None:
    decoder = LineDecoder()
    decoder.feed(b"PRIVMSG #r :hel")
    assert decoder.next_message() is None
    decoder.feed(b"lo\n")
    assert decoder.next_message() == IrcMessage("PRIVMSG", ["#r", "hello"])
    assert decoder.next_message() is None
    assert decoder.buffered == 0


def test_decoder_joins_a_code_point_split_across_chunks() -> None:
    assert decode_all(b"PRIVMSG #r :\xe2\x82", b"\xac\r\n") == [IrcMessage("PRIVMSG", ["#r", "€"])]


@pytest.mark.parametrize("end", [b"\r\n", b"\n", b"\r", b"\n\r", b"\r\n\r\n"])
def test_decoder_accepts_crlf_lf_and_bare_cr_as_line_ends(end: bytes) -> None:
    assert decode_all(b"PING a" + end + b"PING b" + end) == [
        IrcMessage("PING", ["a"]),
        IrcMessage("PING", ["b"]),
    ]


def test_decoder_accepts_crlf_split_between_chunks() -> None:
    assert decode_all(b"PING a\r", b"\nPING b\r", b"\n") == [
        IrcMessage("PING", ["a"]),
        IrcMessage("PING", ["b"]),
    ]


def test_decoder_skips_empty_and_blank_lines() -> None:
    assert decode_all(b"\r\n\r\n   \r\n\0\nPING x\r\n") == [IrcMessage("PING", ["x"])]


def test_iterating_a_decoder_yields_what_is_complete() -> None:
    decoder = LineDecoder()
    decoder.feed(b"PING a\r\nPING b\r\nPIN")
    assert [m.params for m in decoder] == [["a"], ["b"]]
    assert decoder.buffered == 3


# --- the decoder: hostile input -----------------------------------------------


def test_nul_bytes_are_removed_from_a_line() -> None:
    assert decode_all(b"PRIVMSG #r :a\0b\r\n") == [IrcMessage("PRIVMSG", ["#r", "ab"])]


def test_a_10_kb_line_is_one_error_and_the_next_line_still_arrives() -> None:
    out = decode_all(b"PRIVMSG #r :" + b"x" * 10_000 + b"\r\nPING ok\r\n")
    assert isinstance(out[0], LineTooLong)
    assert out[1:] == [IrcMessage("PING", ["ok"])]


def test_a_10_kb_line_fed_bytewise_raises_once_and_holds_little_memory() -> None:
    decoder = LineDecoder()
    out: list[IrcMessage | RemoteIrcError] = []
    most = 0
    for byte in one_byte_at_a_time(b"PRIVMSG #r :" + b"x" * 10_000 + b"\r\nPING ok\r\n"):
        decoder.feed(byte)
        most = max(most, decoder.buffered)
        try:
            message = decoder.next_message()
        except LineTooLong as exc:
            out.append(exc)
            continue
        if message is not None:
            out.append(message)
    assert len(out) == 2
    assert isinstance(out[0], LineTooLong)
    assert "at least 511 bytes" in out[0].message
    assert out[1] == IrcMessage("PING", ["ok"])
    assert most <= MAX_BODY + 1


def test_an_endless_line_never_grows_the_buffer() -> None:
    decoder = LineDecoder()
    decoder.feed(b"x" * 600)
    with pytest.raises(LineTooLong):
        decoder.next_message()
    for _ in range(100):
        decoder.feed(b"y" * 1000)
        assert decoder.next_message() is None
        assert decoder.buffered == 0


def test_a_body_of_510_bytes_is_accepted_and_511_is_too_long() -> None:
    head = b"PRIVMSG #r :"
    fits = head + b"x" * (MAX_BODY - len(head))
    assert len(fits) == 510
    assert decode_all(fits + b"\r\n") == [IrcMessage("PRIVMSG", ["#r", "x" * (510 - len(head))])]
    out = decode_all(fits + b"y\r\n")
    assert len(out) == 1
    assert isinstance(out[0], LineTooLong)
    assert "511 bytes after the tags" in out[0].message


def tags_of(size: int) -> bytes:
    """A tag section with exactly ``size`` bytes of tag data."""
    return b"@+a=" + b"v" * (size - 3) + b" "


def test_tag_data_of_4094_bytes_is_accepted() -> None:
    out = decode_all(tags_of(MAX_CLIENT_TAG_DATA) + b"TAGMSG #r\r\n")
    assert len(out) == 1
    assert isinstance(out[0], IrcMessage)
    assert len(out[0].tags["+a"]) == MAX_CLIENT_TAG_DATA - 3


def test_tag_data_of_4095_bytes_is_too_long_and_the_next_line_arrives() -> None:
    out = decode_all(tags_of(MAX_CLIENT_TAG_DATA + 1) + b"TAGMSG #r\r\nPING x\r\n")
    assert isinstance(out[0], LineTooLong)
    assert "4095 bytes of tag data" in out[0].message
    assert out[1:] == [IrcMessage("PING", ["x"])]


def test_long_tags_are_caught_before_their_space_arrives() -> None:
    decoder = LineDecoder()
    decoder.feed(b"@" + b"a" * MAX_CLIENT_TAG_DATA)
    assert decoder.next_message() is None
    decoder.feed(b"a")
    with pytest.raises(LineTooLong):
        decoder.next_message()


def test_full_tags_and_a_full_body_fit_together() -> None:
    line = tags_of(MAX_CLIENT_TAG_DATA) + b"PRIVMSG #r :" + b"x" * (MAX_BODY - 12) + b"\r\n"
    out = decode_all(*one_byte_at_a_time(line))
    assert len(out) == 1
    assert isinstance(out[0], IrcMessage)


def test_invalid_utf8_is_an_error_that_names_the_command() -> None:
    out = decode_all(b"PRIVMSG #r :caf\xe9\r\nPING x\r\n")
    assert isinstance(out[0], InvalidUtf8)
    assert out[0].command == "PRIVMSG"
    assert out[1:] == [IrcMessage("PING", ["x"])]


def test_invalid_utf8_in_the_command_leaves_the_command_unknown() -> None:
    out = decode_all(b"PRIV\xffMSG #r :x\r\n")
    assert isinstance(out[0], InvalidUtf8)
    assert out[0].command is None


@pytest.mark.parametrize("raw", [b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])
def test_overlong_surrogate_and_out_of_range_encodings_are_invalid(raw: bytes) -> None:
    out = decode_all(b"PRIVMSG #r :" + raw + b"\r\n")
    assert isinstance(out[0], InvalidUtf8)


def test_a_malformed_line_does_not_stop_the_stream() -> None:
    out = decode_all(b"@a=b\r\nPRIV-MSG x\r\nPING x\r\n")
    assert isinstance(out[0], MalformedLine)
    assert out[0].command is None
    assert isinstance(out[1], MalformedLine)
    assert out[1].command == "PRIV-MSG"
    assert out[2:] == [IrcMessage("PING", ["x"])]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.lists(st.integers(min_value=1, max_value=50), max_size=60))
def test_the_decoder_raises_only_remote_errors_and_stays_bounded(
    data: bytes, sizes: list[int]
) -> None:
    decoder = LineDecoder()
    position = 0
    for size in [*sizes, len(data)]:
        decoder.feed(data[position : position + size])
        position += size
        assert decoder.buffered <= MAX_CLIENT_TAG_DATA + 2 + MAX_BODY + 50
        while True:
            try:
                if decoder.next_message() is None:
                    break
            except RemoteIrcError:
                continue


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from([b"PING a\r\n", b"PRIVMSG #r :\xc3\xa9 \r", b"\n", b"JOIN #x\n"])),
    st.data(),
)
def test_chunking_never_changes_what_is_decoded(lines: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    assert decode_all(*chunks) == decode_all(stream)


# --- building messages ----------------------------------------------------------


def test_serialize_puts_a_colon_only_where_needed() -> None:
    assert IrcMessage("PRIVMSG", ["#r", "hi"]).serialize() == b"PRIVMSG #r hi\r\n"
    assert IrcMessage("PRIVMSG", ["#r", "hi there"]).serialize() == b"PRIVMSG #r :hi there\r\n"
    assert IrcMessage("PRIVMSG", ["#r", ":)"]).serialize() == b"PRIVMSG #r ::)\r\n"
    assert IrcMessage("CAP", ["*", "LS", ""]).serialize() == b"CAP * LS :\r\n"
    assert IrcMessage("PING").serialize() == b"PING\r\n"


def test_serialize_writes_source_and_escaped_tags() -> None:
    message = IrcMessage(
        "privmsg", ["#r", "x"], source="a!b@c", tags={"+t": "a b;c", "msgid": "e:r:1", "k": ""}
    )
    assert message.command == "PRIVMSG"
    assert message.serialize() == b"@msgid=e:r:1;k;+t=a\\sb\\:c :a!b@c PRIVMSG #r x\r\n"


@pytest.mark.parametrize("text", ["a\r\nQUIT", "a\nQUIT", "a\rQUIT", "a\0\nb", "\n"])
def test_cr_lf_and_nul_in_a_parameter_never_break_the_line(text: str) -> None:
    line = IrcMessage("PRIVMSG", ["#r", text], source="n!u@h").serialize()
    assert line.endswith(b"\r\n")
    assert not any(c in line[:-2] for c in b"\r\n\0")


def test_cr_lf_in_a_tag_value_are_escaped() -> None:
    line = IrcMessage("TAGMSG", ["#r"], tags={"+x": "a\r\nb\0"}).serialize()
    assert line == b"@+x=a\\r\\nb TAGMSG #r\r\n"


def test_a_long_last_parameter_is_cut_on_a_code_point_boundary() -> None:
    message = IrcMessage("PRIVMSG", ["#r", "é" * 400], source="nick!user@host1")
    line = message.serialize()
    assert message.body_size() > MAX_LINE
    assert len(line) == MAX_LINE - 1  # a two-byte character does not fit in the last byte
    line.decode("utf-8")
    assert line.startswith(b":nick!user@host1 PRIVMSG #r :\xc3\xa9")


def test_tags_do_not_count_against_the_512_bytes() -> None:
    message = IrcMessage("PRIVMSG", ["#r", "x" * 1000], tags={"time": "t" * 100})
    line = message.serialize()
    assert len(line.split(b" ", 1)[1]) == MAX_LINE


@pytest.mark.parametrize(
    "build",
    [
        lambda: IrcMessage("PRIV MSG"),
        lambda: IrcMessage("1234"),
        lambda: IrcMessage(""),
        lambda: IrcMessage("KICK", ["#r", "bad nick", "reason"]),
        lambda: IrcMessage("KICK", ["", "n", "reason"]),
        lambda: IrcMessage("KICK", [":r", "n", "reason"]),
        lambda: IrcMessage("KICK", ["#r\n", "n", "reason"]),
        lambda: IrcMessage("PING", source="a b"),
        lambda: IrcMessage("PING", source=""),
        lambda: IrcMessage("PING", tags={"bad key": "x"}),
    ],
)
def test_an_unsendable_message_cannot_be_built(build: Callable[[], IrcMessage]) -> None:
    with pytest.raises(LocalIrcError):
        build()


def test_a_message_whose_fixed_part_cannot_fit_is_refused() -> None:
    with pytest.raises(LocalIrcError):
        IrcMessage("PRIVMSG", ["x" * 600, "text"]).serialize()
    with pytest.raises(LocalIrcError):
        IrcMessage("PING", source="s" * 600).serialize()


def test_server_and_client_tags_each_have_a_4094_byte_budget() -> None:
    fits = {"a": "x" * (MAX_CLIENT_TAG_DATA - 2), "+b": "y" * (MAX_CLIENT_TAG_DATA - 3)}
    assert IrcMessage("TAGMSG", ["#r"], tags=fits).serialize()
    with pytest.raises(LocalIrcError):
        IrcMessage("TAGMSG", ["#r"], tags={"+b": "y" * MAX_CLIENT_TAG_DATA}).serialize()


def test_a_lone_surrogate_goes_out_as_a_question_mark() -> None:
    assert IrcMessage("PRIVMSG", ["#r", "a\ud800b"]).serialize() == b"PRIVMSG #r a?b\r\n"


def test_cut_utf8_never_splits_a_code_point() -> None:
    data = "a€b".encode()
    assert [cut_utf8(data, n) for n in range(6)] == [
        b"",
        b"a",
        b"a",
        b"a",
        "a€".encode(),
        data,
    ]


# --- round trips ----------------------------------------------------------------

TEXT = st.characters(codec="utf-8", exclude_characters="\r\n\0")
WORD = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\0 "), min_size=1)
MIDDLE = WORD.filter(lambda p: not p.startswith(":"))
COMMAND = st.from_regex(r"[A-Za-z]{1,12}|[0-9]{3}", fullmatch=True)
TAG_KEY = st.from_regex(r"\+?([a-z0-9.-]{1,10}/)?[A-Za-z0-9-]{1,10}", fullmatch=True)
TAG_VALUE = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\0"), max_size=30)


@st.composite
def messages(draw: st.DrawFn) -> IrcMessage:
    params = draw(st.lists(MIDDLE, max_size=5))
    if draw(st.booleans()):
        params.append(draw(st.text(alphabet=TEXT, max_size=80)))
    return IrcMessage(
        draw(COMMAND),
        params,
        source=draw(st.none() | MIDDLE),
        tags=draw(st.dictionaries(TAG_KEY, TAG_VALUE, max_size=4)),
    )


@settings(max_examples=300, deadline=None)
@given(messages())
def test_parse_of_serialize_gives_back_the_message(message: IrcMessage) -> None:
    line = message.serialize()
    if message.body_size() <= MAX_LINE:
        assert decode_all(line) == [message]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=1200), st.dictionaries(TAG_KEY, st.text(max_size=20), max_size=3))
def test_any_text_serializes_to_one_line_of_at_most_512_bytes(
    text: str, tags: dict[str, str]
) -> None:
    line = IrcMessage("PRIVMSG", ["#r", text], tags=tags).serialize()
    body = line.split(b" ", 1)[1] if tags else line
    assert len(body) <= MAX_LINE
    assert line.endswith(b"\r\n")
    assert not any(c in line[:-2] for c in b"\r\n\0")
    line.decode("utf-8")


def test_a_trailing_text_keeps_its_colon_even_when_it_is_one_word() -> None:
    assert IrcMessage("PRIVMSG", ["#r", "hi"]).serialize() == b"PRIVMSG #r hi\r\n"
    message = IrcMessage("PRIVMSG", ["#r", "hi"], trailing=True)
    assert message.serialize() == b"PRIVMSG #r :hi\r\n"
    assert message == IrcMessage.parse("PRIVMSG #r hi")
