"""`gunicorn bench.baselines.django_min.wsgi:application -c deploy/gunicorn.conf.py`"""

import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.baselines.django_min.settings"
application = get_wsgi_application()
