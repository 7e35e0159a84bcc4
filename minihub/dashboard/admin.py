"""The dashboard in the admin: an overview of every mini-program (the index's "Hourly
figures" entry) and a page per mini-program (linked from the mini-program list)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.i18n import set_language

from minihub.dashboard import selectors
from minihub.dashboard.models import FigureHour
from minihub.notifications.models import OutboxMessage
from minihub.tenants.models import MiniProgram

SERIES_LABELS = {
    "logins_new": gettext_noop("New users' logins"),
    "logins_returning": gettext_noop("Returning users' logins"),
    "active_users": gettext_noop("Active users"),
    "api_requests": gettext_noop("API requests"),
    "api_errors": gettext_noop("API errors"),
    "wechat_calls": gettext_noop("WeChat API calls"),
    "wechat_errors": gettext_noop("WeChat API errors"),
    "token_refreshes": gettext_noop("Access-token refreshes"),
    "token_failures": gettext_noop("Access-token failures"),
    "plays": gettext_noop("Album plays"),
}


def _labels() -> dict[str, str]:
    # Marked with gettext_noop for makemessages, translated per request: the labels
    # follow the admin's language.
    return {key: _(label) for key, label in SERIES_LABELS.items()}


def _by_outbox_status(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Counts by outbox status, each under its translated label (an unknown one as it is)."""
    labels = dict(OutboxMessage.Status.choices)
    return [(labels.get(status, status), n) for status, n in counts.items()]


def _window(request: HttpRequest) -> str | None:
    window = request.GET.get("window", "24h")
    return window if window in selectors.WINDOWS else None


@admin.register(FigureHour)
class FigureHourAdmin(admin.ModelAdmin):
    """No list of rows: the overview page stands in for it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        dashboard = self.admin_site.admin_view(self.mini_program_view)
        return [
            path(
                "miniprogram/<int:mini_program_id>/",
                dashboard,
                name="dashboard_figurehour_miniprogram",
            ),
            # Django's language switch, on an admin path: the API never runs it.
            path("language/", set_language, name="dashboard_set_language"),
            *super().get_urls(),
        ]

    def _bad_window(self) -> HttpResponse:
        return HttpResponseBadRequest(_("Unknown window: choose 24h, 7d or 30d."))

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        window = _window(request)
        if window is None:
            return self._bad_window()
        data = selectors.overview(window=window)
        context = {
            **self.admin_site.each_context(request),
            "title": _("MiniHub dashboard"),
            "opts": self.model._meta,
            "window": window,
            "windows": list(selectors.WINDOWS),
            "data": data,
            "page_data": {**data, "labels_text": _labels()},
        }
        return TemplateResponse(request, "admin/dashboard/overview.html", context)

    def mini_program_view(self, request, mini_program_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        window = _window(request)
        if window is None:
            return self._bad_window()
        program = get_object_or_404(MiniProgram, id=mini_program_id)
        chart = selectors.figures_chart(mini_program_id=program.id, window=window)
        state = selectors.mini_program_state(mini_program=program)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Dashboard of %(name)s") % {"name": program.name or program.appid},
            "opts": self.model._meta,
            "program": program,
            "window": window,
            "windows": list(selectors.WINDOWS),
            "chart": chart,
            "state": state,
            "outbox_rows": _by_outbox_status(state["outbox"]),
            "subscribe_rows": _by_outbox_status(chart["subscribe"]),
            "page_data": {**chart, "state": state, "labels_text": _labels()},
        }
        return TemplateResponse(request, "admin/dashboard/miniprogram.html", context)
