"""Serializers of the web client's outfit routes (likes, skips, views, the closet, virtual fitting):
their queries and bodies in, their `data` out, all plain DRF over plain values."""

import math

from rest_framework import serializers

from ..models import MAX_DATABASE_ID, Category
from .serializers import JSONIntegerField, PageQuerySerializer, PaginationSerializer

# A view longer than a day is a screen left open, not a look at an outfit.
MAX_VIEW_SECONDS = 86_400


class JSONNumberField(serializers.FloatField):
    """A finite JSON number (integer or not): not a string, a boolean, NaN or an infinity."""

    def to_internal_value(self, data: object) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float) or not math.isfinite(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class ListQuerySerializer(PageQuerySerializer):
    """`page` and `limit`, as on the recommendations page (their bounds and refusals)."""

    refresh = None  # type: ignore[assignment]  # (the recommendations page's staff-only parameter is not taken here)


class ClosetQuerySerializer(ListQuerySerializer):
    category = serializers.ChoiceField(
        choices=["all", *Category.values], default="all", help_text="the items of one category, or all"
    )


class FavoriteSerializer(serializers.Serializer):
    outfitId = serializers.IntegerField()
    isFavorited = serializers.BooleanField()
    favoritedAt = serializers.DateTimeField()


class UnfavoriteSerializer(serializers.Serializer):
    outfitId = serializers.IntegerField()
    isFavorited = serializers.BooleanField()
    unfavoritedAt = serializers.DateTimeField()


class SkipSerializer(serializers.Serializer):
    outfitId = serializers.IntegerField()
    isSkipped = serializers.BooleanField(help_text="false when the user likes the outfit (the like stays)")
    skippedAt = serializers.DateTimeField(
        allow_null=True, help_text="when the outfit was first skipped; null when it is liked"
    )


class ViewRequestSerializer(serializers.Serializer):
    durationSeconds = JSONNumberField(
        min_value=0, max_value=MAX_VIEW_SECONDS, help_text="how long the outfit was on screen, in seconds"
    )


class ViewSerializer(serializers.Serializer):
    outfitId = serializers.IntegerField()
    durationSeconds = serializers.FloatField()
    viewedAt = serializers.DateTimeField()


class ClosetItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    category = serializers.ChoiceField(choices=Category.choices)
    name = serializers.CharField()
    brand = serializers.CharField()
    price = serializers.IntegerField()
    imageUrl = serializers.CharField(source="image_url", allow_null=True)
    purchaseUrl = serializers.CharField(source="purchase_url")


class CategoryCountsSerializer(serializers.Serializer):
    top = serializers.IntegerField()
    bottom = serializers.IntegerField()
    outer = serializers.IntegerField()


class ClosetSerializer(serializers.Serializer):
    items = ClosetItemSerializer(many=True)
    pagination = PaginationSerializer(source="*")
    categoryCounts = CategoryCountsSerializer(source="category_counts")


class SaveItemRequestSerializer(serializers.Serializer):
    itemId = JSONIntegerField(min_value=1, max_value=MAX_DATABASE_ID)


class SavedItemSerializer(serializers.Serializer):
    message = serializers.CharField()
    savedAt = serializers.DateTimeField()


class RemovedItemSerializer(serializers.Serializer):
    message = serializers.CharField()
    deletedAt = serializers.DateTimeField()


class FittingsSerializer(serializers.Serializer):
    fittings = serializers.ListField(
        child=serializers.DictField(), max_length=0, help_text="always empty: no fittings are made here"
    )
    pagination = PaginationSerializer()
