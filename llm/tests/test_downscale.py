"""Images made small before they leave: what arrives at the stand-in, and what goes text-only."""

from __future__ import annotations

import io
import threading

import PIL.Image
import pytest

from llm import downscale
from llm.config import Config
from llm.images import Image, ImageUnavailable
from llm.service import generate_message_results
from llm.testing import ImageRoute, phone_photo, picture

KB = 1024


@pytest.fixture(scope="module")
def photo() -> bytes:
    return phone_photo(seed=3)


def bomb(width: int, height: int) -> bytes:
    """A PNG of `width` × `height` one-bit pixels: a few kilobytes that decode to many megapixels."""
    out = io.BytesIO()
    PIL.Image.new("1", (width, height)).save(out, "PNG")
    return out.getvalue()


def pixel(data: bytes, x: int, y: int) -> tuple[int, int, int]:
    with PIL.Image.open(io.BytesIO(data)) as image:
        red, green, blue = image.convert("RGB").getpixel((x, y))  # type: ignore[misc]
        return red, green, blue


def small(data: bytes, *, max_side: int = 768, max_pixels: int = 24_000_000) -> Image:
    return downscale.downscale(Image(data=data, mime_type="image/jpeg"), max_side=max_side,
                               max_pixels=max_pixels)


def refusal(data: bytes, **limits: int) -> str:
    with pytest.raises(ImageUnavailable) as caught:
        small(data, **limits)
    return caught.value.reason


def test_a_5_mb_phone_photo_arrives_at_768_px_under_150_kb(photo, standin, run, make_coordi, user, settings):
    settings.GEMINI_MEDIA_RESOLUTION = "unspecified"  # Google's tiling, not the low cap
    url = standin.add_image("phone.jpg", ImageRoute(body=photo))

    [result] = run(generate_message_results([make_coordi(image_url=url)], user))

    assert 4_500 * KB < len(photo) <= settings.LLM_IMAGE_MAX_BYTES
    [request] = standin.requests
    [image] = request.images
    assert image.mime_type == "image/jpeg"
    assert (image.width, image.height) == (576, 768)
    assert len(image.data) < 150 * KB
    assert (result.image_status, result.image_bytes) == ("sent", len(image.data))
    # One 768-pixel tile, where the photo as downloaded would have been 4 × 6 of them.
    assert result.usage.image == 258


def test_at_the_default_media_resolution_the_image_costs_64_tokens(photo, standin, run, make_coordi, user):
    url = standin.add_image("phone.jpg", ImageRoute(body=photo))

    [result] = run(generate_message_results([make_coordi(image_url=url)], user))

    assert standin.requests[0].generation_config["mediaResolution"] == "MEDIA_RESOLUTION_LOW"
    assert result.usage.image == 64


def test_the_long_side_fits_and_the_short_side_keeps_the_proportion():
    image = small(picture(2000, 1000), max_side=500)

    assert (image.width, image.height) == (500, 250)
    assert image.original_bytes > 0 and image.mime_type == "image/jpeg"


def test_a_small_image_is_never_enlarged_but_still_re_encoded():
    image = small(picture(100, 50, format="PNG"))

    assert (image.width, image.height) == (100, 50)
    assert image.data.startswith(b"\xff\xd8\xff")


def test_the_photo_is_turned_upright_and_loses_its_metadata():
    exif = PIL.Image.Exif()
    exif[0x0112] = 6  # Orientation: the camera was held on its side
    exif[0x010F] = "PhoneMaker"  # Make
    sideways = picture(40, 20, exif=exif.tobytes())

    image = small(sideways)

    assert (image.width, image.height) == (20, 40)
    with PIL.Image.open(io.BytesIO(image.data)) as sent:
        assert dict(sent.getexif()) == {}
    assert b"PhoneMaker" not in image.data


def test_transparency_becomes_white_not_black():
    image = small(picture(10, 10, format="PNG", color="#00000000", alpha=True))

    assert min(pixel(image.data, 5, 5)) > 245


def test_an_animation_sends_its_first_frame():
    frames = [PIL.Image.new("RGB", (30, 20), color) for color in ("white", "black", "black")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])

    image = small(out.getvalue())

    with PIL.Image.open(io.BytesIO(image.data)) as sent:
        assert (sent.format, sent.size) == ("JPEG", (30, 20))
    assert min(pixel(image.data, 15, 10)) > 245


def test_a_truncated_image_is_undecodable():
    whole = picture(200, 200, format="PNG")

    assert refusal(whole[: len(whole) // 2]) == "undecodable"


def test_formats_other_than_the_four_are_not_decoded():
    assert refusal(picture(20, 20, format="BMP")) == "undecodable"


def test_pixels_are_counted_from_the_header_before_anything_is_decoded():
    # 8,000 × 8,000 one-bit pixels compress to a few kilobytes; only the header is kept here, so a
    # limit checked after decoding would have said undecodable.
    whole = bomb(8_000, 8_000)

    assert len(whole) < 100 * KB
    assert refusal(whole) == "too_many_pixels"
    assert refusal(whole[:64]) == "too_many_pixels"
    assert small(picture(100, 100, format="PNG"), max_pixels=100 * 100).width == 100


def test_pillows_own_bomb_limit_is_a_refusal_too():
    # Past twice Pillow's MAX_IMAGE_PIXELS it refuses on its own, whatever our limit says.
    huge = bomb(14_000, 14_000)[:64]

    assert refusal(huge, max_pixels=10**10) == "too_many_pixels"


@pytest.mark.parametrize(
    ("body", "reason"),
    [(picture(400, 400, format="PNG")[:500], "undecodable"),
     (bomb(8_000, 8_000), "too_many_pixels")],
    ids=["truncated", "bomb"],
)
def test_an_image_that_cannot_be_used_goes_text_only(body, reason, standin, run, make_coordi, user):
    url = standin.add_image("bad.png", ImageRoute(body=body))

    [result] = run(generate_message_results([make_coordi(image_url=url)], user))

    assert (result.outcome, result.image_status, result.image_bytes) == ("ok", reason, 0)
    assert [request.images for request in standin.requests] == [()]


@pytest.fixture
def busy_decoders():
    """Every decode thread taken by work that ends when the test lets it."""
    release = threading.Event()
    started = [threading.Event() for _ in range(downscale.DECODE_THREADS)]

    def hold(started: threading.Event) -> None:
        started.set()
        release.wait(30)

    held = [downscale._decode_threads().submit(hold, event) for event in started]
    assert all(event.wait(10) for event in started)
    yield release
    release.set()
    for future in held:
        future.result(timeout=10)


def test_the_decode_runs_on_its_own_threads_and_its_wait_is_bounded(busy_decoders, run):
    # The decode threads are all busy: a decode on the loop's thread or its default executor would
    # finish; this one waits for a thread, and the timeout (which the loop keeps) cuts the wait.
    with pytest.raises(ImageUnavailable) as caught:
        run(downscale.make_small(Image(picture(), "image/jpeg"), max_side=768, max_pixels=10**6,
                                 timeout=0.05))

    assert caught.value.reason == "decode_timeout"
    busy_decoders.set()
    made = run(downscale.make_small(Image(picture(), "image/jpeg"), max_side=768, max_pixels=10**6,
                                    timeout=10))
    assert made.width == 8


def test_a_page_whose_decodes_time_out_goes_text_only(
    busy_decoders, standin, run, make_coordi, user, settings
):
    settings.LLM_IMAGE_DECODE_TIMEOUT_SECONDS = 0.05
    url = standin.add_image("ok.jpg", ImageRoute(body=picture()))

    [result] = run(generate_message_results([make_coordi(image_url=url)], user))

    assert (result.outcome, result.image_status) == ("ok", "decode_timeout")
    assert [request.images for request in standin.requests] == [()]


def test_the_decode_limits_are_settings(settings):
    settings.LLM_IMAGE_MAX_SIDE, settings.LLM_IMAGE_MAX_PIXELS = 300, 1234
    settings.LLM_IMAGE_DECODE_TIMEOUT_SECONDS = 1.5
    config = Config.from_settings()

    assert (config.image_max_side, config.image_max_pixels, config.image_decode_timeout) == (300, 1234, 1.5)
    assert config.settle_seconds == 2 * config.timeout + config.image_timeout + 1.5


def test_every_refusal_is_an_image_unavailable_with_a_short_reason():
    for data in (b"", b"\xff\xd8\xff", b"GIF89a" + b"\x00" * 20, b"RIFF\x00\x00\x00\x00WEBP"):
        assert refusal(data) == "undecodable"


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning", "ignore:Tag data larger:UserWarning")
@pytest.mark.parametrize(
    "exif",
    [b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff",
     b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\xff\xff\xff\x7f\x08\x00\x00\x00"],
    ids=["truncated", "orientation-past-the-end"],
)  # fmt: skip
def test_a_corrupt_exif_block_costs_the_image_nothing(exif):
    out = io.BytesIO()
    PIL.Image.new("RGB", (40, 30), "red").save(out, "JPEG", exif=exif)

    made = small(out.getvalue())

    assert (made.width, made.height) == (40, 30)
