"""An outfit's image made small before it goes to Gemini.

A phone photo (3024×4032, 5 MB) says no more to a one-sentence message than a 768-pixel copy of it,
which is about 2% of its bytes and, at Gemini's tiling, a ninth of its tokens. The image is decoded
with Pillow under a pixel limit checked before any pixel is decoded, turned upright by its EXIF
orientation, fitted inside LLM_IMAGE_MAX_SIDE (never enlarged) and re-encoded as a JPEG without its
metadata (a phone's EXIF carries where the photo was taken). Decoding runs on its own threads, off
the event loop, and a page waits for it at most LLM_IMAGE_DECODE_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import asyncio
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import PIL.Image
import PIL.ImageOps

from llm.images import Image, ImageUnavailable

# The formats sniff_mime_type lets through; Pillow is not asked to guess at anything else.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
JPEG_QUALITY = 80
# What shows through a transparent image: the white of a product shot's background.
BACKGROUND = (255, 255, 255)
# Decoding is CPU work: two threads keep one busy page from taking every core of a small machine,
# and keep it off the loop's default executor, which resolves host names.
DECODE_THREADS = 2

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


async def make_small(image: Image, *, max_side: int, max_pixels: int, timeout: float) -> Image:
    """`image` fitted inside `max_side` as a JPEG, or ImageUnavailable with the reason
    (`undecodable`, `too_many_pixels`, `decode_timeout`). `timeout` bounds the wait for a thread
    and the decode together; a decode past it finishes on its thread and is dropped."""
    future = asyncio.get_running_loop().run_in_executor(
        _decode_threads(), partial(downscale, image, max_side=max_side, max_pixels=max_pixels)
    )
    try:
        async with asyncio.timeout(timeout):
            return await future
    except TimeoutError:
        raise ImageUnavailable("decode_timeout") from None


def downscale(image: Image, *, max_side: int, max_pixels: int) -> Image:
    """The blocking work of make_small."""
    try:
        with PIL.Image.open(io.BytesIO(image.data), formats=FORMATS) as opened:
            width, height = opened.size
            # Before load(): the header's size is all that has been read so far.
            if width * height > max_pixels:
                raise ImageUnavailable("too_many_pixels")
            if opened.format == "JPEG":
                # JPEG decodes straight to a 1/2, 1/4 or 1/8 scale: a phone photo never exists at
                # full size in memory.
                opened.draft("RGB", (max_side, max_side))
            # A palette resizes by nearest pixel only: into colours first (the one full-size copy).
            picture = opened.convert("RGBA") if opened.mode in ("P", "PA", "1") else opened
            # Made small first (in place; the first frame of an animation), so that turning it upright
            # and flattening it copy the small image, never the full-size one.
            picture.thumbnail((max_side, max_side), PIL.Image.Resampling.LANCZOS)
            upright = PIL.ImageOps.exif_transpose(picture)
            flat = _on_white(upright)
    except ImageUnavailable:
        raise
    except PIL.Image.DecompressionBombError:
        raise ImageUnavailable("too_many_pixels") from None
    except Exception:  # noqa: BLE001 - Pillow's ways (OSError, SyntaxError, struct.error from a bad
        # EXIF block, ...) of saying the bytes are not a whole image of a known kind
        raise ImageUnavailable("undecodable") from None
    out = io.BytesIO()
    flat.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return Image(
        data=out.getvalue(),
        mime_type="image/jpeg",
        width=flat.width,
        height=flat.height,
        original_bytes=len(image.data),
    )


def _on_white(image: PIL.Image.Image) -> PIL.Image.Image:
    """An RGB copy, transparent parts on white (JPEG has no alpha, and black would read as night)."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        image = image.convert("RGBA")
        flat = PIL.Image.new("RGB", image.size, BACKGROUND)
        flat.paste(image, mask=image.getchannel("A"))
        return flat
    return image.convert("RGB")


def _decode_threads() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=DECODE_THREADS, thread_name_prefix="llm-image")
        return _executor
