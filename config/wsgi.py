"""WSGI entry point. DJANGO_SETTINGS_MODULE must be set: a server never guesses its environment."""

import os

from django.core.exceptions import ImproperlyConfigured

from minihub.core.wsgi import get_wsgi_application

if not os.environ.get("DJANGO_SETTINGS_MODULE"):
    raise ImproperlyConfigured(
        "The environment variable DJANGO_SETTINGS_MODULE is required "
        "(config.settings.test or config.settings.master)."
    )

application = get_wsgi_application()
