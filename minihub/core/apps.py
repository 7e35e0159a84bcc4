from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "minihub.core"
    label = "core"
    verbose_name = _("MiniHub core")

    def ready(self):
        from minihub.core import checks  # noqa: F401 - registers them
