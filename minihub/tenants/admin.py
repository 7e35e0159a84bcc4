"""Mini-programs in the admin. Secrets are write-only: typed in, never shown."""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from minihub.tenants.models import ENCRYPTED_PUSH_MODES, MiniProgram, PushMode
from minihub.tenants.services import miniprogram_update

SECRET_FIELDS = {
    "new_secret": "AppSecret",  # pragma: allowlist secret - a form label
    "new_push_token": "push Token",
    "new_aes_key": "EncodingAESKey",
}


AUTOMATIC_PUSH_MODE = _("automatic: safe with an EncodingAESKey, else plain")


class MiniProgramForm(forms.ModelForm):
    new_secret = forms.CharField(
        label="AppSecret",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the current one."),
    )
    new_push_token = forms.CharField(
        label=_("Message push Token"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
    )
    new_aes_key = forms.CharField(
        label="EncodingAESKey", required=False, widget=forms.PasswordInput(render_value=False)
    )

    class Meta:
        model = MiniProgram
        fields = [
            "appid",
            "name",
            "enabled",
            "push_mode",
            "content_check_enabled",
            "use_legacy_token_api",
            "login_limit_per_openid",
            "login_limit_per_ip",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:  # a new one chooses as `miniprogram add` does
            mode = self.fields["push_mode"]
            mode.choices = [("", AUTOMATIC_PUSH_MODE), *PushMode.choices]
            mode.required, mode.initial = False, ""

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and not cleaned.get("new_secret"):
            self.add_error("new_secret", gettext("A new mini-program needs its AppSecret."))
        has_key = bool(cleaned.get("new_aes_key") or self.instance.aes_key)
        if not cleaned.get("push_mode"):
            cleaned["push_mode"] = PushMode.SAFE if has_key else PushMode.PLAIN
        if cleaned.get("push_mode") in ENCRYPTED_PUSH_MODES and not has_key:
            self.add_error("push_mode", gettext("This push mode needs the EncodingAESKey."))
        return cleaned


@admin.register(MiniProgram)
class MiniProgramAdmin(admin.ModelAdmin):
    form = MiniProgramForm
    list_display = [
        "appid",
        "name",
        "enabled",
        "push_mode",
        "content_check_enabled",
        "updated_at",
        "dashboard_link",
    ]
    list_filter = ["enabled"]
    search_fields = ["appid", "name"]

    @admin.display(description=_("Dashboard"))
    def dashboard_link(self, obj: MiniProgram) -> str:
        # By URL name: the dashboard app builds on this one, not the other way round.
        url = reverse("admin:dashboard_figurehour_miniprogram", args=[obj.id])
        return format_html('<a href="{}">{}</a>', url, _("Dashboard"))

    def get_readonly_fields(self, request, obj=None):
        return ["appid"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        miniprogram_update(
            program=obj,
            secret=data.get("new_secret", ""),
            push_token=data.get("new_push_token", ""),
            aes_key=data.get("new_aes_key", ""),
        )
