from django.contrib import admin
from django.db import models

from minihub.albums.models import Album, Favorite, Track


class TrackInline(admin.TabularInline):
    model = Track
    extra = 0
    ordering = ["position"]


@admin.register(Album)
class AlbumAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "artist", "mini_program", "plays", "created_at"]
    list_filter = ["mini_program"]
    list_select_related = ["mini_program"]
    search_fields = ["title", "artist"]
    # Written by the plays flush only: an edit here would race it.
    readonly_fields = ["plays", "created_at"]
    inlines = [TrackInline]
    # Covers are https: a bare host typed in becomes https://host.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Favorite)
class FavoriteAdmin(admin.ModelAdmin):
    """Read-only: favorites are the users' own choices."""

    list_display = ["id", "user", "album", "created_at"]
    list_filter = ["album__mini_program"]
    list_select_related = ["user", "album"]
    raw_id_fields = ["user", "album"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
