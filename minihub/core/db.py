"""Where a read goes when it must not be stale."""

from django.db import router


def on_primary(model):
    """`model`'s manager on the database it is written to, never a replica.

    For reads that decide access (is this mini-program enabled, is this token
    valid) or that follow a write in the same flow (the session key a login
    just stored): replicas lag, and a stale answer there is a wrong answer.
    """
    return model.objects.db_manager(router.db_for_write(model))
