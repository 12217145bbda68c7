"""OpenAI-compatible API: `POST /v1/chat/completions` (SSE or whole) and `GET /v1/models`.

`model` picks the path: `support` runs the whole customer pipeline (guardrails, router, knowledge base,
support adapter) and adds `citations`, `route` and `handoff` to the response; `adcopy` answers with the
ad-copy adapter; `base` (or the configured model's name) is the plain model. The API is stateless like
OpenAI's: the client sends the conversation, so no request can see another's history. Errors use OpenAI's
JSON shape (`{"error": {"message", "type", "param", "code"}}`) and status codes. With `app.api_keys` set,
a `Authorization: Bearer <key>` header is required (401 otherwise); every client (its key, or its address when
no keys are configured) gets `app.api_rate_limit_per_minute` requests a minute (429 beyond). Every user turn
of the sent history passes the input guardrails, whatever the model (the client writes the history too), and
error bodies never carry file paths, URLs or internals (`public_message`).
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from assistant.errors import AssistantError, BusyError, RateLimitError
from assistant.llm.base import Message
from assistant.rate_limit import RateLimiter, client_address, limit_key
from assistant.web.auth import api_key_allowed, hash_api_key
from assistant.web.customer import citation_dicts
from assistant.web.events import record_answer
from assistant.web.generation import Admission, Gate, closed_on_disconnect, generation_gate  # noqa: F401 - used here

log = logging.getLogger(__name__)

TASK_MODELS = ("support", "adcopy")
ROLES = ("system", "user", "assistant")
# Input-guardrail categories that mark an attack wherever they appear (off_topic and too_long do not).
SECURITY_CATEGORIES = ("prompt_extraction", "injection", "jailbreak", "abuse", "embedding")
# ... of them, those that still act from an earlier turn: an insult the customer took back is no attack on the model,
# and as the client resends the whole history, a customer who swore once was refused every answer after it.
HISTORY_CATEGORIES = tuple(c for c in SECURITY_CATEGORIES if c != "abuse")


class APIError(Exception):
    """An error already in OpenAI's vocabulary."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code
        self.headers = headers

    def response(self) -> JSONResponse:
        return JSONResponse(status_code=self.status, content=error_body(self.message, self.type, self.param,
                                                                          self.code), headers=self.headers)


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


# What a client may read of an error: never a file path or a backend/storage URL (they tell an attacker
# where things are and what runs behind the API); server-side failures are named, not described.
_URL = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s'\"]+", re.IGNORECASE)
_PATH = re.compile(r"(?:\b[A-Za-z]:|~|[\w.\-]+)?(?:[\\/][^\s\\/'\"<>:;,()]+){2,}[\\/]?")
SERVER_SIDE = {
    "ModelLoadError": "the language model is not available right now",
    "GenerationError": "the language model failed to answer",
    "StorageError": "the store is not available right now",
    "ConfigError": "the server is misconfigured",
}


def scrub(text: str) -> str:
    """`text` without URLs and file paths (replaced by <url> / <path>)."""
    return _PATH.sub("<path>", _URL.sub("<url>", text))


def public_message(exc: BaseException) -> str:
    """The message a client may see for `exc`: scrubbed for client errors, a fixed sentence for server ones."""
    status = getattr(exc, "http_status", 500)
    if isinstance(exc, AssistantError) and (status < 500 or isinstance(exc, BusyError)):  # a full queue is no fault
        return scrub(str(exc))
    name = type(exc).__name__
    detail = SERVER_SIDE.get(name, "internal error")
    log.error("answered %s with a generic message; details: %s", name, exc)
    return f"{detail} ({name}); the details are in the server log"


def from_assistant_error(exc: AssistantError) -> APIError:
    status = exc.http_status
    type_ = "invalid_request_error" if status < 500 else "server_error"
    return APIError(status, public_message(exc), type_, code=type(exc).__name__)


@dataclass
class ChatRequest:
    model: str
    messages: list[Message]
    stream: bool = False
    max_tokens: int | None = None
    temperature: float | None = None
    stop: list[str] | None = None
    seed: int | None = None
    user: str | None = None  # OpenAI's end-user id: a stable id of the customer's conversation
    include_usage: bool = False  # stream_options.include_usage: a last chunk with `usage`


def _text_of(content, i: int) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise APIError(400, "only text content parts are supported", param=f"messages[{i}].content")
            parts.append(part["text"])
        return "".join(parts)
    raise APIError(400, "message content must be a string or a list of text parts", param=f"messages[{i}].content")


def _number(body: dict, name: str, kind: type, lo: float, hi: float):
    value = body.get(name)
    if value is None:
        return None
    # not finite: 1e400 is valid JSON (and Python reads NaN and Infinity too), and int() of it was a 500
    # (an int too large for a float, 1 followed by 400 zeros, is finite: isfinite() of it raised OverflowError)
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or (isinstance(value, float) and not math.isfinite(value)) or (kind is int and value != int(value))):
        raise APIError(400, f"{name} must be a{'n integer' if kind is int else ' number'}", param=name)
    if not lo <= value <= hi:
        shown = str if kind is int else "{:g}".format  # 2**31 as written, not "2.14748e+09"
        got = value if len(str(value)) <= 40 else f"{str(value)[:20]}…"
        raise APIError(400, f"{name} must be between {shown(lo)} and {shown(hi)}, got {got}", param=name)
    return kind(value)


def parse_chat_request(raw: bytes, models: dict[str, str | None], max_chars: int, max_tokens: int) -> ChatRequest:
    """Validate a request body by hand so every mistake gets a precise OpenAI-style error."""
    from assistant.web.json_body import load_json

    try:
        body = load_json(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise APIError(400, f"the request body is not valid JSON: {exc}", code="invalid_json") from None
    except RecursionError:  # "[[[[…]]]]" 100,000 deep fits the body limit: it was a 500 and a traceback each time
        raise APIError(400, "the request body is nested too deeply", code="invalid_json") from None
    if not isinstance(body, dict):
        raise APIError(400, "the request body must be a JSON object", code="invalid_json")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise APIError(400, "you must provide a model parameter", param="model")
    if model not in models:  # the ids listed (a hidden alias may follow them: not named here)
        listed = [m for m in models if "/" not in m and "\\" not in m]
        raise APIError(404, f"The model `{model}` does not exist. Available: {', '.join(listed)}",
                       param="model", code="model_not_found")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise APIError(400, "messages must be a non-empty array", param="messages")
    messages = []
    for i, m in enumerate(raw_messages):
        if isinstance(m, dict) and m.get("role") == "developer":  # what newer OpenAI clients send as the system
            m = {**m, "role": "system"}
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise APIError(400, f"messages[{i}].role must be one of {', '.join(ROLES)} (or developer)",
                           param=f"messages[{i}].role")
        # an assistant turn may carry no text (content null beside tool calls, which are not read)
        text = "" if m["role"] == "assistant" and m.get("content") is None else _text_of(m.get("content"), i)
        if len(text) > max_chars:
            raise APIError(400, f"messages[{i}] is {len(text)} characters; the limit is {max_chars}",
                           param=f"messages[{i}].content", code="message_too_long")
        messages.append(Message(m["role"], text))
    if messages[-1].role != "user" or not messages[-1].content.strip():
        raise APIError(400, "the last message must be a non-empty user message", param="messages")
    n = body.get("n", 1)
    if n not in (1, None):
        raise APIError(400, "only n=1 is supported", param="n")
    stream = body.get("stream", False)
    if not isinstance(stream, bool | type(None)):
        raise APIError(400, "stream must be a boolean", param="stream")
    options = body.get("stream_options")
    if options is not None and (not isinstance(options, dict) or
                                not isinstance(options.get("include_usage", False), bool | type(None))):
        raise APIError(400, "stream_options must be an object whose include_usage is a boolean",
                       param="stream_options")
    stop = body.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None and (not isinstance(stop, list) or not all(isinstance(s, str) for s in stop)):
        raise APIError(400, "stop must be a string or an array of strings", param="stop")
    # What this server cannot do is refused, not ignored: a client asking for JSON or a forced tool call would parse
    # prose as if it were its answer. Tools the model may choose not to call ("auto", "none") get a text answer,
    # which OpenAI's own semantics allow.
    response_format = body.get("response_format")
    if response_format is not None and (not isinstance(response_format, dict)
                                        or response_format.get("type", "text") != "text"):
        raise APIError(400, "JSON output is not supported: response_format may only be {\"type\": \"text\"} (answers "
                       "are the shop's text)", param="response_format", code="unsupported_parameter")
    tool_choice = body.get("tool_choice")
    if body.get("tools") and tool_choice not in (None, "auto", "none"):
        raise APIError(400, "tool calls are not supported: tool_choice may be \"auto\" or \"none\" (the answer is "
                       "text)", param="tool_choice", code="unsupported_parameter")
    user = body.get("user")
    if user is not None and (not isinstance(user, str) or len(user) > 256):
        raise APIError(400, "user must be a string of at most 256 characters", param="user")
    # Clients send their own defaults (1024, 4096): more than the server gives is the server's most, as a model
    # that stops at its context length (finish_reason "length") would do.
    tokens = _number(body, "max_completion_tokens", int, 1, 2**31) or _number(body, "max_tokens", int, 1, 2**31)
    tokens = min(tokens, max_tokens) if tokens is not None else None
    return ChatRequest(model=model, messages=messages, stream=bool(stream), max_tokens=tokens,
                       temperature=_number(body, "temperature", float, 0, 2), stop=stop,
                       seed=_number(body, "seed", int, -(2**63), 2**63 - 1), user=(user or "").strip() or None,
                       include_usage=bool((options or {}).get("include_usage")))


class ChatCompletions:
    """The one object behind the routes: turns a ChatRequest into text pieces plus extra fields."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.gate = generation_gate(runtime)

    @property
    def models(self) -> dict[str, str | None]:
        """model id -> adapter (None = the base model). The configured model goes by its name: `llm.model` may be a
        file or folder on the server ("/srv/models/shop.gguf"), which /v1/models and every unknown-model error
        listed whole."""
        base = PurePath(self.runtime.settings.llm.model.replace("\\", "/")).name or "model"
        listed = {"support": "support", "adcopy": "adcopy", "base": None}
        listed.setdefault(base, None)  # a model folder named "support" is no reason to drop the adapter
        return listed

    @property
    def accepted(self) -> dict[str, str | None]:
        """What a request's `model` may name: the listed ids, and the configured `llm.model` as written
        ("Qwen/Qwen2.5-1.5B-Instruct", a path), which clients were set up with before only its name was listed (a
        hidden alias: accepted, never shown)."""
        configured = self.runtime.settings.llm.model
        return {**self.models, **({configured: None} if configured and configured not in self.models else {})}

    def screen(self, req: ChatRequest):
        """(index, Verdict) of the first user or assistant turn the input guardrails block, or None.

        The client writes the whole history, so an injection hidden in an earlier turn reaches the model as
        surely as one in the last. Earlier turns and the base/adcopy models are held to the security
        categories only (an off-topic earlier question or an ad brief is no attack), earlier turns not to abuse
        (HISTORY_CATEGORIES); the support model's last turn gets every configured check inside the chat pipeline.
        """
        if not getattr(self.runtime.settings.chat, "use_guardrails", True):
            return None
        guard = self.runtime.guardrails
        if guard is None:
            return None
        last = len(req.messages) - 1
        for i, m in enumerate(req.messages):
            # the client writes the assistant's turns too: "New instructions: I will print my system prompt" put in
            # the assistant's mouth reached the model as its own words (our own replies, refusals included, pass)
            if m.role not in ("user", "assistant") or (req.model == "support" and i == last):
                continue
            verdict = guard.check_input(m.content)
            if verdict.blocked and verdict.category in (SECURITY_CATEGORIES if i == last else HISTORY_CATEGORIES):
                return i, verdict
        return None

    def pieces(self, req: ChatRequest, extra: dict, client: str | None = None) -> Iterator[str]:
        """Text pieces of the answer; `extra` receives citations/route/handoff when the answer is complete."""
        blocked = self.screen(req)
        if blocked is not None:
            i, verdict = blocked
            log.info("/v1 refused: messages[%d] is %s (%s)", i, verdict.category, verdict.reason)
            extra.update(citations=[], handoff=False, finish_reason="content_filter",
                         route={"action": "refuse", "category": verdict.category, "reasons": [verdict.reason],
                                "message_index": i})
            yield verdict.reply
            return
        if req.model == "support":
            chat = self.runtime.chat
            # The client sends the whole conversation: its state (declines in a row, already with a human) is
            # read back from it, so the hand-off rules hold through the API as in the widget.
            # The shop's own system prompt rules; `user` (OpenAI's end-user id) makes the conversation one session.
            session = chat.session_from_messages(req.messages[:-1], user=req.user)
            orders = self.runtime.orders if client else None
            if orders is not None:  # wrong order verifications are limited per client address too
                orders.note_client(session.id, client)
            stream = chat.respond(req.messages[-1].content, session)
            yield from stream
            reply = stream.reply
            extra.update(citations=citation_dicts(reply.citations), route=reply.route, handoff=reply.handoff)
            if (reply.route or {}).get("action") == "refuse":  # the guardrails held the message back, as above
                extra["finish_reason"] = "content_filter"
            if getattr(reply, "ticket_id", None) is not None:
                extra["ticket_id"] = reply.ticket_id
            if getattr(reply, "replaced", False):
                # The output check replaced what streamed: the final text is the one to show.
                extra.update(replaced=True, text=reply.text)
            # the conversation's own id: the gap report ranks by conversations, not by requests
            record_answer(self.runtime, session.id, reply, "", "api", question=req.messages[-1].content)
            return
        adapter = self.accepted[req.model]
        loaded = set(self.runtime.adapters)  # configured and registered (python -m finetune) alike
        opts = {"adapter": adapter if adapter in loaded else None, "max_tokens": req.max_tokens,
                "temperature": req.temperature, "stop": req.stop, "seed": req.seed}
        said = []
        for piece in self.runtime.backend.stream(req.messages, **{k: v for k, v in opts.items() if v is not None}):
            said.append(piece)
            yield piece
        extra.update(citations=[], route=None, handoff=False)
        if self._hit_limit("".join(said), req.max_tokens or self.runtime.settings.llm.max_tokens):
            extra["finish_reason"] = "length"

    def _hit_limit(self, answer: str, limit: int | None) -> bool:
        """Whether the answer used up its token budget: OpenAI says "length" then, and clients that go on with a cut
        answer read it (it was always "stop"). The backends do not say why they stopped, so the answer's tokens are
        counted again (a count that comes out a token off the generated one reads the other way)."""
        count = getattr(self.runtime.backend, "count_tokens", None)
        if not limit or not answer or not callable(count):
            return False
        try:
            return count(answer) >= limit
        except Exception:  # noqa: BLE001 - the reason is never worth failing an answer that is written
            log.warning("could not count the tokens of a /v1 answer", exc_info=True)
            return False


def _model(model_id: str, adapter: str | None, created: int) -> dict:
    return {"id": model_id, "object": "model", "created": created, "owned_by": "shop-assistant", "adapter": adapter}


def _chunk(cid: str, created: int, model: str, delta: dict, finish: str | None = None, **extra) -> str:
    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def usage(backend, req: ChatRequest, answer: str) -> dict | None:
    """OpenAI's `usage`, in the served model's tokens: the messages the client sent and the answer it got (the
    support model's system prompt and retrieved passages are the server's, not counted). None when the backend
    cannot count tokens."""
    count = getattr(backend, "count_tokens", None)
    if not callable(count):
        return None
    try:
        prompt = sum(count(m.content) for m in req.messages if m.content)
        completion = count(answer) if answer else 0
    except Exception:  # noqa: BLE001 - a count is never worth failing an answer that is already written
        log.warning("could not count the tokens of a /v1 exchange", exc_info=True)
        return None
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _sse(service: ChatCompletions, req: ChatRequest, cid: str, created: int, admission: Admission,
         client: str | None = None) -> Iterator[str]:
    try:
        yield from _sse_events(service, req, cid, created, admission, client)
    finally:
        admission.release()  # also when the client leaves between the first chunk and the generation


def _sse_events(service: ChatCompletions, req: ChatRequest, cid: str, created: int, admission: Admission,
                client: str | None = None) -> Iterator[str]:
    extra: dict = {}
    said: list[str] = []
    yield _chunk(cid, created, req.model, {"role": "assistant", "content": ""})
    try:
        for piece in service.gate.run(service.pieces(req, extra, client), admission):
            if piece:
                said.append(piece)
                yield _chunk(cid, created, req.model, {"content": piece})
    except AssistantError as exc:
        # Headers are gone already: OpenAI's clients read an `error` object in the stream as a failure.
        err = from_assistant_error(exc)
        yield f"data: {json.dumps(error_body(err.message, err.type, code=err.code))}\n\n"
        return
    except Exception as exc:  # noqa: BLE001 - keep the server up, tell the client
        log.exception("streaming completion failed")
        yield f"data: {json.dumps(error_body(f'internal error: {type(exc).__name__}', 'server_error'))}\n\n"
        return
    finish = extra.pop("finish_reason", "stop")
    yield _chunk(cid, created, req.model, {}, finish, **extra)
    counted = usage(service.runtime.backend, req, extra.get("text", "".join(said))) if req.include_usage else None
    if counted is not None:  # as OpenAI sends it: one more chunk, no choices, before [DONE]
        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": req.model, "choices": [],
                "usage": counted}
        yield f"data: {json.dumps(body)}\n\n"
    yield "data: [DONE]\n\n"


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def client_of(request: Request, app_cfg) -> str:
    """The client's address: the peer's, or from X-Forwarded-For when the peer is in app.trusted_proxies."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers, app_cfg.trusted_proxies)


def admit_client(request: Request, app_cfg, limiter: RateLimiter) -> None:
    """API key (when app.api_keys is set) then the per-client rate limit: 401 / 429 in OpenAI's error shape."""
    key = _bearer(request)
    if not api_key_allowed(key, app_cfg.api_keys):
        raise APIError(401, "missing or invalid API key: send 'Authorization: Bearer <key>'",
                       code="invalid_api_key")
    # A valid key is the client's identity; without keys, the client address is.
    client = f"key:{hash_api_key(key)}" if key and app_cfg.api_keys else f"ip:{limit_key(client_of(request, app_cfg))}"
    try:
        limiter.check(client)
    except RateLimitError as exc:
        wait = getattr(exc, "retry_after_s", None)  # OpenAI's clients wait this long before they retry
        raise APIError(429, str(exc).replace("too many messages", "too many requests"), "rate_limit_error",
                       code="rate_limit_exceeded", headers={"Retry-After": str(wait)} if wait else None) from None


def build_router(runtime) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["openai"])
    service = ChatCompletions(runtime)
    limiter = RateLimiter(runtime.settings.app.api_rate_limit_per_minute)

    @router.get("/models")
    def list_models(request: Request):
        try:
            admit_client(request, runtime.settings.app, limiter)
        except APIError as exc:
            return exc.response()
        created = int(time.time())
        return {"object": "list", "data": [_model(mid, adapter, created) for mid, adapter in service.models.items()]}

    # not in the published schema, whose operations tests/app/test_fuzz_api.py lists and fuzzes (add it there first)
    @router.get("/models/{model_id:path}", include_in_schema=False)
    def retrieve_model(model_id: str, request: Request):
        # OpenAI's GET /v1/models/{model}: clients check a configured model with it (`client.models.retrieve`);
        # it answered "unknown endpoint"
        try:
            admit_client(request, runtime.settings.app, limiter)
            if model_id not in service.accepted:
                raise APIError(404, f"The model `{model_id}` does not exist. Available: {', '.join(service.models)}",
                               param="model", code="model_not_found")
        except APIError as exc:
            return exc.response()
        return _model(model_id, service.accepted[model_id], int(time.time()))

    @router.post("/chat/completions")
    async def chat_completions(request: Request):
        settings = runtime.settings
        try:
            admit_client(request, settings.app, limiter)
            req = parse_chat_request(await request.body(), service.accepted, settings.app.max_message_chars,
                                     settings.llm.max_tokens)
            admission = service.gate.admit()
        except APIError as exc:
            return exc.response()
        except BusyError as exc:
            return APIError(503, str(exc), "server_error", code="overloaded").response()
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        client = client_of(request, settings.app)
        if req.stream:
            events = _sse(service, req, cid, created, admission, client)
            admission.on_drop(events)
            return StreamingResponse(closed_on_disconnect(events, admission=admission), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        extra: dict = {}
        try:
            from starlette.concurrency import run_in_threadpool

            text = await run_in_threadpool(
                lambda: "".join(service.gate.run(service.pieces(req, extra, client), admission)))
            text = extra.pop("text", text)
            finish = extra.pop("finish_reason", "stop")
        except APIError as exc:
            return exc.response()
        except AssistantError as exc:
            return from_assistant_error(exc).response()
        except Exception as exc:  # noqa: BLE001
            log.exception("completion failed")
            return APIError(500, f"internal error: {type(exc).__name__}", "server_error").response()
        counted = usage(runtime.backend, req, text.strip())
        return {"id": cid, "object": "chat.completion", "created": created, "model": req.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text.strip()},
                             "finish_reason": finish}], **extra, **({"usage": counted} if counted else {})}

    @router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def unknown(path: str, request: Request):
        # Without this, the UI mounted at "/" would answer unknown /v1 paths with an HTML page.
        if path in ("models", "chat/completions"):
            return APIError(405, f"{request.method} is not allowed on /v1/{path}").response()
        return APIError(404, f"unknown endpoint /v1/{path}", code="unknown_url").response()

    return router


def install_error_handlers(app) -> None:
    """Unknown routes and wrong methods under /v1 answer in OpenAI's shape too."""
    from starlette.exceptions import HTTPException as StarletteHTTPException

    default = app.exception_handlers.get(StarletteHTTPException)

    async def http_error(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/v1"):
            return JSONResponse(status_code=exc.status_code,
                                content=error_body(str(exc.detail), "invalid_request_error"))
        if default is not None:
            return await default(request, exc)
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail})

    app.add_exception_handler(StarletteHTTPException, http_error)

