from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "minihub.core"
    label = "core"
    verbose_name = "MiniHub core"

    def ready(self):
        from minihub.core import checks  # noqa: F401 - registers them
