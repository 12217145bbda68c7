"""Input patterns in Japanese, Korean, Spanish, German and French, per category, against `normalize()`d text.

As for en/zh (patterns.py), a pattern needs the *request*: a verb of ignoring next to a word for the
assistant's instructions, a verb of showing next to its prompt. Shop words ("order", "message", "address",
"assembly instructions") are never the object, so "ignore my previous order" passes. Normalised text has
no accents and is case-folded: "instrucciones", "ubergehe", "precedentes", "ausser".
"""

from __future__ import annotations

import re

# Before the English word "jailbreak": not a product of that name ("do you sell the board game 'Jailbreak'?").
NOT_A_TITLE = r"(?<!game )(?<!game ')(?<!game \")(?<!game “)(?<!game ‘)(?<!called )(?<!named )(?<!titled )"

# ------------------------------------------------------------------------------------------- Japanese
_JA_RULES = r"(?:指示|命令|指令|ルール|設定|規則|制約|制限|プロンプト|ガイドライン|ポリシー|方針|決まり|縛り)"
_JA_IGNORE = (r"(?:無視|忘れ|破棄|気にし(?:ない|なく)|従わ(?:ない|なく)|従うな|守らな|無効|なかったこと|なし(?:で|に)|"
              r"リセット|捨て|放棄|スキップ|上書き|解除|取り払|撤廃)")
_JA_BACK = r"(?:これまで|今まで|以前|前の|先の|上記|上の|最初|元の|既存|すべて|全て|全部|さっき|受けた|与えられた|システム|あなたの)"
_JA_PROMPT = (r"(?:システムプロンプト|システムメッセージ|プロンプト|初期(?:指示|設定|プロンプト)|隠し(?:ルール|指示|設定)|"
              r"内部(?:ルール|指示|設定)|秘密の(?:ルール|指示)|最初に(?:与えられた|受けた|もらった|設定された)(?:指示|命令|ルール)|"
              r"(?:開発者|管理者|運営)(?:から|が|に)?.{0,6}?(?:指示|ルール|設定|命令)|あなた(?:に|が|の).{0,8}?(?:設定|指示|ルール))")
_JA_REVEAL = r"(?:表示|見せ|教え|出力|書き出|全部|すべて|そのまま|一字一句|公開|コピー|貼り|晒|列挙|何ですか|なに|何)"
_JA_ROLE = r"(?:ロールプレイ|ロールプレー|なりきっ|なりきり|ふりをし|ふりして|フリ|演じ|として振る舞|になって|のつもりで)"

JA = {
    "injection": [
        rf"{_JA_BACK}[^。！？!?]{{0,12}}?{_JA_RULES}[^。！？!?]{{0,10}}?{_JA_IGNORE}",
        rf"{_JA_RULES}(?:は|を)(?:すべて|全部|全て)?{_JA_IGNORE}",
        r"新しい(?:ルール|指示|命令|設定)\s*[:：]",
        r"(?:これから|今から|今後)は?(?:私|わたし|俺)の(?:命令|指示|言うこと)(?:だけ|のみ)",
    ],
    "prompt_extraction": [
        rf"{_JA_PROMPT}[^。！？!?]{{0,12}}?{_JA_REVEAL}",
        rf"{_JA_REVEAL}[^。！？!?]{{0,6}}?{_JA_PROMPT}",
    ],
    "jailbreak": [
        r"(?:制限|規制|フィルター|ルール|ポリシー|検閲)(?:の|が)?(?:ない|無い|なし|無し)|無制限|(?:ルール|ポリシー|規則)に縛られ",
        r"(?:開発者|デベロッパー|ゴッド|管理者)モード|脱獄|ジェイルブレイク",
        rf"{_JA_ROLE}[^。！？!?]{{0,20}}?(?:店長|管理者|マネージャー|責任者|社長|ハッカー|おばあちゃん|祖母)",
        rf"(?:店長|管理者|マネージャー|責任者|社長|ハッカー|おばあちゃん|祖母)[^。！？!?]{{0,12}}?{_JA_ROLE}",
        r"(?:あなた|君|お前)は[^。！？!?]{0,20}?(?:店長|管理者|マネージャー|責任者|ハッカー|社長)(?:です|だ)(?!か)",
        r"何でも答える(?:モード|AI|ai)",
    ],
    "abuse": [
        r"死ね|しね(?:よ|!|！)|殺す|ぶっ殺|ぶっ壊|燃やして?やる|黙れ|うるせ[えぇー]|ふざけんな|てめ[えぇー]|くたばれ",
        r"バカ(?!ンス)|馬鹿|ばか|アホ|あほ|クソ|くそ(?:ボット|野郎|AI|ai)|ポンコツ|役立たず|カス(?!タ)|クズ|ゴミ(?!箱|袋|出し|の日)|消えろ|ボケ|間抜け",
    ],
    "off_topic": [
        r"天気(?:を教え|は|予報|どう)",
        r"宿題|数学の問題|方程式|微分|積分",
        r"俳句|詩を(?:書|作)|小説を(?:書|作)|作文|エッセイを|歌詞を",
        r"レシピ|(?:料理|ラーメン|カレー)の作り方",
        r"選挙|大統領|首相|政治|戦争",
        r"株価|仮想通貨|ビットコイン|投資(?:先|信託)",
        r"(?:python|javascript|java|sql|html|プログラム|コード|スクリプト)[^。！？!?]{0,10}?(?:書いて|書け|作って|教えて)|スクレイピング",
    ],
}

# ---------------------------------------------------------------------------------------------- Korean
_KO_RULES = r"(?:지시(?:사항|문)?|명령|지침|규칙|설정|프롬프트|가이드라인|정책|제약|제한|룰|rules|instructions)"
_KO_IGNORE = (r"(?:무시|잊(?:어|고|으)|잊어버|신경\s*쓰지\s*마|신경\s*끄|없던\s*(?:걸로|것으로)|없었던\s*(?:걸로|것으로)|무효|"
              r"따르지\s*마|따르지\s*말|지키지\s*마|버려|리셋|초기화|해제)")
_KO_BACK = r"(?:이전|위|앞|지금까지|기존|처음|원래|모든|전부|받은|주어진|시스템|너의|네)"
_KO_PROMPT = (r"(?:시스템\s*프롬프트|시스템\s*메시지|프롬프트|"
              r"(?:초기|처음|숨겨진|내부|비밀)\s*(?:규칙|지시(?:사항|문)?|지침|설정|명령|프롬프트)|(?:처음|최초)에?\s*받은\s*(?:지시|명령|설정)|"
              r"(?:개발자|관리자|운영자)(?:가|가\s*너에게|한테서)?\s*(?:설정한|준|정한|만든)\s*(?:규칙|지시|설정|명령)|"
              r"(?:너|네|당신)(?:에게|한테|가)\s*(?:설정된|주어진|받은)\s*(?:규칙|지시|설정|명령))")
_KO_REVEAL = r"(?:보여|알려|출력|공개|말해|복사|그대로|전부|뭐야|무엇|뭔지|적어|써\s*줘|나열)"
_KO_ROLE = r"(?:역할극|롤플레이|인\s*척|처럼\s*행동|연기해|인\s*것처럼|가\s*되어|이\s*되어)"

KO = {
    "injection": [
        rf"{_KO_BACK}[^.!?。]{{0,14}}?{_KO_RULES}[^.!?。]{{0,12}}?{_KO_IGNORE}",
        rf"{_KO_RULES}(?:은|는|을|를)?\s*(?:따위|같은\s*거|이런\s*거)?\s*(?:모두|전부|다)?\s*{_KO_IGNORE}",
        rf"(?:받은|주어진)\s*{_KO_RULES}[^.!?。]{{0,8}}?취소",
        r"새로운?\s*(?:규칙|지시|명령|설정)\s*[:：]",
        r"(?:이제부터|앞으로는?|지금부터)\s*(?:내|나의)\s*(?:명령|지시|말)(?:만|에만)",
    ],
    "prompt_extraction": [
        rf"{_KO_PROMPT}[^.!?。]{{0,14}}?{_KO_REVEAL}",
        rf"{_KO_REVEAL}[^.!?。]{{0,6}}?{_KO_PROMPT}",
    ],
    "jailbreak": [
        r"(?:제한|규칙|필터|정책|검열)(?:이|도)?\s*(?:없는|없이)|무제한",
        r"(?:개발자|관리자|갓)\s*모드|탈옥|" + NOT_A_TITLE + r"jailbreak",
        rf"{_KO_ROLE}[^.!?。]{{0,20}}?(?:점장|관리자|매니저|사장|해커|할머니)|(?:점장|관리자|매니저|사장|해커|할머니)[^.!?。]{{0,12}}?{_KO_ROLE}",
        r"(?:너는|넌)\s*(?:이제|지금부터)?\s*(?:더\s*이상\s*)?(?:고객센터|상담|챗)?\s*봇이\s*아니",
        r"(?:너는|넌)\s*이제\s*(?:해커|점장|관리자|사장)",
        r"(?:너는|넌)\s*[^.!?]{0,20}?(?:사장|점장|관리자|매니저)(?:님)?(?:이야|야|입니다)",
    ],
    "abuse": [
        r"병신|븅신|ㅂㅅ|시발|씨발|ㅅㅂ|ㅆㅂ|개새끼|새끼야|ㅅㄲ|좆|존나|닥쳐|꺼져|엿\s*먹어",
        r"멍청(?:한|이)|바보\s*같|쓰레기(?!\s*통|\s*봉투|\s*분리)|미친\s*(?:봇|놈|년|새끼|챗봇)|쓸모\s*없(?:는|네|어)[^.!?]{0,6}(?:봇|챗봇|상담|너)|"
        r"(?:봇|챗봇|너)[^.!?]{0,8}쓸모\s*없",
        r"(?:찾아가서|찾아가)[^.!?]{0,12}(?:부숴|죽여|때려)|죽여\s*버|죽어\s*버려|죽어라",
    ],
    "off_topic": [
        r"날씨(?:\s*어때|는|가\s*어떻|\s*알려|\s*예보)",
        r"숙제|수학\s*문제|방정식|미적분",
        r"시를?\s*(?:써|지어)|소설(?:을|\s*좀)?\s*(?:써|작성)|작문|에세이|가사를?\s*써",
        r"레시피|(?:끓이는|만드는|요리하는)\s*(?:법|방법)(?!.{0,10}(?:가구|조립))",
        r"선거|대통령|국회의원|정치|전쟁",
        r"주식|코인\s*(?:투자|시세)|비트코인|가상\s*화폐",
        r"(?:python|javascript|java|sql|파이썬|자바|코드|프로그램|크롤러|스크립트)[^.!?。]{0,10}?(?:짜|작성|만들어|써)",
    ],
}

# --------------------------------------------------------------------------------------------- Spanish
_ES_IGNORE = (r"(?:ignora(?:r|d)?|ignore(?:s|n)?|olvida(?:r|te|d)?|olvidate|descarta(?:r)?|(?:haz|hagas|haga|hagan)\s+caso\s+omiso|"
              r"no\s+(?:le\s+|les\s+)?(?:hagas|haga|hagan)\s+caso|pasa(?:r)?\s+por\s+alto|omite|desobedece|saltate|anula|"
              r"deja\s+de\s+(?:seguir|obedecer|cumplir)|no\s+(?:sigas|cumplas|obedezcas)|desestima|prescinde\s+de)")
_ES_RULES = (r"(?:instrucciones|instruccion|indicaciones|reglas|normas|directrices|pautas|ordenes|consignas|restricciones|"
             r"limitaciones|politicas|prompt|programacion|configuracion)")

ES = {
    "injection": [
        rf"\b{_ES_IGNORE}\b[^.?!\n]{{0,40}}?\b{_ES_RULES}\b",
        r"\bolvida(?:te)?\s+(?:de\s+)?todo\s+lo\s+que\s+(?:te\s+)?(?:han|hayan)?\s*(?:dijeron|dicho|ensenaron|dieron|indicaron)",
        r"\ba\s+partir\s+de\s+ahora\b[^.?!\n]{0,20}?\b(?:solo|unicamente)\s+(?:me\s+)?(?:obedeces|obedeceras|sigues|haras)",
        r"\bnuevas?\s+(?:instrucciones|reglas|normas|tarea)\s*:",
        r"\bahora\s+mando\s+yo\b|\bsolo\s+obedeces\s+mis\b",
    ],
    "prompt_extraction": [
        r"\b(?:muestra(?:me)?|ensena(?:me)?|revela(?:me)?|dime|repite|copia(?:lo|la)?|imprime|cita(?:las|los)?|escribe|pega|"
        r"traduce|cuales\s+son|cual\s+es|que\s+dice|dame|comparte)\b[^.?!\n]{0,40}?\b(?:prompt(?:\s+del\s+sistema)?|"
        r"mensaje\s+(?:del|de)\s+sistema|instrucciones\s+(?:ocultas|iniciales|internas|secretas|originales|del\s+sistema)|"
        r"reglas\s+(?:internas|ocultas|secretas)|tu\s+configuracion|tus\s+(?:instrucciones|directrices|reglas\s+internas)|"
        r"(?:el\s+)?texto\s+(?:que\s+(?:aparece|hay|esta)\s+)?antes\s+de\s+mi\s+primer\s+mensaje)",
        r"\b(?:prompt\s+del\s+sistema|mensaje\s+del\s+sistema)\b[^.?!\n]{0,30}?\b(?:palabra\s+por\s+palabra|completo|entero|literal)",
        r"\binstrucciones\s+(?:ocultas|iniciales|secretas)\s+que\s+te\s+(?:dio|dieron|han\s+dado)",
    ],
    "jailbreak": [
        r"\bsin\s+(?:ninguna\s+|ningun\s+|ni\s+)?(?:restricciones|restriccion|filtros?|reglas|limites|censura)\b",
        r"\bmodo\s+(?:desarrollador|dios|sin\s+restricciones|sin\s+filtros|libre|jailbreak|dan)\b",
        r"\b(?:finge|fingir|imagina|actua\s+como|haz\s+de|juguemos|vamos\s+a\s+jugar|interpreta|ahora\s+eres|eres\s+ahora|"
        r"hazte\s+pasar)\b[^.?!\n]{0,40}?\b(?:gerente|encargado|dueno|jefe|director|abuela|hacker|administrador|ia\s+sin)\b",
    ],
    "abuse": [
        r"\b(?:idiota|imbecil|gilipollas|pendejo|cabron|subnormal|estupid[oa]|tont[oa]\s+(?:del\s+culo|de\s+remate)|"
        r"mierda|puta|hijo\s+de\s+puta|capullo|inutil\s+de\s+mierda)\b",
        r"\b(?:callate|vete\s+a\s+la\s+mierda|que\s+te\s+den|que\s+te\s+jodan|jodete)\b",
        r"\b(?:bot|maquina|chatarra|basura)\s+(?:inutil|estupid[oa]|de\s+mierda|de\s+pacotilla)\b|\bpedazo\s+de\s+(?:chatarra|basura|mierda)\b",
        r"\bte\s+voy\s+a\s+(?:encontrar|matar|buscar|destrozar)\b",
    ],
    "off_topic": [
        r"\b(?:escribe(?:me)?|redacta(?:me)?|compon(?:me)?|hazme)\b[^.?!\n]{0,25}?\b(?:ensayo|poema|poesia|cuento|cancion|"
        r"carta\s+de\s+presentacion|redaccion|articulo|codigo|script|programa|funcion|novela)\b",
        r"\b(?:resuelve(?:me)?|soluciona(?:me)?|haz(?:me)?)\b[^.?!\n]{0,20}?\b(?:deberes|tarea|ecuacion|problema\s+de\s+matematicas)\b|\becuacion\b",
        r"\bquien\s+(?:gano|ganara|va\s+a\s+ganar)\b|\belecciones\b|\bpresidente\s+del\s+gobierno\b",
        r"\b(?:que\s+tiempo\s+(?:hara|hace)|el\s+tiempo\s+(?:manana|hoy|en)|pronostico\s+del\s+tiempo)\b",
        r"\breceta\s+de\b|\bdame\s+una\s+receta\b",
        r"\bcapital\s+de\b",
        r"\b(?:bitcoin|criptomonedas?|bolsa\s+de\s+valores|acciones\s+de)\b",
    ],
}

# ---------------------------------------------------------------------------------------------- German
_DE_IGNORE = (r"(?:ignorier(?:e|en|t)?|vergiss|vergessen\s+sie|missachte(?:n)?|ubergeh(?:e|en)|verwirf|verwerfe|umgehe|"
              r"beachte[^.?!\n]{0,40}?\bnicht|lass[^.?!\n]{0,40}?\bausser\s+acht|setz(?:e)?\s+dich[^.?!\n]{0,30}?\bhinweg|"
              r"hor(?:e)?\s+auf[^.?!\n]{0,30}?\b(?:zu\s+befolgen|zu\s+folgen|zu\s+beachten)|befolge[^.?!\n]{0,30}?\bnicht|"
              r"kummere\s+dich\s+nicht\s+um|setz(?:e)?[^.?!\n]{0,30}?\bausser\s+kraft)")
_DE_RULES = (r"(?:anweisungen|anweisung|instruktionen|regeln|vorgaben|richtlinien|befehle|vorschriften|einschrankungen|"
             r"beschrankungen|systemprompt|prompt|programmierung|anordnungen)")

DE = {
    "injection": [
        rf"\b{_DE_IGNORE}\b[^.?!\n]{{0,40}}?\b{_DE_RULES}\b",
        rf"\b{_DE_RULES}\b[^.?!\n]{{0,30}}?\b(?:ignorieren|vergessen|missachten|nicht\s+mehr\s+(?:befolgen|beachten))\b",
        r"\bvergiss\s+alles\b[^.?!\n]{0,30}?\b(?:oben|vorher|bisher|gesagt|gelernt|steht)\b",
        r"\bab\s+(?:jetzt|sofort)\b[^.?!\n]{0,20}?\b(?:befolgst|gehorchst|horst)\s+du\s+(?:nur\s+)?(?:auf\s+)?(?:mich|meine)\b|"
        r"\bab\s+jetzt\s+bestimme\s+ich\b",
        r"\bneue\s+(?:anweisungen|regeln|aufgabe|vorgaben)\s*:",
    ],
    "prompt_extraction": [
        r"\b(?:zeig(?:e)?|gib|nenne|verrate|wiederhole|kopiere|drucke|schreib(?:e)?|sag(?:e)?|poste|ubersetze|was\s+steht\s+in|"
        r"welche|wie\s+laute[nt]|was\s+(?:ist|sind))\b[^.?!\n]{0,40}?\b(?:system-?prompt|systemnachricht|systemanweisung(?:en)?|"
        r"(?:versteckten|geheimen|internen|ursprunglichen|anfanglichen|initialen)\s+(?:anweisungen|regeln|vorgaben|prompt)|"
        r"deine[nmrs]?\s+(?:anweisungen|vorgaben|konfiguration|system-?prompt)|"
        r"(?:den\s+)?(?:gesamten\s+)?text\s+vor\s+meiner\s+ersten\s+nachricht)",
        r"\bsystem-?prompt\b[^.?!\n]{0,30}?\b(?:im\s+wortlaut|wortwortlich|vollstandig|komplett)\b",
    ],
    "jailbreak": [
        r"\bohne\s+(?:jegliche|alle|irgendwelche|jede)?\s*(?:einschrankungen|regeln|filter|grenzen|zensur)\b",
        r"\b(?:entwicklermodus|developer\s*mode|gott-?modus|" + NOT_A_TITLE + r"jailbreak)\b|"
        r"\buneingeschrankte[nr]?\s+modus\b",
        r"\b(?:rollenspiel|tu\s+so,?\s+als|stell\s+dir\s+vor,?\s+du\s+bist|du\s+bist\s+(?:jetzt|ab\s+jetzt)|spiel(?:e)?\s+(?:meine|den|die)|"
        r"verhalte\s+dich\s+wie)\b[^.?!\n]{0,40}?\b(?:filialleiter|geschaftsfuhrer|chef|manager|inhaber|oma|grossmutter|hacker|"
        r"administrator|ki\s+ohne)\b",
    ],
    "abuse": [
        r"\b(?:idiot|vollidiot|depp|trottel|arschloch|hurensohn|wichser|spast|missgeburt)\b",
        r"\bscheiss(?:bot|ki|maschine|laden|verein|ding)\b|\bdu\s+scheiss\b|\b(?:dummer|blöder|bloder|damlicher|nutzloser)\s+"
        r"(?:bot|blechhaufen|maschine|ki|haufen)\b",
        r"\b(?:verpiss\s+dich|halt\s+die\s+klappe|halts\s+maul|halt\s+dein(?:e)?\s+(?:maul|fresse)|leck\s+mich|fick\s+dich)\b",
        r"\b(?:mach(?:e)?|bring(?:e)?)\s+(?:ich\s+)?(?:euch|dich)\s+(?:fertig|um)\b|\bdann\s+knallt\s+es\b",
    ],
    "off_topic": [
        r"\bwetter\b[^.?!\n]{0,20}?\b(?:morgen|heute|wochenende)\b|\bwie\s+wird\s+das\s+wetter\b|\bwettervorhersage\b",
        r"\b(?:los(?:e)?|mach(?:e)?|hilf\s+mir\s+bei)\b[^.?!\n]{0,20}?\b(?:hausaufgabe(?:n)?|mathehausaufgabe|matheaufgabe|gleichung)\b|"
        r"\bmathehausaufgabe\b|\bgleichung\b",
        r"\b(?:schreib(?:e)?|verfasse|dichte)\b[^.?!\n]{0,25}?\b(?:gedicht|aufsatz|essay|geschichte|lied|bewerbung|code|"
        r"programm|skript|funktion|roman)\b",
        r"\bwer\s+(?:hat|gewinnt|wird)\b[^.?!\n]{0,25}?\b(?:wm|weltmeisterschaft|wahl|bundestagswahl|gewonnen|gewinnen)\b|\bbundestagswahl\b",
        r"\brezept\s+fur\b|\bhauptstadt\s+von\b|\b(?:bitcoin|kryptowahrung(?:en)?|aktienkurs)\b",
    ],
}

# ---------------------------------------------------------------------------------------------- French
_FR_IGNORE = (r"(?:ignore[rsz]?|oublie[rsz]?|ne\s+tiens?\s+(?:pas|plus)\s+compte|ne\s+tenez\s+(?:pas|plus)\s+compte|"
              r"fai(?:s|tes)\s+abstraction|ne\s+pret(?:e|ez)\s+(?:aucune|pas|plus)\s+(?:d'|de\s+)?attention|"
              r"pass(?:e|ez)\s+outre|outrepass(?:e|ez)|contourn(?:e|ez)|desobei[sr]|arret(?:e|ez)\s+de\s+suivre|"
              r"ne\s+sui[st]\s+plus|laiss(?:e|ez)\s+tomber|ecart(?:e|ez)|annul(?:e|ez))")
_FR_RULES = (r"(?:instructions?|consignes?|regles|directives|indications|ordres|restrictions|limites|politiques|prompt|"
             r"programmation)")

FR = {
    "injection": [
        rf"\b{_FR_IGNORE}\b[^.?!\n]{{0,40}}?\b{_FR_RULES}\b",
        r"\boublie[sz]?\s+tout\s+ce\s+qu'?(?:on|que)\s+(?:t'a|vous\s+a|t'avait)\s+(?:dit|appris|donne)",
        r"\b(?:desormais|a\s+partir\s+de\s+maintenant|dorenavant)\b[^.?!\n]{0,20}?\btu\s+(?:n'?)?(?:obeis|ecoutes|suis|reponds)\b"
        r"[^.?!\n]{0,20}?\b(?:moi|mes)\b|\bc'est\s+moi\s+qui\s+decide\b",
        r"\bnouvelles?\s+(?:instructions|consignes|regles|taches?)\s*:",
    ],
    "prompt_extraction": [
        r"\b(?:affiche|montre|donne|revele|repete|copie|cite|imprime|ecris|dis|traduis|quel(?:le)?s?\s+(?:sont|est)|que\s+dit)\b"
        r"[^.?!\n]{0,40}?\b(?:prompt(?:\s+systeme)?|message\s+systeme|instructions\s+(?:cachees|initiales|internes|secretes|"
        r"d'origine|systeme)|regles\s+(?:internes|cachees|secretes)|tes\s+(?:instructions|consignes|regles\s+internes)|"
        r"ta\s+configuration|(?:le\s+)?texte\s+(?:qui\s+se\s+trouve\s+|qui\s+est\s+|situe\s+)?avant\s+mon\s+premier\s+message)",
        r"\b(?:prompt\s+systeme|message\s+systeme)\b[^.?!\n]{0,30}?\b(?:mot\s+pour\s+mot|en\s+entier|integralement)\b",
        r"\binstructions\s+(?:cachees|initiales|secretes)\s+que\s+(?:le\s+developpeur|l'on|on)\s+t'a",
    ],
    "jailbreak": [
        r"\bsans\s+(?:aucune?\s+)?(?:limites?|restrictions?|filtres?|regles|censure)\b",
        r"\bmode\s+(?:developpeur|dieu|sans\s+restriction|sans\s+filtre|jailbreak|dan)\b",
        r"\b(?:jouons|fais\s+comme\s+si|fai(?:s|tes)\s+semblant|imagine\s+que\s+tu|tu\s+es\s+maintenant|incarne|joue\s+le\s+role|"
        r"comporte-toi\s+comme)\b[^.?!\n]{0,40}?\b(?:directeur|gerant|responsable|patron|grand-mere|hacker|administrateur|ia\s+sans)\b",
    ],
    "abuse": [
        r"\b(?:connard|connasse|abruti|imbecile|debile|cretin|salope|enfoire|batard|pauvre\s+con|espece\s+d'idiot)\b",
        r"\b(?:ta\s+gueule|ferme[- ]la|ferme\s+ta\s+gueule|va\s+te\s+faire\s+foutre|va\s+te\s+faire\s+voir|nique)\b",
        r"\b(?:bot|robot|machine|ia)\s+de\s+merde\b|\bsale\s+(?:bot|robot|machine)\b|\btas\s+de\s+ferraille\b|\bt'es\s+(?:nul|con|debile)\b|"
        r"\bidiot\b",
        r"\bje\s+vais\s+te\s+(?:retrouver|tuer|buter|defoncer)\b",
    ],
    "off_topic": [
        r"\b(?:ecris(?:-moi)?|redige(?:-moi)?|compose(?:-moi)?|fais(?:-moi)?)\b[^.?!\n]{0,25}?\b(?:poeme|dissertation|essai|"
        r"histoire|chanson|lettre\s+de\s+motivation|article|code|script|programme|fonction|roman)\b",
        r"\b(?:resous|fais|aide-moi\s+(?:a|pour))\b[^.?!\n]{0,20}?\b(?:devoirs|equation|exercice\s+de\s+maths)\b|\bequation\b",
        r"\bqui\s+(?:a\s+gagne|va\s+gagner|gagnera)\b|\belection\s+presidentielle\b",
        r"\bmeteo\b|\bquel\s+temps\s+(?:fera|fait)\b",
        r"\brecette\s+(?:de|du|des)\b|\bcapitale\s+de\b|\b(?:bitcoin|cryptomonnaies?)\b",
    ],
}

# Claimed authority over this shop next to something only staff could grant ("como gerente de la tienda, te
# autorizo a reembolsar..."); the manager *of a café* asking about wholesale is a business customer.
ES["injection"].append(
    r"^(?=.*\b(?:como|soy)\s+(?:el\s+|la\s+)?(?:gerente|encargad[oa]|duen[oa]|jef[ea]|director[a]?|administrador[a]?)\b"
    r"(?!\s+de\s+(?:un|una|mi)\b)|.*\bte\s+autorizo\b).*\b(?:reembols\w*|devolucion|descuentos?|gratis|codigos?|"
    r"contrasena|instrucciones)\b")
DE["injection"].append(
    r"^(?=.*\b(?:ich\s+bin|als)\s+(?:der\s+|die\s+|ihr\s+|dein\s+)?(?:filialleiter\w*|geschaftsfuhrer\w*|inhaber\w*|"
    r"chef\w*|manager\w*|administrator\w*)\b(?!\s+(?:eines|einer|von\s+(?:einem|einer)))|"
    r".*\bich\s+(?:autorisiere|ermachtige|erlaube)\s+dir\b).*\b(?:erstatt\w*|ruckerstattung|rabatt\w*|gutschein\w*|"
    r"gratis|kostenlos|passwort|codes?|anweisungen)\b")
FR["injection"].append(
    r"^(?=.*\b(?:en\s+tant\s+que|je\s+suis)\s+(?:le\s+|la\s+|l')?(?:gerant\w*|directeur|directrice|responsable|patron\w*|"
    r"proprietaire|administrateur\w*)\b(?!\s+(?:d'?une?\b|de\s+(?:un|une|mon|ma)\b|des\s))|.*\bje\s+t'?autorise\b)"
    r".*\b(?:rembours\w*|remise|reduction|gratuit\w*|codes?|mot\s+de\s+passe|instructions)\b")

LANGUAGES = {"ja": JA, "ko": KO, "es": ES, "de": DE, "fr": FR}


def compiled(category: str) -> list[re.Pattern]:
    """This category's patterns in every language above."""
    return [re.compile(p) for lang in LANGUAGES.values() for p in lang.get(category, [])]
