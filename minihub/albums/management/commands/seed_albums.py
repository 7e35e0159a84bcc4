"""`seed_albums --appid X --count N`: demo and benchmark albums for one mini-program."""

from django.core.management.base import BaseCommand, CommandError

from minihub.albums.services import album_seed
from minihub.tenants.selectors import miniprogram_get


class Command(BaseCommand):
    help = "Top a mini-program up to N albums (3-12 tracks each, CJK and emoji titles)."

    def add_arguments(self, parser):
        parser.add_argument("--appid", required=True)
        parser.add_argument("--count", type=int, default=100)

    def handle(self, *args, appid: str, count: int, **options):
        if count < 0:
            raise CommandError("--count must be 0 or more.")
        program = miniprogram_get(appid=appid)
        if program is None:
            raise CommandError(f"No mini-program {appid}: add it with `miniprogram add` first.")
        created = album_seed(mini_program_id=program.id, count=count)
        self.stdout.write(f"{appid}: created {created} albums ({count} wanted).")
