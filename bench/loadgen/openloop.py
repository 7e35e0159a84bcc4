"""A constant-rate (open-loop) load generator, wrk2-style, in asyncio.

Request i is due at start + i / rate, whatever the server does. Its latency is
measured from that due time, not from when a connection was free to send it:
while the server stalls, the requests that should have gone out keep their
place in line and their wait is counted, as real users would feel it. A
closed-loop tool (wrk, ab) instead stops sending while it waits, and so hides
the stall ("coordinated omission").

`scheduler_lag_ms` says how late this process itself was to send: when it is
large, the generator (not the server) was the bottleneck and the rate is not
trustworthy.

Run as `python -m bench.loadgen.openloop URL --rate R --seconds S
--connections C [-H 'Name: value']`; prints one BENCH_JSON line.
"""

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bench.loadgen.result import LoadResult, percentiles_ms
from bench.processes import PYTHON, run_measured

MARKER = "BENCH_JSON "
TIMEOUT_SECONDS = 10


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.socket_errors[kind] = self.socket_errors.get(kind, 0) + 1

    def answer(self, status: str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


class Connection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def exchange(self, request: bytes) -> str:
        """Send one request, read its whole answer; the status code."""
        if self.writer is None:
            await self.open()
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)[1]
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:] if line)
        }
        await self._read_body(headers)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status

    async def _read_body(self, headers: dict[str, str]) -> None:
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
            return
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)  # the chunk and its CRLF
                if size == 0:
                    return
        await self.reader.read()  # no length: the body ends with the connection
        self.close()


def _request_bytes(url: str, headers: dict[str, str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target or '/'} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return parts.hostname, parts.port or 80, ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _one(pool: asyncio.Queue, request: bytes, due: float, tally: Tally) -> None:
    loop = asyncio.get_running_loop()
    tally.lags.append(loop.time() - due)
    connection = await pool.get()
    try:
        status = await asyncio.wait_for(connection.exchange(request), TIMEOUT_SECONDS)
    except TimeoutError:
        connection.close()
        tally.error("timeout")
    except ConnectionRefusedError:
        connection.close()
        tally.error("connect")
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
        connection.close()
        tally.error("read")
    else:
        tally.answer(status)
        tally.latencies.append(loop.time() - due)
    finally:
        pool.put_nowait(connection)


async def run(url: str, *, rate: float, seconds: float, connections: int, headers: dict) -> dict:
    host, port, request = _request_bytes(url, headers)
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(host, port))
    tally = Tally()
    loop = asyncio.get_running_loop()
    total = int(rate * seconds)
    start = loop.time() + 0.05
    tasks = []
    sent = 0
    while sent < total:
        now = loop.time()
        # Every request due by now goes out now (a late wake-up sends a batch).
        due_count = min(total, int((now - start) * rate) + 1) if now >= start else 0
        while sent < due_count:
            due = start + sent / rate
            tasks.append(asyncio.ensure_future(_one(pool, request, due, tally)))
            sent += 1
        await asyncio.sleep(max(0.0, start + sent / rate - loop.time()))
    await asyncio.wait(tasks, timeout=TIMEOUT_SECONDS + 5)
    elapsed = loop.time() - start
    while not pool.empty():
        pool.get_nowait().close()
    return {
        "sent": sent,
        "seconds": elapsed,
        "latency_ms": percentiles_ms(tally.latencies),
        "scheduler_lag_ms": percentiles_ms(tally.lags),
        "statuses": tally.statuses,
        "socket_errors": tally.socket_errors,
    }


def open_loop(
    url: str, *, rate: float, seconds: float, connections: int, headers: dict[str, str]
) -> LoadResult:
    """Runs this module in a process of its own, so its CPU is counted as the client's."""
    argv = [PYTHON, "-m", "bench.loadgen.openloop", url, "--rate", str(rate)]
    argv += ["--seconds", str(seconds), "--connections", str(connections)]
    argv += [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    finished = run_measured(argv, timeout=seconds + TIMEOUT_SECONDS + 60)
    report = next(
        (
            json.loads(line[len(MARKER) :])
            for line in finished.output.splitlines()
            if line.startswith(MARKER)
        ),
        None,
    )
    if report is None:
        raise RuntimeError(f"open-loop generator failed:\n{finished.output[-2000:]}")
    answered = sum(report["statuses"].values())
    return LoadResult(
        tool="open-loop",
        requests=answered,
        seconds=report["seconds"],
        latency_ms=report["latency_ms"],
        socket_errors=report["socket_errors"],
        statuses=report["statuses"],
        client_cpu_pct=100 * finished.cpu_seconds / max(report["seconds"], 1e-6),
        extra={
            "target_rate": rate,
            "sent": report["sent"],
            "connections": connections,
            "scheduler_lag_ms": report["scheduler_lag_ms"],
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen.openloop")
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("-H", dest="headers", action="append", default=[])
    args = parser.parse_args(argv)
    headers = dict(
        (name.strip(), value.strip()) for name, _, value in (h.partition(":") for h in args.headers)
    )
    report = asyncio.run(
        run(
            args.url,
            rate=args.rate,
            seconds=args.seconds,
            connections=args.connections,
            headers=headers,
        )
    )
    sys.stdout.write(MARKER + json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
