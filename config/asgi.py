"""ASGI entry point (uvicorn config.asgi:application): Django, with the lifespan in front."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_asgi_application()

from config.lifespan import LifespanApplication  # noqa: E402 - needs Django set up

application = LifespanApplication(django_application)
