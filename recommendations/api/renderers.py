"""JSON rendered by orjson: several times faster than DRF's renderer, and the same JSON for our data."""

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.renderers import BaseRenderer


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None  # JSON is UTF-8 by definition (RFC 8259); DRF's renderer sends no charset either.

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        # Non-str keys (e.g. ids) as strings, like json.dumps; datetimes are serialized upstream.
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
