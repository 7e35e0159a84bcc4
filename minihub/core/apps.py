from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "minihub.core"
    label = "core"
    verbose_name = "MiniHub core"
