"""`gunicorn bench.baselines.stock_django.wsgi:application` with gunicorn's own flags."""

import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.baselines.stock_django.settings"
application = get_wsgi_application()
