from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlbumsConfig(AppConfig):
    name = "minihub.albums"
    label = "albums"
    verbose_name = _("Music albums (example domain app)")
