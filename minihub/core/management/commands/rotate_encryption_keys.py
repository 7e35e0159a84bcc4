from django.core.management.base import BaseCommand

from minihub.core.services import encrypted_fields_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every secret at rest under the first key of FIELD_ENCRYPTION_KEYS. "
        "Rotation: put the new key first, keep the old ones after it, run this, "
        "then drop the old keys."
    )

    def handle(self, *args, **options):
        for label, count in encrypted_fields_reencrypt().items():
            self.stdout.write(f"{label}: {count} rows re-encrypted")
