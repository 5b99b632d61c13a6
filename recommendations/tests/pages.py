"""A page as the API serves it (through the fragments) and as a fresh read gives it (no fragment)."""

import json

from recommendations.api.serializers import OutfitSerializer, PaginationSerializer
from recommendations.messages import MessageStatus, OutfitMessage
from recommendations.models import Coordi
from recommendations.selectors import recommendation_page

from .factories import token_for

URL = "/api/recommendations"


def fast(client, user, limit=50):
    response = client.get(URL, {"limit": limit}, headers={"Authorization": f"Bearer {token_for(user)}"})
    assert response.status_code == 200
    return response.json()["data"]


def reference(user, limit=50):
    """The same page read straight from the database and serialized by DRF: no fragment involved."""
    page = recommendation_page(user, page=1, limit=limit)
    # No key in the tests: every message unavailable.
    messages = {outfit.id: OutfitMessage(None, MessageStatus.UNAVAILABLE) for outfit in page.outfits}
    data = {
        "outfits": OutfitSerializer(page.outfits, many=True, context={"messages": messages}).data,
        "pagination": PaginationSerializer(page).data,
    }
    return json.loads(json.dumps(data))


def versions():
    return dict(Coordi.objects.values_list("id", "catalogue_version"))
