"""A local stand-in for the Gemini REST API (plus a tiny image host), for tests and the benchmark.

It speaks `POST /{v1,v1beta}/models/{model}:generateContent` as Google does, misbehaves on demand
(slow, 429, 500, hang, blocked, garbage, any text) and records what it received. It is a raw ASGI app
served by uvicorn on its own event loop in a background thread, so a test's event loop, the SDK's
and the server's never mix.

    with GeminiStandIn(api_key="fake") as standin:
        standin.when("coordi-3", Behaviour("hang"))
        ...  # point GEMINI_BASE_URL at standin.base_url
        standin.requests[0].prompt

Run `python -m llm.testing --port 8090 --latency 2.0` for the benchmark.

wire: Gemini's request and answer formats, and the behaviours; images: the image host;
server: GeminiStandIn itself; asgi: what the two endpoints share.
"""

from .images import ImageHit, ImageRoute, phone_photo, picture
from .server import GeminiStandIn
from .wire import KINDS, Behaviour, RecordedImage, RecordedRequest

__all__ = [
    "KINDS",
    "Behaviour",
    "GeminiStandIn",
    "ImageHit",
    "ImageRoute",
    "RecordedImage",
    "RecordedRequest",
    "phone_photo",
    "picture",
]
