from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "minihub.tenants"
    label = "tenants"
    verbose_name = "Mini-programs"
