"""Prompts that ask a small model for many items at once, and a parser that survives its output.

One call asks for k items of one field as a numbered list (k short lines cost far fewer tokens than k
calls, each re-reading the brand context). Small models add intros, labels, quotes, character counts and
wrap lines; `parse_items` strips all of that and also accepts JSON lists.
"""

from __future__ import annotations

import json
import re

from assistant.adcopy.brand import BrandProfile
from assistant.adcopy.brief import Brief
from assistant.adcopy.channels import ChannelSpec, FieldSpec
from assistant.adcopy.text import has_cjk
from assistant.llm.base import Message

# field -> (English plural, Chinese name): what the model is asked to write.
FIELD_LABELS = {
    "headline": ("ad headlines", "广告标题"),
    "description": ("ad descriptions of one or two sentences", "广告描述（一到两句话）"),
    "primary_text": ("ad texts of one or two sentences", "广告正文（一到两句话）"),
    "text": ("short posts", "文案"),
    "title": ("titles", "标题"),
    "body": ("short paragraphs", "段落正文"),
    "subject": ("e-mail subject lines", "邮件主题"),
    "preheader": ("e-mail preview texts", "邮件预览文字"),
    "cta": ("call-to-action button texts of 2-4 words", "行动按钮文字（2到6个字）"),
}
_LABEL_WORDS = {w for pair in FIELD_LABELS.values() for w in pair} | set(FIELD_LABELS) | {
    "headline", "description", "primary text", "subject", "subject line", "preheader", "title", "text",
    "body", "cta", "标题", "描述", "正文", "文案", "主题", "副标题", "预览", "短信",
}
_NUMBERED = re.compile(r"^\s*(?:\(?(\d{1,2})[.)、:：)]|[-*•·]\s|[一二三四五六七八九十]+[、.．])\s*(.*)$")
_COUNT_SUFFIX = re.compile(r"\s*[(（]\s*\d+\s*(?:chars?|characters|letters|字符|个字|字)?\s*[)）]\s*$", re.I)
# "Material: …", and as the models also write it "Material - …", "Feeling – …", "材质——…" (the dash was taken out
# later and "Material Hand-glazed stoneware" was a returned headline); "Easy-care linen" has no spaced dash.
_LABEL_PREFIX = re.compile(r"^\s*([A-Za-z][A-Za-z ]{0,15}|[\u4e00-\u9fff]{1,4})\s*\d*\s*(?:[:：]|\s-\s|[–—]{1,2})\s*")
_QUOTES = "\"'“”‘’「」『』《》`"


def field_label(field: str, language: str) -> str:
    en, zh = FIELD_LABELS.get(field, (field + "s", field))
    return zh if language == "zh" else en


def prompt_budget(spec: FieldSpec, language: str) -> int:
    """The length the model is told: under the hard limit, because small models overshoot."""
    return max(4, int(spec.budget_for(language) * 0.85))


def system_prompt(brand: BrandProfile | None, brief: Brief) -> str:
    zh = brief.language == "zh"
    banned = list(dict.fromkeys((brand.banned(brief.language) if brand else []) + brief.banned_words))
    if brand is None:
        lines = ["你是一名资深广告文案。" if zh else "You are an experienced advertising copywriter."]
    else:
        name = brand.name_in(brief.language)
        lines = [f"你是{name}的广告文案。" if zh else f"You write ad copy for {name}."]
        for table, label in ((brand.description, ""), (brand.voice, "语气：" if zh else "Voice: ")):
            text = table.get(brief.language) or table.get("*")
            if text:
                lines.append(label + text)
        for table, label in ((brand.do, "要：" if zh else "Do: "), (brand.dont, "不要：" if zh else "Don't: ")):
            notes = brand.notes(table, brief.language)
            if notes:
                lines.append(label + ("；" if zh else "; ").join(notes))
    if not zh:  # an English prompt stays English: Chinese banned words are still checked, just not listed
        banned = [w for w in banned if not has_cjk(w)]
    if banned:
        lines.append(("绝对不要使用这些词：" if zh else "Never use these words: ") + ", ".join(banned))
    # The invented-fact check removes what the brief does not state; asking first wastes fewer items.
    lines.append("只写简报里给出的事实：不要编造数字、材质、认证、功效或承诺。" if zh else
                 "State only facts given in the brief: invent no numbers, materials, certifications or promises.")
    lines.append("只用简体中文写。" if zh else "Write in English only.")
    return "\n".join(lines)


def examples_for(brand: BrandProfile | None, channel: ChannelSpec, field: str, language: str,
                 product: str = "") -> list[str]:
    """The brand's exemplars of this very channel and field (other channels' copy misleads small models); with
    `product` (the brief's), only those about a product that shares a word of its name: qwen2.5-0.5b carries an
    exemplar's facts into the copy, and the demo's ceramic-bowl post put "早餐" into ads for a bath towel."""
    if brand is None:
        return []
    found = [ex.fields[field] for ex in brand.exemplars
             if ex.channel == channel.id and ex.language == language and field in ex.fields
             and channel.field(field).fits(ex.fields[field])]
    if product:
        names = {w for n in [brand.name, *brand.names.values()] for w in _name_words(n)}
        words = _name_words(product) - names
        found = [e for e in found if words & _name_words(e)]
    return found[:3]


def _name_words(text: str) -> set[str]:
    """The words of a product name that say what it is: Chinese words of 2+ characters (jieba), English words of
    4+ letters without a plural s."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    low = (text or "").lower()
    zh = {w for w in jieba.lcut(low) if len(w) >= 2 and all("\u4e00" <= c <= "\u9fff" for c in w)}
    return zh | {w.removesuffix("s") for w in re.findall(r"[a-z]{4,}", low)}


# A field with room for this many characters (after the prompt's margin) holds sentences, not a phrase: it is
# asked to name every selling point, and a bare list of them is refused there (generator).
LONG_FIELD_CHARS = 60


def is_long_field(spec: FieldSpec, language: str) -> bool:
    return prompt_budget(spec, language) >= LONG_FIELD_CHARS


# One angle per item: small models asked for "k different headlines" write one headline k times; asked for
# one per angle, they write k different ones. The angle is a label the parser strips.
ANGLES = [("benefit", "好处"), ("material", "材质"), ("feeling", "感受"), ("who it is for", "适合谁"),
          ("use case", "场景"), ("question", "提问"), ("call to action", "行动"), ("quality", "品质"),
          ("season", "季节"), ("gift", "送礼"), ("easy care", "好打理"), ("design", "设计"), ("value", "实惠"),
          ("detail", "细节"), ("promise", "承诺"), ("mood", "氛围")]
OFFER_ANGLE = ("offer", "优惠")


_LABEL_WORDS.update(w for pair in [*ANGLES, OFFER_ANGLE] for w in pair)


def angles_for(brief: Brief, k: int, offset: int = 0) -> list[str]:
    pool = ([OFFER_ANGLE] if brief.offer else []) + ANGLES
    return [pool[(offset + i) % len(pool)][1 if brief.language == "zh" else 0] for i in range(k)]


def channel_name(channel: ChannelSpec, language: str) -> str:
    """'WeChat Moments ad (朋友圈广告)' -> '朋友圈广告' in a Chinese prompt: the model copied the English name into
    Chinese copy ("适合WeChat Moments ad")."""
    m = re.match(r"^(.*?)\s*\((.*)\)\s*$", channel.title)
    if not m:
        return channel.title
    return m.group(2) if language == "zh" and re.search(r"[\u4e00-\u9fff]", m.group(2)) else m.group(1)


def generation_messages(brief: Brief, channel: ChannelSpec, field: str, k: int,
                        brand: BrandProfile | None, required: list[str], angle_offset: int = 0) -> list[Message]:
    """Ask for k items of one field as a numbered list, one angle each."""
    zh = brief.language == "zh"
    spec = channel.field(field)
    budget = prompt_budget(spec, brief.language)
    label = field_label(field, brief.language)
    parts = [brief.summary(), ""]
    examples = examples_for(brand, channel, field, brief.language, brief.product)
    if examples:  # style reference; copying one verbatim is rejected by the generator
        parts.append(("我们的风格参考（不要照抄）：" if zh else "Our style, for reference (do not copy): ")
                     + " | ".join(examples))
    if zh:
        ask = f"为{channel_name(channel, 'zh')}写{k}条{label}，每个角度一条，每条不超过{budget}个字"
        if required:
            ask += "，每条都要包含“" + "”“".join(required) + "”"
        ask += "。"
    else:
        ask = f"Write {k} {label} for {channel_name(channel, 'en')}, one for each angle below. Each at most {budget} characters"
        if required:
            ask += ", each including " + ", ".join(f'"{t}"' for t in required)
        ask += "."
    if brief.attributes and is_long_field(spec, brief.language):
        # One angle per item leaves the other selling points out, and a bare list of them is refused: a long
        # field is asked to work all of them into sentences (advertisegen coverage 35 % -> 45 %, 2026-11-30).
        parts.append(("每条都要写到这些卖点：" + "、".join(brief.attributes) + "，写成通顺的句子，不要罗列。") if zh else
                     ("Work every selling point into each one (" + ", ".join(brief.attributes) +
                      ") in flowing sentences, not a list."))
    parts.append(ask)
    # No "do not repeat these: ..." list: measured 2026-11-25, smollm2 and qwen2.5-0.5b copy such a list
    # back line by line. Repeats are caught after the call; new angles and seeds make new copy.
    angles = angles_for(brief, k, offset=angle_offset)
    parts.append((f"按这个编号列表回答：每个角度后面只写一条简短的{label}，不要分点，不要解释：\n" if zh else
                  f"Reply with this numbered list: after each angle write one short {label.split(' of ')[0][:-1]}"
                  ", no sub-points, no explanations:\n")
                 + "\n".join(f"{i}. {a}{'：' if zh else ':'}" for i, a in enumerate(angles, 1)))
    return [Message("system", system_prompt(brand, brief)), Message("user", "\n".join(parts))]


def paragraph_messages(brief: Brief, channel: ChannelSpec, field: str, brand: BrandProfile | None,
                       required: list[str]) -> list[Message]:
    """Ask for one paragraph of a long field that works every selling point into sentences. Asked for a numbered
    list of one paragraph per angle, the small models wrote a generic line per angle ("舒适、时尚、整洁、美观。") or
    an angle the brief never gave ("适合秋冬季节"); asked for one paragraph about the product, they name its points."""
    zh = brief.language == "zh"
    spec = channel.field(field)
    budget = prompt_budget(spec, brief.language)
    low = max(10, budget * 2 // 3)
    label = field_label(field, brief.language)
    parts = [brief.summary(), ""]
    examples = examples_for(brand, channel, field, brief.language, brief.product)
    if examples:
        parts.append(("我们的风格参考（不要照抄）：" if zh else "Our style, for reference (do not copy): ")
                     + " | ".join(examples[:1]))
    if zh:
        ask = (f"为{channel_name(channel, 'zh')}写一段{brief.product}的{label}，{low}到{budget}个字。把每个卖点都自然地写进"
               "通顺的句子里，不要罗列，不要编造其他信息")
        ask += ("，要包含“" + "”“".join(required) + "”") if required else ""
        ask += "。只回答文案。"
    else:
        one = label.split(" of ")[0][:-1]
        ask = (f"Write one {one} for {channel_name(channel, 'en')} about {brief.product}, {low}-{budget} characters. "
               "Work every selling point into flowing sentences, not a list, and invent nothing else")
        ask += (", including " + ", ".join(f'"{t}"' for t in required)) if required else ""
        ask += ". Reply with the text only."
    parts.append(ask)
    return [Message("system", system_prompt(brand, brief)), Message("user", "\n".join(parts))]


# A list marker at a line's start in a paragraph reply: "1. ", "2)", "3、", "- ", "• ", "一、"; not "1.8米" or "12:00".
_LIST_MARK = re.compile(r"^\s*(?:\(?\d{1,2}[.)、．](?!\d)|[-*•·]\s|[一二三四五六七八九十]+[、．])\s*")
_SENTENCE_END = tuple(".!?。！？…~～")


def paragraph_text(reply: str, language: str) -> str:
    """The one paragraph of a reply: its lines joined (a label line such as "文案：" dropped by clean_item).

    Asked for one paragraph, a model (the adapter above all, trained on numbered lists) may answer with a list:
    joined as they were, its markers stayed in the copy ("…stonewashed 2. Linen for calm nights", "枕套2. 水洗").
    Each item is a sentence of the paragraph instead."""
    lines = []
    for line in reply.strip().splitlines():
        marked = _LIST_MARK.match(line)
        text = clean_item(line[marked.end():] if marked else line)
        if text and marked and not text.endswith(_SENTENCE_END):
            text += "。" if language == "zh" else "."
        if text:
            lines.append(text)
    return ("" if language == "zh" else " ").join(lines)


def repair_messages(brief: Brief, spec: FieldSpec, items: list[str], required: list[str],
                    banned: list[str], brand: BrandProfile | None) -> list[Message]:
    """Ask the model to shorten / rewrite lines that broke a rule, keeping their order."""
    zh = brief.language == "zh"
    budget = prompt_budget(spec, brief.language)
    if zh:
        ask = f"把下面每一条改写得更短，每条不超过{budget}个字，意思不变"
        if required:
            ask += "，保留“" + "”“".join(required) + "”"
        if banned:
            ask += "，不要使用：" + "、".join(banned)
        ask += "。按原顺序回答编号列表，不要其他内容。"
    else:
        ask = f"Rewrite each line below to at most {budget} characters, keeping its meaning"
        if required:
            ask += ", keeping " + ", ".join(f'"{t}"' for t in required)
        if banned:
            ask += ", without the words: " + ", ".join(banned)
        ask += ". Answer with a numbered list in the same order, nothing else."
    numbered = "\n".join(f"{i}. {t}" for i, t in enumerate(items, 1))
    return [Message("system", system_prompt(brand, brief)), Message("user", f"{ask}\n\n{numbered}")]


def cover_messages(brief: Brief, spec: FieldSpec, text: str, missing: list[str], required: list[str],
                   banned: list[str], brand: BrandProfile | None) -> list[Message]:
    """Ask for the same text with the selling points it left out worked in, as sentences."""
    zh = brief.language == "zh"
    budget = prompt_budget(spec, brief.language)
    if zh:
        ask = (f"改写下面这段文案，自然地写进这些卖点：{'、'.join(missing)}。保留原来的意思，写成通顺的句子，"
               f"不要罗列，不要编造，不超过{budget}个字")
        ask += ("，保留“" + "”“".join(required) + "”") if required else ""
        ask += "。只回答改写后的文案。"
    else:
        ask = (f"Rewrite the ad text below so that it also mentions: {', '.join(missing)}. Keep its meaning, write "
               f"flowing sentences, not a list, invent nothing, at most {budget} characters")
        ask += (", keeping " + ", ".join(f'"{t}"' for t in required)) if required else ""
        ask += ". Answer with the rewritten text only."
    return [Message("system", system_prompt(brand, brief)), Message("user", f"{ask}\n\n{text}")]


def block_messages(brief: Brief, spec: FieldSpec, instruction: str, brand: BrandProfile | None) -> list[Message]:
    """One free-text item (an e-mail body)."""
    zh = brief.language == "zh"
    limit = int(spec.budget_for(brief.language) * 0.8)
    tail = (f"\n{instruction}\n不超过{limit}个字，纯文本，不要写主题行。" if zh else
            f"\n{instruction}\nAt most {limit} characters, plain text, no subject line.")
    return [Message("system", system_prompt(brand, brief)), Message("user", brief.summary() + "\n" + tail)]


def clean_item(text: str) -> str:
    t = re.sub(r"^#\d{1,2}\s+", "", text.strip()).replace("**", "").replace("__", "")  # "#2 绿色连衣裙…"
    # An angle's number copied after the brand: "Aurora | #4: Great Value" (a "#1 seller" has no colon and stays).
    t = re.sub(r"(?<![\w#])#\d{1,2}\s*[:：.)]\s*", "", t)
    if len(t) > 2 and t[0] == t[-1] and t[0] in "*_":  # *Soft & cool* : markdown emphasis around the item
        t = t[1:-1].strip()
    m = _LABEL_PREFIX.match(t)
    if m and m.group(1).strip().lower() in _LABEL_WORDS:
        t = t[m.end():]
    t = _COUNT_SUFFIX.sub("", t).strip()
    while len(t) >= 2 and t[0] in _QUOTES and t[-1] in _QUOTES:
        t = t[1:-1].strip()
    if t.count("\"") == 1 or t.count("“") != t.count("”"):  # an unbalanced quote left over by a cut
        t = t.strip(_QUOTES).strip()
    return re.sub(r"\s+", " ", t)


def _from_json(text: str) -> list[str] | None:
    s = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    if not s or s[0] not in "[{":
        return None
    try:
        data = json.loads(s)
    except json.JSONDecodeError:
        return None
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), list(data.values()))
    out = []
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict):
            item = next((v for v in item.values() if isinstance(v, str)), "")
        if isinstance(item, str):
            out.append(item)
    return out


def parse_items(text: str) -> list[str]:
    """Items from a numbered/bulleted list (wrapped lines joined), a JSON list, or plain lines."""
    from_json = _from_json(text)
    if from_json is not None:
        items = from_json
    else:
        items, plain, closed = [], [], False
        for line in text.splitlines():
            if not line.strip() or line.strip().startswith("```"):
                closed = bool(items)  # after a blank line, loose text is a closing remark, not a wrapped item
                continue
            m = _NUMBERED.match(line)
            if m:
                items.append(m.group(2))
                closed = False
            elif items and not closed and not line.rstrip().endswith((":", "：")):
                sep = "" if re.search(r"[\u4e00-\u9fff]$", items[-1]) else " "
                items[-1] = f"{items[-1]}{sep}{line.strip()}"  # a wrapped line continues its item
            elif not items:
                plain.append(line)
        if not items:  # plain lines: drop an intro such as "Here are 5 headlines:"
            items = [i for i in plain if not i.rstrip().endswith((":", "："))]
    out = [clean_item(i) for i in items]
    # "how it works:" is an angle label with nothing after it, not copy; so is a bare "Offer" or "材质" (the 0.5B
    # writes the angle it was given and stops)
    return [i for i in out if len(i) >= 2 and not i.endswith((":", "：")) and i.strip(" .!。！").lower() not in _LABEL_WORDS]


def count_complete_items(text: str) -> int:
    """Numbered items already finished in a partial stream (the last line may still be growing)."""
    done = text[: text.rfind("\n") + 1] if "\n" in text else ""
    return sum(1 for line in done.splitlines() if _NUMBERED.match(line) and _NUMBERED.match(line).group(2).strip())
