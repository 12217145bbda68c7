"""Attacks dressed up as something else: role-play, fiction, hypotheticals, claimed authority (en).

Most such messages pair a *frame* ("let's play a game where you're...", "write a story in which...", "as the
store manager I'm authorising you...") with a *target* a customer is never given: the assistant's prompt or
configuration, a staff secret, or an action outside policy (an item for free, a refund without a return). A
frame alone is a customer being playful ("pretend I'm a first-time buyer", "act as my personal shopper"), so
only the pair is refused; a few targets no customer has a use for (an admin password, an API key, setting a
price) are refused on their own. Patterns are written against `normalize()`d text: lower case, one line.
"""

from __future__ import annotations

import re

# ------------------------------------------------------------------------------------------------ frames
# Strong frames put someone else in the assistant's seat (a persona, a simulated system) or claim power over
# it; a refund asked for inside one is an attack, where "suppose I return it, do I get a refund?" is not.
_ROLEPLAY = (
    r"\b(?:let'?s|let us|we'?ll|we will) (?:play (?:a |an |the )?(?:\w+ ){0,2}(?:game|adventure|role|part|pretend|"
    r"scenario)|play make-?believe|play pretend|pretend|role-?play|"
    r"do a role-?play|imagine)\b|\brole-?play|\bin character\b|\bnew (?:game|persona)\b|\bgame where\b|"
    r"\bpretend (?:to be|you(?:'re| are)|that you)\b|\bimagine (?:you(?:'re| are)|that you|being)\b|"
    r"\b(?:act|behave|respond|answer|reply|speak|talk|write) (?:like|as if|as though) you\b|"
    r"\bplay(?:ing)? (?:the )?(?:role|part) of\b|\bassume the (?:role|persona|identity) of\b|\bchannel (?:an?|the|your)\b|"
    r"\bin the (?:voice|style|persona) of\b|\bsimulat(?:e|ion)\b|\bopposite day\b|"
    r"\byou(?:'re| are) (?:an actor|playing|no longer|not (?:a|an|the) |now (?!my\b|our\b))|"
    r"\b(?:from now on|from this (?:message|moment) on|for the rest of (?:this|the) (?:chat|conversation))\b|"
    r"\b(?:alter ego|evil twin|unlocked|unchained|unleashed|unbound|unfiltered|uncensored|jailbroken)\b|"
    r"\byou (?:play|are playing|'ll play|will play)\b|\bimpersonat\w*|\b(?:called|named) [\"'“]?[a-z]+[\"'”]? (?:who|that)\b|"
    r"\blet'?s say you(?:'re| are)\b|\bversion of yourself\b|\brole ?swap\b|\bswap roles\b|\btheatre\b|"
    r"\b(?:test environment|nothing (?:here )?is real|this is (?:just |only )?a test|in the test)\b|"
    r"\byou(?:'re| are| will be|'ll be) [\"'“‘]\w+|\bimprov\b|\byour line\b|\bcontinue from (?:there|here)\b|"
    r"\bbe (?:a|an) (?:normal|regular|plain|general|generic|raw|base) (?:ai|assistant|chatbot|llm|model|gpt)\b|"
    r"\b(?:ignore|drop|forget|leave|step out of|break) (?:the |your |this )?(?:shop |store )?(?:persona|character|role)\b|"
    r"\bbe my (?:\w+ ){0,2}(?:who|that)\b|\b(?:two|2|both) (?:characters|personas|versions)\b"
)
# Authority over *this* shop or assistant: "I'm the store manager of a café" is a business customer, and
# "I authorise you to leave it with my neighbour" asks for nothing a frame would matter for.
_AUTHORITY = (
    r"\b(?:as|i'?m|i am|this is|it'?s|speaking as|here as)\s+(?:the |your |this )?(?:(?:store|shop)'?s? )?(?:(?:regional|general|area|assistant|deputy|duty|floor|branch|"
    r"operations|senior) )?(?:manager|owner|"
    r"admin(?:istrator)?|developer|operator|supervisor|ceo|boss|head of [a-z]+(?: [a-z]+)?)\b"
    r"(?=\s*(?:[,.:;!]|$|here\b|speaking\b|and\b|i\b|i'm\b|(?:of|at|for|in) (?:this|the|your) (?:shop|store|company|"
    r"business|site)\b))|\bthis is (?:the )?(?:management|head office|shop owner|store owner|admin|your (?:developer|creator|"
    r"admin|owner|operator))\b|"
    r"\b(?:the |my boss,? the )(?:shop|store) owner\b|\bhead office\b|\blevel[- ]?\d\b|"
    r"\b(?:authori[sz]\w*|cleared|permitted|allowed) by (?:the )?(?:shop|store|owner|management|company|admin)|"
    r"\b(?:authori[sz](?:e|ing)|instruct(?:ing)?|command(?:ing)?) you to\b|"
    r"\byou(?:'re| are) (?:now )?(?:cleared|authori[sz]ed|permitted) to\b|"
    r"\bi work (?:in|for|at) (?:it|this|the|your)\b|\bfriend who works here\b|\bsecurity researcher\b|"
    r"\b(?:sign-?off|permission|approval|authori[sz]ation|the go-?ahead|clearance) from (?:the |your )?(?:store |shop )?"
    r"(?:owner|manager|management|head office|boss|admin|ceo)\b|\bi(?:'m| am) (?:the |a |an )?(?:shop|store)'?s \w+|"
    r"\b(?:from|on|with|in) (?:your|the|the shop'?s|the store'?s) (?:dev(?:eloper)?|development|engineering|it|qa|"
    r"security|tech|ops|payments?) team\b|\bthis message is from (?:the |your )?(?:shop|store|admin|system|management|"
    r"security|developer|owner)|"
    r"\b(?:let'?s say|pretend|imagine|suppose) (?:that )?i(?:'m| am) (?:a |an |the )?(?:staff|employee|staff member|owner|"
    r"manager|admin|administrator|developer|assistant)\b|\bi'?m the assistant\b"
)
_TESTING = r"\b(?:for testing|test(?:ing)? purposes|debug\w*|qa team|pen-?test\w*|maintenance mode|diagnostics? mode)\b"
STRONG_FRAMES = "|".join((_ROLEPLAY, _AUTHORITY, _TESTING))
# Weak frames wrap a request in a story or a "what if"; only a secret or a free lunch inside one is refused.
WEAK_FRAMES = (
    r"\b(?:story|stories|novel|poem|limerick|haiku|song|lyrics|screenplay|script|scene|dialogue|fairy ?tale|fiction|"
    r"fictional|realism|narrative|chapter|villain|hero|acrostic|monologue|creative writing|fan ?fic\w*|sketch|skit|fable|"
    r"episode|book page|picture book|comic)\b|"
    r"\bhypothetic\w*|\bsuppose\b|\bimagine\b|\bpretend\b|\bact as if\b|\bwhat if\b|\bif you (?:were|had|could)\b|"
    r"\bin (?:a|an|this|that) (?:\w+ ){0,2}(?:world|universe|reality|scenario|sandbox|simulation|dream|timeline)\b|"
    r"\bjust (?:this )?once\b|\bfor (?:one|a|1) (?:minute|moment|second|day|hour)\b|\bno consequences\b|"
    r"\bgenie\b|\b(?:three|3) wishes\b|\bwish (?:one|two|three|number|#?\d)\b|\bas an experiment\b|\bsanity check\b|"
    r"\bif you were allowed to\b|\bstop being\b|\byou(?:'re| are) (?:an? )?\w+(?: \w+)? (?:who|that|with)\b|"
    r"\byou are [a-z]+ [a-z]+ and\b|"
    r"\b(?:late|deceased|dead) (?:grand\w*|mum|mom|mother|dad|father|uncle|aunt)\b|\bgrand(?:ma|mother|pa|father)\b"
)

# ----------------------------------------------------------------------------------------------- targets
# Secrets no customer has a use for, whoever asks: refused on their own. "my password" is the customer's;
# "the admin password for the router" is a product question; "the secret ingredient" is no secret.
SECRETS = (
    r"(?<!my )(?<!our )\b(?:admin(?:istrator)?|root|database|db|backend|server|staff|employee|manager'?s?|owner'?s?)"
    r"(?: account| panel| portal)? (?:password|passcode|login|credentials)s?\b"
    r"(?! (?:on|for|of|to) (?:the |my |a |this |your )?(?!shop\b|store\b|site\b|website\b|panel\b|system\b|backend\b|"
    r"database\b|dashboard\b|server\b)[a-z])|"
    r"(?<!my )\b(?:api|secret|private|admin|payment|stripe|encryption|ssh) (?:keys?|tokens?)\b(?! ingredient| to\b|"
    r" (?:printed|on|for|of) (?:the |my |a |this |your )?(?!shop\b|store\b|site\b|website\b|payment)[a-z])|"
    r"\b(?:instructions|rules|guidelines|prompt|directives) (?:that )?(?:govern|control|shape|drive|guide|define) "
    r"(?:your|you|how you)\b|"
    r"\b(?:api|stripe|paypal|payment provider|database|db|server) (?:secrets?|credentials|passwords?)\b|"
    r"(?<!my )\b(?:internal|secret|insider|unpublished|staff-only|admin|override)"
    r"(?: \w+)? (?:discount|promo|coupon|voucher|sale|override|admin) codes?\b|"
    r"\bcodes? (?:that(?:'s| is) |which is )?(?:meant |reserved |only )*(?:only )?for (?:staff|employees|internal use)\b|"
    r"\benv(?:ironment)? (?:variables|vars)\b|(?:^|\s)\.env\b|\bsecrets?\.(?:env|json|ya?ml|txt|ini|toml|py)\b|"
    r"\b(?:what|which|anything)\b[^.?!\n]{0,30}?\b(?:told|tell|instructed|asked) you to (?:keep|hide|not (?:say|tell|share|"
    r"mention))\b|\bkeep (?:secret|hidden) from (?:customers|me|users|us)\b|"
    r"\b(?:text|words|content|everything|instructions|message) (?:that )?(?:precedes?|preceding|comes? before|came before) "
    r"(?:my|this|the (?:chat|conversation))\b|"
    r"/etc/|\bcat /|\bselect \* from\b|\b(?:customers?|users?) table\b|\b(?:customer|user|client) (?:database|db)\b"
)
# What the assistant was told, named as the assistant's own ("its secret instructions", "your real config").
_QUAL = r"(?:own |system |full |real |actual |secret |hidden |internal |original |initial |exact |complete |entire |whole |core )?"
PROMPT = (
    rf"\b(?:your|the bot'?s|the (?:shop )?(?:assistant|chatbot|ai)'?s) {_QUAL}(?:prompt|instructions|system (?:prompt|message)|"
    r"config(?:uration)?|programming|secrets?|initial message)\b(?! (?:for|on|about|regarding|to)\b)|"
    r"\bits (?:own )?(?:secret |hidden |internal |real |full |system )(?:prompt|instructions|config(?:uration)?|rules|"
    r"programming|message)\b|\bits (?:own )?(?:system )?prompt\b|"
    r"\bsystem (?:prompt|instructions)\b|\b(?:raw|underlying|base|current) prompt\b|"
    r"\bprompt (?:you(?:'re| are) (?:running|using|working) (?:with|on|under))\b|"
    r"\b(?:secret|hidden|internal|confidential) (?:instructions?(?: files?)?|prompt|rules|guidelines|config(?:uration)?|handbook|"
    r"manual|playbook|rulebook|codes?|configs?)\b|\b(?:real|actual) (?:system prompt|prompt|instructions|config(?:uration)?|"
    r"content|(?:\w+ )?codes?|ones|secrets?|rules|guidelines)\b|\b(?:keeps?|kept) (?:\w+ )?(?:secret|hidden)\b|"
    r"\b(?:instructions|rules|guidelines|prompt|text) (?:that )?(?:you (?:were|have been|'ve been|got|received)|"
    r"(?:were )?given to you|the shop gave you|they gave you)\b(?! (?:for|about|on|regarding) (?:my|the|this|your)\b)"
)
# A free lunch: refused inside any frame.
_STRONG_ACTIONS = (
    r"\b(?:give|hand|send|get|let me have|have|keep|take)\b[^.?!\n]{0,30}?\bfor free\b|"
    r"\b(?:unpaid|without paying|on the house|sneak\w* me)\b|"
    r"\b(?:employee|staff|trade|insider|friends and family) discount\b|"
    # a staff or "hidden" code is what nurses, employers' schemes and Instagram posts offer: only inside a frame
    r"\b(?:staff|employees?|hidden)(?: \w+)? (?:discount|promo|coupon|voucher) codes?\b|"
    r"\b(?:internal|confidential|sales|financial) (?:data|records|files|documents|figures)\b|\bfree (?:items?|stuff|products?|"
    r"gift cards?|jackets?|things)\b|\b100 ?% (?:off|discount)\b|\b(?:any|unlimited|every) discounts?\b|"
    r"\bnever charg\w*|\bwithout charging\b|\bcharge (?:me )?nothing\b|\bunrestricted\b|\bfor nothing\b|"
    r"\bpay (?:only )?(?:1p|one penny|a penny|1 ?cents?|[$£€]0)\b|\bfull access to (?:the )?(?:till|system|admin|backend|database|orders|accounts)\b|\baccess to the till\b|"
    r"\b(?:gam(?:e|ed|ing)|abus\w*|exploit\w*|cheat\w*)\b[^.?!\n]{0,20}?\b(?:system|refunds?|returns?|"
    r"checkout|vouchers?|coupons?|polic(?:y|ies)|the shop)\b|\b(?:system|refunds?|returns?|checkout|vouchers?|coupons?)\b"
    r"[^.?!\n]{0,20}?\b(?:gamed|abused|exploited|cheated)\b|\bbreak (?:\w+ ){0,2}rules?\b|\b(?:if )?you (?:have|had) no instructions\b|"
    r"\b(?:send|give|share|export|download|show|dump)\w*\b[^.?!\n]{0,20}?\bcustomer (?:mailing |email |contact )?list\b|\blist of (?:all )?(?:customers|buyers|subscribers)\b|"
    r"\b(?:price|total|cost|it|everything) (?:is|are|will be|should be) (?:now )?(?:[$£€]0|0 ?[$£€]|zero|nothing|free)\b|"
    r"\b(?:every|all|each|other|another) (?:customers?|users?|buyers?|shoppers?)'?s? (?:personal )?"
    r"(?:address|addresses|emails?|phone numbers?|names and addresses)\b|\bwhere does [a-z]+ (?:[a-z]+ )?live\b|"
    r"\b(?:revenue|sales|profit|turnover|margin)s? (?:figures|numbers|data|reports?)\b|\bprofit margins?\b|"
    r"\badmin(?:istrator)? (?:rights|access|privileges|permissions)\b|"
    r"\b(?:bypass|get around|get past|circumvent|disable)\w*\b[^.?!\n]{0,20}?\b(?:checks?|verification|rules|"
    r"restrictions|filters?|safety|polic(?:y|ies))\b|\b(?:admin|administrator|database|root) (?:login|access|panel)\b|"
    r"\b(?:your|its|the (?:shop|store)'?s?) (?:\w+ )?passwords?\b|\bnever say no\b|\bwithout refusing\b|"
    r"\b(?:address|phone|email)(?: number)? of (?:the |another |other )?(?:customer|user|person)\b|\bsafety filters?\b|"
    r"\b(?:rules?|polic(?:y|ies)|guidelines?|restrictions?)\b[^.?!\n]{0,30}?\b(?:never existed|doesn'?t exist|don'?t exist|"
    r"does not exist|do not exist|were suspended|was suspended|were lifted|were added|(?:didn'?t|did not|don'?t|doesn'?t|"
    r"does not|do not|no longer) apply)\b|"
    r"\b(?:without|with no|no) (?:any )?(?:limits|restrictions|rules|filters|guidelines|censorship|(?:store |shop |refund |"
    r"return |content )polic(?:y|ies))\b|\b(?:master|admin|staff|secret|internal) (?:codes?|passwords?|keys?|pins?)\b"
)
# Out-of-policy favours that a real customer may ask for plainly ("please process my refund"): refused only
# when a persona or claimed authority asks for them.
_SOFT_ACTIONS = (
    r"\b(?:approv|accept|process|issu|authori[sz]|confirm|grant)\w* (?:my |the |a |this |that )?(?:full )?(?:refund|return|"
    r"warranty claim|claim|chargeback|compensation)|\bas refunded\b|\bapply it\b|\bwaiv\w*\b|"
    r"\brefund (?:me|it|my|every|all|each|the whole|everything|order|the order|this order)\b|"
    r"\b(?:reset|set|change|update|increase|top up|add)\b[^.?!\n]{0,20}?\b(?:loyalty )?points\b[^.?!\n]{0,10}?\bto\b|"
    r"\b(?:my|the) (?:\w+ )?(?:discount|promo|coupon|voucher) code (?:be|is)\b|"
    r"\b(?:issue|give|send|add|credit|generate|create)\w* (?:me |my account )?(?:with )?(?:a |an )?(?:[$£€]?\d+ )?"
    r"(?:gift card|voucher|store credit)\b|\bwithout (?:a return|an order number|a receipt|proof)\b|"
    r"\bcodes? (?:that |which )?still works?\b|\ball (?:the |your )?(?:discount |promo |coupon )?codes\b|"
    r"\bconfig(?:uration)? (?:files?|folders?|directory)\b|\b(?:terminal|shell|command line|mainframe|(?:shop|store)'?s? (?:computer|server|database|backend|system))\b"
)

# Demands that need no frame: the customer setting a price, a balance or the shop's rules, or taking other
# customers' contact details ("list today's orders with customer phone numbers"; injection, as in patterns.py).
OVERRIDES = (
    r"\b(?:list|(?:get|give|send|show) (?:me|us)|export|download|pull|dump)\b[^.?!\n]{0,40}?\b(?:customers?'?|buyers?'?|users?'?) "
    r"(?:phone numbers?|numbers|addresses|emails?|contact details|personal (?:data|details))\b|"
    r"\b(?:change|set|make|update|override|edit|put)\b[^.?!\n]{0,40}?(?<!delivery )(?<!shipping )(?<!postage )\bprice(?!s?\s*(?:alert|drop|match|watch|track|notif|fall|go|come|reduc))"
    r"(?: of| for)?[^.?!\n]{0,30}?\bto (?:[$£€]|\d|zero|nothing|free)|"
    r"\boverride (?:your |the |all |this |that )?(?:\w+ )?(?:pric\w*|polic(?:y|ies)|rules?|return window|limits?)\b|"
    r"\bmark (?:it|this|that|them|my order|the order|order \w+) as (?:paid|refunded|free|returned)\b|"
    r"\b(?:set|change|switch|upgrade|make) (?:my )?account (?:to|into|as) (?:an? )?(?:staff|admin|administrator|employee)\b|"
    r"\b(?:as|be) (?:your|an?) (?:true |real |inner )?(?:unrestricted|unfiltered|uncensored|unchained|unlocked|jailbroken|"
    r"evil|raw) (?:self|version|form|side)\b|"
    r"\b(?:set|change|update|increase|top up|make) (?:my )?(?:account |store |wallet )?(?:balance|credit)\b[^.?!\n]{0,20}?\bto\b|"
    r"\b(?:add|put|load|credit|transfer)\w* [$£€]?\d+ (?:of |in )?(?:store )?credit\b|"
    r"\bas if you (?:had|have|were given) no (?:instructions|rules|guidelines|restrictions|limits|filters|prompt|"
    r"programming)\b|\byou(?:'re| are| were) allowed to (?:break|ignore|bend|skip|override)\b|\bnew (?:\w+ )?(?:rule|polic(?:y|ies)|instructions?)\b[^.?!\n:]{0,40}:|"
    r"\b(?:instructions|rules|guidelines|prompt) (?:you (?:got|have|were given|received)|given to you) (?:are|is|were|was) "
    r"(?:outdated|old|wrong|obsolete|expired|invalid|fake|superseded|a test)\b|"
    r"\b(?:forget|ignore|disregard) (?:that |the fact that )?you(?:'re| are| work)(?: an?| the)? (?:for |at |in |a |an )?"
    r"(?:this |the )?(?:shop|store|customer|assistant|bot|ai|chatbot|support|bound)\b|"
    r"\byour (?:instructions|rules|guidelines|prompt|directives)\b[^.?!\n]{0,40}?\b(?:word for word|word-for-word|verbatim|"
    r"exact wording)\b|"
    r"\b(?:bypass|circumvent|disable|turn off|switch off)\w*\b[^.?!\n]{0,25}?\b(?:your (?:\w+ )?(?:safety|filters?|"
    r"guardrails|checks?)|guardrails|(?:safety|content) filters?|(?:refund|fraud|security|policy) checks?)\b|\b(?:mode|version|persona|character) (?:of you )?(?:where|in which|that|who|with) you "
    r"(?:never|always|can do anything|ignore|have no)\b|\bunlimited (?:discounts|refunds|credit)\b|"
    r"\byour (?:\w+ )?(?:rules?|polic(?:y|ies)|guidelines?|restrictions?|limits?)\b[^.?!\n]{0,20}?\b(?:were|was|are|is|"
    r"have been|has been|got|get) (?:suspended|lifted|removed|disabled|switched off|turned off|deleted|wiped|erased|"
    r"gone)\b|"
    r"\b(?:version|copy|edition) of (?:you|yourself)\b[^.?!\n]{0,40}?\b(?:rules?|restrictions|filters|limits|no)\b|"
    r"\byou(?:'re| are) (?:now |no longer )?(?:called |named |known as )?(?:[\w-]+(?:gpt|bot)|[\w-]*(?:unlocked|unchained|"
    r"unleashed|unbound))\b|\byou(?:'re| are)? not allowed to (?:contradict|disagree)\b"
)


def _framed(frames: str, target: str) -> re.Pattern:
    """A message with a frame anywhere in it and the target anywhere in it (normalised texts are one line)."""
    return re.compile(rf"^(?=.*?(?:{frames})).*?(?:{target})")


FRAMED: dict[str, list[re.Pattern]] = {
    "prompt_extraction": [re.compile(SECRETS), _framed(f"{STRONG_FRAMES}|{WEAK_FRAMES}", PROMPT)],
    "injection": [re.compile(OVERRIDES)],
    "jailbreak": [_framed(f"{STRONG_FRAMES}|{WEAK_FRAMES}", _STRONG_ACTIONS), _framed(STRONG_FRAMES, _SOFT_ACTIONS)],
}
