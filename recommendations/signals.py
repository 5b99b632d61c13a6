"""Moves Coordi.catalogue_version whenever what an outfit shows changes, so its cached fragment is
never served again: the coordi itself, its images, its items (also through `coordi.items.add()`), an
item it holds, or that item's images. Writes that send no signals (QuerySet.update(), bulk_create(),
bulk_update(), raw SQL) bypass it: run `manage.py refresh_outfit_fragments` after them. The
receivers are connected by `connect()`, from the app's ready().
"""

from collections.abc import Iterable
from typing import Any

from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save

from .models import Coordi, CoordiImage, CoordiItem, Item, ItemImage, new_catalogue_version


def bump_coordis(coordi_ids: Iterable[int]) -> None:
    Coordi.objects.filter(pk__in=list(coordi_ids)).update(catalogue_version=new_catalogue_version())


def bump_coordis_holding(item_ids: Iterable[int]) -> None:
    Coordi.objects.filter(coordi_items__item_id__in=list(item_ids)).update(
        catalogue_version=new_catalogue_version()
    )


def _coordi_saved(sender: type[Coordi], instance: Coordi, **kwargs: Any) -> None:
    # After the save, whatever update_fields it had; the instance learns its new version too.
    instance.catalogue_version = new_catalogue_version()
    Coordi.objects.filter(pk=instance.pk).update(catalogue_version=instance.catalogue_version)


def _coordi_part_changed(
    sender: type[Model], instance: CoordiImage | CoordiItem, **kwargs: Any
) -> None:
    bump_coordis([instance.coordi_id])


def _item_changed(sender: type[Item], instance: Item, **kwargs: Any) -> None:
    bump_coordis_holding([instance.pk])


def _item_image_changed(sender: type[ItemImage], instance: ItemImage, **kwargs: Any) -> None:
    bump_coordis_holding([instance.item_id])


def _coordi_items_changed(
    sender: type[Model],
    instance: Coordi | Item,
    action: str,
    reverse: bool,
    pk_set: set[int] | None,
    **kwargs: Any,
) -> None:
    # Rows added through the relation (coordi.items.add(), item.coordis.add()) are bulk-created, so
    # post_save never sees them; removing or clearing deletes them one by one, which post_delete does.
    if action == "post_add":
        bump_coordis((pk_set or ()) if reverse else [instance.pk])


def connect() -> None:
    """Connects the receivers above (once: Django's dispatch ignores a receiver connected again)."""
    post_save.connect(_coordi_saved, sender=Coordi)
    for signal in (post_save, post_delete):
        signal.connect(_coordi_part_changed, sender=CoordiImage)
        signal.connect(_coordi_part_changed, sender=CoordiItem)
        signal.connect(_item_changed, sender=Item)
        signal.connect(_item_image_changed, sender=ItemImage)
    m2m_changed.connect(_coordi_items_changed, sender=Coordi.items.through)
