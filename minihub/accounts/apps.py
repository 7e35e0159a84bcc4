from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "minihub.accounts"
    label = "accounts"
    verbose_name = "Mini-program users"
