from django.urls import path

from bench.baselines.stock_django import views

urlpatterns = [
    path("ping", views.ping),
    path("albums/<int:album_id>", views.album),
]
