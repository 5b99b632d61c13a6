"""The project's own app configs."""

from django.contrib.admin.apps import AdminConfig as BaseAdminConfig


class AdminConfig(BaseAdminConfig):
    """django.contrib.admin with this project's site (config.admin.AdminSite) as admin.site."""

    default_site = "config.admin.AdminSite"
