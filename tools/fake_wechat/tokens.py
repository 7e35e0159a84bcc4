"""Access tokens, with the two issuing disciplines of the real platform.

- /cgi-bin/token issues a new token on every call; the app's earlier tokens
  stay valid for 5 more minutes only (the "40001 storm" when several
  processes refresh on their own).
- /cgi-bin/stable_token returns the same token until it enters its renewal
  window; a renewed token does not kill the old one, which lives until its
  own expiry. force_refresh issues a new token and kills the old one at once,
  and is rationed.

The two kinds are independent, as on the real platform: one never
invalidates the other.
"""

import secrets
from collections import defaultdict
from dataclasses import dataclass

from .errors import WeChatError

DEFAULT_TTL_SECONDS = 7200
ROTATION_OVERLAP_SECONDS = 300
STABLE_RENEW_WINDOW_SECONDS = 300
# Force refreshes: at most 20 in any 24 hours (a rolling window rather than a
# calendar day, so the rule needs no time zone) -> 45009 "daily quota"; and
# not within 30 s of the previous one -> 45011 "minute quota". The daily
# budget is checked first: once it is spent, waiting 30 s does not help.
FORCE_REFRESH_PER_DAY = 20
FORCE_REFRESH_SPACING_SECONDS = 30
DAY_SECONDS = 86400


@dataclass
class Token:
    appid: str
    expires_at: float
    invalid_from: float | None = None  # killed (by rotation or force_refresh) before expiry

    def invalidate(self, at: float) -> None:
        self.invalid_from = at if self.invalid_from is None else min(self.invalid_from, at)

    def killed(self, now: float) -> bool:
        return (
            self.invalid_from is not None
            and self.invalid_from < self.expires_at
            and now >= self.invalid_from
        )

    def alive(self, now: float) -> bool:
        return now < self.expires_at and not self.killed(now)


class TokenStore:
    def __init__(self, ttl: float = DEFAULT_TTL_SECONDS):
        self.ttl = ttl
        # Keep the real proportions (5 min of 2 h) when tests shorten the TTL.
        self.renew_window = ttl * STABLE_RENEW_WINDOW_SECONDS / DEFAULT_TTL_SECONDS
        self._tokens: dict[str, Token] = {}
        self._basic: dict[str, list[str]] = defaultdict(list)
        self._stable: dict[str, str] = {}
        self._force_refreshes: dict[str, list[float]] = defaultdict(list)

    def issue_basic(self, appid: str, now: float) -> tuple[str, int]:
        """/cgi-bin/token: always a new token; the earlier ones get 5 more minutes."""
        earlier = [t for t in self._basic[appid] if self._tokens[t].alive(now)]
        for token in earlier:
            self._tokens[token].invalidate(now + ROTATION_OVERLAP_SECONDS)
        token = self._new(appid, now)
        self._basic[appid] = [*earlier, token]
        return token, int(self.ttl)

    def stable(self, appid: str, now: float, force_refresh: bool) -> tuple[str, int]:
        """/cgi-bin/stable_token: the current token, renewed only near its expiry."""
        if force_refresh:
            self._spend_force_refresh(appid, now)
            current = self._tokens.get(self._stable.get(appid, ""))
            if current is not None:
                current.invalidate(now)
        else:
            current = self._tokens.get(self._stable.get(appid, ""))
            if current is not None and current.expires_at - now > self.renew_window:
                return self._stable[appid], int(current.expires_at - now)
        self._stable[appid] = self._new(appid, now)
        return self._stable[appid], int(self.ttl)

    def appid_for(self, access_token: str | None, now: float) -> str:
        """The app a token-using call acts for, or the error the real server gives."""
        if not access_token:
            raise WeChatError(41001)
        token = self._tokens.get(access_token)
        if token is None or token.killed(now):
            raise WeChatError(40001)
        if now >= token.expires_at:
            raise WeChatError(42001)
        return token.appid

    def _new(self, appid: str, now: float) -> str:
        token = secrets.token_urlsafe(96)  # real tokens are long opaque strings
        self._tokens[token] = Token(appid, now + self.ttl)
        return token

    def _spend_force_refresh(self, appid: str, now: float) -> None:
        recent = [t for t in self._force_refreshes[appid] if now - t < DAY_SECONDS]
        if len(recent) >= FORCE_REFRESH_PER_DAY:
            raise WeChatError(45009)
        if recent and now - recent[-1] < FORCE_REFRESH_SPACING_SECONDS:
            raise WeChatError(45011)
        self._force_refreshes[appid] = [*recent, now]
