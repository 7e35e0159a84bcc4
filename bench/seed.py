"""Demo data for the bench, inside Django: `python -m bench.seed --appid X --secret S ...`.

Idempotent (the bench's databases are kept between runs). Prints one JSON
object: the mini-program, the albums to read, a /me token and the login users.
"""

import argparse
import json

import django

LOGIN_OPENID = "bench-user-{}"
# All load comes from one address: the per-IP login limit would answer 429
# after 120 logins a minute. The limit code still runs (one Redis INCR each).
BENCH_LOGIN_LIMIT = 10_000_000
FRESH_PLAYS = 9


def _program(appid: str, secret: str):
    from minihub.tenants.models import MiniProgram
    from minihub.tenants.services import miniprogram_create, miniprogram_update

    program = MiniProgram.objects.filter(appid=appid).first() or miniprogram_create(
        appid=appid, secret=secret, name="MiniHub bench"
    )
    return miniprogram_update(
        program=program,
        secret=secret,
        enabled=True,
        login_limit_per_ip=BENCH_LOGIN_LIMIT,
        login_limit_per_openid=BENCH_LOGIN_LIMIT,
    )


def _albums(program_id: int, count: int, fresh: int) -> tuple[int, list[int]]:
    """The album every read hits, and `fresh` albums for the ab study, with 9 plays each:
    the next play makes their JSON one byte longer."""
    from minihub.albums.models import Album
    from minihub.albums.services import album_seed

    album_seed(mini_program_id=program_id, count=count)
    ids = list(
        Album.objects.filter(mini_program_id=program_id).order_by("id").values_list("id", flat=True)
    )
    fresh_ids = ids[1 : 1 + fresh]
    # Their Redis counts were flushed by the bench; the rows are reset too.
    Album.objects.filter(id__in=fresh_ids).update(plays=FRESH_PLAYS, plays_batch="")
    return ids[0], fresh_ids


def _users(program_id: int, count: int):
    """Returning users for the login benchmark, and the first one for /me."""
    from minihub.accounts.models import User

    User.objects.bulk_create(
        [User(mini_program_id=program_id, openid=LOGIN_OPENID.format(n)) for n in range(count)],
        ignore_conflicts=True,
    )
    return User.objects.get(mini_program_id=program_id, openid=LOGIN_OPENID.format(0))


def seed(*, appid: str, secret: str, albums: int, fresh_albums: int, users: int) -> dict:
    from minihub.accounts.tokens import token_issue

    program = _program(appid, secret)
    album_id, fresh_ids = _albums(program.id, albums, fresh_albums)
    me = _users(program.id, users)
    return {
        "appid": appid,
        "mini_program_id": program.id,
        "album_id": album_id,
        "fresh_album_ids": fresh_ids,
        "token": token_issue(user=me).token,
        "login_openids": [LOGIN_OPENID.format(n) for n in range(users)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.seed")
    parser.add_argument("--appid", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--albums", type=int, default=100)
    parser.add_argument("--fresh-albums", type=int, default=4)
    parser.add_argument("--users", type=int, default=1000)
    args = parser.parse_args()
    django.setup()
    print(
        json.dumps(
            seed(
                appid=args.appid,
                secret=args.secret,
                albums=args.albums,
                fresh_albums=args.fresh_albums,
                users=args.users,
            )
        )
    )


if __name__ == "__main__":
    main()
