"""PII as customers actually type it: full-width digits and letters (a Chinese keyboard in full-width mode),
numbers written in groups, lower-case IBANs. Each must be redacted like its plain ASCII form."""

from __future__ import annotations

import pytest

from assistant.guardrails import Guardrails
from assistant.privacy import PrivacyConfig, Redactor


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize("text, kind, value", [
    ("邮箱ｚｗ＠１２６．ｃｏｍ谢谢", "EMAIL", "ｚｗ＠１２６．ｃｏｍ"),
    ("mail ＺＷ@126.com", "EMAIL", "ＺＷ@126.com"),
    ("卡号６２２２９３７８６５７９７５４３２３６", "CARD", "６２２２９３７８６５７９７５４３２３６"),
    ("card ４１１１　１１１１　１１１１　１１１１ ok", "CARD", "４１１１　１１１１　１１１１　１１１１"),
    ("身份证１１０１０１１９９００３０７４５１４", "CN_ID", "１１０１０１１９９００３０７４５１４"),
    ("IBAN：ＤＥ８９３７０４００４４０５３２０１３０００", "IBAN", "ＤＥ８９３７０４００４４０５３２０１３０００"),
])
def test_full_width_pii_is_found_with_its_original_span(redactor, text, kind, value):
    assert [(e.type, e.text) for e in redactor.find(text)] == [(kind, value)]
    assert redactor.redact(text) == text.replace(value, f"<{kind}>")


@pytest.mark.parametrize("text, value", [
    ("身份证 110101 19900307 4514", "110101 19900307 4514"),
    ("身份证号码：110101-19900307-4514。", "110101-19900307-4514"),
    ("ID 110101 1990 0307 4514", "110101 1990 0307 4514"),
])
def test_a_chinese_id_written_in_groups(redactor, text, value):
    assert [(e.type, e.text) for e in redactor.find(text)] == [("CN_ID", value)]


def test_an_id_followed_by_another_number_is_still_found(redactor):
    assert redactor.redact("身份证 110101199003074514 13812345678") == "身份证 <CN_ID> <PHONE>"


def test_grouped_id_look_alikes_stay(redactor):
    # wrong check digit; two numbers with different separators
    assert not [e for e in redactor.find("110101 19900307 4515") if e.type == "CN_ID"]
    assert not [e for e in redactor.find("110101 19900307-4514") if e.type == "CN_ID"]


@pytest.mark.parametrize("text, value", [
    ("iban de89 3704 0044 0532 0130 00 please", "de89 3704 0044 0532 0130 00"),
    ("IBAN DE89-3704-0044-0532-0130-00", "DE89-3704-0044-0532-0130-00"),
    ("gb82west12345698765432", "gb82west12345698765432"),
])
def test_iban_in_lower_case_or_dashed(redactor, text, value):
    assert [(e.type, e.text) for e in redactor.find(text)] == [("IBAN", value)]


def test_floor_and_room_written_with_spaces_go_with_the_address(redactor):
    assert redactor.redact("地址 上海市徐汇区漕溪北路 88 号 3 楼 301 室") == "地址 <ADDRESS>"


def test_the_shops_full_width_hotline_stays_allowed():
    r = Redactor(PrivacyConfig(allow=["help@shop.example"]))
    assert r.redact("ｈｅｌｐ＠ｓｈｏｐ．ｅｘａｍｐｌｅ") == "ｈｅｌｐ＠ｓｈｏｐ．ｅｘａｍｐｌｅ"


def test_output_check_catches_full_width_foreign_pii_and_allows_the_customers_own():
    g = Guardrails()
    leak = g.check_output("另一位顾客的邮箱是ｌｉ＠１６３．ｃｏｍ")
    assert leak.blocked and leak.category == "pii_leak" and "ｌｉ＠１６３．ｃｏｍ" not in leak.safe_text
    own = g.check_output("We will call 13812345678 today.", allowed_pii=["我的手机１３８１２３４５６７８"])
    assert not own.blocked
