"""The web client's outfit routes: likes (favorites), skips, views, the closet and virtual fitting
(the replaced service's shapes, in the envelope)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
