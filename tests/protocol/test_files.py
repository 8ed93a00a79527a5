"""The protocol's side of file sharing: opening a side connection, raw bytes after a frame."""

from __future__ import annotations

import pytest

from protocol import (
    Decoder,
    MessageError,
    Ping,
    Transfer,
    encode,
    format_size,
    parse_client,
    shared_text,
)


def test_transfer_may_open_a_connection_but_nothing_else_beyond_the_handshake() -> None:
    body = encode(Transfer(token="t", offset=5))[4:]
    assert parse_client(body, welcomed=False) == Transfer(token="t", offset=5)
    with pytest.raises(MessageError) as caught:
        parse_client(b'{"type": "file_get", "file": "x"}', welcomed=False)
    assert caught.value.code == "not_ready"
    with pytest.raises(MessageError) as caught:
        parse_client(b'{"type": "transfer"}', welcomed=False)
    assert (caught.value.code, caught.value.ref) == ("bad_message", "transfer")


@pytest.mark.parametrize("split", [0, 1, 3, 7, 20])
def test_the_bytes_after_a_frame_are_given_back_whole(split: int) -> None:
    stream = encode(Ping(token="p")) + encode(Transfer(token="t")) + b"\x00raw\xff bytes"
    decoder = Decoder()
    frames: list[bytes | None] = []
    decoder.feed(stream[:split])
    while len(frames) < 2 and (body := decoder.next_frame()) is not None:
        frames.append(body)  # never past the transfer frame: raw bytes follow it
    decoder.feed(stream[split:])
    while len(frames) < 2:
        frames.append(decoder.next_frame())
    assert None not in frames
    assert decoder.drain() == b"\x00raw\xff bytes"
    assert decoder.buffered == 0
    assert decoder.drain() == b""


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (52_428_800, "50.0 MiB"), (2**30, "1.0 GiB")],
)
def test_sizes_read_as_people_say_them(size: int, text: str) -> None:
    assert format_size(size) == text
    assert shared_text("a.txt", size) == f"shared a.txt ({text})"
