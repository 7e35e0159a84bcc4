from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "minihub.notifications"
    label = "notifications"
    verbose_name = "Subscribe messages"

    def ready(self):
        from minihub.notifications.services import subscription_popup_event_handle
        from minihub.wechat.push_subscribers import push_event_subscribe

        push_event_subscribe("subscribe_msg_popup_event", subscription_popup_event_handle)
