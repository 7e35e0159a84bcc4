"""Who handles which pushed event. Apps subscribe in their AppConfig.ready(), so this app
needs to import none of them; a stored event's job runs every handler of its event type.

A handler takes the PushEvent and runs inside the transaction that marks the event handled:
raising rolls both back and the job retries, so a handler must be safe to run again.
"""

from collections.abc import Callable

from minihub.wechat.models import PushEvent

PushEventHandler = Callable[[PushEvent], None]

_handlers: dict[str, list[PushEventHandler]] = {}


def push_event_subscribe(event: str, handler: PushEventHandler) -> None:
    """Have `handler` run for each pushed event of this type (MsgType "event", this Event)."""
    subscribed = _handlers.setdefault(event, [])
    if handler not in subscribed:  # ready() may run more than once (tests, reloads)
        subscribed.append(handler)


def push_event_handlers(event: str) -> tuple[PushEventHandler, ...]:
    return tuple(_handlers.get(event, ()))
