"""The HTTP side of the fake: request parsing, routing, the server and its command line."""

import argparse
import signal
import socket
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .control import CONTROL_ROUTES, answer_control
from .state import State
from .tokens import DEFAULT_TTL_SECONDS
from .wechat_api import WECHAT_ROUTES, answer_wechat
from .wire import Hold, Reply, Request, json_reply, not_found

MAX_BODY_BYTES = 1 << 20
READY_LINE = "fake wechat listening on {url}"


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    # Keep-alive, so benchmarks do not pay a TCP handshake per WeChat call.
    protocol_version = "HTTP/1.1"
    server_version = "FakeWeChat/1.0"
    # An idle keep-alive connection gives its thread back after this long.
    timeout = 120
    # Headers and body go out as separate small writes; with Nagle on, each
    # answer on a kept-alive connection would wait ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    server: "FakeWeChatServer"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        try:
            request = self._read_request(method)
        except BadRequest as error:
            self.close_connection = True
            self._send(json_reply({"error": str(error)}, status=error.status))
            return
        answer = self._route(request)
        if isinstance(answer, Hold):
            self._hold(answer.seconds)
        else:
            self._send(answer)

    def _route(self, request: Request) -> Reply | Hold:
        if request.path in WECHAT_ROUTES:
            return answer_wechat(self.server.state, request)
        if request.path in CONTROL_ROUTES:
            return answer_control(self.server.state, request)
        return not_found()

    def _read_request(self, method: str) -> Request:
        url = urlsplit(self.path)
        # Like the real server, a repeated query parameter counts once (the first).
        query: dict[str, str] = {}
        for name, value in parse_qsl(url.query, keep_blank_values=True):
            query.setdefault(name, value)
        return Request(method, url.path, query, self._read_body())

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise BadRequest(411, "send a Content-Length, chunked bodies are not supported")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise BadRequest(400, "bad Content-Length") from None
        if not 0 <= length <= MAX_BODY_BYTES:
            raise BadRequest(413, f"body over {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def _hold(self, seconds: float) -> None:
        # A "timeout" fault: say nothing, then hang up. Shutdown cuts the wait short.
        self.server.stopping.wait(seconds)
        self.close_connection = True

    def log_message(self, format: str, *args) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class FakeWeChatServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], state: State, verbose: bool = False):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.state = state
        self.verbose = verbose
        self.stopping = threading.Event()
        super().__init__(address, Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would also do a reverse DNS lookup (getfqdn),
        # which can stall start-up for seconds on a machine without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def server_close(self) -> None:
        self.stopping.set()
        super().server_close()


def _app(value: str) -> tuple[str, str]:
    appid, sep, secret = value.partition(":")
    if not (sep and appid and secret):
        raise argparse.ArgumentTypeError("expected APPID:SECRET")
    return appid, secret


def _positive_seconds(value: str) -> float:
    seconds = float(value)
    if seconds <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return seconds


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.fake_wechat", description="Fake WeChat API server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument(
        "--token-ttl",
        type=_positive_seconds,
        default=DEFAULT_TTL_SECONDS,
        help="access token lifetime in seconds (default 7200)",
    )
    parser.add_argument(
        "--app",
        type=_app,
        action="append",
        default=[],
        metavar="APPID:SECRET",
        help="register an app at start (repeatable); /__fake__/reset forgets it too",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser.parse_args(argv)


class _Stop(BaseException):
    """Raised by the SIGTERM and SIGINT handlers to leave serve_forever.

    A BaseException, as KeyboardInterrupt is: the signal may land while the main
    thread is inside socketserver's request handling, whose `except Exception`
    would log it and keep serving.
    """


def _raise_stop(signum, frame) -> None:
    raise _Stop


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    state = State(token_ttl=args.token_ttl)
    state.apps.update(args.app)
    server = FakeWeChatServer((args.host, args.port), state, verbose=args.verbose)
    # Explicitly: a process started in the background of a shell inherits an
    # ignored SIGINT, and Ctrl-C (or a test's SIGINT) must still stop it.
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    print(READY_LINE.format(url=server.url), flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        server.server_close()
    print("fake wechat stopped", file=sys.stderr, flush=True)
    return 0
