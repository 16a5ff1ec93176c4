"""All loaded provinces by slug, and which one a difficulty or a submission belongs to."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from shared.provinces.model import Agency, ProvinceConfig


def _norm_code(code: str) -> str:
    c = code.strip()
    return f"{int(c):02d}" if c.isdigit() else c


class ConfigSet(Mapping[str, ProvinceConfig]):
    """All loaded provinces by slug, with the content version every assignment cites."""

    def __init__(
        self,
        provinces: Mapping[str, ProvinceConfig],
        version: str,
        directory: Path | None = None,
    ) -> None:
        self._provinces = dict(sorted(provinces.items()))
        self.version = version
        self.directory = directory
        by_code: dict[str, list[ProvinceConfig]] = {}
        for cfg in self._provinces.values():
            codes = {cfg.province.province_code}
            if cfg.province.former_province_code:
                codes.add(cfg.province.former_province_code)
            for c in codes:
                by_code.setdefault(c, []).append(cfg)
        # the province's own task force first, then those of former provinces
        self._by_code = {
            c: sorted(v, key=lambda p: (p.province.former_province, p.slug))
            for c, v in by_code.items()
        }
        self._agencies: dict[str, Agency] = {}
        for cfg in self._provinces.values():
            for a in cfg.agencies:
                self._agencies.setdefault(a.id, a)

    def __getitem__(self, slug: str) -> ProvinceConfig:
        return self._provinces[slug]

    def __iter__(self) -> Iterator[str]:
        return iter(self._provinces)

    def __len__(self) -> int:
        return len(self._provinces)

    def __repr__(self) -> str:
        return f"ConfigSet(version={self.version!r}, provinces={list(self._provinces)})"

    def by_province_code(self, code: str) -> list[ProvinceConfig]:
        """Configs of a province code: today's code ("79") can cover several former
        provinces; a former province's own pre-2025 code ("74") finds it too."""
        return list(self._by_code.get(_norm_code(code), ()))

    def for_difficulty(
        self, province_code: str, task_force_slug: str | None = None
    ) -> ProvinceConfig | None:
        """The configuration that routes a difficulty, or None (operators' triage).

        With a task-force slug (e.g. `shared.vn.resolve_province(name).task_force_slug`),
        the config of that slug if it belongs to the code, else None. Without, the only
        config of the code, or the province's own (non-former) one among several.
        """
        found = self.by_province_code(province_code)
        if task_force_slug is not None:
            # A named task force without a config (say "dong-thap" under code 82, where
            # only "tien-giang" is configured) must not borrow a neighbour's.
            return next((c for c in found if c.slug == task_force_slug), None)
        if len(found) == 1:
            return found[0]
        own = [c for c in found if not c.province.former_province]
        return own[0] if len(own) == 1 else None

    def task_force_for(
        self, province_code: str, named: str | None, *, zone_name: str | None = None,
        ward: str | None = None, district: str | None = None,
    ) -> str | None:
        """The task force a submission belongs to. The one its province names, if that
        has a configuration; else, under a province formed by the 2025 merger (a
        business of former Bình Dương choosing "Thành phố Hồ Chí Minh"), the one former
        province's task force whose zone, ward or former district it names; else the
        named one (which then goes to triage)."""
        found = self.by_province_code(province_code)
        if any(c.slug == named for c in found) or (
                named is None and self.for_difficulty(province_code) is not None):
            return named
        places = {"zone_name": zone_name, "ward": ward, "district": district}
        matches = [c for c in found if c.province.former_province and c.covers(**places)]
        return matches[0].slug if len(matches) == 1 else named

    def agency(self, agency_id: str) -> Agency | None:
        return self._agencies.get(agency_id)

    def agency_ids(self) -> list[str]:
        """Every agency of every province (for the per-agency topics)."""
        return sorted(self._agencies)

