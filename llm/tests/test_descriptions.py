"""The description as the prompt gives it: the headline, and a few tags about the outfit."""

from __future__ import annotations

import pytest

from llm.descriptions import MAX_TAGS, clean_description

# As the replaced service's catalogue export writes them: a headline, then a run of 21 tags with
# credits, the shop's promotion, generic tags and a contradicting style and season.
EXPORT = (
    "가을 출근길, 차분한 톤의 셋업으로 단정하게 #미니멀 #가을코디 #출근룩 #셋업 #데일리룩 "
    "#에디터_김하늘 #모델_박서준 #포토_이준 #무신사스탠다드 #단독할인 #스트릿 #여름코디 #오오티디 "
    "#ootd #블레이저 #슬랙스 #톤온톤 #남친룩 #코디추천 #패션 #12번코디"
)


def test_a_hashtag_heavy_description_keeps_its_headline_and_three_topical_tags():
    cleaned = clean_description(EXPORT, brands=["무신사스탠다드"])

    assert cleaned == "가을 출근길, 차분한 톤의 셋업으로 단정하게 #출근룩 #셋업 #블레이저"
    assert len(cleaned) < len(EXPORT) / 2


@pytest.mark.parametrize(
    "tag",
    ["#에디터_김하늘", "#모델_박서준", "#포토_이준", "#Model_Jin", "#photographer.lee", "#스타일리스트",
     "#헤어_민", "#메이크업", "#PH_kim"],
)  # fmt: skip
def test_credits_never_reach_the_prompt(tag):
    assert tag not in clean_description(f"니트 하나로 #니트 {tag} #코트", brands=())
    assert clean_description(f"니트 하나로 {tag}", brands=()) == "니트 하나로"


def test_credit_lines_written_out_go_too():
    cleaned = clean_description("Model: Park Jin, 에디터\uff1a김하늘 / 편한 주말 룩", brands=())

    assert cleaned == "편한 주말 룩"


@pytest.mark.parametrize(
    "tag",
    ["#무신사스탠다드", "#MUSINSA_STANDARD", "#musinsastandard신상", "#단독할인", "#SALE", "#쿠폰이벤트",
     "#협찬", "#sale50", "#event당첨"],
)  # fmt: skip
def test_promotions_of_a_brand_or_a_sale_go(tag):
    cleaned = clean_description(f"셔츠 {tag} #셔츠", brands=["무신사스탠다드", "Musinsa Standard"])

    assert cleaned == "셔츠 #셔츠"


@pytest.mark.parametrize(
    "tag",
    ["#ootd", "#OOTD", "#\uff2f\uff2f\uff34\uff24", "#데일리룩", "#코디추천", "#패션", "#12번코디", "#7"],
)  # fmt: skip
def test_generic_tags_go(tag):
    assert clean_description(f"셔츠 {tag}", brands=()) == "셔츠"


@pytest.mark.parametrize("tag", ["#스트릿", "#streetlook", "#여름코디", "#겨울", "#Autumn", "#미니멀룩"])
def test_style_and_season_tags_go_as_the_fields_say_them_already(tag):
    assert clean_description(f"셔츠 {tag}", brands=()) == "셔츠"


def test_topical_tags_stay_in_order_once_each_up_to_the_limit():
    cleaned = clean_description("코트 #트렌치 #트렌치 #울 #TRENCH #니트 #부츠", brands=())

    assert cleaned == "코트 #트렌치 #울 #TRENCH"
    assert cleaned.count("#") == MAX_TAGS


def test_tags_inside_the_headline_are_taken_out_and_the_spaces_closed():
    assert clean_description("#봄 가벼운 #니트 에 데님", brands=()) == "가벼운 에 데님 #니트"


def test_plain_text_passes_as_it_is():
    assert clean_description("A long wool coat over a grey knit", brands=["Zara"]) == (
        "A long wool coat over a grey knit"
    )
    assert clean_description("", brands=()) == ""
    assert clean_description("#ootd #에디터_김", brands=()) == ""


def test_a_brand_that_is_blank_shuns_nothing():
    assert clean_description("셔츠 #셔츠", brands=["", "  "]) == "셔츠 #셔츠"


@pytest.mark.parametrize(
    "text",
    ["사진: 실제 색상과 약간 다를 수 있어요 가볍게 걸치기 좋은 니트",
     "Hair: 단발 웨이브에 어울리는 셔츠 코디",
     "Styling: 셔츠를 바지 안에 넣고 벨트로 허리를 잡아 주세요"],
)  # fmt: skip
def test_a_sentence_after_a_credit_word_is_no_credit_and_stays(text):
    assert clean_description(text, brands=()) == text


def test_a_credit_ends_at_a_tag_or_the_end_of_its_line():
    text = "차분한 셋업 Model: Park Jin #니트\n편한 주말\nPhoto: 이준"

    assert clean_description(text, brands=()) == "차분한 셋업 편한 주말 #니트"


@pytest.mark.parametrize("tag", ["#wholesale", "#eventwear", "#트렌치"])
def test_words_that_only_contain_a_promotion_or_a_short_brand_stay(tag):
    assert clean_description(f"코트 {tag}", brands=["트", "B"]) == f"코트 {tag}"
