"""Figures' periodic jobs (config/cron.py)."""

ROLL_UP_TIMEOUT_SECONDS = 600


def figures_roll_up_job() -> int:
    from minihub.dashboard.services import figures_roll_up

    return figures_roll_up()


def figures_prune_job() -> int:
    from minihub.dashboard.services import figures_prune

    return figures_prune()
