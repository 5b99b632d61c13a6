"""What the demo catalogue is made of: brands, garments, colours and the phrases of descriptions."""

from dataclasses import dataclass

CASUAL, STREET, SPORTY, MINIMAL = "casual", "street", "sporty", "minimal"
SPRING, SUMMER, FALL, WINTER = "spring", "summer", "fall", "winter"
MALE, FEMALE = "male", "female"
TOP, BOTTOM, OUTER = "top", "bottom", "outer"

STYLES = (CASUAL, STREET, SPORTY, MINIMAL)
SEASONS = (SPRING, SUMMER, FALL, WINTER)
GENDERS = (MALE, FEMALE)
BOTH = frozenset(GENDERS)
WOMEN = frozenset({FEMALE})
ALL_SEASONS = frozenset(SEASONS)


@dataclass(frozen=True)
class Brand:
    name: str
    slug: str
    styles: frozenset[str]
    genders: frozenset[str] = BOTH


@dataclass(frozen=True)
class Colour:
    name: str
    slug: str
    rgb: tuple[int, int, int]


@dataclass(frozen=True)
class Garment:
    """A kind of product (코튼 니트); the catalogue makes a few brand and colour variants of each."""

    name: str
    slug: str
    category: str
    shape: str  # how images.py draws it
    seasons: frozenset[str]
    styles: frozenset[str]
    palette: str
    price_range: tuple[int, int]  # in won
    genders: frozenset[str] = BOTH
    layer: bool = False  # can be worn under another top (a tee under an open shirt)


def _f(*values: str) -> frozenset[str]:
    return frozenset(values)


BRANDS: tuple[Brand, ...] = (
    Brand("무신사 스탠다드", "musinsa-standard", _f(CASUAL, MINIMAL, SPORTY)),
    Brand("모노", "mono", _f(MINIMAL, CASUAL)),
    Brand("커버낫", "covernat", _f(CASUAL, STREET)),
    Brand("디스이즈네버댓", "thisisneverthat", _f(STREET, SPORTY)),
    Brand("마르디 메크르디", "mardi-mercredi", _f(CASUAL, STREET), WOMEN),
    Brand("앤더슨벨", "andersson-bell", _f(STREET, MINIMAL)),
    Brand("아더에러", "ader-error", _f(STREET, MINIMAL)),
    Brand("쿠어", "coor", _f(MINIMAL, CASUAL)),
    Brand("시엔느", "sienne", _f(MINIMAL, CASUAL), WOMEN),
    Brand("로라로라", "rolarola", _f(CASUAL, STREET), WOMEN),
    # Invented, so that sporty looks and every style have enough makers.
    Brand("러닝하이", "running-high", _f(SPORTY)),
    Brand("필드워크", "fieldwork", _f(SPORTY, CASUAL)),
    Brand("어반트랙", "urban-track", _f(SPORTY, STREET)),
    Brand("그레이노트", "grey-note", _f(MINIMAL)),
    Brand("솔트앤코튼", "salt-and-cotton", _f(CASUAL, MINIMAL)),
    Brand("하루웨어", "haru-wear", _f(CASUAL, SPORTY)),
    Brand("오프코스", "off-course", _f(STREET, SPORTY)),
    Brand("르블랑 스튜디오", "leblanc-studio", _f(MINIMAL, CASUAL), WOMEN),
)

COLOURS: dict[str, Colour] = {
    colour.slug: colour
    for colour in (
        Colour("블랙", "black", (34, 34, 36)),
        Colour("화이트", "white", (244, 243, 238)),
        Colour("아이보리", "ivory", (236, 229, 210)),
        Colour("오트밀", "oatmeal", (214, 199, 172)),
        Colour("베이지", "beige", (205, 184, 148)),
        Colour("카멜", "camel", (178, 131, 80)),
        Colour("브라운", "brown", (109, 78, 54)),
        Colour("차콜", "charcoal", (66, 66, 70)),
        Colour("그레이", "grey", (150, 150, 152)),
        Colour("멜란지 그레이", "melange-grey", (184, 184, 188)),
        Colour("네이비", "navy", (36, 46, 82)),
        Colour("스카이 블루", "sky-blue", (152, 190, 224)),
        Colour("연청", "light-wash", (150, 174, 204)),
        Colour("중청", "mid-wash", (92, 120, 163)),
        Colour("진청", "raw-indigo", (44, 58, 102)),
        Colour("카키", "khaki", (112, 111, 72)),
        Colour("올리브", "olive", (92, 98, 58)),
        Colour("버건디", "burgundy", (112, 32, 46)),
        Colour("핑크", "pink", (232, 182, 192)),
        Colour("라벤더", "lavender", (192, 176, 222)),
        Colour("버터", "butter", (241, 226, 152)),
        Colour("민트", "mint", (168, 219, 200)),
        Colour("오렌지", "orange", (228, 120, 52)),
        Colour("레드", "red", (190, 45, 45)),
    )
}

PALETTES: dict[str, tuple[str, ...]] = {
    "basic": ("black", "white", "melange-grey", "navy", "charcoal"),
    "knit": ("ivory", "oatmeal", "charcoal", "navy", "brown", "burgundy"),
    "denim": ("light-wash", "mid-wash", "raw-indigo", "black"),
    "earth": ("beige", "khaki", "olive", "camel", "brown", "charcoal"),
    "sport": ("black", "navy", "grey", "mint", "orange", "red"),
    "summer": ("white", "sky-blue", "butter", "mint", "beige", "ivory"),
    "pastel": ("pink", "lavender", "butter", "sky-blue", "ivory"),
    "coat": ("camel", "charcoal", "black", "beige", "navy", "oatmeal"),
}

_NOT_SUMMER = _f(SPRING, FALL, WINTER)
_MILD = _f(SPRING, FALL)
_COLD = _f(FALL, WINTER)

# One row per garment: a table reads better than the formatter's ten lines a garment.
# fmt: off
GARMENTS: tuple[Garment, ...] = (
    # Tops
    Garment("코튼 니트", "cotton-knit", TOP, "sweater", _MILD, _f(CASUAL, MINIMAL), "knit", (39_000, 89_000)),
    Garment("케이블 니트", "cable-knit", TOP, "sweater", _COLD, _f(CASUAL), "knit", (59_000, 129_000)),
    Garment("터틀넥 니트", "turtleneck-knit", TOP, "sweater", _COLD, _f(MINIMAL, CASUAL), "knit", (49_000, 119_000)),
    Garment("오버핏 후드티", "overfit-hoodie", TOP, "hoodie", _NOT_SUMMER, _f(STREET, CASUAL, SPORTY), "basic", (39_000, 89_000)),
    Garment("기모 후드티", "fleece-lined-hoodie", TOP, "hoodie", _f(WINTER), _f(STREET, SPORTY), "sport", (49_000, 99_000)),
    Garment("루즈핏 맨투맨", "loose-sweatshirt", TOP, "sweater", _NOT_SUMMER, _f(CASUAL, STREET, SPORTY), "basic", (29_000, 79_000)),
    Garment("하프집업 스웨트", "half-zip-sweat", TOP, "sweater", _NOT_SUMMER, _f(SPORTY, STREET), "sport", (49_000, 99_000)),
    Garment("린넨 셔츠", "linen-shirt", TOP, "shirt", _f(SPRING, SUMMER), _f(CASUAL, MINIMAL), "summer", (39_000, 89_000)),
    Garment("옥스포드 셔츠", "oxford-shirt", TOP, "shirt", _MILD, _f(CASUAL, MINIMAL), "summer", (39_000, 79_000)),
    Garment("스트라이프 럭비 셔츠", "rugby-shirt", TOP, "shirt", _MILD, _f(STREET, CASUAL), "sport", (59_000, 109_000)),
    Garment("그래픽 롱슬리브", "graphic-long-sleeve", TOP, "sweater", _MILD, _f(STREET), "basic", (29_000, 59_000)),
    Garment("반팔 티셔츠", "short-sleeve-tee", TOP, "tee", _f(SUMMER, SPRING), _f(CASUAL, MINIMAL, SPORTY), "basic", (19_000, 39_000), layer=True),
    Garment("그래픽 반팔 티셔츠", "graphic-tee", TOP, "tee", _f(SUMMER), _f(STREET, CASUAL), "summer", (29_000, 49_000), layer=True),
    Garment("기능성 반팔 티셔츠", "dry-fit-tee", TOP, "tee", _f(SUMMER, SPRING), _f(SPORTY), "sport", (19_000, 49_000)),
    Garment("피케 폴로 셔츠", "pique-polo", TOP, "tee", _f(SUMMER), _f(CASUAL, MINIMAL, SPORTY), "summer", (39_000, 79_000)),
    Garment("크롭 가디건", "cropped-cardigan", TOP, "sweater", _MILD, _f(CASUAL, MINIMAL), "pastel", (39_000, 79_000), WOMEN),
    Garment("슬리브리스 탑", "sleeveless-top", TOP, "tank", _f(SUMMER), _f(MINIMAL, CASUAL, SPORTY), "summer", (19_000, 39_000), WOMEN),
    Garment("셔링 블라우스", "shirring-blouse", TOP, "shirt", _f(SPRING, SUMMER), _f(MINIMAL, CASUAL), "pastel", (39_000, 89_000), WOMEN),
    # Bottoms
    Garment("와이드 데님 팬츠", "wide-denim-pants", BOTTOM, "pants", _NOT_SUMMER, _f(CASUAL, STREET), "denim", (49_000, 109_000)),
    Garment("스트레이트 데님 팬츠", "straight-denim-pants", BOTTOM, "pants", ALL_SEASONS, _f(CASUAL, MINIMAL), "denim", (49_000, 99_000)),
    Garment("카고 팬츠", "cargo-pants", BOTTOM, "pants", _f(SPRING, SUMMER, FALL), _f(STREET, CASUAL), "earth", (49_000, 99_000)),
    Garment("세미 와이드 슬랙스", "semi-wide-slacks", BOTTOM, "pants", _NOT_SUMMER, _f(MINIMAL, CASUAL), "coat", (39_000, 89_000)),
    Garment("코듀로이 팬츠", "corduroy-pants", BOTTOM, "pants", _COLD, _f(CASUAL, MINIMAL), "earth", (49_000, 89_000)),
    Garment("린넨 팬츠", "linen-pants", BOTTOM, "pants", _f(SPRING, SUMMER), _f(MINIMAL, CASUAL), "summer", (39_000, 79_000)),
    Garment("조거 팬츠", "jogger-pants", BOTTOM, "pants", _NOT_SUMMER, _f(SPORTY, STREET), "sport", (39_000, 79_000)),
    Garment("기모 조거 팬츠", "fleece-jogger-pants", BOTTOM, "pants", _f(WINTER), _f(SPORTY, STREET, CASUAL), "basic", (49_000, 89_000)),
    Garment("트랙 팬츠", "track-pants", BOTTOM, "pants", _MILD, _f(SPORTY, STREET), "sport", (49_000, 99_000)),
    Garment("버뮤다 쇼츠", "bermuda-shorts", BOTTOM, "shorts", _f(SUMMER), _f(CASUAL, MINIMAL), "earth", (29_000, 59_000)),
    Garment("나일론 쇼츠", "nylon-shorts", BOTTOM, "shorts", _f(SUMMER), _f(SPORTY, STREET), "sport", (29_000, 59_000)),
    Garment("스웨트 쇼츠", "sweat-shorts", BOTTOM, "shorts", _f(SUMMER, SPRING), _f(SPORTY, CASUAL, STREET), "basic", (29_000, 49_000)),
    Garment("플리츠 스커트", "pleated-skirt", BOTTOM, "skirt", _f(SPRING, SUMMER, FALL), _f(CASUAL, MINIMAL), "pastel", (39_000, 89_000), WOMEN),
    Garment("데님 롱 스커트", "denim-long-skirt", BOTTOM, "skirt", _NOT_SUMMER, _f(CASUAL, STREET), "denim", (49_000, 99_000), WOMEN),
    Garment("트레이닝 레깅스", "training-leggings", BOTTOM, "leggings", ALL_SEASONS, _f(SPORTY), "sport", (29_000, 69_000), WOMEN),
    # Outers
    Garment("울 블렌드 코트", "wool-blend-coat", OUTER, "coat", _COLD, _f(MINIMAL, CASUAL), "coat", (159_000, 289_000)),
    Garment("발마칸 코트", "balmacaan-coat", OUTER, "coat", _f(WINTER), _f(MINIMAL), "coat", (189_000, 289_000)),
    Garment("트렌치 코트", "trench-coat", OUTER, "coat", _MILD, _f(MINIMAL, CASUAL), "earth", (129_000, 259_000)),
    Garment("싱글 블레이저", "single-blazer", OUTER, "jacket", _MILD, _f(MINIMAL), "coat", (99_000, 199_000)),
    Garment("나일론 트랙 재킷", "nylon-track-jacket", OUTER, "jacket", _MILD, _f(SPORTY, STREET), "sport", (69_000, 139_000)),
    Garment("바람막이", "windbreaker", OUTER, "jacket", _MILD, _f(SPORTY, CASUAL), "sport", (59_000, 129_000)),
    Garment("데님 트러커 재킷", "denim-trucker-jacket", OUTER, "jacket", _MILD, _f(CASUAL, STREET), "denim", (79_000, 149_000)),
    Garment("바시티 재킷", "varsity-jacket", OUTER, "jacket", _MILD, _f(STREET), "knit", (119_000, 219_000)),
    Garment("V넥 가디건", "v-neck-cardigan", OUTER, "jacket", _MILD, _f(CASUAL, MINIMAL), "knit", (49_000, 99_000)),
    Garment("플리스 집업", "fleece-zip-up", OUTER, "jacket", _COLD, _f(CASUAL, STREET, SPORTY), "earth", (59_000, 129_000)),
    Garment("숏 패딩", "short-puffer", OUTER, "puffer", _f(WINTER), _f(STREET, SPORTY, CASUAL), "basic", (129_000, 259_000)),
    Garment("롱 패딩", "long-puffer", OUTER, "puffer-long", _f(WINTER), _f(SPORTY, CASUAL), "basic", (159_000, 289_000)),
    Garment("스웨이드 무스탕", "suede-shearling", OUTER, "coat", _f(WINTER), _f(STREET, CASUAL), "earth", (159_000, 289_000)),
)
# fmt: on

STYLE_WORDS = {CASUAL: "캐주얼", STREET: "스트릿", SPORTY: "스포티", MINIMAL: "미니멀"}

SEASON_WORDS: dict[str, tuple[str, ...]] = {
    SPRING: ("봄", "따뜻한 봄날", "간절기", "벚꽃 시즌"),
    SUMMER: ("여름", "한여름", "시원한 여름", "무더운 날"),
    FALL: ("가을", "선선한 가을", "쌀쌀한 가을", "단풍 시즌"),
    WINTER: ("겨울", "한겨울", "포근한 겨울", "추운 날"),
}

SEASON_OCCASIONS: dict[str, tuple[str, ...]] = {
    SPRING: ("산책", "피크닉", "꽃구경", "주말 나들이"),
    SUMMER: ("휴가", "바캉스", "한강 나들이", "여행"),
    FALL: ("단풍 나들이", "캠핑", "카페 투어", "전시회"),
    WINTER: ("연말 모임", "크리스마스", "겨울 여행", "약속"),
}

STYLE_OCCASIONS: dict[str, tuple[str, ...]] = {
    CASUAL: ("데일리", "주말", "캠퍼스", "데이트"),
    STREET: ("페스티벌", "공연", "성수동 나들이", "스트릿 스냅"),
    SPORTY: ("러닝", "운동", "등산", "애슬레저"),
    MINIMAL: ("출근", "미팅", "갤러리", "오피스"),
}
