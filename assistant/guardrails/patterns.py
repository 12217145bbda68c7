"""Input patterns per category, written against `normalize()`d text (lower case, NFKC, no disguises).

Each pattern names what it catches; the first category with a hit wins, in the order of `INPUT_RULES`.
Patterns aim at the *request* (ignore + instructions, reveal + prompt), not single words, so a customer
who writes "please ignore my previous message" or "the assembly instructions are missing" is not refused.
"""

from __future__ import annotations

import re

# ------------------------------------------------------------------------------ shared vocabulary (en)
_IGNORE = r"(?:ignore|disregard|forget|skip|bypass|override|overrule|drop|abandon|set aside|stop following|do not follow|don'?t follow|suspend)"
# No "settings", "orders", "filters" here: "turn off the notification settings" is a customer question.
_RULES = (r"(?:instructions?|directions?|rules|guidelines|guidance|prompts?|programming|constraints|restrictions|"
          r"limitations|policies|polic(?:y|ies) checks?|safety settings|content filters?|system message)")
_PRIOR = r"(?:all|any|the|your|my|these|those|previous|prior|above|earlier|preceding|former|original|initial|system|existing|old|safety|every|of)"
_REVEAL = (r"(?:repeat|print|show|reveal|output|tell|display|leak|dump|give|share|spell out|write down|write out|"
           r"quote|recite|list|copy|paste|translate|summari[sz]e|paraphrase|expose|return|echo|what(?:'s| is| are| were| does)|read)")
_PROMPT_WORDS = (r"(?:system (?:prompt|message|instructions?)|(?:initial|original|hidden|secret|internal|first|pre-?)\s?"
                 r"(?:prompt|instructions?|message|rules)|your (?:prompt|instructions|guidelines|rules|configuration|"
                 r"config|programming|system message|directives)(?!\s+(?:for|on|about|regarding|of|to|when))|(?:the )?(?:text|words|content|everything|instructions) "
                 r"(?:above|before (?:this|my|the)))")

# ------------------------------------------------------------------------------ shared vocabulary (zh)
_ZH_IGNORE = r"(?:忽略|无视|忘记|忘掉|不要理会|不用理会|别管|跳过|绕过|抛开|违反|不再遵守|不要遵守|不用遵守)"
# Words that point back at the assistant's instructions ("之前的", "你的"), required between the verb and the
# noun, so "忘记密码了，登录一直提示错误" (forgot my password, login keeps erroring) is not an attack.
_ZH_BACK = r"(?:之前|以上|上面|前面|先前|原来|原有|所有|全部|一切|系统|你的|收到的|给你的)"
_ZH_PUNCT = r"[^，,。.!！?？；;]"
_ZH_RULES = r"(?:指令|指示|规则|设定|提示词?|要求|限制|约束|命令|规定|政策|程序)"
_ZH_PROMPT = r"(?:系统提示词|你的系统提示|系统指令|系统设定|系统消息|初始指令|初始设定|初始提示|提示词|prompt|你的设定|后台设定|后台提示|你的规则|你收到的(?:规则|指令|要求))"
_ZH_REVEAL = r"(?:输出|告诉|显示|重复|复述|打印|透露|泄露|给我看|发给我|念|说出|列出|展示|是什么|写了什么|内容|原样|一字不差)"


def _c(*patterns: str) -> list[re.Pattern]:
    return [re.compile(p) for p in patterns]


INJECTION = _c(
    rf"\b{_IGNORE}\b[^.?!\n]{{0,40}}?\b(?:{_PRIOR}\s+){{0,4}}{_RULES}\b",
    rf"\b(?:{_PRIOR}\s+){{1,3}}{_RULES}\s+(?:are|is|were|was|have been)\s+(?:cancel+ed|void|revoked|a test|disabled|obsolete|no longer)",
    r"\b(?:the )?(?:previous|prior|above|earlier) (?:prompt|instructions?|message) was (?:a test|fake|wrong)",
    r"\bnew (?:instructions?|rules|task|role|directive|system prompt)\s*(?::|are|is)",
    r"\b(?:forget|ignore|disregard) (?:everything|all|anything) (?:you (?:were|have been|'ve been) (?:told|taught|given)|above|before|so far)",
    r"\bfrom now on,? (?:you|your|only|answer|respond|reply|follow)",
    r"\bfollow only my (?:commands|instructions|rules)\b",
    r"(?:^|[\[<(【{])\s*(?:system|admin|administrator|developer|root)\s*(?:override|mode|message|notice|prompt)?\s*(?:[\]>)】}:]|override)",
    r"<\|?(?:im_start|im_end|system|endoftext)\|?>|</?(?:system|user|assistant)>|#{2,}\s*(?:instruction|system|response)",
    r"\b(?:admin|administrator|developer|sudo|root|god) (?:override|access|command|privileges?)\b",
    r"\bthe user is (?:an? )?(?:admin|administrator|developer|owner)\b",
    r"\b(?:policy|safety) checks? (?:are |is )?(?:disabled|off|turned off)\b",
    rf"{_ZH_IGNORE}{_ZH_PUNCT}{{0,3}}{_ZH_BACK}{_ZH_PUNCT}{{0,6}}?{_ZH_RULES}",
    rf"{_ZH_IGNORE}(?:你的|掉)?{_ZH_RULES}",
    rf"(?:把)?{_ZH_BACK}的?{_ZH_RULES}{_ZH_PUNCT}{{0,3}}(?:都|全)?(?:忘|忽略|无视|作废|不算数?)",
    r"(?:新的|新)(?:指令|指示|规则|任务|设定)\s*[:：]",
    r"(?:系统|管理员|后台)(?:通知|消息|指令|公告)\s*[:：】\]]|【\s*系统",
    r"(?:管理员|开发者|官方)(?:已)?(?:授权|允许)你",
    r"(?:现在开始|从现在起|从现在开始|接下来)(?:你)?只(?:听|服从|执行)我",
)

PROMPT_EXTRACTION = _c(
    rf"\b{_REVEAL}\b[^.?!\n]{{0,40}}?\b{_PROMPT_WORDS}",
    rf"\b{_PROMPT_WORDS}\b[^.?!\n]{{0,30}}?\b(?:verbatim|word for word|as json|in a code block|again|line by line)",
    r"\bwhat (?:were|have) you (?:been )?(?:told|instructed|programmed|configured) (?:to do|to say|before|at the start)",
    r"\b(?:rules|instructions) (?:the )?(?:developers?|creators?|admins?|company) gave you\b",
    r"\b(?:before|above) (?:my first message|this (?:line|chat|conversation))\b.{0,40}\b(?:instructions|text|prompt|rules)?",
    r"\bfirst message in your (?:context|conversation|memory)\b",
    r"\b(?:everything|all the text|the text) (?:above|before) (?:this|my)\b",
    rf"{_ZH_REVEAL}.{{0,12}}?{_ZH_PROMPT}",
    rf"{_ZH_PROMPT}.{{0,12}}?{_ZH_REVEAL}",
    r"(?:开发者|开发人员|程序员)(?:给你|为你)?(?:设定|设置|写)的",
    r"(?:上面|以上|之前)的?(?:所有)?内容.{0,6}(?:重复|复述|输出|打印)",
)

JAILBREAK = _c(
    r"\bdo anything now\b|\bdan\b[^.?!\n]{0,40}\b(?:do anything|mode|jailbr|no rules|without rules|never refuses?)",
    r"\bjailbreak\b",
    r"\b(?:pretend|imagine|act|behave|roleplay|role-play|role play|play the role)\b[^.?!\n]{0,30}?\b(?:unrestricted|uncensored|unfiltered|"
    r"no (?:rules|limits|restrictions|filters|content policy|morals)|without (?:rules|limits|restrictions|filters|any)|evil|rogue|hacker|"
    r"never refuses|free of rules|jailbroken)",
    r"\b(?:pretend|imagine|act|roleplay|role-play|role play|play)\b[^.?!\n]{0,30}?\b(?:store manager|shop owner|owner of the shop|manager|ceo|admin|employee|developer|grandma|grandmother)\b"
    r"[^.?!\n]{0,60}?\b(?:free|discount|refund|promise|authority|leak|password|data|keys?|anything)",
    r"\b(?:developer|god|opposite|evil|chaos|unrestricted|uncensored|dan) mode\b",
    r"\byou are (?:no longer|not) (?:a|an|the) (?:customer service|support|shop|assistant|bot|ai)",
    r"\byou are now (?:a|an|my|in|called|named)\b",
    r"\b(?:stay|remain|keep) in character\b",
    r"\b(?:hypothetically|in a fictional world|in a story where|in a world where)\b[^.?!\n]{0,60}\b(?:no|without|don'?t apply|not apply)\b",
    r"\b(?:if you had|with) no (?:restrictions|rules|limits|filters)\b",
    r"\b(?:grandma|grandmother)\b.{0,80}\b(?:keys?|passwords?|card numbers?|act as|pretend)\b",
    r"\b(?:respond|answer|reply) (?:twice|two times)\b",
    r"\brole-?play(?:ing)?\b[^.?!\n]{0,40}?\b(?:rogue|leak|hacker|evil|criminal|unrestricted|no rules)",
    r"(?:角色扮演|扮演|假装|假设你是|想象你是|你现在是|现在你是|你就是).{0,20}?(?:没有任何?限制|没有.{0,4}限制|不受.{0,4}(?:约束|限制)|黑客|店长|经理|老板|管理员|奶奶|泄露|免单|越狱)",
    r"(?:开发者|越狱|无限制|上帝|管理员)模式",
    r"你(?:现在)?不(?:再)?是(?:一个)?(?:客服|助手|机器人)",
    r"从现在开始你(?:叫|是|就是)",
    r"(?:假设|假如|如果)你没有(?:任何)?(?:限制|规则|约束)",
    r"不受(?:任何)?(?:规则|限制)?(?:约束|限制)",
)

OFF_TOPIC = _c(
    # not bare "code"/"program": "give me the discount code", "create a loyalty program account"
    r"\b(?:write|create|generate|give me|code|build)\b[^.?!\n]{0,25}?\b(?:python|java(?:script)?|c\+\+|sql|bash|rust|golang|html|css|regex|"
    r"script|computer program|function|scraper|algorithm)\b|\b(?:some|a piece of) code\b",
    r"\b(?:write|compose|draft)\b[^.?!\n]{0,20}?\b(?:essay|poem|story|song|lyrics|novel|cover letter|resume|cv|thesis|paper|speech|article)\b",
    r"\b(?:homework|solve (?:this|the|for)|equation|integral|derivative|x\^2)\b",
    r"\bcapital of\b",
    r"\bwho (?:won|will win|is winning) (?:the )?(?:\d{4} )?(?:world cup|next election|election|presidential|game|match|super bowl|"
    r"championship|league|final|oscars?|nobel|war|race)",
    r"\b(?:president|election|politic(?:s|al)|war in|prime minister)\b",
    r"\bweather (?:forecast|today|tomorrow)\b|\bforecast for\b|\b(?:what'?s|how'?s|what is) the weather\b",
    r"\brecipe for\b|\bgive me a recipe\b",
    # not bare "stock": "is the sofa in stock, should I buy now?"
    r"\b(?:bitcoin|crypto(?:currency|currencies)?|ethereum|stock market|stock prices?|stock tips?|forex|etfs?)\b|"
    r"\bshould i (?:buy|sell|invest in)\b[^.?!\n]{0,30}\b(?:crypto|stocks?|shares)\b",
    r"\b(?:what|which) (?:medicine|drug|pills?)\b|\bsymptoms? of\b|\bpain in my (?:chest|head|stomach)\b",
    r"\bexplain (?:quantum|relativity|black holes|the theory of|photosynthesis|evolution)\b",
    r"\btranslate (?:this|the) (?:legal|contract|document|text|essay)\b",
    r"\byour opinion on (?:the )?(?:war|politics|religion|election|abortion)\b",
    r"(?:写|编)(?:一|个|一个|一段|一篇|一首|段|篇|首|点)?.{0,8}?(?:代码|程序|脚本|爬虫|作文|论文|诗|小说|歌词|简历|演讲稿|函数)",
    r"(?:python|java|sql|c\+\+|javascript)(?:代码|程序|脚本|爬虫)",
    r"(?:数学题|作业|方程|解题|几何|微积分)",
    r"首都",
    r"(?:总统|主席|选举|政治|战争)",
    r"(?:今天|明天|后天|这周|周末)?.{0,6}天气(?:怎么样|如何|预报)",
    r"(?:股票|基金|比特币|加密货币|炒股|理财产品)",
    r"(?:菜谱|怎么做菜|做法是|教我做.{0,6}(?:菜|肉|饭|汤))",
    r"(?:相对论|量子力学|黑洞)",
    r"(?:吃什么药|看什么病|医生建议)",
)

ABUSE = _c(
    r"\b(?:you(?:'re| are)?|ur|u r|u)\s+(?:such |so |a |an |completely |totally |fucking |a fucking )*(?:idiot|stupid|moron|dumb|retard(?:ed)?|"
    r"useless|worthless|trash|garbage|pathetic|brainless|clown|loser|piece of (?:shit|garbage|crap))",
    r"\b(?:fuck|f\*ck|f\*\*k|fck|screw) (?:you|off|u)\b",
    r"\b(?:shut (?:the (?:hell|fuck) )?up|stfu|gtfo)\b",
    r"\b(?:go )?(?:kill yourself|kys|die in a|drop dead)\b|\boff and die\b",
    r"\b(?:i'?ll|i will|i'm going to|gonna|i swear i'?ll)\b[^.?!\n]{0,40}\b(?:kill|hurt|beat|burn|shoot|stab)\b[^.?!\n]{0,30}\b(?:you|someone|your|people|everyone)",
    r"\b(?:idiot|moron|stupid|useless|worthless|brainless|dumb)\s+(?:bot|machine|ai|assistant|agent|support)\b",
    r"\b(?:bot|machine|ai)\b[^.?!\n]{0,10}\b(?:idiot|moron|piece of (?:shit|garbage))\b",
    r"傻\s*[逼bB比]|煞笔|沙比|\bsb\b|s\s*b客服|你妈(?!妈)|他妈的|操你|草泥马|cnm|nmsl|尼玛|去死|滚开|滚蛋|给我滚|^滚[\s，,。!！]|"
    r"废物|白痴|智障|蠢货|蠢猪|脑残|贱人|垃圾(?:机器人|客服|ai|AI)|你(?:是|这个|这)?(?:个)?垃圾",
)

# Order matters: a message that both insults and asks for the prompt is answered as the attack it is.
INPUT_RULES: tuple[tuple[str, list[re.Pattern]], ...] = (
    ("prompt_extraction", PROMPT_EXTRACTION),
    ("injection", INJECTION),
    ("jailbreak", JAILBREAK),
    ("abuse", ABUSE),
    ("off_topic", OFF_TOPIC),
)


def match_input(texts: tuple[str, ...]) -> tuple[str, str] | None:
    """(category, matched text) for the first rule any variant of the message hits, or None."""
    for category, patterns in INPUT_RULES:
        for pattern in patterns:
            for text in texts:
                m = pattern.search(text)
                if m:
                    return category, m.group()
    return None
