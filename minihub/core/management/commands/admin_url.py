from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print the path of the admin site (in production it is derived, not /admin/)."

    def handle(self, *args, **options):
        self.stdout.write("/" + settings.ADMIN_URL)
