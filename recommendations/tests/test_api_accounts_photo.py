"""The profile photo through Django's test clients: POST and DELETE /api/users/profile-photo (what
is stored, where, the limits), and the photo served with DEBUG."""

import importlib
import io
import re

import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient
from django.urls import clear_url_caches
from django.utils import timezone
from PIL import Image
from rest_framework.throttling import UserRateThrottle

from recommendations.api.account_serializers import MAX_PHOTO_BYTES
from recommendations.models import User

from .factories import make_user, token_for

pytestmark = pytest.mark.django_db

URL = "/api/users/profile-photo"
ME = "/api/auth/me"
STORED = re.compile(r"profile-photos/[0-9a-f]{32}\.(jpg|png)")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploads go to a temporary MEDIA_ROOT, never into var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def user():
    return make_user()


def picture(image_format: str = "PNG", *, size: tuple[int, int] = (4, 4), total: int | None = None) -> bytes:
    """A small image; padded with trailing zero bytes to `total` bytes (Pillow reads past them)."""
    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, image_format)
    data = out.getvalue()
    return data if total is None else data + b"\0" * (total - len(data))


def upload(client, auth, data: bytes, *, name: str = "me.png", content_type: str = "image/png"):
    photo = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(URL, {"photo": photo}, headers=auth)


def stored_files(media_root) -> list[str]:
    folder = media_root / "profile-photos"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_a_png_is_stored_under_a_random_name_and_shown_as_the_users_photo(client, user, auth, media_root):
    before = timezone.now()

    response = upload(client, auth, picture("PNG"))

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert list(body["data"]) == ["photoUrl", "createdAt"]
    user.refresh_from_db()
    assert STORED.fullmatch(user.profile_photo.name)
    assert user.profile_photo.name.endswith(".png")
    assert body["data"]["photoUrl"] == f"http://testserver/media/{user.profile_photo.name}"
    assert (media_root / user.profile_photo.name).read_bytes() == picture("PNG")
    assert body["data"]["createdAt"].endswith("Z")
    assert before.isoformat() <= body["data"]["createdAt"].replace("Z", "+00:00")
    assert client.get(ME, headers=auth).json()["data"]["user"]["profileImageUrl"] == body["data"]["photoUrl"]


def test_the_bytes_decide_the_format_not_the_name_or_content_type(client, user, auth):
    response = upload(client, auth, picture("JPEG"), name="photo.png", content_type="image/gif")

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.profile_photo.name.endswith(".jpg")


def test_a_new_photo_replaces_the_file_of_the_old_one(client, user, auth, media_root):
    upload(client, auth, picture("PNG"))
    user.refresh_from_db()
    old = user.profile_photo.name

    response = upload(client, auth, picture("JPEG"))

    user.refresh_from_db()
    assert response.status_code == 200
    assert user.profile_photo.name != old
    assert stored_files(media_root) == [user.profile_photo.name.rsplit("/", 1)[1]]


def test_exactly_ten_megabytes_is_accepted(client, user, auth, media_root):
    response = upload(client, auth, picture("PNG", total=MAX_PHOTO_BYTES))

    assert response.status_code == 200, response.json()
    user.refresh_from_db()
    assert (media_root / user.profile_photo.name).stat().st_size == 10 * 1024 * 1024


@pytest.mark.parametrize("total", [MAX_PHOTO_BYTES + 1, 11 * 1024 * 1024])
def test_past_ten_megabytes_is_file_too_large_not_a_413(client, user, auth, media_root, total):
    response = upload(client, auth, picture("PNG", total=total))

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "FILE_TOO_LARGE", "message": "photo: at most 10 MB (10,485,760 bytes).",
    }  # fmt: skip
    assert stored_files(media_root) == []


@pytest.mark.django_db(transaction=True)
def test_ten_megabytes_pass_through_the_asgi_handler_too(media_root):
    user = make_user()
    auth = {"Authorization": f"Bearer {token_for(user)}"}

    async def both():
        client = AsyncClient()
        exact = SimpleUploadedFile("a.png", picture("PNG", total=MAX_PHOTO_BYTES))
        big = SimpleUploadedFile("b.png", picture("PNG", total=MAX_PHOTO_BYTES + 1))
        ok = await client.post(URL, {"photo": exact}, headers=auth)
        return ok, await client.post(URL, {"photo": big}, headers=auth)

    ok, too_large = async_to_sync(both)()

    assert ok.status_code == 200, ok.json()
    assert too_large.json()["error"]["code"] == "FILE_TOO_LARGE"
    assert len(stored_files(media_root)) == 1


def test_an_image_of_too_many_pixels_is_refused_before_it_is_decoded(client, user, auth, settings):
    settings.LLM_IMAGE_MAX_PIXELS = 399

    response = upload(client, auth, picture("PNG", size=(20, 20)))

    assert response.status_code == 400
    assert response.json()["error"] == {"code": "FILE_TOO_LARGE", "message": "photo: at most 399 pixels."}
    assert upload(client, auth, picture("PNG", size=(19, 21))).status_code == 200


def _broken_png() -> bytes:
    data = bytearray(picture("PNG", size=(32, 32)))
    data[-20] ^= 0xFF  # inside the image data: its checksum no longer matches
    return bytes(data)


@pytest.mark.parametrize(
    "data",
    [
        picture("GIF"),
        picture("BMP"),
        picture("WEBP"),
        b"plain text, not an image",
        b"",
        _broken_png(),
        picture("PNG")[:40],  # cut short
    ],
    ids=["gif", "bmp", "webp", "text", "empty", "broken-png", "truncated-png"],
)
def test_anything_but_a_whole_jpeg_or_png_is_invalid_file_format(client, user, auth, media_root, data):
    response = upload(client, auth, data)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_FILE_FORMAT"
    assert stored_files(media_root) == []
    user.refresh_from_db()
    assert not user.profile_photo


@pytest.mark.parametrize(
    "body",
    [{}, {"photo": "not a file"}, {"picture": SimpleUploadedFile("me.png", picture("PNG"))}],
    ids=["nothing", "text-field", "other-field"],
)
def test_a_missing_photo_field_is_invalid_file_format(client, user, auth, body):
    response = client.post(URL, body, headers=auth)

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "INVALID_FILE_FORMAT", "message": "photo: a JPG or PNG file is required.",
    }  # fmt: skip


def test_a_json_body_is_415(client, user, auth):
    response = client.post(URL, {"photo": "x"}, content_type="application/json", headers=auth)

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_the_photo_needs_a_signed_in_user(client, media_root):
    assert upload(client, {}, picture("PNG")).status_code == 401
    assert client.delete(URL).status_code == 401
    assert stored_files(media_root) == []


def test_uploads_are_throttled_per_user(client, user, auth, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"write": "1/minute"})

    statuses = [upload(client, auth, picture("PNG")).status_code for _ in range(2)]

    assert statuses == [200, 429]
    assert client.delete(URL, headers=auth).json()["error"]["code"] == "RATE_LIMITED"


def test_delete_removes_the_photo_and_its_file(client, user, auth, media_root):
    upload(client, auth, picture("PNG"))
    before = timezone.now()

    response = client.delete(URL, headers=auth)

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["data"]["message"] == "Profile photo deleted."
    assert list(body["data"]) == ["message", "deletedAt"]
    assert before.isoformat() <= body["data"]["deletedAt"].replace("Z", "+00:00")
    assert stored_files(media_root) == []
    user.refresh_from_db()
    assert not user.profile_photo
    assert client.get(ME, headers=auth).json()["data"]["user"]["profileImageUrl"] is None


def test_delete_without_a_photo_is_200_too(client, user, auth):
    other = make_user()
    other.profile_photo = "profile-photos/theirs.png"
    other.save()

    response = client.delete(URL, headers=auth)

    assert response.status_code == 200
    assert response.json()["data"]["message"] == "Profile photo deleted."
    assert User.objects.get(pk=other.pk).profile_photo.name == "profile-photos/theirs.png"


@pytest.fixture
def debug_urls(settings):
    """The URL map as it is built with DEBUG on (config/urls.py reads DEBUG when imported)."""
    import config.urls

    settings.DEBUG = True
    importlib.reload(config.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(config.urls)
    clear_url_caches()


def test_a_stored_photo_is_served_with_debug(client, user, auth, debug_urls):
    photo_url = upload(client, auth, picture("PNG")).json()["data"]["photoUrl"]

    served = client.get(photo_url.removeprefix("http://testserver"))

    assert served.status_code == 200
    assert b"".join(served.streaming_content) == picture("PNG")
    assert served["Content-Type"] == "image/png"


def test_photos_are_not_served_without_debug(client, user, auth):
    photo_url = upload(client, auth, picture("PNG")).json()["data"]["photoUrl"]

    assert client.get(photo_url.removeprefix("http://testserver")).status_code == 404
