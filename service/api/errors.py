"""The HTTP API's one error shape and one table from error type to status.

Every failure leaves the API as `{"error": "<sentence>", "error_type": "<type>"}` with the status from
`STATUS`: FastAPI's own 422 body, Starlette's 404/405/413, domain errors from `index.errors`, and
unexpected exceptions (500) alike. Messages are Dutch where we write them; a `VraagbaakError` message is
shown as-is (library code words it for the user). Does not decide *when* something fails; only how it
looks on the wire.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.schemas import MAX_BODY_BYTES
from service.errors import Busy, GeneratorError, GeneratorTimeout, VraagbaakError

log = logging.getLogger("vraagbaak.api")

STATUS: dict[str, int] = {
    "bad_request": 400,
    "unauthorized": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    "too_large": 413,
    "validation": 422,
    "overloaded": 429,
    "internal": 500,
    "generator": 502,
    "not_ready": 503,
    "generator_timeout": 504,
}

# Checked in order: subclasses before their base class.
_DOMAIN_ERRORS: tuple[tuple[type[VraagbaakError], str], ...] = (
    (Busy, "overloaded"),
    (GeneratorTimeout, "generator_timeout"),
    (GeneratorError, "generator"),
    (VraagbaakError, "bad_request"),
)
_HTTP_ERRORS = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
_HTTP_MESSAGES = {
    404: "Dit adres bestaat niet: {path}",
    405: "Deze methode ({method}) is hier niet toegestaan.",
    413: f"Het verzoek is te groot (maximaal {MAX_BODY_BYTES // 1024} kB).",
}
INTERNAL_MESSAGE = "Er ging iets mis aan onze kant. Probeer het later opnieuw."


class ErrorBody(BaseModel):
    error: str
    error_type: str


class ApiError(Exception):
    """An error with its type (a key of STATUS), a user-facing message and optional headers."""

    def __init__(self, error_type: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.error_type, self.message, self.headers = error_type, message, headers or {}

    @property
    def status(self) -> int:
        return STATUS[self.error_type]

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "error_type": self.error_type}


def to_api_error(exc: BaseException, request: Request | None = None) -> ApiError:
    """The ApiError for any exception; unknown exceptions become a generic 500."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RequestValidationError):
        return _validation_error(exc)
    if isinstance(exc, StarletteHTTPException):
        return _http_error(exc, request)
    for cls, error_type in _DOMAIN_ERRORS:
        if isinstance(exc, cls):
            headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Busy) else None
            return ApiError(error_type, str(exc), headers)
    return ApiError("internal", INTERNAL_MESSAGE)


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    """The one exception handler: log, count, and answer in the one error shape."""
    error = to_api_error(exc, request)
    # For 500s this runs outside the request-id middleware, so the id is passed on explicitly.
    request_id = request.scope.get("state", {}).get("request_id")
    if error.error_type == "internal":
        log.error("unhandled error", exc_info=exc, extra={"request_id": request_id})
    elif error.status >= 500 and error.error_type != "not_ready":  # not_ready is logged once, at load
        log.warning("%s: %s", error.error_type, error.message, extra={"request_id": request_id})
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is not None:
        runtime.metrics.errors.labels(error.error_type).inc()
    headers = {**error.headers, "X-Request-ID": request_id} if request_id else error.headers
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    for exc_type in (Exception, StarletteHTTPException, RequestValidationError, VraagbaakError, ApiError):
        app.add_exception_handler(exc_type, handle_error)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the error body for these statuses."""
    names = {status: name for name, status in STATUS.items()}
    return {s: {"model": ErrorBody, "description": f"Fout ({names[s]})"} for s in statuses}


# FastAPI answers a body it cannot decode with this English 400 ('bad UTF-8', JSON nested too deeply);
# the cause it was raised from says which.
FASTAPI_BODY_ERROR = "There was an error parsing the body"
BODY_MESSAGES: tuple[tuple[type[BaseException], str], ...] = (
    (UnicodeDecodeError, "De body is geen geldige UTF-8."),
    (RecursionError, "De JSON in de body is te diep genest."),
)
BODY_UNREADABLE = "De body kon niet gelezen worden als JSON."


def _http_error(exc: StarletteHTTPException, request: Request | None) -> ApiError:
    error_type = _HTTP_ERRORS.get(exc.status_code, "bad_request")
    template = _HTTP_MESSAGES.get(exc.status_code)
    if exc.status_code == 400 and exc.detail == FASTAPI_BODY_ERROR:
        cause = exc.__cause__
        message = next((m for cls, m in BODY_MESSAGES if isinstance(cause, cls)), BODY_UNREADABLE)
        return ApiError(error_type, message, dict(exc.headers or {}))
    if template and request is not None:
        message = template.format(path=request.url.path, method=request.method)
    else:
        message = str(exc.detail)
    return ApiError(error_type, message, dict(exc.headers or {}))


_FIELD_MESSAGES = {
    "missing": "ontbreekt",
    "extra_forbidden": "is geen bekend veld",
    "string_too_short": "mag niet leeg zijn",
    "string_pattern_mismatch": "mag niet leeg zijn",
    "string_too_long": "is te lang (maximaal {max_length} tekens)",
    "too_long": "heeft te veel elementen (maximaal {max_length})",
    "too_short": "heeft te weinig elementen (minimaal {min_length})",
    "greater_than_equal": "moet minstens {ge} zijn",
    "less_than_equal": "mag hoogstens {le} zijn",
    "literal_error": "moet een van deze waarden zijn: {expected}",
    "string_type": "moet tekst zijn",
    "int_type": "moet een geheel getal zijn",
    "bool_type": "moet true of false zijn",
    "list_type": "moet een lijst zijn",
    "model_type": "moet een JSON-object zijn",
    "model_attributes_type": "moet een JSON-object zijn",
}
_UNION_TAGS = {"str", "int", "float", "bool", "none"}  # pydantic names union branches in `loc`


def _validation_error(exc: RequestValidationError) -> ApiError:
    errors = exc.errors()
    first = errors[0] if errors else {"type": "", "loc": (), "msg": "ongeldig verzoek"}
    if first["type"] == "json_invalid":
        return ApiError("bad_request", "De body is geen geldige JSON.")
    where = _field_name(first.get("loc", ()))
    template = _FIELD_MESSAGES.get(first["type"])
    what = template.format(**first.get("ctx", {})) if template else first.get("msg", "is ongeldig")
    more = f" (en nog {len(errors) - 1} andere fout(en))" if len(errors) > 1 else ""
    return ApiError("validation", f"Ongeldig verzoek: {where} {what}{more}.")


def _field_name(loc: tuple | list) -> str:
    parts = [p for p in loc if p != "body" and not (isinstance(p, str) and (p in _UNION_TAGS or "[" in p))]
    if not parts:
        return "de body"
    name = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    return f"'{name}'"


class BodyLimit:
    """ASGI middleware: reject bodies over `max_bytes` with 413 in the one error shape.

    Starlette's own limit answers in plain text, hence this. A too-large Content-Length is refused
    before reading; a chunked body is counted while the route reads it.
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            error = ApiError("too_large", _HTTP_MESSAGES[413])
            await JSONResponse(error.body(), status_code=error.status)(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise StarletteHTTPException(413)
            return message

        await self.app(scope, counting_receive, send)
