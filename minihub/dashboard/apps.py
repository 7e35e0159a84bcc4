from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    name = "minihub.dashboard"
    label = "dashboard"
    verbose_name = _("Dashboard")

    def ready(self):
        from minihub.core.figures import wechat_call_observe
        from minihub.integrations.wechat.client import call_observers

        # Every WeChat call, counted for the mini-program it was made for.
        if wechat_call_observe not in call_observers:
            call_observers.append(wechat_call_observe)
