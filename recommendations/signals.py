"""Moves Coordi.catalogue_version whenever what an outfit shows changes, so its cached fragment is
never served again: the coordi itself, its images, its items (also through `coordi.items.add()`), an
item it holds, or that item's images. Writes that send no signals (QuerySet.update(), bulk_create(),
bulk_update(), raw SQL) bypass it: run `manage.py refresh_outfit_fragments` after them.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .models import Coordi, CoordiImage, CoordiItem, Item, ItemImage, new_catalogue_version


def bump_coordis(coordi_ids) -> None:
    Coordi.objects.filter(pk__in=list(coordi_ids)).update(catalogue_version=new_catalogue_version())


def bump_coordis_holding(item_ids) -> None:
    Coordi.objects.filter(coordi_items__item_id__in=list(item_ids)).update(
        catalogue_version=new_catalogue_version()
    )


@receiver(post_save, sender=Coordi)
def _coordi_saved(sender, instance: Coordi, **kwargs) -> None:
    # After the save, whatever update_fields it had; the instance learns its new version too.
    instance.catalogue_version = new_catalogue_version()
    Coordi.objects.filter(pk=instance.pk).update(catalogue_version=instance.catalogue_version)


@receiver([post_save, post_delete], sender=CoordiImage)
@receiver([post_save, post_delete], sender=CoordiItem)
def _coordi_part_changed(sender, instance, **kwargs) -> None:
    bump_coordis([instance.coordi_id])


@receiver([post_save, post_delete], sender=Item)
def _item_changed(sender, instance: Item, **kwargs) -> None:
    bump_coordis_holding([instance.pk])


@receiver([post_save, post_delete], sender=ItemImage)
def _item_image_changed(sender, instance: ItemImage, **kwargs) -> None:
    bump_coordis_holding([instance.item_id])


@receiver(m2m_changed, sender=Coordi.items.through)
def _coordi_items_changed(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    if action in ("pre_clear",) and reverse:
        # Items.coordis.clear(): which coordis lose it is known only before.
        bump_coordis(instance.coordi_items.values_list("coordi_id", flat=True))
    elif action in ("post_add", "post_remove", "post_clear"):
        if not reverse:
            bump_coordis([instance.pk])
        elif pk_set:
            bump_coordis(pk_set)
