"""What is measured: (configuration, endpoint) pairs with their URL and headers."""

from dataclasses import dataclass, field

from bench.servers import Server
from bench.stack import Stack

# Paths per configuration; the baselines have no /api/v2 prefix and no tenant.
MINIHUB_PATHS = {
    "ping": "/api/v2/ping",
    "albums": "/api/v2/albums/{album_id}",
    "me": "/api/v2/me",
    "login": "/api/v2/auth/login",
}
PATHS = {
    "nginx-static": {"ping": "/ping"},
    "bare-wsgi": {"ping": "/ping"},
    "stock-django": {"ping": "/ping", "albums": "/albums/{album_id}"},
    "minihub": MINIHUB_PATHS,
    "minihub-without-figures": MINIHUB_PATHS,
    "minihub-granian": MINIHUB_PATHS,
    "minihub-nginx": MINIHUB_PATHS,
}
ENDPOINT_TITLES = {
    "ping": "GET /ping (plain JSON)",
    "albums": "GET /albums/<id> (1 row + 1 Redis read)",
    "me": "GET /me (token auth)",
    "login": "POST /auth/login (through the fake WeChat)",
}
# The floor every ratio is taken against.
FLOOR = "stock-django"
# Side by side at the headline concurrency, in this order. The ping and albums runs of a
# group's servers alternate, round after round (Steps.side_by_side).
SIDE_BY_SIDE = (
    ("nginx-static", "ping"),
    ("bare-wsgi", "ping"),
    ("stock-django", "ping"),
    ("minihub", "ping"),
    ("minihub-without-figures", "ping"),
    ("minihub-granian", "ping"),
    ("minihub-nginx", "ping"),
    ("stock-django", "albums"),
    ("minihub", "albums"),
    ("minihub-without-figures", "albums"),
    ("minihub-granian", "albums"),
    ("minihub-nginx", "albums"),
    ("minihub", "me"),
    ("minihub-granian", "me"),
    ("minihub", "login"),
)
ALTERNATED = ("ping", "albums")
# The sweep: the ping and albums lines, but not the variant without figures (a cost,
# measured side by side).
SWEEP = tuple(
    pair for pair in SIDE_BY_SIDE if pair[1] in ALTERNATED and pair[0] != "minihub-without-figures"
)


@dataclass(frozen=True)
class Probe:
    configuration: str
    endpoint: str
    server: Server
    path: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.base_url + self.path

    @property
    def label(self) -> str:
        return f"{self.configuration} {self.endpoint}"


def probe(stack: Stack, configuration: str, endpoint: str, server: Server | None = None) -> Probe:
    """`server`: another server of this configuration's kind (a matrix cell)."""
    data = stack.data
    headers = {}
    if configuration.startswith("minihub") and endpoint != "ping":
        headers["X-Mini-Program"] = data.appid
    if endpoint == "me":
        headers["Authorization"] = f"Bearer {data.token}"
    if endpoint == "login":
        headers["Content-Type"] = "application/json"
    return Probe(
        configuration=configuration,
        endpoint=endpoint,
        server=server or stack.servers[configuration],
        path=PATHS[configuration][endpoint].format(album_id=data.album_id),
        headers=headers,
    )
