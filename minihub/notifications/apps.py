from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "minihub.notifications"
    label = "notifications"
    verbose_name = "Subscribe messages"
