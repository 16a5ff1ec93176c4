"""The field types intake's requests share: text as stored (cleaned on the model, every
refusal at once), a tax code in standard form, a known province, the idempotency key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header
from pydantic import AfterValidator, BeforeValidator, StringConstraints, ValidationInfo

from shared import vn

# The same key and body give the same answer and create nothing; another body is a 409.
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]

SHORT_TEXT_MAX = 300
DESCRIPTION_MAX = 10_000


def cleaned(max_len: int, *, multiline: bool = False) -> AfterValidator:
    """Text as stored: NFC, trimmed, spaces collapsed, no control or invisible
    characters (`vn.nfc_clean`, whose InvalidField gives the 422 its reasons in both
    languages)."""

    def clean(value: str, info: ValidationInfo) -> str:
        return vn.nfc_clean(value, max_len, field=info.field_name or "text",
                            multiline=multiline)

    return AfterValidator(clean)


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _known_province(value: str) -> str:
    vn.resolve_province(value)  # InvalidField names the province otherwise
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                        max_length=SHORT_TEXT_MAX), cleaned(SHORT_TEXT_MAX)]
# Empty optional text is no text.
OptText = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=SHORT_TEXT_MAX),
              cleaned(SHORT_TEXT_MAX)] | None,
    BeforeValidator(_blank_is_none)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=DESCRIPTION_MAX),
                        cleaned(DESCRIPTION_MAX, multiline=True)]
TaxCode = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20),
                    AfterValidator(vn.normalize_tax_code)]
ProvinceName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                max_length=100), AfterValidator(_known_province)]
