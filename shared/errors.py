"""Refusals in the language of the request: every 4xx of every service names the field
and the reason, as `{"errors": [{"field", "reason"}]}`.

Vietnamese is the default; English when the request prefers it (Accept-Language).
`install` puts the handlers on an app, so that validation errors, `Refusal`s, refused
fields (`vn.InvalidField`) and Starlette's own refusals (unknown route, wrong method) all
answer in this one form, and never echo what the client sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared import vn

# Field paths and reasons are cut to these lengths: a field path can hold a client's own
# key names (an unexpected field), and a refusal must never send a large input back.
MAX_FIELD_CHARS = 120
MAX_REASON_CHARS = 300


class FieldError(BaseModel):
    field: str
    reason: str


class ErrorBody(BaseModel):
    """Every refusal of every service: which field, and why."""

    errors: list[FieldError]


def language(headers: Mapping[str, str]) -> str:
    """"en" if the highest-weighted language of Accept-Language is English, else "vi"."""
    best, best_q = "vi", -1.0
    for part in headers.get("accept-language", "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        tag = tag.strip().lower()
        if tag.startswith(("en", "vi")) and q > 0 and q > best_q:
            best, best_q = tag[:2], q
    return best


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def body(field: str, reason: str) -> dict[str, Any]:
    return {"errors": [{"field": _cut(field, MAX_FIELD_CHARS),
                        "reason": _cut(reason, MAX_REASON_CHARS)}]}


def refuse(
    field: str, reason_en: str, reason_vi: str, lang: str, status: int = 422,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    reason = reason_vi if lang == "vi" else reason_en
    return JSONResponse(body(field, reason), status_code=status, headers=headers)


def refuse_invalid(e: vn.InvalidField, lang: str, status: int = 422) -> JSONResponse:
    return refuse(e.field, e.reason_en, e.reason_vi, lang, status)


# Pydantic error types in Vietnamese; the English message is pydantic's own.
REASONS_VI = {
    "missing": "bắt buộc phải có",
    "extra_forbidden": "trường không được phép",
    "string_too_long": "quá dài",
    "string_too_short": "không được để trống",
    "too_short": "quá ít phần tử",
    "too_long": "quá nhiều phần tử",
    "enum": "giá trị không nằm trong danh sách cho phép",
    "literal_error": "giá trị không nằm trong danh sách cho phép",
    "string_pattern_mismatch": "sai định dạng",
    "value_error": "giá trị không hợp lệ",
    "string_type": "phải là chuỗi ký tự",
    "int_type": "phải là số nguyên",
    "int_parsing": "phải là số nguyên",
    "bool_type": "phải là đúng/sai",
    "bool_parsing": "phải là đúng/sai",
    "dict_type": "phải là một đối tượng",
    "model_type": "phải là một đối tượng",
    "list_type": "phải là một danh sách",
    "greater_than_equal": "quá nhỏ",
    "less_than_equal": "quá lớn",
    "uuid_parsing": "không phải mã định danh hợp lệ (UUID)",
    "uuid_type": "không phải mã định danh hợp lệ (UUID)",
    "json_invalid": "nội dung không phải JSON hợp lệ",
    "json_type": "nội dung phải là JSON",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One refused field, in both languages; `kind` is the reason code metrics count."""

    field: str
    kind: str
    reason_en: str
    reason_vi: str

    def reason(self, lang: str) -> str:
        return self.reason_vi if lang == "vi" else self.reason_en

    def as_dict(self, lang: str) -> dict[str, str]:
        return {"field": _cut(self.field, MAX_FIELD_CHARS),
                "reason": _cut(self.reason(lang), MAX_REASON_CHARS)}

    @classmethod
    def of(cls, e: vn.InvalidField, kind: str = "invalid") -> Problem:
        return cls(e.field, kind, e.reason_en, e.reason_vi)


def validation_problems(errs: Iterable[Mapping[str, Any]]) -> list[Problem]:
    """Pydantic's errors as problems: the dotted field path ("contact.email"), pydantic's
    own message in English and its Vietnamese rendering; a validator's `vn.InvalidField`
    with its own reasons in both languages."""
    out = []
    for err in errs:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "header", "query",
                                                               "path")]
        refused = (err.get("ctx") or {}).get("error")
        if isinstance(refused, vn.InvalidField):
            out.append(Problem(".".join(loc) or refused.field, "invalid", refused.reason_en,
                               refused.reason_vi))
            continue
        kind = str(err.get("type", "invalid"))
        msg = str(err.get("msg", "invalid"))
        vi = REASONS_VI.get(kind, "giá trị không hợp lệ") + f" ({msg})"
        out.append(Problem(".".join(loc) or "body", kind, msg, vi))
    return out


def refuse_all(problems: Iterable[Problem], lang: str, status: int = 422) -> JSONResponse:
    return JSONResponse({"errors": [p.as_dict(lang) for p in problems]}, status_code=status)


# Statuses Starlette raises by itself (unknown route, wrong method, ...).
HTTP_REASONS: dict[int, tuple[str, str, str]] = {
    400: ("body", "the request could not be read", "không đọc được yêu cầu"),
    401: ("Authorization", "a valid bearer token is required", "cần mã truy cập hợp lệ"),
    403: ("Authorization", "this token may not do this",
          "mã truy cập không được phép làm việc này"),
    404: ("path", "no such resource", "không tìm thấy"),
    405: ("method", "method not allowed here", "phương thức không được hỗ trợ"),
    413: ("body", "the request body is too large", "nội dung yêu cầu quá lớn"),
    415: ("Content-Type", "unsupported content type", "kiểu nội dung không được hỗ trợ"),
    429: ("client", "too many requests", "quá nhiều yêu cầu"),
}


class Refusal(StarletteHTTPException):
    """A 4xx to answer in the one form, in the request's language. An HTTPException, so
    that one raised while FastAPI reads the body (the body limit) reaches its handler
    rather than becoming a 400."""

    def __init__(self, status: int, field: str, reason_en: str, reason_vi: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=f"{field}: {reason_en}",
                         headers=dict(headers) if headers else None)
        self.field = field
        self.reason_en = reason_en
        self.reason_vi = reason_vi

    @classmethod
    def of(cls, e: vn.InvalidField, status: int = 422) -> Refusal:
        return cls(status, e.field, e.reason_en, e.reason_vi)


def unauthorized() -> Refusal:
    """The 401 of every service: no token, or one that no longer speaks for anyone."""
    return Refusal(401, "Authorization", "a valid bearer token is required (missing, "
                   "unknown, expired, revoked, or its holder left the task force)",
                   "cần mã truy cập hợp lệ (thiếu, không đúng, hết hạn, đã bị thu hồi hoặc "
                   "người được cấp đã thôi tham gia Tổ công tác)",
                   headers={"WWW-Authenticate": "Bearer"})


# Called with (field, kind) for every field refused, for a service's refusal counter.
OnRefused = Callable[[str, str], None]


def install(app: FastAPI, on_refused: OnRefused | None = None) -> None:
    """Every refusal of `app` in the one form and the request's language."""

    def count(field: str, kind: str) -> None:
        if on_refused is not None:
            on_refused(field, kind)

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = validation_problems(exc.errors())
        for p in problems:
            count(p.field, p.kind)
        return refuse_all(problems, language(request.headers))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers) if exc.headers else None
        if isinstance(exc, Refusal):
            field, en, vi = exc.field, exc.reason_en, exc.reason_vi
        else:
            # Never str(exc.detail): a library's detail may quote the request.
            field, en, vi = HTTP_REASONS.get(
                exc.status_code, ("request", "the request was refused", "yêu cầu bị từ chối"))
        return refuse(field, en, vi, language(request.headers), exc.status_code,
                      headers=headers)

    async def invalid_field(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, vn.InvalidField)
        count(exc.field, "invalid")
        return refuse_invalid(exc, language(request.headers))

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(vn.InvalidField, invalid_field)


# Documented error answers of every operation, so clients and the schema fuzzer know them.
def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "The request could not be read",
        401: "Missing, unknown or revoked token",
        403: "The token may not do this",
        404: "Not found",
        409: "Conflict (idempotency key reused, or a transition not allowed)",
        413: "Request body too large",
        415: "Unsupported content type",
        422: "Invalid field",
        429: "Too many requests from this client; see Retry-After",
    }
    return {s: {"model": ErrorBody, "description": text[s]} for s in statuses}
