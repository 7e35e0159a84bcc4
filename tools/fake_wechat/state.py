"""Everything the fake remembers, in memory, behind one lock (the server is threaded)."""

import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass

from .codes import CodeStore
from .errors import WeChatError
from .tokens import DEFAULT_TTL_SECONDS, TokenStore


@dataclass
class Fault:
    errcode: int | str  # an errcode, or "timeout"
    times: int
    delay: float


class State:
    def __init__(self, token_ttl: float = DEFAULT_TTL_SECONDS):
        self.lock = threading.Lock()
        self.token_ttl = token_ttl
        self.reset()

    def reset(self) -> None:
        """Forget everything: apps, codes, tokens, faults, messages, stats, clock shift."""
        self.apps: dict[str, str] = {}
        self.login_codes = CodeStore()
        self.phone_codes = CodeStore()
        self.tokens = TokenStore(self.token_ttl)
        self.faults: dict[str, Fault] = {}
        self.messages: list[dict] = []
        self.stats: Counter[str] = Counter()
        self.clock_shift = 0.0
        # msgids look like the real ones: large integers, unique within a run.
        self._next_msgid = 2_000_000_000 + secrets.randbelow(1_000_000_000)

    def now(self) -> float:
        return time.time() + self.clock_shift

    def check_app(self, appid: str | None, secret: str | None) -> None:
        """The checks every call carrying appid + secret goes through."""
        if not appid:
            raise WeChatError(41002)
        if appid not in self.apps:
            raise WeChatError(40013)
        if not secret:
            raise WeChatError(41004)
        if not secrets.compare_digest(secret.encode(), self.apps[appid].encode()):
            raise WeChatError(40125)

    def take_fault(self, path: str) -> Fault | None:
        """The fault the next call of `path` must suffer, if any, used up after `times` calls."""
        fault = self.faults.get(path)
        if fault is None:
            return None
        fault.times -= 1
        if fault.times <= 0:
            del self.faults[path]
        return fault

    def record_message(self, message: dict) -> int:
        msgid = self._next_msgid
        self._next_msgid += 1
        self.messages.append({**message, "msgid": msgid})
        return msgid
