"""python manage.py miniprogram add | list | disable | enable"""

import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from minihub.tenants.models import MiniProgram
from minihub.tenants.selectors import miniprogram_list
from minihub.tenants.services import miniprogram_create, miniprogram_set_enabled


class Command(BaseCommand):
    help = "Register, list, disable or enable mini-programs."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="register a mini-program")
        add.add_argument("--appid", required=True)
        add.add_argument("--secret", required=True, help="AppSecret; '-' reads it from stdin")
        add.add_argument("--name", default="")
        add.add_argument("--push-token", default="")
        add.add_argument("--aes-key", default="", help="EncodingAESKey (43 characters)")
        add.add_argument("--content-checks", action="store_true", help="check nicknames")
        actions.add_parser("list", help="list mini-programs (never their secrets)")
        for action in ("disable", "enable"):
            sub = actions.add_parser(action, help=f"{action} a mini-program")
            sub.add_argument("--appid", required=True)

    def handle(self, *args, action: str, **options):
        getattr(self, f"_{action}")(**options)

    def _add(self, *, appid, secret, name, push_token, aes_key, content_checks, **_):
        if secret == "-":  # noqa: S105 - the stdin marker, not a secret
            secret = sys.stdin.readline().strip()
        try:
            program = miniprogram_create(
                appid=appid,
                secret=secret,
                name=name,
                push_token=push_token,
                aes_key=aes_key,
                content_check_enabled=content_checks,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"added {program.appid} ({program.name or 'no name'})")

    def _list(self, **_):
        rows = miniprogram_list()
        self.stdout.write(f"{'appid':<20} {'enabled':<8} {'checks':<7} name")
        for program in rows:
            self.stdout.write(
                f"{program.appid:<20} {'yes' if program.enabled else 'no':<8} "
                f"{'on' if program.content_check_enabled else 'off':<7} {program.name}"
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
