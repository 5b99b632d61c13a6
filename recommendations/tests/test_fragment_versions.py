"""Catalogue versions: each kind of edit moves exactly the outfits' versions it should, at the right
moment, so that the next page is the fresh page (recommendations/signals.py)."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, Permission
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save

from recommendations import signals
from recommendations.models import Coordi, CoordiImage, CoordiItem, Item, ItemImage

from .factories import edit, make_coordi, make_item, make_user
from .pages import fast, reference, versions

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    """Three coordis; the second and third share an item."""
    a, b, c = (make_coordi(minutes_ago=n, items=2, images=2) for n in (1, 2, 3))
    shared = b.items.first()
    assert shared is not None
    CoordiItem.objects.create(coordi=c, item=shared, position=5)
    return a, b, c, shared


# Each edit, and the coordis (by index in `catalogue`) whose fragment it must invalidate.
EDITS = {
    "save the coordi": (lambda a, b, c, shared: a.save(), {0}),
    "edit its description": (lambda a, b, c, shared: edit(a, description="겨울 코트 룩"), {0}),
    "edit one of its images": (
        lambda a, b, c, shared: edit(a.images.first(), image_url="http://127.0.0.1:9/new.jpg"),
        {0},
    ),
    "add an image": (
        lambda a, b, c, shared: CoordiImage.objects.create(coordi=a, image_url="http://127.0.0.1:9/x.jpg"),
        {0},
    ),
    "delete an image": (lambda a, b, c, shared: a.images.first().delete(), {0}),
    "add an item through the relation": (
        lambda a, b, c, shared: a.items.add(make_item(), through_defaults={"position": 7}),
        {0},
    ),
    "remove an item through the relation": (lambda a, b, c, shared: a.items.remove(a.items.first()), {0}),
    "clear an item's coordis": (lambda a, b, c, shared: shared.coordis.clear(), {1, 2}),
    "add a coordi to an item through the relation": (
        lambda a, b, c, shared: shared.coordis.add(a, through_defaults={"position": 9}),
        {0},
    ),
    "remove a coordi from an item through the relation": (
        lambda a, b, c, shared: shared.coordis.remove(b),
        {1},
    ),
    "clear a coordi's items": (lambda a, b, c, shared: c.items.clear(), {2}),
    "delete a coordi item": (lambda a, b, c, shared: a.coordi_items.first().delete(), {0}),
    "edit a shared item": (lambda a, b, c, shared: edit(shared, price=12000), {1, 2}),
    "delete a shared item": (lambda a, b, c, shared: shared.delete(), {1, 2}),
    "edit a shared item's image": (
        lambda a, b, c, shared: edit(shared.images.first(), image_url="http://127.0.0.1:9/i.jpg"),
        {1, 2},
    ),
    "add an image to a shared item": (
        lambda a, b, c, shared: ItemImage.objects.create(item=shared, image_url="http://127.0.0.1:9/j.jpg"),
        {1, 2},
    ),
    "an item in no coordi": (lambda a, b, c, shared: edit(make_item(), price=1000), set()),
    # Another model's many-to-many, whose row ids happen to be the coordi's: not an outfit's edit.
    "an unrelated many-to-many change": (
        lambda a, b, c, shared: Group.objects.create(pk=a.pk, name="merchandisers").permissions.add(
            *Permission.objects.all()[:1]
        ),
        set(),
    ),
}


@pytest.fixture
def receivers_disconnected():
    """Every receiver of recommendations.signals disconnected; the test connects them again."""
    receivers: list[Callable[..., None]] = [
        signals._coordi_saved, signals._coordi_part_changed, signals._item_changed,
        signals._item_image_changed, signals._coordi_items_changed,
    ]  # fmt: skip
    senders: list[type[Model]] = [Coordi, CoordiImage, CoordiItem, Item, ItemImage, Coordi.items.through]
    for signal in (post_save, post_delete, m2m_changed):
        for receiver in receivers:
            for sender in senders:
                signal.disconnect(receiver, sender=sender)
    yield
    signals.connect()


@pytest.mark.parametrize("edit", list(EDITS))
def test_each_kind_of_edit_moves_exactly_the_versions_it_should(catalogue, edit, receivers_disconnected):
    signals.connect()  # what the app's ready() does: each edit below needs its receiver
    coordis = catalogue[:3]
    before = versions()

    change, expected = EDITS[edit]
    change(*catalogue)

    after = versions()
    moved = {index for index, coordi in enumerate(coordis) if before[coordi.pk] != after.get(coordi.pk)}
    assert moved == expected


@pytest.mark.parametrize("edit", list(EDITS))
def test_after_each_kind_of_edit_the_page_is_the_fresh_page(client, catalogue, edit):
    user = make_user()
    fast(client, user)  # every fragment cached

    EDITS[edit][0](*catalogue)

    assert fast(client, user) == reference(user)


def test_an_added_item_moves_the_version_once_it_is_there(catalogue):
    # A reader between the move and the rows would cache the old outfit under the new version.
    a = catalogue[0]
    seen: dict[str, int] = {}

    def watch(sender, instance, action, **kwargs):
        seen[action] = Coordi.objects.get(pk=a.pk).catalogue_version

    before = versions()[a.pk]
    m2m_changed.connect(watch, sender=Coordi.items.through)  # after the app's own receiver
    try:
        a.items.add(make_item(), through_defaults={"position": 7})
    finally:
        m2m_changed.disconnect(watch, sender=Coordi.items.through)

    assert seen["pre_add"] == before
    assert seen["post_add"] != before
    assert seen["post_add"] == versions()[a.pk]
