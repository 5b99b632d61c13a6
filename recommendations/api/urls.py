from django.urls import path, re_path

from . import accounts, errors, outfits, stream, views

urlpatterns = [
    path("recommendations", views.RecommendationsView.as_view(), name="recommendations"),
    path("recommendations/messages", views.MessagesView.as_view(), name="recommendation-messages"),
    path(
        "recommendations/stream", stream.RecommendationsStreamView.as_view(),
        name="recommendation-stream",
    ),  # fmt: skip
    path("auth/token", views.TokenView.as_view(), name="auth-token"),
    # The replaced service's web client (its routes and shapes).
    *accounts.urlpatterns,
    *outfits.urlpatterns,
]

# Registered after the API's own routes by config.urls (schema, docs), so it comes last there.
not_found_urlpatterns = [re_path(r"^api/", errors.api_not_found)]
