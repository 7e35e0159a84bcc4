"""One progress line per step, with the time since the start."""

import sys
import time


class Progress:
    def __init__(self, stream=sys.stdout):
        self.stream = stream
        self.started = time.monotonic()
        self.step = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _stamp(self) -> str:
        minutes, seconds = divmod(int(self.elapsed), 60)
        return f"[bench {minutes:02d}:{seconds:02d} #{self.step:>3}]"

    def begin(self, text: str) -> None:
        """A step starts; its outcome follows on the same line (`end`)."""
        self.step += 1
        self.stream.write(f"{self._stamp()} {text} ... ")
        self.stream.flush()

    def end(self, outcome: str) -> None:
        self.stream.write(outcome + "\n")
        self.stream.flush()

    def say(self, text: str) -> None:
        self.step += 1
        self.stream.write(f"{self._stamp()} {text}\n")
        self.stream.flush()


def summary(result: dict) -> str:
    """`1,234 req/s, p99 5.6 ms, 0 errors` of a measurement's JSON."""
    return (
        f"{result['rps']:,.0f} req/s, p99 {result['latency_ms']['p99']:.1f} ms, "
        f"{result['error_total']} errors"
    )
