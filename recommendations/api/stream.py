"""GET /api/recommendations/stream: the page at once, then each message the moment it exists, as
Server-Sent Events.

Events: `outfits` (data: the JSON endpoint's `data`, messages not made yet `pending`), then one
`message` per outfit that was pending (`{"id", "llmMessage", "llmMessageStatus"}`, in the order they
land), then `done`. A comment line every STREAM_HEARTBEAT_SECONDS while nothing lands keeps proxies
from closing an idle stream. The page's database work is done and its connection given back before
the first byte; a client that hangs up leaves its messages being made, cached and recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import orjson
from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from .serializers import ErrorSerializer, PageQuerySerializer
from .views import PageView

HEARTBEAT = b": heartbeat\n\n"


def event(name: str, data: Any) -> bytes:
    """One Server-Sent Event; orjson writes no newline, so the data is one `data:` line."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


# One event of the stream, as OpenAPI 3.0 describes a text/event-stream (each event, not the whole).
EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["outfits", "message", "done"]},
        "data": {
            "type": "string",
            "description": "JSON: for `outfits` the `data` of GET /api/recommendations; for "
            "`message` `{id, llmMessage, llmMessageStatus}`; for `done` `{}`",
        },
    },
    "required": ["event", "data"],
}


class JSONErrors(BaseContentNegotiation):
    """Whatever the client accepts (EventSource asks for text/event-stream), an error before the
    stream starts is the API's JSON envelope, rendered by the view's first renderer."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class RecommendationsStreamView(PageView):
    """The page's outfits, then their messages as they land (needs the ASGI server, else 501)."""

    outlives_response = True
    content_negotiation_class = JSONErrors

    description = (
        "Server-Sent Events: the page as event `outfits` (the data of GET /api/recommendations), "
        "then one event `message` per outfit whose message was still being made, as each lands, "
        "then event `done`. Needs the ASGI server (else 501)."
    )

    @extend_schema(
        description=description,
        parameters=[PageQuerySerializer],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                EVENT_SCHEMA,
                description="event `outfits` (data: the JSON endpoint's `data`), then one event "
                "`message` per outfit that was pending (data: `{id, llmMessage, llmMessageStatus}`), "
                "in the order they land, then event `done`; `: heartbeat` comments while waiting.",
            ),
            403: ErrorSerializer, 501: ErrorSerializer,
        },
    )  # fmt: skip
    async def get(self, request: Request) -> StreamingHttpResponse:
        response = StreamingHttpResponse(self.events(), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
        return response

    async def events(self) -> AsyncIterator[bytes]:
        # The messages' work is set up here but runs only from the next await on: the page's event
        # is on the wire before the page's image downloads and Gemini calls take the event loop.
        messages = self.start_messages()
        yield event("outfits", self.page_data(messages.now()))
        async for coordi_id in messages.landing(heartbeat=settings.STREAM_HEARTBEAT_SECONDS):
            if coordi_id is None:
                yield HEARTBEAT
                continue
            message = messages.messages[coordi_id]
            yield event(
                "message",
                {"id": coordi_id, "llmMessage": message.text, "llmMessageStatus": message.status.value},
            )
        yield event("done", {})
