"""Typed model errors: what went wrong talking to a model, in terms a session can act on.

Each is a `FatalError` (exit 13, api_error) so a CLI that is not a session still prints one clean
line. Sessions map them to outcomes: `retryable` ones may be retried as a whole turn; `AuthError` and
`SpendLimit` stop at once.
"""

from __future__ import annotations

from typing import Any

from agentbook.errors import FatalError

EXIT_API_ERROR = 13


class ModelError(FatalError):
    exit_code = EXIT_API_ERROR
    RETRYABLE = False  # whether a session may retry the whole turn

    def __init__(self, message: str, *, status: int | None = None, error_type: str | None = None,
                 request_id: str | None = None, retry_after: float | None = None, hint: str | None = None) -> None:
        self.status = status
        self.error_type = error_type
        self.request_id = request_id
        self.retry_after = retry_after
        self.retryable = self._retryable()
        super().__init__(message, hint=hint)

    def _retryable(self) -> bool:
        return self.RETRYABLE

    def evidence(self) -> dict[str, Any]:
        """What a session puts in its outcome: status, error type, request id."""
        return {"status": self.status, "error_type": self.error_type, "request_id": self.request_id,
                "error": type(self).__name__, "message": self.message, "retryable": self.retryable}


class RateLimited(ModelError):
    """429 after the SDK's own retries."""

    RETRYABLE = True


class Overloaded(ModelError):
    """529 (or 503) after the SDK's own retries."""

    RETRYABLE = True


class ServerError(ModelError):
    """Another 5xx after retries."""

    RETRYABLE = True


class MidStreamError(ModelError):
    """An `error` event after HTTP 200. SDK 2.x raises these with status 200 and never retries them,
    so the session retries the whole turn when `retryable`."""

    def _retryable(self) -> bool:
        return self.error_type in {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}


class ConnectionFailed(ModelError):
    """No usable HTTP response: refused, dropped, or timed out (after the SDK's retries)."""

    RETRYABLE = True


class AuthError(ModelError):
    """401/403: a missing, invalid or unauthorised key. Retrying cannot help."""


class SpendLimit(ModelError):
    """402 / billing_error: the account cannot pay for more tokens. Retrying cannot help."""


class BadRequest(ModelError):
    """4xx the caller must fix (invalid request, not found, too large)."""


def _error_type(body: object) -> str | None:
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("type"), str):
            return str(err["type"])
    return None


def _error_message(body: object, fallback: str) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or fallback)
    return fallback


def retry_after_seconds(headers: Any) -> float | None:
    """The server's requested wait: `retry-after-ms` (precise) or `retry-after` (seconds)."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return float(value) * scale
            except ValueError:
                return None
    return None


def from_sdk(err: Exception, spec: str) -> ModelError:
    """Translate an `anthropic` SDK exception into the typed error the session understands."""
    from agentbook.models import sdk  # only a backend that already holds an SDK error gets here

    if isinstance(err, sdk.APITimeoutError):
        return ConnectionFailed(f"{spec}: request timed out", hint="the server did not answer in time")
    if isinstance(err, sdk.APIConnectionError):
        cause = err.__cause__ or err
        return ConnectionFailed(f"{spec}: connection failed: {type(cause).__name__}: {cause}".rstrip(": "))
    if not isinstance(err, sdk.APIStatusError):
        return ModelError(f"{spec}: {type(err).__name__}: {err}")
    headers = err.response.headers if err.response is not None else None
    return from_status(err.status_code, err.body, headers, spec, str(err))


def from_status(status: int, body: object, headers: Any, spec: str, fallback: str) -> ModelError:
    """The typed error for an HTTP error answer (`body` the parsed JSON; `fallback` the message when the
    body has none). The SDK path and the in-process scripted model both come through here."""
    etype = _error_type(body)
    message = _error_message(body, fallback)
    kwargs: dict[str, Any] = {"status": status, "error_type": etype,
                              "request_id": headers.get("request-id") if headers is not None else None,
                              "retry_after": retry_after_seconds(headers)}
    text = f"{spec}: {status} {etype or 'error'}: {message}"
    cls: type[ModelError]
    if status == 200:
        cls, text = MidStreamError, f"{spec}: error event mid-stream: {etype or 'error'}: {message}"
    elif status in (401, 403) or etype in ("authentication_error", "permission_error"):
        cls = AuthError
        kwargs["hint"] = "check the API key and the backend's auth style (auth=x-api-key|bearer)"
    elif status == 402 or etype == "billing_error" or "credit balance is too low" in message:
        # the API reports an exhausted balance as a 400 invalid_request_error with this wording
        cls = SpendLimit
    elif status == 429:
        cls = RateLimited
    elif status in (529, 503) or etype == "overloaded_error":
        cls = Overloaded
    elif status >= 500:
        cls = ServerError
    else:
        cls = BadRequest
    return cls(text, **kwargs)
