"""Pushed events in the admin: read-only, to answer "did WeChat tell us, and did we act?"."""

from django.contrib import admin

from minihub.wechat.models import PushEvent


@admin.register(PushEvent)
class PushEventAdmin(admin.ModelAdmin):
    list_display = ("id", "mini_program", "msg_type", "event", "received_at", "handled_at")
    list_filter = ("msg_type", "event", ("handled_at", admin.EmptyFieldListFilter))
    list_select_related = ("mini_program",)
    date_hierarchy = "received_at"
    readonly_fields = [field.name for field in PushEvent._meta.fields]

    # What WeChat sent is a record: nobody edits or invents one.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
