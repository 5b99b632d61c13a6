"""`make bench`, costs: what 1,000 cold page views cost in Gemini calls, tokens, bytes and dollars.

100 users (half of each gender) each see pages 1 and 2 five times (1,000 page views) of a catalogue of
80 outfits (40 per gender, three items each, hashtag-heavy descriptions; every fourth main image a
5 MB phone photo, the others 1200×1600 store snaps), served by uvicorn against the Gemini stand-in,
once per message scope (`user`, then `shared`), each with a cold cache. The tokens are the stand-in's
count (mirroring Google's rules) as the service recorded them. The replaced design is measured on
the same pages: one call per outfit shown on every page view (no cache), the description whole, the
image as downloaded, no media resolution. Figures, not a test: nothing here asserts.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import Table, free_port, idle, manage, server, server_env  # noqa: E402
from llm import gemini  # noqa: E402
from llm.images import Image, sniff_mime_type  # noqa: E402
from llm.prompts import Prompt  # noqa: E402
from llm.results import Prices, Usage  # noqa: E402
from llm.testing import GeminiStandIn  # noqa: E402
from llm.testing.images import ImageRoute, phone_photo  # noqa: E402

USERS, OUTFITS_PER_GENDER, PAGES, VISITS, LIMIT, CLIENTS = 100, 40, 2, 5, 20, 10
PRICES = Prices(input=0.30, output=2.50, cached=0.03)  # the settings' defaults
DESCRIPTION = (
    "{season} 출근길, 차분한 톤의 셋업으로 단정하게 #미니멀 #가을코디 #출근룩 #셋업 #데일리룩 "
    "#에디터_김하늘 #모델_박서준 #포토_이준 #무신사스탠다드 #단독할인 #스트릿 #여름코디 #오오티디 "
    "#ootd #블레이저 #슬랙스 #톤온톤 #남친룩 #코디추천 #패션 #{n}번코디"
)


SEED = """
import json
from rest_framework.authtoken.models import Token
from recommendations.models import Coordi, CoordiImage, CoordiItem, Item, User
urls = json.loads({urls!r})
seasons = ["spring", "summer", "fall", "winter"]
for n, url in enumerate(urls):
    coordi = Coordi.objects.create(
        gender="female" if n % 2 else "male", season=seasons[n % 4], style="minimal",
        description={description!r}.format(season=["봄", "여름", "가을", "겨울"][n % 4], n=n))
    CoordiImage.objects.create(coordi=coordi, image_url=url, is_main=True)
    pieces = [("outer", "울 블레이저"), ("top", "코튼 셔츠"), ("bottom", "와이드 슬랙스")]
    for position, (category, name) in enumerate(pieces):
        item = Item.objects.create(name=f"{{name}} {{n}}", category=category, brand="무신사스탠다드",
                                   price=59000, purchase_url=f"https://shop.example.com/{{n}}/{{position}}")
        CoordiItem.objects.create(coordi=coordi, item=item, position=position)
tokens = []
for n in range({users}):
    user = User.objects.create(email=f"cost{{n}}@example.com", name=f"사용자{{n}}",
                               gender="female" if n % 2 else "male")
    tokens.append(Token.objects.create(user=user).key)
print("TOKENS=" + json.dumps(tokens))
"""

TOTALS = """
import json
from django.db.models import Count, Sum
from recommendations.models import GeneratedMessage
print("TOTALS=" + json.dumps(GeneratedMessage.objects.filter(scope={scope!r}, reached_gemini=True).aggregate(
    calls=Count("id"), input=Sum("input_tokens"), image=Sum("image_tokens"), cached=Sum("cached_tokens"),
    output=Sum("output_tokens"), thinking=Sum("thinking_tokens"), image_bytes=Sum("image_bytes"))))
"""


@dataclass
class Figures:
    calls: int
    usage: Usage
    image_bytes: int

    def per_call(self, value: int) -> str:
        return f"{value / self.calls:,.0f}" if self.calls else "-"

    @property
    def dollars(self) -> float:
        return self.usage.cost(PRICES)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-costs-"))
    (workdir / "static").mkdir()  # nothing is served from it; its absence only warns
    port = free_port()
    env = server_env(
        workdir,
        database_url=f"sqlite:///{workdir / 'costs.sqlite3'}",
        cache_url="locmemcache://costs?max_entries=50000",
    )
    page_views = USERS * PAGES * VISITS
    print(f"bench costs: {USERS} users, pages 1–{PAGES}, {VISITS} visits each ({page_views:,} page views), "
          f"{2 * OUTFITS_PER_GENDER} outfits", flush=True)
    phone = phone_photo(seed=1)
    snap = phone_photo(1200, 1600, seed=2, quality=90)
    table = Table()
    names = [f"outfit-{n}.jpg" for n in range(2 * OUTFITS_PER_GENDER)]

    def serve_images() -> None:
        for n, name in enumerate(names):
            standin.add_image(name, ImageRoute(body=phone if n % 4 == 0 else snap))

    with GeminiStandIn(api_key=None) as standin:
        serve_images()
        urls = [standin.image_url(name) for name in names]
        manage(env, "migrate", "--noinput")
        seeded = manage(env, "shell", "-c", SEED.format(
            urls=json.dumps(urls), description=DESCRIPTION, users=USERS))  # fmt: skip
        tokens = json.loads(seeded.split("TOKENS=", 1)[1])
        keyed = {**env, "GOOGLE_API_KEY": "bench-key", "GEMINI_BASE_URL": standin.base_url}

        scopes: dict[str, Figures] = {}
        for scope in ("user", "shared"):
            standin.reset()
            serve_images()
            with server({**keyed, "LLM_MESSAGE_SCOPE": scope}, port) as base:
                shown = asyncio.run(views(base, tokens))
                idle(base)
            scopes[scope] = totals(env, scope)
        sent = [image for request in standin.requests for image in request.images]
        largest = max(sent, key=lambda image: len(image.data), default=None)
        replaced = asyncio.run(replaced_design(standin, shown, urls))

    distinct_pairs = sum(len(outfits) for outfits in shown.values())
    table.add("phone photo as downloaded", f"{len(phone) / 1e6:.1f} MB", "3024×4032 JPEG")
    if largest is not None:
        table.add("  largest image sent to Gemini", f"{len(largest.data) / 1024:.0f} KB",
                  f"{largest.width}×{largest.height}")  # fmt: skip
    for label, figures, note in (
        ("user scope", scopes["user"], f"distinct (user, outfit) pairs: {distinct_pairs:,}"),
        ("shared scope", scopes["shared"], f"distinct (gender, outfit) pairs: {2 * OUTFITS_PER_GENDER}"),
        ("replaced design", replaced, "20 calls per page view, no cache, images whole"),
    ):
        table.add(f"{label}: Gemini calls", f"{figures.calls:,}", note)
        table.add("  input / image / output tokens per call",
                  f"{figures.per_call(figures.usage.input)} / {figures.per_call(figures.usage.image)} / "
                  f"{figures.per_call(figures.usage.output)}")  # fmt: skip
        table.add("  image bytes per call", f"{figures.per_call(figures.image_bytes)}")
        table.add("  estimated $ per 1,000 cold page views", f"{figures.dollars:.4f}")
    ratio = replaced.dollars / scopes["shared"].dollars if scopes["shared"].dollars else float("inf")
    table.add("replaced design / shared scope, cost", f"{ratio:,.0f} ×")


async def views(base: str, tokens: list[str]) -> dict[int, set[int]]:
    """Every user's pages 1–2, five times, `CLIENTS` at once; the outfit ids each user was shown."""
    shown: dict[int, set[int]] = {}
    pending = [(n, page) for _ in range(VISITS) for page in range(1, PAGES + 1) for n in range(len(tokens))]
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    for visit in pending:
        queue.put_nowait(visit)

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            while not queue.empty():
                n, page = queue.get_nowait()
                response = await client.get(
                    f"/api/recommendations?page={page}&limit={LIMIT}",
                    headers={"Authorization": f"Bearer {tokens[n]}"},
                )
                response.raise_for_status()
                shown.setdefault(n, set()).update(o["id"] for o in response.json()["data"]["outfits"])

    await asyncio.gather(*(client_loop() for _ in range(CLIENTS)))
    return shown


def totals(env: dict[str, str], scope: str) -> Figures:
    found = json.loads(manage(env, "shell", "-c", TOTALS.format(scope=scope)).split("TOTALS=", 1)[1])
    usage = Usage(**{kind: found[kind] or 0 for kind in ("input", "image", "cached", "output", "thinking")})
    return Figures(calls=found["calls"], usage=usage, image_bytes=found["image_bytes"] or 0)


async def replaced_design(standin: GeminiStandIn, shown: dict[int, set[int]], urls: list[str]) -> Figures:
    """One call per outfit shown, as the replaced service made them, priced for every page view."""
    per_outfit: dict[int, tuple[Usage, int]] = {}
    async with httpx.AsyncClient(timeout=30) as client:
        for n, url in enumerate(urls):
            data = (await client.get(url)).content
            image = Image(data=data, mime_type=sniff_mime_type(data) or "image/jpeg")
            prompt = Prompt(
                system="You write one short, friendly message (one emoji, at most 50 characters).",
                text=f"name: 사용자\ngender: {'female' if n % 2 else 'male'}\nstyle: minimal\n"
                f"season: {['spring', 'summer', 'fall', 'winter'][n % 4]}\n"
                f"description: {DESCRIPTION.format(season='가을', n=n)}",
                language="ko",
            )
            answer = await gemini.generate(
                prompt=prompt, image=image, api_key="bench-key", base_url=standin.base_url,
                model="gemini-2.5-flash", timeout=30, thinking_budget=0, max_output_tokens=100,
                media_resolution="unspecified",
            )  # fmt: skip
            per_outfit[n] = (answer.usage or Usage(), len(data))
    # Every page view makes LIMIT calls: a user's two pages show their gender's 40 outfits once each.
    calls, usage, image_bytes = 0, Usage(), 0
    for outfits in shown.values():
        for outfit_index in _indexes(outfits, len(urls)):
            one, size = per_outfit[outfit_index]
            calls += VISITS
            image_bytes += VISITS * size
            usage = Usage(*(VISITS * a + b for a, b in zip(_fields(one), _fields(usage), strict=True)))
    await gemini.aclose()
    return Figures(calls=calls, usage=usage, image_bytes=image_bytes)


def _fields(usage: Usage) -> tuple[int, ...]:
    return (usage.input, usage.output, usage.thinking, usage.cached, usage.image)


def _indexes(outfit_ids: set[int], count: int) -> list[int]:
    """The seed order of these outfits (ids are given 1… in creation order on a fresh database)."""
    return [outfit_id - 1 for outfit_id in sorted(outfit_ids) if 0 < outfit_id <= count]


if __name__ == "__main__":
    main()
