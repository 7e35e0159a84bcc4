"""How long and at which points each part of the bench runs: full, or --quick for smoke use."""

from dataclasses import asdict, dataclass

# MiniHub's targets are stated at 64 connections.
HEADLINE_CONNECTIONS = 64


@dataclass(frozen=True)
class Plan:
    mode: str
    warmup_seconds: int
    side_by_side_seconds: int  # each endpoint and baseline at HEADLINE_CONNECTIONS
    rounds: int  # alternating rounds of the ping and albums runs; each keeps its median
    cost_pairs: int  # back-to-back pairs, with and without figures, on /albums/<id>
    cost_seconds: int
    sweep_concurrency: tuple[int, ...]
    sweep_seconds: int
    matrix_seconds: int
    matrix_warmup_seconds: int  # each cell is a freshly started gunicorn
    ab_seconds: int  # the seed's `-t`
    ab_requests: int  # the seed's `-n`
    ab_concurrency: int
    rate_fractions: tuple[float, ...]  # open-loop rates, as fractions of the wrk maximum
    rate_seconds: int
    profile_seconds: int
    albums: int = 100
    login_users: int = 1000

    def to_json(self) -> dict:
        return {**asdict(self), "headline_connections": HEADLINE_CONNECTIONS}


# About 15 minutes on a 2-core machine.
FULL = Plan(
    mode="full",
    warmup_seconds=2,
    side_by_side_seconds=8,
    rounds=3,
    cost_pairs=8,
    cost_seconds=5,
    sweep_concurrency=(1, 10, 50, 100, 200, 500, 1000),
    sweep_seconds=5,
    matrix_seconds=8,
    matrix_warmup_seconds=2,
    ab_seconds=10,
    ab_requests=2000,
    ab_concurrency=100,
    rate_fractions=(0.5, 0.8),
    rate_seconds=10,
    profile_seconds=15,
)

# Under 2 minutes, same report structure, figures too short to quote.
QUICK = Plan(
    mode="quick",
    warmup_seconds=1,
    side_by_side_seconds=1,
    rounds=2,
    cost_pairs=2,
    cost_seconds=1,
    sweep_concurrency=(10, 1000),
    sweep_seconds=1,
    matrix_seconds=1,
    matrix_warmup_seconds=1,
    ab_seconds=1,
    ab_requests=300,
    ab_concurrency=50,
    rate_fractions=(0.5,),
    rate_seconds=2,
    profile_seconds=3,
    albums=20,
    login_users=100,
)
