from minihub.accounts.models import User
from minihub.core.db import on_primary


def user_get(*, user_id: int, mini_program_id: int) -> User | None:
    """A user of this mini-program, or None; always scoped, never by id alone.

    From the primary: a request right after a login must see the session key
    that login stored (a lagging replica answers with the previous one)."""
    return on_primary(User).filter(id=user_id, mini_program_id=mini_program_id).first()


def user_id_for_openid(*, mini_program_id: int, openid: str) -> int | None:
    """The id of this mini-program's user with this openid, if that user ever logged in.

    From the primary: a push often follows the user's first login by seconds."""
    return (
        on_primary(User)
        .filter(mini_program_id=mini_program_id, openid=openid)
        .values_list("id", flat=True)
        .first()
    )
