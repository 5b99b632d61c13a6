"""Plain DRF serializers over already-loaded plain values (no database access, no thread hops)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..messages import PENDING, MessageStatus, OutfitMessage
from ..models import Gender, Season, Style
from ..selectors import Outfit


class PageQuerySerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, default=1)
    limit = serializers.IntegerField(min_value=1, max_value=50, default=20)
    refresh = serializers.BooleanField(default=False)


class OutfitItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    category = serializers.CharField()
    brand = serializers.CharField()
    name = serializers.CharField()
    price = serializers.IntegerField()
    imageUrl = serializers.CharField(source="image_url", allow_null=True)
    purchaseUrl = serializers.CharField(source="purchase_url")
    isSaved = serializers.BooleanField(source="is_saved")


class OutfitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    imageUrl = serializers.CharField(source="image_url", allow_null=True)
    gender = serializers.ChoiceField(choices=Gender.choices)
    season = serializers.ChoiceField(choices=Season.choices)
    # A declared field: DRF's metaclass takes it off the class, so Field.style is not overridden.
    style = serializers.ChoiceField(choices=Style.choices)  # type: ignore[assignment]
    description = serializers.CharField()
    isFavorited = serializers.BooleanField(source="is_favorited")
    llmMessage = serializers.SerializerMethodField()
    llmMessageStatus = serializers.SerializerMethodField()
    items = OutfitItemSerializer(many=True)
    createdAt = serializers.DateTimeField(source="created_at")

    def _message(self, outfit: Outfit) -> OutfitMessage:
        # By coordi id; an outfit with none given is pending (a fragment's placeholder).
        return self.context["messages"].get(outfit.id, PENDING)

    def get_llmMessage(self, outfit: Outfit) -> str | None:
        return self._message(outfit).text

    @extend_schema_field(
        serializers.ChoiceField(
            choices=[status.value for status in MessageStatus],
            help_text="ready: the message is there; pending: being made (listen or ask again); "
            "unavailable: it could not be made (llmMessage is null).",
        )
    )
    def get_llmMessageStatus(self, outfit: Outfit) -> str:
        return self._message(outfit).status.value


class PaginationSerializer(serializers.Serializer):
    currentPage = serializers.IntegerField(source="page")
    totalPages = serializers.IntegerField(source="total_pages")
    totalItems = serializers.IntegerField(source="total")
    hasNext = serializers.BooleanField(source="has_next")
    hasPrev = serializers.BooleanField(source="has_prev")


class RecommendationsDataSerializer(serializers.Serializer):
    outfits = OutfitSerializer(many=True)
    pagination = PaginationSerializer(source="*")


class RecommendationsResponseSerializer(serializers.Serializer):
    """The 200 body; used to describe the endpoint in the OpenAPI schema."""

    success = serializers.BooleanField()
    # Declared fields, taken off the class by DRF's metaclass: Serializer.data is not overridden.
    data = RecommendationsDataSerializer()  # type: ignore[assignment]


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class TokenDataSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    data = TokenDataSerializer()  # type: ignore[assignment]  # a declared field, as above


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    success = serializers.BooleanField(default=False)
    error = ErrorDetailSerializer()
