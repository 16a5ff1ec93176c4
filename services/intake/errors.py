"""Refusals in the language of the request: every 4xx names the field and the reason.

Vietnamese is the default; English when the request prefers it (Accept-Language).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse

from shared import vn
from shared.http import ErrorBody


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


def body(field: str, reason: str) -> dict[str, Any]:
    return {"errors": [{"field": field, "reason": reason}]}


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
        return {"field": self.field, "reason": self.reason(lang)}

    @classmethod
    def of(cls, e: vn.InvalidField, kind: str = "invalid") -> Problem:
        return cls(e.field, kind, e.reason_en, e.reason_vi)


def validation_problems(errs: Iterable[Mapping[str, Any]]) -> list[Problem]:
    """Pydantic's errors as problems: the dotted field path ("contact.email"), pydantic's
    own message in English and its Vietnamese rendering."""
    out = []
    for err in errs:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "header", "query",
                                                               "path")]
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
    404: ("path", "no such resource", "không tìm thấy"),
    405: ("method", "method not allowed here", "phương thức không được hỗ trợ"),
    413: ("body", "the request body is too large", "nội dung yêu cầu quá lớn"),
    415: ("Content-Type", "unsupported content type", "kiểu nội dung không được hỗ trợ"),
}


# Documented error answers of every operation, so clients and the schema fuzzer know them.
def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {
        401: "Missing, unknown or revoked token",
        403: "The token may not do this",
        404: "Unknown difficulty",
        409: "Conflict (idempotency key reused, or a transition not allowed)",
        413: "Request body too large",
        415: "Unsupported content type",
        422: "Invalid field",
        429: "Too many requests from this client; see Retry-After",
    }
    return {s: {"model": ErrorBody, "description": text[s]} for s in statuses}
