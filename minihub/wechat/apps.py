from django.apps import AppConfig


class WeChatConfig(AppConfig):
    name = "minihub.wechat"
    label = "wechat"
    verbose_name = "WeChat platform"
