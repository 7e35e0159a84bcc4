from django import forms
from django.contrib import admin
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from minihub.accounts.models import ApiToken, User
from minihub.accounts.services import user_block, user_unblock
from minihub.accounts.tokens import user_tokens_revoke

HASH_PREFIX_CHARS = 12


class ApiTokenInline(admin.TabularInline):
    """A user's tokens, read-only: never a token, only the first characters of its hash."""

    model = ApiToken
    fields = ["hash_prefix", "mini_program", "created_at", "expires_at", "revoked_at"]
    readonly_fields = fields
    ordering = ["-created_at"]
    extra = 0
    can_delete = False
    show_change_link = False

    @admin.display(description=_("token hash (prefix)"))
    def hash_prefix(self, token: ApiToken) -> str:
        return f"{token.key_hash[:HASH_PREFIX_CHARS]}…"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    """Read-mostly: users come from WeChat logins. The session key is never shown."""

    list_display = ["id", "mini_program", "openid", "nickname", "phone", "created_at", "blocked_at"]
    list_filter = ["mini_program"]
    inlines = [ApiTokenInline]
    actions = ["block_users", "unblock_users", "revoke_tokens"]
    search_fields = ["openid", "unionid", "nickname", "phone"]
    exclude = ["session_key"]
    readonly_fields = [
        "mini_program",
        "openid",
        "unionid",
        "created_at",
        "updated_at",
        "last_login_at",
        "blocked_at",
    ]

    formfield_overrides = {
        models.URLField: {"form_class": forms.URLField, "assume_scheme": "https"}
    }

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Block the selected users (revoke their tokens, refuse logins)"))
    def block_users(self, request, queryset):
        revoked = sum(user_block(user_id=user_id) for user_id in _ids(queryset))
        self.message_user(
            request,
            gettext("Blocked %(users)d user(s); %(tokens)d token(s) revoked.")
            % {"users": queryset.count(), "tokens": revoked},
        )

    @admin.action(description=_("Unblock the selected users"))
    def unblock_users(self, request, queryset):
        for user_id in _ids(queryset):
            user_unblock(user_id=user_id)
        self.message_user(
            request, gettext("Unblocked %(users)d user(s).") % {"users": queryset.count()}
        )

    @admin.action(description=_("Revoke every token of the selected users"))
    def revoke_tokens(self, request, queryset):
        revoked = sum(user_tokens_revoke(user_id=user_id) for user_id in _ids(queryset))
        self.message_user(request, gettext("%(tokens)d token(s) revoked.") % {"tokens": revoked})


def _ids(queryset) -> list[int]:
    return list(queryset.values_list("id", flat=True))
