"""The runtime's model: built once (after a crash probe in a child process), marked for the background training
job, and serving the task adapters the registry names, swapped between requests when the gate promotes one or a
rollback runs (usually in another process). A mixin of `assistant.runtime.Runtime`, which owns the lock, the
settings and the shared objects it uses.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from assistant.errors import AssistantError, ModelLoadError
from assistant.llm import build_backend
from assistant.llm.base import LLMBackend

log = logging.getLogger(__name__)


class ModelServing:
    """Needs from its host: settings, _lock, _backend, _objects, degraded, _probe_failure, ready, component()."""

    def _registry_file(self):
        """The adapter registry `python -m finetune` writes (finetune.registry), or None for the default one."""
        return getattr(getattr(self.settings, "finetune", None), "registry", None)

    def _served_adapters(self) -> dict[str, str] | None:
        """task -> adapter the registry serves on this base (python -m finetune); None when it is unreadable."""
        llm = self.settings.llm
        if llm.backend == "fake":
            return {}
        try:
            from assistant.llm.adapter_registry import adapters_for, base_model_id

            if getattr(self, "_base_id", None) is None:  # hashing a GGUF file is not for every request
                self._base_id = base_model_id(llm.model, llm.cache_dir)
            return adapters_for(llm.backend, self._base_id, self._registry_file())
        except AssistantError as exc:
            log.warning("adapter registry unreadable, using llm.adapters only: %s", exc.one_line())
            return None

    @property
    def llm_config(self):
        """llm settings plus the adapters the registry serves for this base (explicit llm.adapters win)."""
        import dataclasses

        found = self._served_adapters()
        llm = self.settings.llm
        # an explicit "" is the admin's "base model" for that task, over whatever the registry serves
        merged = {task: path for task, path in {**(found or {}), **llm.adapters}.items() if path}
        return dataclasses.replace(llm, adapters=merged) if merged != llm.adapters else llm

    @property
    def backend(self) -> LLMBackend:
        with self._lock:
            if self._backend is None:
                from assistant.llm.adapter_registry import registry_stamp

                stamp = registry_stamp(self._registry_file())  # before reading: a write after it is seen next time
                cfg = self.llm_config
                self._probe(cfg)
                self._backend = self._marked(build_backend(cfg))
                self._adapters, self._served, self._stamp = tuple(cfg.adapters), dict(cfg.adapters), stamp
            else:
                self._follow_registry()
            return self._backend

    def _beacon(self):
        """Where the app marks that it is answering, for the background training job to step aside
        (assistant/activity.py); None with a fake model or the job switched off."""
        auto = self.settings.autotrain
        if self.settings.llm.backend == "fake" or not (auto.enabled and auto.yield_to_chat):
            return None
        from assistant.activity import ChatBeacon, activity_file

        # beats at least twice per quiet period, so the job never goes on in the middle of a model call
        beat = min(1.0, max(0.05, auto.resume_after_s / 2))
        return self.component("chat_beacon", lambda: ChatBeacon(activity_file(self.settings), interval_s=beat))

    def _marked(self, backend):
        """A model the app built marks its calls (the ad-copy generator's too). Every model built passes here, so
        `close` finds them all."""
        self.__dict__.setdefault("_built_backends", []).append(backend)
        beacon = self._beacon()
        if beacon is None:
            return backend
        from assistant.activity import MarkedBackend

        return MarkedBackend(backend, beacon)

    def _follow_registry(self) -> None:
        """Between requests: when the adapter registry file changed (the gate promoted a candidate or a rollback
        ran, usually in another process), serve what it names now, without a restart."""
        with self._lock:
            if self._backend is None or self.settings.llm.backend == "fake":
                return
            from assistant.llm.adapter_registry import registry_stamp

            stamp = registry_stamp(self._registry_file())
            if stamp == getattr(self, "_stamp", None):
                return
            self._stamp = stamp
            found = self._served_adapters()
            if found is None:  # a damaged registry: keep serving what was served until the file changes again
                return
            adapters = {task: path for task, path in {**found, **self.settings.llm.adapters}.items() if path}
            if adapters != getattr(self, "_served", None):
                self._serve(adapters)

    def _serve(self, adapters: dict[str, str]) -> None:
        """Answer with `adapters` (task -> adapter) from the next request on; requests in flight finish on the
        model they hold. llama.cpp swaps in place (only the changed adapter loads); other backends rebuild."""
        swap = getattr(self._backend, "set_adapters", None)
        if swap is None:
            self._backend = None
            self._objects.pop("chat", None)
        else:
            swap(adapters)
            chat = self._objects.get("chat")
            if chat is not None and hasattr(chat, "adapter"):
                # Rebuilding the chat would drop the conversations it keeps in memory: its adapter choice is one
                # attribute, made as ChatService makes it.
                chat.adapter = chat.cfg.adapter if chat.cfg.adapter in adapters else None
            self._adapters, self._served = tuple(adapters), dict(adapters)
        self._objects.pop("adcopy_generator", None)  # it decided on its adapter when it was built
        log.info("serving adapters now: %s", ", ".join(f"{t}={p}" for t, p in adapters.items()) or "base model only")

    def _probe(self, cfg) -> None:
        """Generate once in a child process before llama.cpp loads in this one: a native crash there is a
        one-line ModelLoadError here (remembered, so every request does not pay the probe again)."""
        if self._probe_failure is not None:
            raise ModelLoadError(self._probe_failure)
        if cfg.backend != "llamacpp" or not cfg.startup_probe or getattr(self, "_probed", False):
            return
        from assistant.llm.embedded import check_gguf
        from assistant.llm.factory import resolve_gguf
        from assistant.llm.probe import probe_generation

        check_gguf(resolve_gguf(cfg))  # a missing or corrupt file is said plainly, without a child process
        result = probe_generation(cfg)
        if not result.ok:
            self._probe_failure = result.message
            self.degraded["language_model"] = result.message
            raise ModelLoadError(result.message)
        log.info("model probe: %s", result.message)
        self._probed = True

    def first_answer(self) -> None:
        """A real multi-token answer from the model in this process; only then is the app ready."""
        from assistant.llm.base import Message
        from assistant.llm.probe import MIN_TOKENS, PROBE_PROMPT

        backend = self.backend
        text = backend.generate([Message("user", PROBE_PROMPT)], max_tokens=8, temperature=0.0)
        count = getattr(backend, "count_tokens", None)
        tokens = count(text) if count and text else len(text.split())
        if tokens < MIN_TOKENS and self.settings.llm.backend != "fake":
            raise ModelLoadError(f"the model produced only {tokens} token(s) for a test prompt: {text!r}")
        self.degraded.pop("language_model", None)  # it answers now, whatever failed before
        self.ready = True

    def wait_for_remote_model(self, interval_s: float = 10.0, stop: threading.Event | None = None) -> bool:
        """llm.backend openai: ask the server for the first answer again every `interval_s` until it gives one.
        The server (vLLM loading its weights, or restarted) often comes up after the replicas: without this a
        replica that started first stayed "failed" (/healthz and /readyz 503) for good, and a load balancer kept
        every replica out although the server answered by then. True once ready; False when `stop` is set or
        the backend is a local one (whose failure a retry does not mend)."""
        stop = stop or threading.Event()
        if self.settings.llm.backend != "openai" or self._backend is None:
            return self.ready
        while not self.ready:
            if stop.wait(interval_s):
                return False
            try:
                self.first_answer()
            except AssistantError as exc:
                self.degraded["language_model"] = exc.one_line()
        log.info("the LLM server at %s answers now: ready", self.settings.llm.base_url)
        return True

    def health(self) -> dict[str, Any]:
        """What /healthz reports: ready only after a real answer; every component that failed, in one line."""
        status = "ready" if self.ready and "language_model" not in self.degraded else (
            "failed" if "language_model" in self.degraded else "starting")
        return {"status": status, "ready": status == "ready", "degraded": dict(self.degraded),
                "model_loaded": self._backend is not None}

    @property
    def adapters(self) -> tuple[str, ...]:
        """Task adapters the current backend can answer with."""
        with self._lock:
            self.backend  # noqa: B018 - building it fixes the adapter set
            return getattr(self, "_adapters", ())

    def set_adapters(self, adapters: dict[str, str]) -> None:
        """Switch the active adapter per task (explicit `llm.adapters`, which win over the registry).

        Requests in flight finish on the old model, which they still hold; the next ones use the new adapters.
        """
        with self._lock:
            self.settings.llm.adapters = dict(adapters)
            if self._backend is not None:
                self._serve(dict(self.llm_config.adapters))
