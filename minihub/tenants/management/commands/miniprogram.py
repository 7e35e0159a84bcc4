"""python manage.py miniprogram add | list | disable | enable

Secrets given as "-" are read from standard input, one line each in the
order --secret, --push-token, --aes-key; "@PATH" reads one from a file. Both
keep them out of `ps` and the shell's history.
"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from minihub.core.errors import ApiError
from minihub.tenants.models import MiniProgram, PushMode
from minihub.tenants.selectors import miniprogram_list
from minihub.tenants.services import miniprogram_create, miniprogram_set_enabled

VALUE_SOURCES = "'-' reads it from stdin, '@PATH' from a file"


def _secret_value(given: str) -> str:
    if given == "-":
        return sys.stdin.readline().strip()
    if given.startswith("@"):
        path = Path(given[1:])
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
    return given


class Command(BaseCommand):
    help = "Register, list, disable or enable mini-programs."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="register a mini-program")
        add.add_argument("--appid", required=True)
        add.add_argument("--secret", required=True, help=f"AppSecret; {VALUE_SOURCES}")
        add.add_argument("--name", default="")
        add.add_argument("--push-token", default="", help=f"message push Token; {VALUE_SOURCES}")
        add.add_argument(
            "--aes-key", default="", help=f"EncodingAESKey (43 characters); {VALUE_SOURCES}"
        )
        add.add_argument(
            "--push-mode",
            choices=PushMode.values,
            help="message push mode as set in WeChat's console (default: safe with an "
            "EncodingAESKey, else plain)",
        )
        add.add_argument("--content-checks", action="store_true", help="check nicknames")
        actions.add_parser("list", help="list mini-programs (never their secrets)")
        for action in ("disable", "enable"):
            sub = actions.add_parser(action, help=f"{action} a mini-program")
            sub.add_argument("--appid", required=True)

    def handle(self, *args, action: str, **options):
        getattr(self, f"_{action}")(**options)

    def _add(self, *, appid, secret, name, push_token, aes_key, push_mode, content_checks, **_):
        try:
            program = miniprogram_create(
                appid=appid,
                secret=_secret_value(secret),
                name=name,
                push_token=_secret_value(push_token),
                aes_key=_secret_value(aes_key),
                push_mode=push_mode,
                content_check_enabled=content_checks,
            )
        except ApiError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"added {program.appid} ({program.name or 'no name'})")

    def _list(self, **_):
        self.stdout.write(f"{'appid':<20} {'enabled':<8} {'checks':<7} {'push':<11} name")
        for program in miniprogram_list():
            self.stdout.write(
                f"{program.appid:<20} {'yes' if program.enabled else 'no':<8} "
                f"{'on' if program.content_check_enabled else 'off':<7} "
                f"{program.push_mode:<11} {program.name}"
            )

    def _disable(self, *, appid, **_):
        self._set_enabled(appid, False)

    def _enable(self, *, appid, **_):
        self._set_enabled(appid, True)

    def _set_enabled(self, appid: str, enabled: bool):
        try:
            miniprogram_set_enabled(appid=appid, enabled=enabled)
        except MiniProgram.DoesNotExist as exc:
            raise CommandError(f"No mini-program with appid {appid}.") from exc
        self.stdout.write(f"{appid} {'enabled' if enabled else 'disabled'}")
