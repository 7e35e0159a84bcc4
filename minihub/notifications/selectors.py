from minihub.notifications.models import OutboxMessage


def outbox_message_key_used(*, mini_program_id: int, idempotency_key: str) -> bool:
    """Whether a message with this idempotency key exists in this mini-program."""
    return OutboxMessage.objects.filter(
        mini_program_id=mini_program_id, idempotency_key=idempotency_key
    ).exists()
