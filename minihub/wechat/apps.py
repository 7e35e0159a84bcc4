from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WeChatConfig(AppConfig):
    name = "minihub.wechat"
    label = "wechat"
    verbose_name = _("WeChat platform")
