"""Is the terminal client still responsive in a busy room?

Starts a local ``chat-server``, the real ``chat-client`` in a pseudo-terminal,
and a flood of ``--rate`` messages a second into the client's room (from
``bench/load.py``'s lean clients).  Every ``--every`` seconds it types one
character and times how long the client takes to echo it on the terminal, and
it samples the client's RSS, so a scrollback that never stops growing shows.

    python bench/client_latency.py --rate 500 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import pty
import shutil
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from load import BenchClient, Totals, frame, rss_bytes, spawn_server  # noqa: E402

KEYS = "QWERTYUIOP"  # never in the flood's text, so their echo is unambiguous


async def flood(port: int, rate: float, stop_at: float) -> int:
    """Send ``rate`` messages a second into ``bench0`` until ``stop_at``."""
    loop = asyncio.get_running_loop()
    client = BenchClient(0, Totals())
    await loop.create_connection(client.itself, "127.0.0.1", port)
    assert client.transport is not None
    client.transport.write(frame({"type": "hello", "nick": "flood", "protocol": 1}))
    client.transport.write(frame({"type": "join", "room": "bench0"}))
    await asyncio.wait_for(client.ready, 10)
    sent = 0
    next_at = time.perf_counter()
    while time.perf_counter() < stop_at:
        client.say("bench0", f"{sent:08d} " + "x" * 71)  # every line differs: real repaints
        sent += 1
        next_at += 1 / rate
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    client.transport.close()
    return sent


class Terminal:
    """The client's pty: drains its output all the time, finds echoed keys."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.received = 0
        self.waiting: tuple[bytes, asyncio.Future[float]] | None = None
        os.set_blocking(fd, False)
        asyncio.get_running_loop().add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            asyncio.get_running_loop().remove_reader(self.fd)
            return
        self.received += len(data)
        if self.waiting is not None and self.waiting[0] in data:
            future = self.waiting[1]
            self.waiting = None
            if not future.done():
                future.set_result(time.perf_counter())

    async def type_and_time(self, key: str) -> float:
        """Type ``key``; seconds until the terminal shows it."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting = (key.encode(), future)
        sent = time.perf_counter()
        os.write(self.fd, key.encode())
        return await asyncio.wait_for(future, 5) - sent


async def measure(args: argparse.Namespace, port: int, home: Path) -> None:
    pid, fd = pty.fork()
    if pid == 0:
        client = shutil.which("chat-client") or "chat-client"
        os.environ["TERM"] = "xterm-256color"
        os.environ["XDG_DATA_HOME"] = str(home / "data")
        os.environ["XDG_CONFIG_HOME"] = str(home / "config")
        os.execvp(
            client,
            [
                client,
                f"127.0.0.1:{port}",
                "--nick",
                "typist",
                "--room",
                "bench0",
                "--scrollback",
                str(args.scrollback),
                *(["--no-logs"] if args.no_logs else []),
            ],
        )
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    try:
        terminal = Terminal(fd)
        await asyncio.sleep(2.0)  # connect, join, first paint
        stop_at = time.perf_counter() + args.duration
        flooding = asyncio.create_task(flood(port, args.rate, stop_at))
        latencies: list[float] = []
        samples: list[tuple[float, int]] = []
        start = time.perf_counter()
        index = 0
        while time.perf_counter() < stop_at:
            await asyncio.sleep(args.every)
            latencies.append(await terminal.type_and_time(KEYS[index % len(KEYS)]))
            index += 1
            samples.append((time.perf_counter() - start, rss_bytes(pid)))
        sent = await flooding
        latencies.sort()
        ms = [x * 1000 for x in latencies]
        print(
            f"flood: {sent} messages in {args.duration:g} s "
            f"({sent / args.duration:.0f} msg/s) into the client's room"
        )
        print(f"terminal output drained: {terminal.received / 1024:.0f} KiB")
        print(
            f"keystroke to screen, {len(ms)} keys: median {statistics.median(ms):.1f} ms, "
            f"p90 {ms[int(0.9 * (len(ms) - 1))]:.1f} ms, max {ms[-1]:.1f} ms"
        )
        print(f"within 50 ms: {sum(1 for x in ms if x <= 50)} of {len(ms)}")
        quarter = max(1, len(samples) // 4)
        for label, (at, rss) in (("early", samples[quarter - 1]), ("late", samples[-1])):
            print(f"client RSS {label} (t={at:.0f} s): {rss / 2**20:.1f} MiB")
    finally:
        stop_client(pid)
    logged = sum(path.stat().st_size for path in (home / "data").rglob("*.log"))
    print(f"chat log written: {logged / 1024:.0f} KiB")


def stop_client(pid: int) -> None:
    try:
        os.kill(pid, 15)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500, help="messages a second")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--every", type=float, default=0.25, help="seconds between keys")
    parser.add_argument("--scrollback", type=int, default=10000)
    parser.add_argument("--no-logs", action="store_true", help="the client keeps no chat log")
    args = parser.parse_args()
    server, port = spawn_server()
    try:
        with tempfile.TemporaryDirectory() as home:
            asyncio.run(measure(args, port, Path(home)))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
