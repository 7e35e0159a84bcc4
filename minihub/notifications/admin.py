"""Subscribe messages in the admin: the outbox (with "send again"), a form to send one, grants."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from minihub.notifications.models import OutboxMessage, SubscriptionGrant
from minihub.notifications.selectors import outbox_message_key_used
from minihub.notifications.services import outbox_message_resend, subscribe_message_send

Status = OutboxMessage.Status


class SendMessageForm(forms.ModelForm):
    """The "add" page sends one message, through subscribe_message_send as code does."""

    data = forms.JSONField(
        label=_("data"),
        help_text=_('The template\'s fields, e.g. {"thing1": {"value": "Your order shipped"}}.'),
    )

    class Meta:
        model = OutboxMessage
        fields = ["user", "template_id", "page", "data", "idempotency_key"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A fresh key per form: the same form submitted twice sends once (clean() refuses it).
        self.fields["idempotency_key"].initial = f"admin-{uuid.uuid4().hex}"

    def clean(self):
        cleaned = super().clean()
        user, key = cleaned.get("user"), cleaned.get("idempotency_key")
        if (
            user
            and key
            and outbox_message_key_used(mini_program_id=user.mini_program_id, idempotency_key=key)
        ):
            self.add_error(
                "idempotency_key", gettext("Already used: that message was queued before.")
            )
        return cleaned


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "mini_program",
        "user",
        "template_id",
        "status",
        "errcode",
        "attempts",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "errcode", "mini_program"]
    search_fields = ["template_id", "idempotency_key", "user__openid", "errmsg"]
    raw_id_fields = ["user"]
    list_select_related = ["mini_program", "user"]
    actions = ["send_again"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = SendMessageForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        # A sent or settled message is a record: it changes only through the actions.
        if obj is None:
            return []
        return [field.name for field in OutboxMessage._meta.fields]

    def save_form(self, request, form, change):
        if change:
            return super().save_form(request, form, change)
        data = form.cleaned_data
        return subscribe_message_send(
            user_id=data["user"].id,
            template_id=data["template_id"],
            data=data["data"],
            page=data["page"],
            idempotency_key=data["idempotency_key"],
        )

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        # Added: subscribe_message_send already saved it and enqueued the send.

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)

    @admin.action(description=_("Send again (failed or refused messages)"))
    def send_again(self, request, queryset: QuerySet[OutboxMessage]):
        ids = queryset.filter(status__in=[Status.FAILED, Status.REFUSED]).values_list(
            "id", flat=True
        )
        resent = sum(outbox_message_resend(message_id=message_id) for message_id in ids)
        skipped = queryset.count() - resent
        self.message_user(
            request,
            gettext("%(count)d message(s) queued to be sent again.") % {"count": resent},
        )
        if skipped:
            self.message_user(
                request,
                gettext("%(count)d message(s) skipped: only failed or refused ones are sent again.")
                % {"count": skipped},
                messages.WARNING,
            )


@admin.register(SubscriptionGrant)
class SubscriptionGrantAdmin(admin.ModelAdmin):
    list_display = ["user", "mini_program", "template_id", "remaining", "updated_at"]
    list_filter = ["user__mini_program"]
    search_fields = ["template_id", "user__openid"]
    raw_id_fields = ["user"]
    list_select_related = ["user__mini_program"]

    @admin.display(description=_("mini-program"), ordering="user__mini_program")
    def mini_program(self, grant: SubscriptionGrant):
        return grant.user.mini_program
