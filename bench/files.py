"""Shared files at speed: a 1 GiB upload and download over loopback next to a raw
socket copy of the same bytes, a chat room's latency with and without a transfer
running, and how an upload's disk writes should run.

    python bench/files.py                            # 1 GiB, 3 passes, about 3 minutes
    python bench/files.py --size 256 --passes 1 --duration 5

Throughput: a ``chat-server`` (pinned to core 0) takes the file from a client
on core 1 that sends it with ``sendfile`` after ``transfer``, and sends it back
to a client that keeps nothing of it.  The raw copies move the same file over a
plain loopback socket, ``sendfile`` on core 1 into a receiver on core 0: into a
file, the least an upload must do, and into nothing, the least a download must
do.  Each figure is MB/s (10**6 bytes/s) from the first byte to the last,
medians over ``--passes``; dirty pages are written back before each run.

Latency: ``bench/load.py``'s clients, 50 in one room, 5 senders at 1,000
messages/s in total, against one server for ``--duration`` seconds; then again
while another process uploads and downloads the file in a loop.  That process
stands for a peer on another machine, so it runs at ``nice 19``: on a machine
with two cores it would otherwise take the load generator's CPU and measure
itself.  The server's own share of the transfer (reading, hashing, writing,
``sendfile``) runs at its normal priority, its files threads ``--file-nice``
below the chat.

Disk writes: ``--size`` bytes through the upload sink the server uses, pulled
from a socket (plain TCP) or fed in 256 KiB chunks (TLS), its jobs run in the
files executor, then inline on the event loop (and fed with ``RWF_NOWAIT``
writes where the kernel has them), while a 1 ms timer on the same loop
measures how late it fires.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import hashlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from compare import hubbub_version, machine  # noqa: E402
from load import run_with_best_loop, spawn_server  # noqa: E402

from chat_server.files.upload import UploadSink, run_inline  # noqa: E402
from protocol import (  # noqa: E402
    PROTOCOL_VERSION,
    Decoder,
    DownloadTicket,
    FileGet,
    FileOffer,
    Hello,
    Join,
    Ping,
    Pong,
    ServerMessage,
    Transfer,
    TransferDone,
    TransferReady,
    UploadTicket,
    encode,
    parse_server,
)

MIB = 1024 * 1024
CHUNK = 4 * MIB


def pin(cpu: int | None) -> None:
    """Run the calling thread on core ``cpu`` (Linux pins threads one by one)."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def make_file(path: Path, size: int) -> str:
    """``size`` random bytes at ``path``; returns their sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as file:
        left = size
        while left:
            block = os.urandom(min(8 * MIB, left))
            file.write(block)
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def receive_into(sock: socket.socket, path: Path, size: int, first: bytes = b"") -> None:
    """Read ``size`` bytes from ``sock`` (``first`` already read) into a new file
    (``os.devnull`` throws them away)."""
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, first)
        got = len(first)
        while got < size:
            n = sock.recv_into(view, min(CHUNK, size - got))
            if not n:
                raise ConnectionError(f"closed after {got} of {size} bytes")
            os.write(fd, view[:n])
            got += n
    finally:
        os.close(fd)


def raw_copy(source: Path, size: int, target: Path, cpus: tuple[int | None, int | None]) -> float:
    """Seconds to copy ``source`` over a plain loopback socket into ``target``."""
    os.sync()  # every run starts with no dirty pages to write back
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    done: list[float] = []

    def receiver() -> None:
        pin(cpus[0])
        conn, _ = listener.accept()
        with conn:
            receive_into(conn, target, size)
        done.append(time.perf_counter())

    thread = threading.Thread(target=receiver)
    thread.start()
    pin(cpus[1])
    with socket.create_connection(("127.0.0.1", port)) as sock, source.open("rb") as file:
        start = time.perf_counter()
        sock.sendfile(file)
        sock.shutdown(socket.SHUT_WR)
        thread.join()
    listener.close()
    if target != Path(os.devnull):
        target.unlink()
    return done[0] - start


class Chat:
    """A blocking chat connection that asks for tickets."""

    def __init__(self, port: int, nick: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.decoder = Decoder(max_frame=1 << 20)
        self.send(Hello(nick=nick, protocol=PROTOCOL_VERSION))
        self.send(Join(room="files"))
        self.ids = 0

    def send(self, message: Any) -> None:
        self.sock.sendall(encode(message))

    def next(self) -> ServerMessage:
        while (body := self.decoder.next_frame()) is None:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the server closed the chat connection")
            self.decoder.feed(data)
        return parse_server(body)

    def ask(self, request: Any, kind: type[Any]) -> Any:
        self.ids += 1
        self.send(request.model_copy(update={"id": f"b{self.ids}"}))
        while True:
            message = self.next()
            if isinstance(message, Ping):
                self.send(Pong(token=message.token))
            elif isinstance(message, kind) and message.id == f"b{self.ids}":
                return message
            elif getattr(message, "type", "") == "error":
                raise RuntimeError(f"refused: {message}")


def side(port: int, token: str) -> tuple[socket.socket, TransferReady, bytes]:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(encode(Transfer(token=token)))
    decoder = Decoder(max_frame=1 << 20)
    while (body := decoder.next_frame()) is None:
        decoder.feed(sock.recv(65536))
    ready = parse_server(body)
    assert isinstance(ready, TransferReady), ready
    return sock, ready, decoder.drain()


def upload(port: int, chat: Chat, source: Path, size: int, sha: str) -> tuple[float, str]:
    """Seconds from the first byte to ``transfer_done``, and the shared file's id."""
    offer = FileOffer(room="files", name=source.name, size=size, sha256=sha)
    ticket = chat.ask(offer, UploadTicket)
    os.sync()
    sock, ready, _ = side(port, ticket.token)
    with sock, source.open("rb") as file:
        start = time.perf_counter()
        sock.sendfile(file, ready.offset)
        decoder = Decoder(max_frame=1 << 20)
        while (body := decoder.next_frame()) is None:
            decoder.feed(sock.recv(65536))
        elapsed = time.perf_counter() - start
    done = parse_server(body)
    assert isinstance(done, TransferDone), done
    return elapsed, done.file.id


def download(port: int, chat: Chat, file_id: str, size: int, target: Path) -> float:
    """Seconds from ``transfer_ready`` to the last byte written to ``target``."""
    ticket = chat.ask(FileGet(file=file_id), DownloadTicket)
    os.sync()
    sock, _, first = side(port, ticket.token)
    with sock:
        start = time.perf_counter()
        receive_into(sock, target, size, first)
        elapsed = time.perf_counter() - start
    with contextlib.suppress(PermissionError, FileNotFoundError):
        if target != Path(os.devnull):
            target.unlink()
    return elapsed


def transfer_loop(port: int, source: Path, size: int, sha: str) -> None:
    """Upload and download ``source`` until killed (the latency run's busy neighbour).

    It stands for a peer on another machine: it runs at the lowest priority, so
    that on a small machine it takes only the CPU the server and the chat's
    clients leave, as a remote peer would take none.
    """
    with contextlib.suppress(OSError):
        os.nice(19)
    chat = Chat(port, f"mover{os.getpid() % 10000}")
    target = Path(os.devnull)  # the peer's own disk is not the server's business
    while True:
        _, file_id = upload(port, chat, source, size, sha)
        download(port, chat, file_id, size, target)


@contextlib.contextmanager
def server(workdir: Path, cpu: int | None, *extra: str) -> Iterator[tuple[int, int]]:
    files = workdir / f"files-{time.monotonic_ns()}"
    node, port = spawn_server(
        "--max-upload", str(1 << 40), "--files-quota", str(1 << 42), "--files-dir", str(files),
        "--max-per-address", "0", *extra, cpu=cpu,
    )  # fmt: skip
    try:
        yield port, node.pid
    finally:
        node.terminate()
        node.wait(10)
        subprocess.run(["rm", "-rf", str(files)], check=False)


#: The four runs of a throughput pass: what each moves, and where to.
RUNS = (
    "raw copy into a file",
    "upload (into the server's file)",
    "raw copy from a file",
    "download (from the server's file)",
)


def throughput(
    args: argparse.Namespace, workdir: Path, source: Path, sha: str
) -> dict[str, list[float]]:
    """MB/s of each of :data:`RUNS`, one list per run.

    An upload must end on the server's disk, so it is set against a raw copy
    into a file; a download starts from the server's disk (its page cache), so it
    is set against a raw copy from that file into a receiver that keeps nothing,
    as the download's client does here.
    """
    size = args.size * MIB
    cpus = (0, 1) if (os.cpu_count() or 1) >= 2 else (None, None)
    found: dict[str, list[float]] = {run: [] for run in RUNS}
    devnull = Path(os.devnull)
    for n in range(args.passes):
        found[RUNS[0]].append(size / raw_copy(source, size, workdir / "raw.copy", cpus) / 1e6)
        with server(workdir, cpus[0]) as (port, _):
            pin(cpus[1])
            chat = Chat(port, f"bench{n}")
            elapsed, file_id = upload(port, chat, source, size, sha)
            found[RUNS[1]].append(size / elapsed / 1e6)
            found[RUNS[2]].append(size / raw_copy(source, size, devnull, cpus) / 1e6)
            pin(cpus[1])
            found[RUNS[3]].append(size / download(port, chat, file_id, size, devnull) / 1e6)
        print(f"  pass {n + 1}: " + ", ".join(f"{k} {v[-1]:,.0f} MB/s" for k, v in found.items()))
    return found


def latency(
    args: argparse.Namespace, workdir: Path, source: Path, sha: str, *extra: str
) -> dict[str, Any]:
    all_cpus = set(range(os.cpu_count() or 1))
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, all_cpus)
    results: dict[str, Any] = {}
    for label in ("without a transfer", "with a transfer"):
        with server(workdir, None, *extra) as (port, pid):
            mover = None
            if label == "with a transfer":
                mover = subprocess.Popen(
                    [sys.executable, __file__, "--transfer-loop", str(port), str(source), sha]
                )
                time.sleep(1.0)  # the first upload is under way
            load = argparse.Namespace(
                host="127.0.0.1", port=[port], clients=50, rooms=1, senders=5, rate=1000.0,
                inflight=64, text_size=100, duration=args.duration, warmup=1.0, settle=1.0,
            )  # fmt: skip
            try:
                results[label] = run_with_best_loop(load, [pid])
            finally:
                if mover is not None:
                    mover.kill()
                    mover.wait()
        r = results[label]
        print(f"  {label}: p50 {r.percentile(50):.2f} ms, p99 {r.percentile(99):.2f} ms")
    return results


async def sink_lag(size: int, kind: str, workdir: Path) -> tuple[float, float, float]:
    """MB/s through an :class:`UploadSink` and the 1 ms timer's p99 and worst lateness (ms).

    ``kind`` is how the bytes come (``fed`` chunks, as under TLS, or ``pulled`` from
    a socket, as on plain TCP) and how its jobs run (``executor``, ``inline`` on the
    loop, or ``RWF_NOWAIT`` writes that fall back to the executor).
    """
    from concurrent.futures import ThreadPoolExecutor

    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(4)
    how, runs = kind.split(", ")

    async def in_executor(work: Callable[[], Any]) -> Any:
        return await loop.run_in_executor(executor, work)

    def nowait(fd: int, data: memoryview) -> int:
        try:
            return os.pwritev(fd, [data], -1, os.RWF_NOWAIT)
        except BlockingIOError:
            return os.write(fd, data)

    path = workdir / "sink"
    sink = UploadSink(
        path,
        0,
        run_inline if runs == "inline" else in_executor,
        write=nowait if runs == "RWF_NOWAIT" else os.write,
    )
    resumed = asyncio.Event()
    sink.on_resume = resumed.set
    late: list[float] = []
    stop = False

    async def ticker() -> None:
        while not stop:
            due = time.perf_counter() + 0.001
            await asyncio.sleep(0.001)
            late.append((time.perf_counter() - due) * 1000)

    block = os.urandom(4 * MIB)
    tick = asyncio.create_task(ticker())
    start = time.perf_counter()
    sink.start()
    if how == "pulled":
        ours, theirs = socket.socketpair()
        ours.setblocking(False)

        def send() -> None:
            with theirs:
                for _ in range(size // len(block)):
                    theirs.sendall(block)

        sender = threading.Thread(target=send)
        sender.start()
        assert await sink.pull(ours.fileno(), size)
    else:
        chunk = memoryview(block)[: 256 * 1024]
        for _ in range(size // len(chunk)):
            if sink.feed(bytes(chunk)):  # a fresh object per read, as a transport hands over
                resumed.clear()
                await resumed.wait()
            await asyncio.sleep(0)  # a socket read per chunk gives the loop a turn
    await sink.finish()
    elapsed = time.perf_counter() - start
    if how == "pulled":
        sender.join()
        ours.close()
    stop = True
    await tick
    executor.shutdown()
    path.unlink()
    late.sort()
    return size / elapsed / 1e6, late[int(0.99 * (len(late) - 1))], late[-1]


def disk_writes(
    args: argparse.Namespace, workdir: Path
) -> dict[str, list[tuple[float, float, float]]]:
    kinds = ["pulled, executor", "pulled, inline", "fed, executor", "fed, inline"]
    probe = workdir / "probe"
    with contextlib.suppress(AttributeError, OSError):
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.pwritev(fd, [b"x"], 0, os.RWF_NOWAIT)
            kinds.append("fed, RWF_NOWAIT")
        finally:
            os.close(fd)
            probe.unlink()
    if "fed, RWF_NOWAIT" not in kinds:
        print("  RWF_NOWAIT: this kernel and file system refuse it for buffered writes")
    found: dict[str, list[tuple[float, float, float]]] = {kind: [] for kind in kinds}
    for _ in range(args.passes):
        for kind in kinds:
            os.sync()
            found[kind].append(asyncio.run(sink_lag(args.size * MIB, kind, workdir)))
            rate, p99, worst = found[kind][-1]
            print(f"  {kind}: {rate:,.0f} MB/s, timer late p99 {p99:.2f} ms, max {worst:.2f} ms")
    return found


def median(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:,.0f}"
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1024, help="MiB in the file (default 1024)")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each latency run")
    parser.add_argument("--transfer-loop", nargs=3, metavar=("PORT", "FILE", "SHA256"))
    args = parser.parse_args()
    if args.transfer_loop:
        port, path, sha = args.transfer_loop
        transfer_loop(int(port), Path(path), Path(path).stat().st_size, sha)
        return
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"{now}, {machine()}; {hubbub_version()}")
    with tempfile.TemporaryDirectory(prefix="hubbub-files-bench-") as tmp:
        workdir = Path(tmp)
        source = workdir / "payload.bin"
        sha = make_file(source, args.size * MIB)
        print(f"disk writes of a {args.size} MiB upload:")
        writes = disk_writes(args, workdir)
        print(f"throughput, {args.size} MiB over loopback:")
        speeds = throughput(args, workdir, source, sha)
        print("chat latency, 50 members, 5 senders, 1,000 msg/s:")
        chat = latency(args, workdir, source, sha)
    print()
    print(f"| {args.size} MiB over loopback | raw socket copy MB/s | hubbub MB/s | share |")
    print("|---|---:|---:|---:|")
    for raw, ours in ((RUNS[0], RUNS[1]), (RUNS[2], RUNS[3])):
        share = statistics.median(speeds[ours]) / statistics.median(speeds[raw])
        print(f"| {ours} | {median(speeds[raw])} | {median(speeds[ours])} | {share:.0%} |")
    print()
    print("| chat room, 1,000 msg/s | p50 ms | p99 ms | max ms | loss |")
    print("|---|---:|---:|---:|---:|")
    for label, r in chat.items():
        lat = r.latencies
        print(
            f"| {label} | {r.percentile(50):.2f} | {r.percentile(99):.2f} | "
            f"{lat[-1] if lat else float('nan'):.2f} | {r.lost} of {r.expected} |"
        )
    p99 = [r.percentile(99) for r in chat.values()]
    print(f"p99 with a transfer / without: {p99[1] / p99[0]:.2f}x")
    print()
    print("| upload disk writes | MB/s | 1 ms timer late, p99 ms | max ms |")
    print("|---|---:|---:|---:|")
    for kind, runs in writes.items():
        rates, p99s, worst = zip(*runs, strict=True)
        print(
            f"| {kind} | {median(list(rates))} | {statistics.median(p99s):.2f} | {max(worst):.2f} |"
        )


if __name__ == "__main__":
    main()
