"""What the dashboard shows: figures per hour or day (database plus the hours still in
Redis), and the current state of a mini-program."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import django_rq
import redis
from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from minihub.core import figures
from minihub.core.redis import get_redis
from minihub.dashboard.models import Figure, FigureHour
from minihub.dashboard.services import hour_figures_read, parse_hour
from minihub.notifications.models import OutboxMessage
from minihub.tenants.access_tokens import TOKEN_KEY
from minihub.tenants.models import MiniProgram
from minihub.wechat.models import PushEvent


@dataclass(frozen=True)
class Window:
    name: str
    hours: int
    step_hours: int  # 1: a point per hour; 24: a point per day


WINDOWS = {
    "24h": Window("24h", 24, 1),
    "7d": Window("7d", 7 * 24, 24),
    "30d": Window("30d", 30 * 24, 24),
}

# Counters charted as lines, by the name the page's data gives them.
SERIES = {
    "logins_new": figures.LOGIN_NEW,
    "logins_returning": figures.LOGIN_RETURNING,
    "api_requests": figures.API_REQUESTS,
    "plays": figures.PLAYS,
    "token_refreshes": figures.TOKEN_REFRESHES,
    "token_failures": figures.TOKEN_FAILURES,
}


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _hours_of(mini_program_ids: list[int], start: datetime) -> dict[int, dict[datetime, dict]]:
    """mini-program -> hour -> {"counters": {...}, "active": n}, from both places."""
    hours: dict[int, dict[datetime, dict]] = defaultdict(dict)
    records = FigureHour.objects.filter(mini_program_id__in=mini_program_ids, hour__gte=start)
    by_record = {}
    for record in records:
        entry = {"counters": {}, "active": record.active_users}
        hours[record.mini_program_id][record.hour] = entry
        by_record[record.id] = entry
    for figure in Figure.objects.filter(hour_record_id__in=list(by_record)):
        by_record[figure.hour_record_id]["counters"][figure.name] = figure.value
    try:
        pending = get_redis().smembers(figures.PENDING_HOURS_KEY)
    except redis.RedisError:
        pending = set()
    for member in pending:
        program_part, hour = member.decode().split(":")
        mini_program_id = int(program_part)
        moment = parse_hour(hour)
        if mini_program_id in mini_program_ids and moment >= start:
            if moment in hours[mini_program_id]:
                continue  # rolled up already; Redis is only waiting to forget it
            counters, active = hour_figures_read(mini_program_id=mini_program_id, hour=hour)
            hours[mini_program_id][moment] = {"counters": counters, "active": active}
    return hours


def _percentile(buckets: dict[int, int], share: float) -> int | None:
    """The upper bound (ms) of the bucket holding the `share` quantile."""
    total = sum(buckets.values())
    if not total:
        return None
    seen = 0
    for bound in sorted(buckets):
        seen += buckets[bound]
        if seen >= share * total:
            return bound
    return None


def _details(counters: dict[str, int]) -> dict:
    """Totals by kind: API errors by status, WeChat calls by endpoint, subscribe, push."""
    api_errors: dict[str, int] = defaultdict(int)
    subscribe: dict[str, int] = defaultdict(int)
    push: dict[str, int] = defaultdict(int)
    calls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    latency: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for name, value in counters.items():
        rest = name.partition("|")[2]
        if name.startswith(figures.API_ERRORS):
            api_errors[rest] += value
        elif name.startswith(figures.SUBSCRIBE):
            subscribe[rest] += value
        elif name.startswith(figures.PUSH):
            push[rest] += value
        elif name.startswith(figures.WECHAT_CALLS):
            path, _, errcode = rest.rpartition("|")
            calls[path][errcode] += value
        elif name.startswith(figures.WECHAT_LATENCY):
            path, _, bound = rest.rpartition("|")
            latency[path][int(bound)] += value
    wechat = [
        {
            "endpoint": path,
            "calls": sum(by_code.values()),
            "errors": sum(n for code, n in by_code.items() if code != "0"),
            "errcodes": dict(sorted(by_code.items())),
            "p50_ms": _percentile(latency[path], 0.5),
            "p95_ms": _percentile(latency[path], 0.95),
        }
        for path, by_code in sorted(calls.items())
    ]
    return {
        "api_errors": dict(sorted(api_errors.items())),
        "subscribe": dict(sorted(subscribe.items())),
        "push": dict(sorted(push.items())),
        "wechat": wechat,
    }


def figures_chart(*, mini_program_id: int, window: str, now: datetime | None = None) -> dict:
    """The page's data for one mini-program and window: labels, series and totals."""
    spec = WINDOWS[window]
    end = _floor_hour(now or timezone.now())
    start = end - timedelta(hours=spec.hours - 1)
    if spec.step_hours == 24:
        # Whole days: today and the N days before it, whatever the hour now (a start
        # counted in hours would lose the first day in the last hour of each day).
        start = end.replace(hour=0) - timedelta(hours=spec.hours)
    hours = _hours_of([mini_program_id], start)[mini_program_id]
    points = []
    moment = start
    while moment <= end:
        points.append(moment)
        moment += timedelta(hours=spec.step_hours)
    series = {name: [0] * len(points) for name in (*SERIES, "active_users", "api_errors")}
    series["wechat_calls"] = [0] * len(points)
    series["wechat_errors"] = [0] * len(points)
    totals: dict[str, int] = defaultdict(int)
    for moment, entry in hours.items():
        index = int((moment - start).total_seconds() // 3600) // spec.step_hours
        if not 0 <= index < len(points):
            continue
        counters = entry["counters"]
        for key, name in SERIES.items():
            series[key][index] += counters.get(name, 0)
        # Distinct users do not add up across hours: a day shows its busiest hour.
        series["active_users"][index] = max(series["active_users"][index], entry["active"])
        for name, value in counters.items():
            totals[name] += value
            if name.startswith(figures.API_ERRORS):
                series["api_errors"][index] += value
            elif name.startswith(figures.WECHAT_CALLS):
                series["wechat_calls"][index] += value
                if not name.endswith("|0"):
                    series["wechat_errors"][index] += value
    label_format = "%m-%d %H:00" if spec.step_hours == 1 else "%Y-%m-%d"
    return {
        "window": window,
        "labels": [moment.strftime(label_format) for moment in points],
        "series": series,
        "totals": {key: sum(values) for key, values in series.items() if key != "active_users"},
        **_details(totals),
    }


def mini_program_state(*, mini_program: MiniProgram) -> dict:
    """Now: the access token's age and expiry, the job queues, the outbox, the last push."""
    client = get_redis()
    ttl = client.ttl(TOKEN_KEY.format(appid=mini_program.appid))
    fetched = client.get(figures.TOKEN_FETCHED_KEY.format(mini_program_id=mini_program.id))
    now = timezone.now()
    token = {
        "present": ttl is not None and ttl > 0,
        # Kept in Redis until WECHAT_TOKEN_REFRESH_MARGIN_SECONDS before WeChat's expiry.
        "expires_in_seconds": ttl + settings.WECHAT_TOKEN_REFRESH_MARGIN_SECONDS
        if ttl and ttl > 0
        else None,
        "age_seconds": int(now.timestamp()) - int(fetched) if fetched else None,
    }
    queues = []
    for name in settings.JOB_QUEUES:
        queue = django_rq.get_queue(name)
        queues.append(
            {"name": name, "queued": queue.count, "failed": queue.failed_job_registry.count}
        )
    outbox = dict(
        OutboxMessage.objects.filter(mini_program=mini_program)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    last_push = (
        PushEvent.objects.filter(mini_program=mini_program)
        .order_by("-received_at")
        .values_list("received_at", flat=True)
        .first()
    )
    return {
        "token": token,
        "queues": queues,
        "outbox": {status: outbox.get(status, 0) for status in OutboxMessage.Status.values},
        "last_push": last_push.isoformat() if last_push else None,
    }


def overview(*, window: str, now: datetime | None = None) -> dict:
    """Every mini-program side by side: the window's totals."""
    rows = []
    for program in MiniProgram.objects.order_by("name", "appid"):
        chart = figures_chart(mini_program_id=program.id, window=window, now=now)
        rows.append(
            {
                "id": program.id,
                "appid": program.appid,
                "name": program.name,
                "enabled": program.enabled,
                "totals": chart["totals"],
                "active_users_peak": max(chart["series"]["active_users"], default=0),
            }
        )
    return {"window": window, "rows": rows}
