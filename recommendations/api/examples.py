"""Examples for the OpenAPI schema, in the contract's shapes (shared/CONTRACT.md)."""

from drf_spectacular.utils import OpenApiExample

_OUTFIT = {
    "id": 12,
    "imageUrl": "http://127.0.0.1:8000/static/demo/coordi-12.jpg",
    "gender": "female",
    "season": "spring",
    "style": "casual",
    "description": "Light knit and wide denim for a spring walk",
    "isFavorited": False,
    "llmMessage": "민지님, 봄 산책에 딱 맞는 캐주얼 룩이에요 🌸",
    "llmMessageStatus": "ready",
    "items": [
        {
            "id": 3, "category": "top", "brand": "모노", "name": "코튼 니트", "price": 39000,
            "imageUrl": "http://127.0.0.1:8000/static/demo/item-3.jpg",
            "purchaseUrl": "https://shop.example.com/items/3", "isSaved": False,
        }
    ],
    "createdAt": "2026-11-01T09:00:00Z",
}  # fmt: skip

PAGE_EXAMPLE = OpenApiExample(
    "A page",
    value={
        "success": True,
        "data": {
            "outfits": [_OUTFIT],
            "pagination": {
                "currentPage": 1, "totalPages": 3, "totalItems": 60, "hasNext": True,
                "hasPrev": False,
            },
        },
    },  # fmt: skip
    response_only=True,
    status_codes=["200"],
)

MESSAGES_EXAMPLE = OpenApiExample(
    "Messages as they stand",
    value={
        "success": True,
        "data": {
            "messages": [
                {"id": 12, "llmMessage": _OUTFIT["llmMessage"], "llmMessageStatus": "ready"},
                {"id": 13, "llmMessage": None, "llmMessageStatus": "pending"},
            ]
        },
    },
    response_only=True,
    status_codes=["200"],
)

TOKEN_REQUEST_EXAMPLE = OpenApiExample(
    "Credentials",
    value={"email": "demo@example.com", "password": "demo-password"},
    request_only=True,
)

TOKEN_EXAMPLE = OpenApiExample(
    "A token",
    value={"success": True, "data": {"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}},
    response_only=True,
    status_codes=["200"],
)

# One example per error status, in the envelope (added to every operation that can answer it).
ERROR_EXAMPLES = {
    400: ("VALIDATION_ERROR", "limit: Ensure this value is less than or equal to 50."),
    401: ("UNAUTHORIZED", "Authentication credentials were not provided."),
    403: ("FORBIDDEN", "refresh: fresh messages are for staff only."),
    404: ("NOT_FOUND", "No outfit with id 42."),
    406: ("NOT_ACCEPTABLE", 'Could not satisfy the request Accept header.'),
    413: ("REQUEST_TOO_LARGE", "The request body is too large."),
    409: ("ALREADY_FAVORITED", "Outfit 42 is already a favorite."),
    415: ("UNSUPPORTED_MEDIA_TYPE", 'Unsupported media type "text/plain" in request.'),
    429: ("RATE_LIMITED", "Request was throttled. Expected available in 42 seconds."),
    500: ("INTERNAL_ERROR", "An unexpected error occurred."),
    501: ("NOT_IMPLEMENTED", "Not implemented here: ..."),
}
