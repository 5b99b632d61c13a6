"""The URL map: the API, the admin, the OpenAPI schema and the operational endpoints."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from recommendations.api import errors
from recommendations.api.schema import DocsView, SchemaView
from recommendations.api.urls import not_found_urlpatterns

urlpatterns = [
    path("api/", include("recommendations.api.urls")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", DocsView.as_view(url_name="schema"), name="docs"),
    *not_found_urlpatterns,
    path("admin/", admin.site.urls),
    path("", include("recommendations.ops_urls")),
    # Uploaded profile photos, served by the app itself only with DEBUG (static() is empty without).
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
]

handler404 = errors.page_not_found
handler500 = errors.server_error
