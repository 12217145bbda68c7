"""Runtime.close lets go of every model it built, so one process can serve one shop after another."""

from assistant.config import load_config
from assistant.llm.fake import FakeBackend
from assistant.runtime import Runtime


class ClosingBackend(FakeBackend):
    def __init__(self):
        super().__init__()
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_close_closes_every_backend_built_and_the_next_use_builds_again(monkeypatch):
    import assistant.model_serving as serving

    built: list[ClosingBackend] = []
    monkeypatch.setattr(serving, "build_backend", lambda cfg: built.append(ClosingBackend()) or built[-1])
    runtime = Runtime(load_config(overrides={"llm": {"backend": "fake"}}))
    first = runtime.backend
    runtime.component("helper", lambda: object())
    runtime.close()
    assert [b.closed for b in built] == [1]
    assert runtime._objects == {}
    again = runtime.backend
    assert again is not first and len(built) == 2
    runtime.close()
    runtime.close()  # twice is harmless: nothing is closed a second time
    assert [b.closed for b in built] == [1, 1]
