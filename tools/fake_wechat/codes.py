"""One-time codes: the wx.login codes and the getPhoneNumber codes."""

import secrets
from dataclasses import dataclass, field

from .errors import WeChatError

CODE_TTL_SECONDS = 300  # both kinds of code live 5 minutes, like the real ones
PRUNE_THRESHOLD = 10_000


@dataclass
class OneTimeCode:
    appid: str
    created_at: float
    payload: dict = field(default_factory=dict)
    used: bool = False


class CodeStore:
    """Codes that belong to one appid and can be redeemed once, within 5 minutes."""

    def __init__(self):
        self._codes: dict[str, OneTimeCode] = {}
        self._prune_at = PRUNE_THRESHOLD

    def create(self, appid: str, payload: dict, now: float, age_seconds: float = 0.0) -> str:
        self._forget_stale(now)
        code = secrets.token_urlsafe(24)  # 32 characters, like a real wx.login code
        self._codes[code] = OneTimeCode(appid, now - age_seconds, payload)
        return code

    def redeem(self, code: str, appid: str, now: float) -> OneTimeCode:
        entry = self._codes.get(code)
        # A code shown to another appid is as unknown to it as a made-up one.
        if entry is None or entry.appid != appid:
            raise WeChatError(40029)
        if entry.used:
            raise WeChatError(40163)
        if now - entry.created_at > CODE_TTL_SECONDS:
            raise WeChatError(40029)
        entry.used = True
        return entry

    def _forget_stale(self, now: float) -> None:
        # A login benchmark creates codes without end; expired ones can only
        # answer an error, so they go once the store has grown (amortised O(1)).
        if len(self._codes) < self._prune_at:
            return
        self._codes = {
            code: entry
            for code, entry in self._codes.items()
            if now - entry.created_at <= CODE_TTL_SECONDS
        }
        self._prune_at = max(PRUNE_THRESHOLD, 2 * len(self._codes))
