"""The shop's identity and the one catalog of customer-facing texts."""

import pytest

from assistant.errors import ConfigError
from assistant.shop import Shop, ShopConfig

# The order desk's texts quote the order record (assistant/orders/wording.py fills these).
ORDER_VALUES = {"number": "100234", "status": "shipped", "left": 2, "date": "2026-11-08", "carrier": "SF Express",
                "tracking": "SF1234567890", "items": "1 × Lamp", "item": "Lamp", "kind": "return", "request": 3,
                "policy": "Returns within 30 days.", "address": "9 Orchard Road", "numbers": "100234 or 100240"}


def test_every_catalog_text_renders_in_both_languages_with_the_shops_details():
    shop = Shop(ShopConfig(name={"en": "Spoke & Chain", "zh": "辐条与链"}, contact_email="help@spoke.example"))
    for key in shop.catalog:
        for lang in ("en", "zh"):
            text = shop.text(key, lang, ticket=7, n=5000, limit=4000, wait=3, minutes=2, question="Q", names="A; B",
                             **ORDER_VALUES)
            assert text and "{" not in text, (key, lang)
    assert "Spoke & Chain" in shop.text("fallback", "en") and "辐条与链" in shop.text("fallback", "zh")
    assert "help@spoke.example" in shop.text("handoff_unavailable", "en")


def test_a_shop_without_contact_or_chinese_name_still_reads_well():
    shop = Shop(ShopConfig(name={"en": "Brew Lab"}))
    assert "Brew Lab" in shop.text("fallback", "zh")  # falls back to the name it has
    assert "@" not in shop.text("handoff_unavailable", "en") and "later" in shop.text("handoff_unavailable", "en")


def test_overrides_from_config_and_file(tmp_path):
    extra = tmp_path / "messages.yaml"
    extra.write_text("greeting:\n  en: 'Welcome to {shop_name}!'\n", encoding="utf-8")
    shop = Shop(ShopConfig(name={"en": "Brew Lab"}, messages_file=str(extra),
                           messages={"clarify": {"en": "Could you say that another way?"}}))
    assert shop.text("greeting", "en") == "Welcome to Brew Lab!"
    assert shop.text("clarify", "en") == "Could you say that another way?"
    assert shop.text("greeting", "zh") == "您好！有什么可以帮您？"  # not overridden: the catalog's


def test_validation():
    with pytest.raises(ConfigError, match="default_language"):
        ShopConfig(default_language="fr")
    with pytest.raises(ConfigError, match="currency"):
        ShopConfig(currency="euro")
    with pytest.raises(ConfigError, match="name"):
        ShopConfig(name={"en": " "})


def test_a_config_file_replaces_the_demo_shop_whole_but_env_merges(tmp_path):
    from assistant.config import load_config

    cfg = tmp_path / "shop.yaml"
    cfg.write_text("shop:\n  name: {en: Brew Lab}\n", encoding="utf-8")
    settings = load_config(cfg, env={"ASSISTANT_SHOP__CONTACT_PHONE": "555-0100"})
    assert settings.shop.name == {"en": "Brew Lab"}
    assert settings.shop.contact_email == "" and settings.shop.hours == {}  # not the demo's
    assert settings.shop.contact_phone == "555-0100"
    demo = load_config(env={})
    assert demo.shop.contact_email  # the demo profile when no shop is configured


def test_the_language_of_a_conversation_from_the_customers_messages():
    """One helper for what the widget, the handoff button and the agent tab each computed from the messages."""
    shop = Shop(ShopConfig(default_language="zh"))
    assert shop.language_of_conversation(["Do you ship to Canada?", "1111"]) == "en"  # "1111" says no language
    assert shop.language_of_conversation(["Do you ship to Canada?", "那运费呢？"]) == "zh"
    assert shop.language_of_conversation(["anna.lee@example.com"]) == shop.language_of_conversation([]) == "zh"
    # an address written into Chinese takes none of the Chinese with it
    en = Shop(ShopConfig(default_language="en"))
    assert en.language_of_conversation(["我的邮箱是zhang@qq.com"]) == "zh"
    assert en.language_of_conversation(["Hi", "邮箱：zhang@qq.com。"]) == "zh"
    # a message of 100,000 characters is read from its start (the widget refuses it as too long at once)
    assert en.language_of_conversation(["y" * 100_000]) == "en"


def test_the_shops_name_in_another_language_becomes_its_name_in_the_target_language():
    shop = Shop(ShopConfig(name={"en": "Crumb & Co", "zh": "面包时光"}))
    assert shop.named_for("面包时光会员积分", "en") == "Crumb & Co会员积分"
    assert shop.named_for("Crumb & Co ships daily", "zh") == "面包时光 ships daily"
    # a Latin name only as whole words
    assert shop.named_for("Crumb & Coffee", "zh") == "Crumb & Coffee"
    assert shop.named_for("面包时光", "zh") == "面包时光"
    # a name inside the other one, short Chinese names and the generic names are left alone
    nested = Shop(ShopConfig(name={"en": "Slow Ember Coffee", "zh": "Slow Ember"}))
    assert nested.named_for("Slow Ember Coffee 的手冲壶", "en") == "Slow Ember Coffee 的手冲壶"
    assert nested.named_for("Slow Ember 的手冲壶", "en") == "Slow Ember Coffee 的手冲壶"
    assert Shop(ShopConfig(name={"en": "Crumb", "zh": "面包"})).named_for("全麦面包", "en") == "全麦面包"
    assert Shop().named_for("本店铺位于杭州", "en") == "本店铺位于杭州"


@pytest.mark.parametrize("messages, message", [
    ({"greeting": {"en": "Hi from {shopname}!"}}, r"placeholder \{shopname\}, which nothing fills"),
    ({"greting": {"en": "Hi"}}, "unknown message key 'greting' \\(did you mean 'greeting'\\?\\)"),
    ({"greeting": {"cn": "你好"}}, "unknown language 'cn'"),
    ({"greeting": {"en": "Hi {"}}, "not a valid text"),
])
def test_a_message_override_that_cannot_be_shown_is_refused_at_load(messages, message):
    # "{shopname}" loaded fine and made every widget page a 500; a misspelt key was silently never shown
    from assistant.errors import ConfigError
    from assistant.shop import Shop, ShopConfig

    with pytest.raises(ConfigError, match=message):
        Shop(ShopConfig(messages=messages))
    Shop(ShopConfig(messages={"greeting": {"en": "Hi, {shop_name} here."}, "too_long": {"en": "{n} > {limit}"}}))


def test_hours_or_a_description_in_an_unknown_language_is_refused():
    from assistant.errors import ConfigError
    from assistant.shop import ShopConfig

    with pytest.raises(ConfigError, match="hours has unknown language 'cn'"):
        ShopConfig(hours={"cn": "每天 9:00-18:00"})
    with pytest.raises(ConfigError, match="description has unknown language 'cn'"):
        ShopConfig(description={"cn": "茶庄"})


def test_a_language_left_blank_in_the_messages_file_is_not_given(tmp_path):
    # `greeting:\n  en:\n  zh: ...` greeted every English customer with "None"
    extra = tmp_path / "messages.yaml"
    extra.write_text("greeting:\n  en:\n  zh: 欢迎光临{shop_name}\n", encoding="utf-8")
    shop = Shop(ShopConfig(name={"en": "Brew Lab", "zh": "咖啡实验室"}, messages_file=str(extra)))
    assert shop.text("greeting", "zh") == "欢迎光临咖啡实验室"
    assert shop.text("greeting", "en") == Shop(ShopConfig()).text("greeting", "en")  # the catalog's, untouched
    extra.write_text("greeting: Hello there\n", encoding="utf-8")  # no language: the error names the key
    with pytest.raises(ConfigError, match="greeting must map languages"):
        Shop(ShopConfig(messages_file=str(extra)))


def test_the_contact_texts_fill_their_placeholders_and_cannot_name_themselves():
    # contact_later was shown raw: "please call us on {contact_phone}." reached customers with its braces; and
    # contact_line naming {contact_line_or_later} (made from it) passed the load check, then failed every text
    shop = Shop(ShopConfig(name={"en": "Velo"}, contact_phone="+1 555 0100",
                           messages={"contact_later": {"en": "please call us on {contact_phone}."}}))
    assert shop.text("handoff_unavailable", "en").endswith("please call us on +1 555 0100.")
    for key in ("contact_line", "contact_later"):
        with pytest.raises(ConfigError, match=rf"{key} \(en\) has the placeholder {{contact_line_or_later}}"):
            Shop(ShopConfig(contact_email="a@b.example", messages={key: {"en": "or {contact_line_or_later}"}}))


def test_a_plain_text_name_description_or_hours_is_the_text_in_its_own_language(tmp_path):
    # `hours: Mon-Fri 9-17` in place of init's `hours: {}` stopped the shop with "shop.hours must be a mapping"
    from assistant.config import load_config

    path = tmp_path / "config.yaml"
    path.write_text("shop:\n  name: Velo Works\n  description: 一家网上单车店\n  hours: '9:00-18:00'\n"
                    "  default_language: zh\n", encoding="utf-8")
    cfg = load_config(path, env={}).shop
    assert cfg.name == {"en": "Velo Works"} and cfg.description == {"zh": "一家网上单车店"}
    assert cfg.hours == {"zh": "9:00-18:00"}  # no letters: the shop's default language
    assert "9:00-18:00" in Shop(cfg).text("contact_row_hours_a", "zh")
    with pytest.raises(ConfigError, match="name must give the shop's name"):
        ShopConfig(name=" ")
