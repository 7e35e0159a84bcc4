"""Django's error views: the envelope under the API prefix, Django's own pages elsewhere."""

from django.views import defaults

from minihub.core.errors import error_response
from minihub.core.middleware import is_api_path


def bad_request(request, exception):
    if is_api_path(request.path):
        return error_response("bad_request", "Bad request.")
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if is_api_path(request.path):
        return error_response("forbidden", "Forbidden.")
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if is_api_path(request.path):
        return error_response("not_found", "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api_path(request.path):
        return error_response("internal_error", "An internal error occurred.")
    return defaults.server_error(request)
