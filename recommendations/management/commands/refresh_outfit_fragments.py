"""refresh_outfit_fragments: after writes that send no signals, make every outfit's fragment anew."""

from django.core.management.base import BaseCommand

from recommendations.models import Coordi, new_catalogue_version


class Command(BaseCommand):
    help = (
        "Moves every coordi's catalogue version, so the next page reads each outfit from the database "
        "again. Run it after QuerySet.update(), bulk_create()/bulk_update() or SQL on the catalogue."
    )

    def handle(self, *args: object, **options: object) -> None:
        moved = Coordi.objects.update(catalogue_version=new_catalogue_version())
        self.stdout.write(f"{moved} outfit fragments will be made anew on their next request.")
