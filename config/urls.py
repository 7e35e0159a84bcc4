from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from config.api import api

urlpatterns = [
    path(settings.API_PREFIX, api.urls),
    # Before the admin, whose catch-all would answer 404 for it.
    path(settings.ADMIN_URL + "rq/", include("django_rq.urls")),
    path(settings.ADMIN_URL, admin.site.urls),
]

handler400 = "minihub.core.views.bad_request"
handler403 = "minihub.core.views.permission_denied"
handler404 = "minihub.core.views.page_not_found"
handler500 = "minihub.core.views.server_error"
