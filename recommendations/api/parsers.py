"""JSON request bodies parsed by orjson: its nesting limit (1,024) makes a deeply nested body a 400,
where the standard library's parser raises RecursionError (a 500)."""

from collections.abc import Mapping
from typing import IO, Any

import orjson
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class ORJSONParser(JSONParser):
    """A JSONParser to DRF, which then reads the body through Django's request.body: a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE is refused (413) before it is read."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            # UTF-8 only (RFC 8259), and no NaN or Infinity, as DRF's JSONParser in strict mode.
            return orjson.loads(stream.read())
        except orjson.JSONDecodeError as error:
            raise ParseError(f"JSON parse error: {error}") from None
