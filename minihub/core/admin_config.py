from django.contrib.admin.apps import AdminConfig


class MiniHubAdminConfig(AdminConfig):
    """Django's admin, on MiniHub's site (throttled login)."""

    default_site = "minihub.core.admin_site.MiniHubAdminSite"
