"""Writes that span apps."""

from django.apps import apps
from django.db import transaction

from minihub.core.encryption import EncryptedTextField


def encrypted_fields_reencrypt() -> dict[str, int]:
    """Re-encrypt every encrypted column under the first key of FIELD_ENCRYPTION_KEYS.

    After a rotation (new key put first, old keys kept after it), this rewrites
    each row so the old keys can then be removed. Returns rows per model.
    """
    counts = {}
    for model in apps.get_models():
        fields = [f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)]
        if not fields:
            continue
        count = 0
        with transaction.atomic(using=model.objects.db):
            for obj in model.objects.select_for_update().only("pk", *fields).iterator():
                # Loading decrypts with any key; saving encrypts with the first.
                obj.save(update_fields=fields)
                count += 1
        counts[model._meta.label] = count
    return counts
