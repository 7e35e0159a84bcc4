from django.apps import AppConfig


class AlbumsConfig(AppConfig):
    name = "minihub.albums"
    label = "albums"
    verbose_name = "Music albums (example domain app)"
