"""The web client's account routes: sign-up, sign-in, sign-out, me, onboarding and the profile photo
(the replaced service's shapes, in the envelope)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
