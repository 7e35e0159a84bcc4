from django import forms
from django.contrib import admin
from django.db import models

from minihub.accounts.models import User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    """Read-mostly: users come from WeChat logins. The session key is never shown."""

    list_display = ["id", "mini_program", "openid", "nickname", "phone", "created_at"]
    list_filter = ["mini_program"]
    search_fields = ["openid", "unionid", "nickname", "phone"]
    exclude = ["session_key"]
    readonly_fields = [
        "mini_program",
        "openid",
        "unionid",
        "created_at",
        "updated_at",
        "last_login_at",
    ]

    formfield_overrides = {
        models.URLField: {"form_class": forms.URLField, "assume_scheme": "https"}
    }

    def has_add_permission(self, request):
        return False
