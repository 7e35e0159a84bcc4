from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "minihub.notifications"
    label = "notifications"
    verbose_name = _("Subscribe messages")

    def ready(self):
        from minihub.notifications.services import subscription_popup_event_handle
        from minihub.wechat.push_subscribers import push_event_subscribe

        push_event_subscribe("subscribe_msg_popup_event", subscription_popup_event_handle)
