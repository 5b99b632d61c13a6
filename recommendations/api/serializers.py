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


class RecommendationsQuerySerializer(PageQuerySerializer):
    # wait: for every message (or until LLM_RESPONSE_DEADLINE_SECONDS); defer: for none.
    messages = serializers.ChoiceField(choices=["wait", "defer"], default="wait")


# At most this many outfits in one GET /api/recommendations/messages.
MAX_POLLED_IDS = 50


class MessageIdsField(serializers.Field):
    """Comma-separated coordi ids, e.g. `1,2,3`: positive integers, at most MAX_POLLED_IDS, each
    once (repeats are dropped, the order kept)."""

    default_error_messages = {
        "invalid": "a comma-separated list of outfit ids, e.g. 1,2,3.",
        "too_many": f"at most {MAX_POLLED_IDS} ids.",
    }

    def to_internal_value(self, data: object) -> list[int]:
        parts = [part.strip() for part in str(data).split(",")]
        if not all(part.isascii() and part.isdigit() and len(part) <= 18 for part in parts):
            self.fail("invalid")
        ids = list(dict.fromkeys(int(part) for part in parts))
        if 0 in ids:
            self.fail("invalid")
        if len(ids) > MAX_POLLED_IDS:
            self.fail("too_many")
        return ids

    def to_representation(self, value: list[int]) -> str:
        return ",".join(map(str, value))


class MessagesQuerySerializer(serializers.Serializer):
    ids = MessageIdsField()


_STATUS_FIELD = serializers.ChoiceField(
    choices=[status.value for status in MessageStatus],
    help_text="ready: the message is there; pending: being made (listen or ask again); "
    "unavailable: it could not be made (llmMessage is null).",
)


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

    @extend_schema_field(_STATUS_FIELD)
    def get_llmMessageStatus(self, outfit: Outfit) -> str:
        return self._message(outfit).status.value


class OutfitMessageSerializer(serializers.Serializer):
    """One outfit's message as it stands: a `message` event of the stream, an entry of the poll."""

    id = serializers.IntegerField()
    llmMessage = serializers.CharField(allow_null=True)
    llmMessageStatus = _STATUS_FIELD


class MessagesDataSerializer(serializers.Serializer):
    messages = OutfitMessageSerializer(many=True)


class MessagesResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    data = MessagesDataSerializer()  # type: ignore[assignment]  # a declared field, as below


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
