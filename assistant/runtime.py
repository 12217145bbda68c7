"""Builds the long-lived objects (backend, knowledge base, router, chat...) once from settings and shares them.

Everything is lazy: importing this module loads no model; the first use of `runtime.chat` loads the LLM,
the classifiers and the knowledge base once, for every session. A component that cannot be built is
logged and left out (the chat degrades, e.g. no KB -> honest answers without citations), and listed in
`runtime.degraded` so the admin view can show it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from assistant.chat import ChatService
from assistant.config import Settings, load_config
from assistant.errors import AssistantError
from assistant.llm import build_backend
from assistant.llm.base import LLMBackend
from assistant.model_serving import ModelServing
from assistant.privacy import with_shop_contacts

log = logging.getLogger(__name__)


class Runtime(ModelServing):
    """Lazily built, process-wide objects: each loads once, on first use, not at import."""

    def __init__(self, settings: Settings | None = None, backend: LLMBackend | None = None,
                 components: dict[str, Any] | None = None, sync_kb: bool = True):
        self.settings = settings or load_config()
        # False for reports, which read the store as it is: the app's start ingests the demo shop and writes the
        # contact rows; a report that did so would bring back documents an admin deleted since.
        self.sync_kb = sync_kb
        self._backend = backend
        self._objects: dict[str, Any] = dict(components or {})
        self._lock = threading.RLock()
        self.degraded: dict[str, str] = {}
        #: True once the model has generated a real multi-token answer in this process (warm_up's last step)
        self.ready = False
        self._probe_failure: str | None = None
        try:  # PII never reaches a log line, whichever module writes it
            from assistant.privacy import install_log_redaction

            install_log_redaction(_with_operator_hosts(self.settings))
        except (ImportError, AttributeError) as exc:
            log.warning("log redaction unavailable: %s", exc)
        self._warn_placeholders()
        self._warn_shared_folders()

    def _warn_placeholders(self) -> None:
        """A shop fresh from `init` answers customers from its example documents ("REPLACE ME: e.g. Orders
        arrive in 3-5 working days."): say so at start, in the log and in /healthz's degraded list, without
        stopping the app (the shop may be trying it out)."""
        app, kb = getattr(self.settings, "app", None), getattr(self.settings, "knowledge_base", None)
        if not getattr(app, "ingest_demo_kb", False) or kb is None:
            return  # the app serves what was ingested, not this folder
        from assistant.config import resolve_path
        from assistant.scaffold import PLACEHOLDER, placeholder_documents

        folder = resolve_path(kb.demo_path)
        found = placeholder_documents(folder) if folder is not None else []
        if found:
            names = ", ".join(str(p.relative_to(folder)) for p in found)
            msg = (f"{len(found)} example document(s) from `init` still hold placeholder text ({PLACEHOLDER}) that "
                   f"customers are answered with: edit or delete {names} in {folder}")
            log.warning("knowledge base: %s", msg)
            self.degraded["knowledge_base_examples"] = msg

    def _warn_shared_folders(self) -> None:
        """A shop of its own (another collection than the demo's) that still writes into the project's data/
        folder shares it with every other shop on the machine: published gap answers are ingested from one table,
        and Sync re-reads one uploads folder. Said at start; `init` writes every such path under the shop's folder."""
        kb = getattr(self.settings, "knowledge_base", None)
        if kb is None or kb.collection == "shop":
            return
        from assistant.config import REPO_ROOT, resolve_path
        from assistant.scaffold import SHOP_DATA_PATHS

        shared = REPO_ROOT / "data"
        inside = [f"{section}.{key}" for section, key in SHOP_DATA_PATHS
                  if (value := getattr(getattr(self.settings, section, None), key, "")) and isinstance(value, str)
                  and (path := resolve_path(value)) is not None and path.is_relative_to(shared)]
        if inside:
            log.warning("%s write into the project's shared %s folder, which every shop on this machine uses: set "
                        "them under your shop's folder (python -m assistant init writes them so)",
                        ", ".join(inside), shared)

    def _get(self, name: str, build: Callable[[], Any], required: bool = False) -> Any:
        with self._lock:
            if name not in self._objects:
                try:
                    self._objects[name] = build()
                except (AssistantError, ImportError, OSError, RuntimeError, ValueError) as exc:
                    if required:
                        raise
                    msg = exc.one_line() if isinstance(exc, AssistantError) else f"{type(exc).__name__}: {exc}"
                    log.error("%s unavailable, continuing without it: %s", name, msg)
                    self.degraded[name] = msg
                    self._objects[name] = None
            return self._objects[name]

    def close(self) -> None:
        """Let go of the models now (llama.cpp weights and caches) and of every built component. A web framework's
        caches may keep the runtime itself alive after its app is gone (FastAPI keeps the endpoint functions, which
        hold it), so one process that serves one shop after another (a bench) would otherwise hold every shop's
        models at once. Whatever is used after this is built again."""
        with self._lock:
            backends = self.__dict__.pop("_built_backends", [])
            if (reconnector := self.__dict__.pop("_store_reconnector", None)) is not None:
                reconnector.stop()
            self._objects.clear()
            self._backend = None
        for backend in backends:
            close = getattr(backend, "close", None)
            if callable(close):
                close()

    def component(self, name: str, build: Callable[[], Any]) -> Any:
        """Any other long-lived helper (the UI's ad-copy generator, per-client limits...), built once here:
        the runtime is the one place objects are shared, so a test's runtime takes its objects along."""
        self._follow_registry()
        return self._get(name, build, required=True)

    def forget(self, name: str) -> None:
        """Drop a helper so the next use builds it anew (e.g. one that holds the old model)."""
        with self._lock:
            self._objects.pop(name, None)

    @property
    def shop(self):
        """Who the assistant speaks for, and every customer-facing text (assistant.shop)."""
        def build():
            from assistant.shop import Shop

            return Shop.from_config(self.settings.shop)
        return self._get("shop", build, required=True)

    @property
    def title(self) -> str:
        """The UI's title: app.title, or the catalog's page_title (the shop's name) in the shop's language."""
        shop = self.shop
        # in the shop's default language: a Chinese shop's customers read "云叶茶庄 · 智能客服"
        return self.settings.app.title or shop.text("page_title", shop.cfg.default_language)

    @property
    def verifier(self):
        """The second reading of the evidence (knowledge_base.verify_model), or None when it is off or the chat
        runs on another backend than llama.cpp."""
        def build():
            import dataclasses

            from knowledge_base.reading_weights import reading_weights
            from knowledge_base.second_reading import Verifier

            kb_cfg, llm = self.settings.knowledge_base, self.llm_config
            if not kb_cfg.verify_model or llm.backend != "llamacpp":
                return None
            if kb_cfg.verify_model == llm.model:
                backend = self.backend
            else:
                cfg = dataclasses.replace(llm, model=kb_cfg.verify_model, adapters={}, n_ctx=2048, max_tokens=4)
                self._probe(cfg)
                backend = self._marked(build_backend(cfg))
            return Verifier(backend, self.shop.text("verify_prompt", "en"), kb_cfg.verify_skip_above,
                            min_log_odds=kb_cfg.verify_min_log_odds,
                            faq_prompt=self.shop.text("verify_faq_prompt", "en") if kb_cfg.verify_faq_question else "",
                            faq_recheck_below=kb_cfg.verify_faq_recheck_below, faq_same_min=kb_cfg.verify_faq_same_min,
                            unsure_below=kb_cfg.verify_unsure_below,
                            translate=self._question_translator(backend),
                            translated_below=kb_cfg.verify_translated_below,
                            spec_min_log_odds=kb_cfg.verify_spec_min_log_odds, negated=kb_cfg.verify_negated,
                            spec_label_min=kb_cfg.verify_spec_label_min, tie_margin=kb_cfg.verify_tie_margin,
                            weights=reading_weights(kb_cfg.verify_weights), weights_mode=kb_cfg.verify_weights_mode)
        return self._get("verifier", build)

    def _question_translator(self, backend):
        """(question, language) -> the question in that language, by `backend`; '' when the model fails."""
        from assistant.question_lookup import translate_question

        return lambda question, into: translate_question(backend, self.shop.text("translate_question", into), question)

    @property
    def guardrails(self):
        def build():
            import dataclasses

            from assistant.guardrails import Guardrails

            # One length limit for customer messages everywhere: app.max_message_chars.
            cfg = dataclasses.replace(self.settings.guardrails,
                                      max_input_chars=self.settings.app.max_message_chars)
            return Guardrails(cfg, with_shop_contacts(self.settings))
        return self._get("guardrails", build)

    @property
    def redactor(self):
        def build():
            from assistant.privacy import Redactor

            return Redactor(with_shop_contacts(self.settings))
        return self._get("privacy", build)

    @property
    def classifiers(self):
        def build():
            from assistant.classifiers import default_classifiers

            return default_classifiers(self.settings.classifiers)
        return self._get("classifiers", build)

    @property
    def router(self):
        def build():
            from assistant.router import Router

            pair = self.classifiers
            if pair is None:
                raise RuntimeError("the intent/sentiment classifiers are unavailable")
            return Router(self.settings.router, *pair)
        return self._get("router", build)

    @property
    def kb(self):
        def build():
            from knowledge_base import KnowledgeBase
            from knowledge_base.kb import ensure_demo_ingested

            kb_cfg = self.settings.knowledge_base
            if not self.sync_kb:
                return KnowledgeBase.from_config(kb_cfg)
            problems: list[str] = []
            kb = (ensure_demo_ingested(kb_cfg, problems=problems) if self.settings.app.ingest_demo_kb
                  else KnowledgeBase.from_config(kb_cfg))
            if problems:  # the chat answers from what the store holds; `prepare` and /healthz say what is missing
                self.degraded["knowledge_base_documents"] = "; ".join(problems)
            if kb_cfg.contact_rows:
                from assistant.shop.contact_rows import sync_contact_rows

                try:
                    sync_contact_rows(kb, self.shop)
                except (AssistantError, OSError) as exc:  # the documents still answer without them
                    log.warning("could not write the shop's contact rows: %s", exc)
            return kb
        return self._get("knowledge_base", build)

    @property
    def curated_faq(self):
        """The curated FAQ tables in memory: FAQ answers that work while the vector store is unreachable."""
        def build():
            from pathlib import Path

            from assistant.config import resolve_path
            from knowledge_base.curated_faq import CuratedFaq

            kb_cfg = self.settings.knowledge_base
            files = [resolve_path(f) for f in kb_cfg.faq_files]
            shop_faq = Path(resolve_path(kb_cfg.demo_path)) / "faq.csv"
            if self.settings.app.ingest_demo_kb and shop_faq.is_file():  # a shop may keep no faq.csv
                files.append(shop_faq)
            if kb_cfg.contact_rows:
                from assistant.shop.contact_rows import contact_file

                if contact_file(kb_cfg).exists():  # written when the store was last reachable
                    files.append(contact_file(kb_cfg))
            return CuratedFaq.from_files(files, kb_cfg.max_file_mb)
        return self._get("curated_faq", build)

    @property
    def storage_engine(self):
        def build():
            from assistant.storage import get_engine

            return get_engine(self.settings.storage)
        engine = self._get("storage", build)
        if engine is None and self.settings.storage.reconnect_s > 0:
            self._reconnect_store_later()
        return engine

    def _reconnect_store_later(self) -> None:
        with self._lock:
            if getattr(self, "_store_reconnector", None) is None:
                from assistant.storage_reconnect import StoreReconnector

                self._store_reconnector = StoreReconnector(self, self.settings.storage.reconnect_s).start()

    @property
    def retention(self):
        """Prunes conversations, events and tickets older than storage.retention_days (at most hourly)."""
        def build():
            from assistant.storage import Retention

            return Retention(self.settings.storage, lambda: self.storage_engine)
        return self._get("retention", build, required=True)

    @property
    def handoff(self):
        def build():
            from assistant.handoff import HandoffQueue
            from assistant.storage import ensure_tables

            engine = self.storage_engine
            if engine is None:
                raise RuntimeError("storage is unavailable")
            queue = HandoffQueue(engine, self.settings.handoff)
            ensure_tables(engine)
            return queue
        return self._get("handoff", build)

    @property
    def orders(self):
        """The order desk (assistant.orders): verified order answers, requests for staff approval; None when
        orders are off or the order system cannot be set up (logged, listed in `degraded`)."""
        def build():
            from assistant.orders import build_desk

            redactor = self.redactor
            return build_desk(self.settings.orders, engine=self.storage_engine, shop=self.shop,
                              handoff=self.handoff if self.settings.chat.use_handoff else None,
                              kb=(lambda: self.kb) if self.settings.chat.use_knowledge_base else None,
                              curated_faq=(lambda: self.curated_faq) if self.settings.chat.use_knowledge_base else None,
                              redact=(lambda text: redactor.redact_for("tickets", text)) if redactor else None)
        return self._get("orders", build)

    def _session_store(self):
        """Conversations in the shared store, or None (memory only) when the store is unavailable."""
        engine = self.storage_engine
        if engine is None:
            return None
        from assistant.session_store import PersistentSessionStore

        redactor = self.redactor
        redact = (redactor.redact if redactor is not None and self.settings.privacy.applies_to("transcripts")
                  else None)
        c = self.settings.chat
        try:
            return PersistentSessionStore(engine, c.max_sessions, max(50, c.max_history_turns), redact=redact)
        except AssistantError as exc:
            log.error("chat sessions stay in memory only: %s", exc.one_line())
            self.degraded["sessions"] = exc.one_line()
            return None

    def warm_up(self, report: Callable[[str, float, str | None], None] | None = None) -> dict[str, float]:
        """Build everything the first customer message needs, now: model weights (assembled, verified and
        probed in a child process on first use), the default classifiers (trained on first use), the demo
        knowledge base (ingested on first use), then a real multi-token answer from the model in this process.
        Only when that answer came does `ready` turn True.

        `report(step, seconds, problem)` is called after each step. Returns seconds per step. Failures are
        reported, not raised: the chat degrades as it would on first use.
        """
        import time

        steps = [("language model", lambda: self.backend), ("classifiers", lambda: self.classifiers),
                 ("knowledge base", lambda: self.kb), ("chat pipeline", lambda: self.chat),
                 ("first answer", self.first_answer)]
        seconds: dict[str, float] = {}
        for name, step in steps:
            start, problem = time.perf_counter(), None
            try:
                step()
            except AssistantError as exc:
                problem = exc.one_line()
            except Exception as exc:  # noqa: BLE001 - warming up must never stop the app from starting
                problem = f"{type(exc).__name__}: {exc}"
            component = {"classifiers": "classifiers", "knowledge base": "knowledge_base"}.get(name)
            problem = problem or self.degraded.get(component or "")
            if name == "knowledge base" and not problem:
                problem = self.degraded.get("knowledge_base_documents")
            if problem and name in ("language model", "first answer"):
                self.degraded.setdefault("language_model", problem)
            seconds[name] = time.perf_counter() - start
            if report:
                report(name, seconds[name], problem)
            if problem and name == "language model":
                break  # nothing further can answer; the report says why
        return seconds

    @property
    def chat(self) -> ChatService:
        self._follow_registry()

        def build():
            from assistant.kb_access import chat_knowledge_base

            c = self.settings.chat
            service = ChatService(
                self.backend, c, adapters=self.adapters,
                guardrails=self.guardrails if c.use_guardrails else None,
                router=self.router if c.use_router else None,
                kb=chat_knowledge_base(self) if c.use_knowledge_base else None,
                handoff=self.handoff if c.use_handoff else None,
                redactor=self.redactor, shop=self.shop, max_message_chars=self.settings.app.max_message_chars,
                curated_faq=self.curated_faq if c.use_knowledge_base else None,
                sessions=self._session_store() if c.persist_sessions else None,
                verifier=self.verifier if c.use_knowledge_base else None,
                orders=self.orders,
            )
            beacon = self._beacon()
            if beacon is not None:  # a customer's whole turn counts, not only the model's part of it
                from assistant.activity import marking_respond

                service.respond = marking_respond(service.respond, beacon)
            return service
        return self._get("chat", build, required=True)


def _with_operator_hosts(settings):
    """The privacy config for log lines, with the hosts the operator configured (the LLM server, the ticket
    webhook, the shop system) allowed: "cannot reach http://<IP>:8080/v1" hides the one fact the log is for, and
    an address the operator wrote into the config is no customer's data."""
    import dataclasses
    from urllib.parse import urlparse

    privacy = with_shop_contacts(settings)
    urls = [getattr(getattr(settings, section, None), name, "") or "" for section, name in (
        ("llm", "base_url"), ("handoff", "notify_url"), ("orders", "shopify_store"), ("orders", "woocommerce_url"),
        ("orders", "webhook_url"))]
    hosts = sorted({h for u in urls if isinstance(u, str) and (h := urlparse(u).hostname)} - set(privacy.allow))
    return dataclasses.replace(privacy, allow=[*privacy.allow, *hosts]) if hosts else privacy
