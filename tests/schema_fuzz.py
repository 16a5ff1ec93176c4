"""Schemathesis over a live service, shared by intake's and reporting's fuzz tests.

The documents are OpenAPI 3.1, which schemathesis 3 reads only behind its experimental
switch (without it most operations stop at the first check). Generated values that
match a pattern are almost never a real tax code, province or week, so every case may be
patched with values drawn from strategies of real ones: that is what takes the fuzzer
past validation to the accept paths and the report paths. Every answer is checked (no
5xx, a documented status, content type and body); failures are counted rather than
raised at the first, so the figures (requests per operation, 5xx, schema violations)
can be printed and quoted, and the test then fails on any failure.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from shared.calendar import FIRST_YEAR, LAST_YEAR, previous_window, week_window
from shared.provinces import ConfigHolder
from thaogo.demo import tax_code

# Called with each generated case and hypothesis' data, to patch in real values.
Patch = Callable[[Any, st.DataObject], None]


def tax_codes() -> st.SearchStrategy[str]:
    """Valid tax codes (check digit right), as people type them: plain, with spaces or
    dots, or a branch's 13 digits."""
    base = st.integers(0, 8_999_999).map(tax_code)
    return st.one_of(
        base,
        base.map(lambda t: f"{t[:4]} {t[4:7]} {t[7:]}"),
        base.map(lambda t: f"{t[:4]}.{t[4:]}"),
        st.tuples(base, st.integers(1, 999)).map(lambda p: f"{p[0]}-{p[1]:03d}"),
    )


def provinces(kind: str = "slug") -> st.SearchStrategy[str]:
    """Provinces the configuration holds: slugs and codes (what reporting's paths take),
    or also names (what intake's form takes)."""
    cfgs = list(ConfigHolder().current.items())
    values = [slug for slug, _ in cfgs] + [c.province.province_code for _, c in cfgs]
    if kind == "name":
        values += [c.province.name_vi for _, c in cfgs]
    return st.sampled_from(sorted(set(values)))


def recent_weeks(now: datetime | None = None, n: int = 6) -> list[str]:
    w = week_window(now or datetime.now(UTC))
    out = [w.label]
    for _ in range(n - 1):
        w = previous_window(w)
        out.append(w.label)
    return out


def weeks(existing: list[str]) -> st.SearchStrategy[str]:
    """Weeks with data, the accepted range's edges, and weeks out of range or that do not
    exist (year 1, 1900, a week 53 the year lacks, year 9999)."""
    edges = [f"{FIRST_YEAR}-W01", f"{LAST_YEAR}-W52", f"{FIRST_YEAR - 1}-W52",
             f"{LAST_YEAR + 1}-W01", "0001-W01", "1900-W01", "2027-W53", "2026-W00",
             "9999-W52"]
    anywhere = st.builds(lambda y, w: f"{y:04d}-W{w:02d}", st.integers(0, 9999),
                         st.integers(0, 99))
    return st.one_of(st.sampled_from(existing), st.sampled_from(edges), anywhere)


@dataclass
class Figures:
    service: str
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)
    violations: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"service": self.service, "requests_total": sum(self.requests.values()),
                "requests_per_operation": dict(sorted(self.requests.items())),
                "status_codes": dict(sorted(self.statuses.items())),
                "server_errors": sum(self.server_errors.values()),
                "server_errors_per_operation": dict(self.server_errors),
                "schema_violations": sum(self.violations.values()),
                "schema_violations_per_operation": dict(self.violations),
                "failure_samples": self.samples[:10]}

    def write(self, folder: Path) -> dict[str, Any]:
        """The figures as JSON under `folder`, and printed (pytest -s, or on failure)."""
        s = self.summary()
        path = folder / f"fuzz-{self.service}.json"
        path.write_text(json.dumps(s, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"schemathesis figures ({path}):\n{json.dumps(s, indent=2, ensure_ascii=False)}")
        return s


def fuzz(url: str, figures: Figures, *, patch: Patch, max_examples: int) -> Figures:
    """Every operation of `url`'s schema, `max_examples` generated cases each."""
    import schemathesis
    from schemathesis import GenerationConfig
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )
    from schemathesis.generation import HeaderConfig

    schemathesis.experimental.OPEN_API_3_1.enable()

    # The CSV import takes text/csv, which schemathesis does not know how to send.
    @schemathesis.serializer("text/csv")
    class CSVSerializer:
        def as_requests(self, context: object, value: object) -> dict[str, object]:
            return {"data": str(value).encode()}

        def as_werkzeug(self, context: object, value: object) -> dict[str, object]:
            return {"data": str(value).encode()}

    # Header values a client can actually send: the HTTP server itself (h11) answers 400
    # to control characters before the application sees the request.
    printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
    schema = schemathesis.from_uri(
        url + "/openapi.json", base_url=url,
        generation_config=GenerationConfig(allow_x00=False,
                                           headers=HeaderConfig(strategy=printable)),
    )
    checks = (not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance)
    for result in schema.get_all_operations():
        run_operation(result.ok(), figures, patch=patch, checks=checks,
                      max_examples=max_examples)
    return figures


def run_operation(op: Any, figures: Figures, *, patch: Patch, checks: tuple[Any, ...],
                  max_examples: int) -> None:
    import schemathesis
    from hypothesis import HealthCheck, Phase, assume, given, settings

    name = op.verbose_name

    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate])
    @given(case=op.as_strategy(), data=st.data())
    def check(case: schemathesis.Case, data: st.DataObject) -> None:
        patch(case, data)
        # Generated bearer tokens are not covered by the header strategy above.
        assume(all(v.isascii() and v.isprintable() for v in (case.headers or {}).values()))
        response = case.call(timeout=30, allow_redirects=False)
        figures.requests[name] += 1
        figures.statuses[str(response.status_code)] += 1
        try:
            case.validate_response(response, checks=checks)
        except AssertionError as e:
            bucket = (figures.server_errors if response.status_code >= 500
                      else figures.violations)
            bucket[name] += 1
            if len(figures.samples) < 10:
                first = str(e).strip().splitlines()[:3]
                figures.samples.append(f"{name} -> {response.status_code}: "
                                       + " | ".join(first)[:400])

    check()
