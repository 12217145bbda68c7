"""The few errors the assistant raises on purpose.

Raised inside the package, converted at the edges: a CLI prints one line and exits non-zero,
the UI shows a friendly message, the API returns a JSON error with a status code.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: every error meant for a person to read derives from this."""

    #: exit code a CLI returns for this error
    exit_code = 1
    #: HTTP status an API returns for this error
    http_status = 500

    def one_line(self) -> str:
        text = " ".join(str(self).split())
        return f"{type(self).__name__}: {text}"


class ConfigError(AssistantError):
    """A configuration value, file or override is invalid."""

    exit_code = 2
    http_status = 500


class InputError(AssistantError):
    """Input from a user (a prompt, a file, a CSV) cannot be used as given."""

    exit_code = 2
    http_status = 400


class RateLimitError(InputError):
    """A session sent more messages than the configured rate allows."""

    http_status = 429


class BusyError(AssistantError):
    """Every place in the generation queue is taken: the client should retry shortly."""

    http_status = 503
    retry_after_s = 5


class NotFoundError(AssistantError):
    """A named thing (collection, adapter, model, ticket) does not exist."""

    exit_code = 2
    http_status = 404


class ModelLoadError(AssistantError):
    """A model or adapter could not be found, verified or loaded."""

    exit_code = 3
    http_status = 503


class GenerationError(AssistantError):
    """The LLM backend failed or timed out while answering."""

    exit_code = 4
    http_status = 502


class IngestError(AssistantError):
    """A document could not be ingested into the knowledge base."""

    exit_code = 2
    http_status = 400


class StorageError(AssistantError):
    """A store (SQLite/PostgreSQL/Chroma) is unreachable or refused a write."""

    exit_code = 5
    http_status = 503
