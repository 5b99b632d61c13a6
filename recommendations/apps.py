from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        from . import signals

        signals.connect()  # keeps the outfit fragments' versions moving
        from .api import schema  # noqa: F401  (registers the OpenAPI extensions)
