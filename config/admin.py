"""The admin site merchandisers and operators use: the catalogue and its messages first, a "Start
here" box on the index, and accounts and access (users' tokens, groups) last."""

from django.contrib import admin
from django.http import HttpRequest

# Apps in the order merchandisers reach for them; any other app follows, by name.
APP_ORDER = ("recommendations", "llm", "auth", "authtoken")


class AdminSite(admin.AdminSite):
    site_header = "Fashion recommendations admin"
    site_title = "Fashion recommendations"
    index_title = "Catalogue and messages"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        apps = super().get_app_list(request, app_label)
        known = {label: position for position, label in enumerate(APP_ORDER)}
        return sorted(apps, key=lambda app: (known.get(app["app_label"], len(known)), app["name"]))
