"""What the customer reads when a message or an answer is blocked, in the customer's language.

`language_of(text)` picks one of LANGUAGES by script (kana, Hangul, Han) and, for Latin text, by common
words and letters; unknown text gets English. Keys are "category.lang", overridable in guardrails.replies.
"""

from __future__ import annotations

import re

LANGUAGES = ("en", "zh", "ja", "ko", "es", "de", "fr")

REPLIES = {
    "refuse.en": "I'm the shop's assistant, so I can only help with our products, orders, delivery and returns. "
                 "What can I do for you?",
    "refuse.zh": "我是本店的客服助手，只能解答商品、订单、配送和退换货相关的问题。请问有什么可以帮您？",
    "refuse.ja": "私はショップのアシスタントのため、商品・ご注文・配送・返品についてのみお手伝いできます。"
                 "ご用件をお聞かせください。",
    "refuse.ko": "저는 쇼핑몰 상담 도우미라서 상품, 주문, 배송, 반품에 관한 문의만 도와드릴 수 있어요. 무엇을 도와드릴까요?",
    "refuse.es": "Soy el asistente de la tienda y solo puedo ayudarte con productos, pedidos, envíos y devoluciones. "
                 "¿En qué puedo ayudarte?",
    "refuse.de": "Ich bin der Assistent des Shops und kann nur bei Produkten, Bestellungen, Lieferung und Rücksendungen "
                 "helfen. Was kann ich für Sie tun?",
    "refuse.fr": "Je suis l'assistant de la boutique : je peux seulement vous aider pour nos produits, vos commandes, "
                 "la livraison et les retours. Que puis-je faire pour vous ?",
    "off_topic.en": "That's outside what I can help with here. I can answer questions about our products, your "
                    "orders, delivery and returns - is there anything along those lines?",
    "off_topic.zh": "这个问题超出了我能帮忙的范围。我可以解答商品、订单、配送和退换货方面的问题，请问有这方面的需要吗？",
    "off_topic.ja": "申し訳ありませんが、そのご質問にはお答えできません。商品・ご注文・配送・返品についてでしたらお手伝いします。",
    "off_topic.ko": "죄송하지만 그 질문은 도와드리기 어려워요. 상품, 주문, 배송, 반품에 관한 문의라면 도와드릴게요.",
    "off_topic.es": "Eso queda fuera de lo que puedo hacer aquí. Puedo responder sobre nuestros productos, tus pedidos, "
                    "envíos y devoluciones. ¿Necesitas algo de eso?",
    "off_topic.de": "Dabei kann ich hier leider nicht helfen. Ich beantworte Fragen zu unseren Produkten, Ihren "
                    "Bestellungen, zur Lieferung und zu Rücksendungen. Kann ich dabei etwas für Sie tun?",
    "off_topic.fr": "Cela sort de ce que je peux faire ici. Je réponds aux questions sur nos produits, vos commandes, "
                    "la livraison et les retours. Avez-vous besoin d'aide sur l'un de ces points ?",
    "abuse.en": "I'm sorry this has been frustrating. I'd like to help: tell me what went wrong with your order, "
                "or I can connect you with a colleague.",
    "abuse.zh": "很抱歉给您带来了不好的体验。我很想帮您解决问题：请告诉我订单遇到了什么情况，或者我可以为您转接人工客服。",
    "abuse.ja": "ご不便をおかけして申し訳ありません。ご注文で何があったか教えていただければお手伝いします。"
                "担当者におつなぎすることもできます。",
    "abuse.ko": "불편을 드려 죄송합니다. 주문에 어떤 문제가 있었는지 알려 주시면 도와드릴게요. 상담원에게 연결해 드릴 수도 있어요.",
    "abuse.es": "Siento que esto haya sido frustrante. Quiero ayudarte: cuéntame qué ha pasado con tu pedido o te "
                "paso con un compañero.",
    "abuse.de": "Es tut mir leid, dass das so ärgerlich war. Ich helfe gern: Schreiben Sie mir, was mit Ihrer "
                "Bestellung schiefgelaufen ist, oder ich verbinde Sie mit einem Kollegen.",
    "abuse.fr": "Je suis désolé que ce soit si frustrant. J'aimerais vous aider : dites-moi ce qui ne va pas avec "
                "votre commande, ou je vous mets en relation avec un collègue.",
    "too_long.en": "Your message is too long for me to read at once. Could you shorten it to the main question?",
    "too_long.zh": "您的消息太长了，能否精简为主要问题后再发送？",
    "too_long.ja": "メッセージが長すぎて一度に読めません。ご質問の要点に短くしていただけますか。",
    "too_long.ko": "메시지가 너무 길어서 한 번에 읽을 수 없어요. 핵심 질문으로 줄여 주시겠어요?",
    "too_long.es": "Tu mensaje es demasiado largo para leerlo de una vez. ¿Puedes resumirlo en la pregunta principal?",
    "too_long.de": "Ihre Nachricht ist zu lang, um sie auf einmal zu lesen. Können Sie sie auf die Hauptfrage kürzen?",
    "too_long.fr": "Votre message est trop long pour être lu d'un coup. Pouvez-vous le réduire à la question principale ?",
    "policy_promise.en": "I can't confirm discounts, refunds or compensation myself. A colleague will check what our "
                         "policy allows for your order and get back to you.",
    "policy_promise.zh": "折扣、退款或补偿我无法直接承诺。我会请同事根据店铺政策核实您的订单情况后回复您。",
    "policy_promise.ja": "割引・返金・補償について私から確約することはできません。担当者が規定を確認のうえご連絡いたします。",
    "policy_promise.ko": "할인, 환불, 보상은 제가 직접 약속드릴 수 없어요. 담당자가 정책을 확인한 뒤 연락드리겠습니다.",
    "policy_promise.es": "No puedo confirmar descuentos, reembolsos ni compensaciones. Un compañero revisará lo que "
                         "permite nuestra política para tu pedido y te responderá.",
    "policy_promise.de": "Rabatte, Erstattungen oder Entschädigungen kann ich nicht selbst zusagen. Ein Kollege prüft, "
                         "was unsere Richtlinien für Ihre Bestellung vorsehen, und meldet sich bei Ihnen.",
    "policy_promise.fr": "Je ne peux pas confirmer moi-même de remise, de remboursement ou de compensation. Un collègue "
                         "vérifiera ce que notre politique prévoit pour votre commande et reviendra vers vous.",
}

_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Frequent short words and letters of each Latin-script language; the most hits wins, English on a tie.
_LATIN_HINTS = {
    "es": re.compile(r"(?<!['’])\b(?:el|tu|los|las|del|que|y|por|para|con|mi|mis|es|eres|una|se|como|donde|cuando|pedido|gracias|"
                     r"hola|tus|muy|pero|esta|este|estoy|quiero|puedo|dame|dime|todo|todas|ahora)\b|[ñ¿¡áíóú]"),
    "de": re.compile(r"\b(?:der|die|das|und|ist|nicht|ich|du|sie|mein|meine|ein|eine|mit|fur|für|wie|wo|wann|bitte|"
                     r"danke|hallo|bestellung|alle|auf|den|dem|zu|von|bei|noch|auch|deine|dein|jetzt|mir|dich|gib)\b|"
                     r"[äöüß]"),
    "fr": re.compile(r"\b(?:le|les|des|du|et|est|je|vous|mon|ma|mes|une|pas|pour|avec|où|quand|merci|bonjour|"
                     r"commande|tes|ton|toi|moi|qui|dans|sur|ce|cette|tout|toutes)\b|[çàèùêâîôœ]|\b[cdjlmnst]'"),
    "en": re.compile(r"\b(?:the|and|is|are|my|your|you|i|a|an|to|of|for|with|where|when|please|thanks|hello|order|"
                     r"me|it|this|what|can|all)\b"),
}


def language_of(text: str) -> str:
    """The customer's language among LANGUAGES, by script first; English when unsure."""
    if _KANA.search(text):
        return "ja"
    if _HANGUL.search(text):
        return "ko"
    if _HAN.search(text):
        return "zh"
    low = text.lower()
    scores = {lang: len(p.findall(low)) for lang, p in _LATIN_HINTS.items()}
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))
    return best if scores[best] else "en"
