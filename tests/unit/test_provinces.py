"""Province configuration: the shipped files, the checks and their messages, hot reload."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.events import AgencyLevel, Category, Urgency, ZoneType
from shared.provinces import (
    ConfigError,
    ConfigHolder,
    ProvinceConfig,
    check_dir,
    default_config_dir,
    load_dir,
    load_province,
)

SHIPPED = ("binh-duong", "thanh-hoa", "ninh-binh", "tien-giang", "ha-noi")

# A small valid province; tests break it one way at a time.
MINI = """\
province:
  slug: mini
  name_vi: Tỉnh Mẫu
  name_en: Sample Province
  province_code: "99"
agencies:
  - {id: mini.to-cong-tac, name_vi: Tổ phó Thường trực, name_en: Triage, level: task_force}
  - {id: mini.to-truong, name_vi: Tổ trưởng, name_en: Head, level: task_force}
  - id: mini.bql-kcn
    name_vi: Ban Quản lý các KCN
    name_en: Industrial Parks Board
    level: province
    contacts:
      - {channel: email, address: bql@mini.example.vn}
      - channel: webhook
        address: https://bql.mini.example.invalid/hook
        secret_env: THAOGO_WEBHOOK_SECRET_MINI_BQL
  - {id: mini.so-cong-thuong, name_vi: Sở Công Thương, name_en: DoIT, level: province}
  - {id: mini.so-ke-hoach, name_vi: Sở Kế hoạch và Đầu tư, name_en: DPI, level: province}
  - {id: mini.so-lao-dong, name_vi: Sở Lao động, name_en: DoLISA, level: province}
  - {id: central.bo-cong-thuong, name_vi: Bộ Công Thương, name_en: MoIT, level: central}
  - {id: central.bo-tai-chinh, name_vi: Bộ Tài chính, name_en: MoF, level: central}
zones:
  - {name: Khu công nghiệp Việt Nam - Singapore II, type: KCN, aliases: [VSIP II]}
  - {name: Cụm công nghiệp Phú Chánh, type: CCN}
rules:
  lead_by_zone_type:
    KCN: mini.bql-kcn
    KKT: mini.bql-kcn
    CCN: mini.so-cong-thuong
    NONE: mini.so-ke-hoach
  co_handlers_by_category:
    labour: [mini.so-lao-dong]
  escalation:
    raw_materials: central.bo-cong-thuong
    default: central.bo-tai-chinh
  triage: mini.to-cong-tac
  head: mini.to-truong
deadlines:
  normal: {ack: 1, resolve: 10}
  urgent: {ack: 1, resolve: 3}
task_force:
  effective_from: 2021-07-16
  head: {id: mini.head, name: A, title: Tổ trưởng, agency: mini.to-truong}
  permanent_deputy:
    id: mini.deputy
    name: B
    title: Tổ phó Thường trực
    agency: mini.so-ke-hoach
    zone_types: [NONE]
  members:
    - id: mini.m01
      name: C
      title: Phó Giám đốc Sở Lao động
      agency: mini.so-lao-dong
      fields: [labour]
      areas: [Dĩ An]
"""


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line containing `needle`."""
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in text")


def write(dirpath: Path, text: str, name: str = "mini.yaml") -> Path:
    p = dirpath / name
    p.write_text(text, encoding="utf-8")
    return p


def one_error(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_province(path)
    return exc.value


# --- the shipped configuration ------------------------------------------------------------


def test_shipped_configs_check_clean() -> None:
    assert check_dir(default_config_dir()) == []
    cs = load_dir(default_config_dir())
    assert sorted(cs) == sorted(SHIPPED)
    assert re.fullmatch(r"[0-9a-f]{12}", cs.version)
    assert load_dir(default_config_dir()).version == cs.version  # content hash, stable


def test_binh_duong_task_force_matches_the_decision() -> None:
    cfg = load_province(default_config_dir() / "binh-duong.yaml")
    tf = cfg.task_force
    assert tf.effective_from == date(2021, 7, 16)
    assert tf.dissolved_on is None
    assert len(tf.people()) == 23
    assert tf.is_active(date(2021, 8, 1)) and not tf.is_active(date(2021, 7, 15))
    assert cfg.deputy_for(ZoneType.KCN) is not None
    assert cfg.deputy_for(ZoneType.KCN).agency == "binh-duong.bql-kcn"  # type: ignore[union-attr]
    assert cfg.deputy_for(ZoneType.CCN).agency == "binh-duong.so-cong-thuong"  # type: ignore[union-attr]
    assert cfg.province.province_code == "79" and cfg.province.former_province
    assert cfg.province.former_province_code == "74"


@pytest.mark.parametrize("slug", SHIPPED)
def test_shipped_province_is_consistent(slug: str) -> None:
    cfg = load_province(default_config_dir() / f"{slug}.yaml")
    assert cfg.slug == slug
    for zt in ZoneType:
        assert cfg.lead_for(zt).level is AgencyLevel.PROVINCE
    assert cfg.agency(cfg.rules.triage).level is AgencyLevel.TASK_FORCE  # type: ignore[union-attr]
    assert cfg.agency(cfg.rules.head).level is AgencyLevel.TASK_FORCE  # type: ignore[union-attr]
    assert "default" in cfg.rules.escalation
    for a in cfg.agencies:
        for c in a.contacts:
            # example addresses only, never real ones
            assert "example." in c.address or c.channel.value in ("zalo", "log")
    assert 5 <= len(cfg.task_force.members) <= 19
    assert cfg.deadlines.for_urgency(Urgency.URGENT).resolve < cfg.deadlines.normal.resolve


def test_province_codes_and_choice_of_config() -> None:
    cs = load_dir(default_config_dir())
    assert [c.slug for c in cs.by_province_code("79")] == ["binh-duong"]
    assert [c.slug for c in cs.by_province_code("74")] == ["binh-duong"]  # pre-2025 code
    assert [c.slug for c in cs.by_province_code("1")] == ["ha-noi"]
    assert [c.slug for c in cs.by_province_code("82")] == ["tien-giang"]
    assert cs.by_province_code("48") == []
    assert cs.for_difficulty("38").slug == "thanh-hoa"  # type: ignore[union-attr]
    assert cs.for_difficulty("79", "binh-duong").slug == "binh-duong"  # type: ignore[union-attr]
    # a former province with no config of its own does not borrow its neighbour's
    assert cs.for_difficulty("82", "dong-thap") is None
    assert cs.for_difficulty("79", "ho-chi-minh") is None
    assert cs.for_difficulty("48") is None
    assert cs.agency("central.bo-cong-thuong") is not None
    assert "binh-duong.bql-kcn" in cs.agency_ids()


def test_zone_lookup_ignores_prefix_case_diacritics_and_numerals() -> None:
    cfg = load_province(default_config_dir() / "binh-duong.yaml")
    for name in ("KCN VSIP II", "khu công nghiệp vsip 2", "Khu Công Nghiệp  VSIP II", "VSIP2"):
        z = cfg.zone(name)
        assert z is not None and z.name == "Khu công nghiệp Việt Nam - Singapore II", name
    assert cfg.zone("VSIP II-A").name.endswith("II-A")  # type: ignore[union-attr]
    assert cfg.zone("Cụm công nghiệp Phú Chánh").type is ZoneType.CCN  # type: ignore[union-attr]
    assert cfg.zone("Khu công nghiệp không có") is None


# --- errors: file, key path, line, problem ------------------------------------------------


def test_mini_is_valid(tmp_path: Path) -> None:
    cfg = load_province(write(tmp_path, MINI))
    assert cfg.slug == "mini"
    assert cfg.agency("mini.bql-kcn").contacts[1].secret_env == "THAOGO_WEBHOOK_SECRET_MINI_BQL"  # type: ignore[union-attr]


def test_unknown_key(tmp_path: Path) -> None:
    text = MINI.replace("  triage: mini.to-cong-tac", "  triage: mini.to-cong-tac\n  triaje: x")
    err = one_error(tmp_path, text)
    assert err.path == "rules.triaje"
    assert err.line == line_of(text, "triaje:")
    assert "unknown key" in err.problem
    assert err.file.endswith("mini.yaml")
    s = str(err)
    assert f"mini.yaml:{err.line}:" in s and "rules.triaje" in s and "unknown key" in s


def test_missing_lead_agency(tmp_path: Path) -> None:
    text = MINI.replace("    KCN: mini.bql-kcn\n", "")
    err = one_error(tmp_path, text)
    assert err.path == "rules.lead_by_zone_type.KCN"
    assert err.line == line_of(text, "lead_by_zone_type:")  # nearest existing key
    assert "no lead agency" in err.problem and "KCN" in err.problem


def test_referenced_agency_missing(tmp_path: Path) -> None:
    text = MINI.replace("labour: [mini.so-lao-dong]", "labour: [mini.so-noi-vu]")
    err = one_error(tmp_path, text)
    assert err.path == "rules.co_handlers_by_category.labour[0]"
    assert err.line == line_of(text, "labour: [mini.so-noi-vu]")
    assert "'mini.so-noi-vu'" in err.problem and "not among" in err.problem


def test_escalation_must_be_central_and_have_default(tmp_path: Path) -> None:
    text = MINI.replace(
        "    default: central.bo-tai-chinh\n",
        "    tax: mini.so-ke-hoach\n    bogus: central.bo-tai-chinh\n",
    )
    path = write(tmp_path, text)
    errs = check_dir(tmp_path)
    by_path = {e.path: e for e in errs}
    assert "central" in by_path["rules.escalation.tax"].problem
    assert by_path["rules.escalation.tax"].line == line_of(text, "tax: mini.so-ke-hoach")
    assert "unknown escalation key" in by_path["rules.escalation.bogus"].problem
    assert "rules.escalation.default" in by_path
    assert all(e.file == str(path) for e in errs)


def test_wrong_type(tmp_path: Path) -> None:
    text = MINI.replace("normal: {ack: 1, resolve: 10}", "normal: {ack: one, resolve: 10}")
    err = one_error(tmp_path, text)
    assert err.path == "deadlines.normal.ack"
    assert err.line == line_of(text, "ack: one")
    assert "integer" in err.problem and "'one'" in err.problem


def test_the_on_time_target_defaults_to_95_and_must_be_a_share(tmp_path: Path) -> None:
    assert load_province(write(tmp_path, MINI)).deadlines.on_time_target == 95
    text = MINI.replace("  urgent: {ack: 1, resolve: 3}\n",
                        "  urgent: {ack: 1, resolve: 3}\n  on_time_target: 90\n")
    assert load_province(write(tmp_path, text)).deadlines.on_time_target == 90
    err = one_error(tmp_path, text.replace("on_time_target: 90", "on_time_target: 120"))
    assert err.path == "deadlines.on_time_target"
    assert err.line == line_of(text, "on_time_target:")
    assert "100" in err.problem


def test_unquoted_province_code_is_refused(tmp_path: Path) -> None:
    text = MINI.replace('province_code: "99"', "province_code: 99")
    err = one_error(tmp_path, text)
    assert err.path == "province.province_code"
    assert err.line == line_of(text, "province_code: 99")


def test_bad_category_in_member_fields(tmp_path: Path) -> None:
    text = MINI.replace("fields: [labour]", "fields: [labour, lunch]")
    err = one_error(tmp_path, text)
    assert err.path == "task_force.members[0].fields[1]"
    assert err.line == line_of(text, "fields: [labour, lunch]")
    assert "labour" in err.problem  # pydantic lists the accepted values


def test_bad_agency_id_and_prefix(tmp_path: Path) -> None:
    text = MINI.replace("id: mini.so-lao-dong,", "id: other.so-lao-dong,")
    errs = check_dir(write(tmp_path, text).parent)
    paths = {e.path for e in errs}
    assert "agencies[5].id" in paths  # wrong province prefix
    assert "rules.co_handlers_by_category.labour[0]" in paths  # now dangling
    text = MINI.replace("id: mini.so-lao-dong,", "id: Sở Lao động,")
    err = one_error(tmp_path, text)
    assert err.path == "agencies[5].id" and "slug" in err.problem


def test_slug_must_match_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, MINI, "other.yaml")
    with pytest.raises(ConfigError) as exc:
        load_province(path)
    assert exc.value.path == "province.slug"
    assert exc.value.line == line_of(MINI, "slug: mini")


def test_yaml_syntax_error_and_duplicate_key(tmp_path: Path) -> None:
    text = MINI.replace("  head: mini.to-truong", "  head: [mini.to-truong")
    err = one_error(tmp_path, text)
    assert err.path == "" and "not valid YAML" in err.problem and err.line is not None
    text = MINI.replace(
        "  head: mini.to-truong", "  head: mini.to-truong\n  triage: mini.to-truong"
    )
    err = one_error(tmp_path, text)
    assert "duplicate key" in err.problem and err.path == "rules.triage"
    assert err.line == len(text[: text.index("  triage: mini.to-truong")].splitlines()) + 1


def test_zone_key_collision_and_person_checks(tmp_path: Path) -> None:
    text = MINI.replace("aliases: [VSIP II]", "aliases: [VSIP II, Phú Chánh]").replace(
        "      areas: [Dĩ An]", "      areas: [Dĩ An]\n      replaced_by: mini.m01"
    )
    errs = check_dir(write(tmp_path, text).parent)
    problems = {e.path: e.problem for e in errs}
    assert "same key" in problems["zones[1].name"]  # taken by zones[0].aliases[1]
    assert "themself" in problems["task_force.members[0].replaced_by"]


def test_errors_are_collected_across_files(tmp_path: Path) -> None:
    write(tmp_path, MINI)
    write(
        tmp_path,
        MINI.replace("mini", "mini2").replace("KKT: mini2.bql-kcn", "KKT: x"),
        "mini2.yaml",
    )
    write(tmp_path, "province: [", "broken.yaml")
    errs = check_dir(tmp_path)
    files = {Path(e.file).name for e in errs}
    assert files == {"mini2.yaml", "broken.yaml"}
    with pytest.raises(ConfigError) as exc:
        load_dir(tmp_path)
    assert len(exc.value.others) == len(errs) - 1
    assert check_dir(tmp_path / "nowhere")[0].problem == "not a directory"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no province files" in check_dir(empty)[0].problem


def test_direct_validation_checks_references_too() -> None:
    import yaml

    data = yaml.safe_load(MINI.replace("KKT: mini.bql-kcn", "KKT: mini.nowhere"))
    with pytest.raises(ValidationError, match=r"rules\.lead_by_zone_type\.KKT"):
        ProvinceConfig.model_validate(data)


def test_config_is_frozen() -> None:
    cfg = load_province(default_config_dir() / "ha-noi.yaml")
    with pytest.raises(ValidationError):
        cfg.rules.triage = "ha-noi.x"  # type: ignore[misc]
    assert Category.LABOUR in cfg.rules.co_handlers_by_category


# --- hot reload ------------------------------------------------------------------------------


def bump(path: Path, text: str) -> None:
    """Write and move the mtime forward, so coarse file-system clocks see a change."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    ns = max(before + 1_000_000_000, path.stat().st_mtime_ns)
    os.utime(path, ns=(ns, ns))


def test_holder_keeps_old_config_on_bad_edit_and_takes_good_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, MINI)
    holder = ConfigHolder(tmp_path)
    v1 = holder.version
    assert holder.reload_if_changed() is False  # nothing changed

    bump(path, MINI)  # touched, same content
    assert holder.reload_if_changed() is False and holder.version == v1

    refused: list[list[str]] = []
    holder.on_refused(lambda errors: refused.append([e.path for e in errors]))
    bad = MINI.replace("    CCN: mini.so-cong-thuong\n", "")
    bump(path, bad)
    with caplog.at_level(logging.ERROR, logger="thaogo.config"):
        assert holder.reload_if_changed() is False
    assert refused == [["rules.lead_by_zone_type.CCN"]]
    assert holder.version == v1
    assert holder.current["mini"].rules.lead_by_zone_type[ZoneType.CCN] == "mini.so-cong-thuong"
    rec = next(r for r in caplog.records if r.name == "thaogo.config")
    assert rec.config_key == "rules.lead_by_zone_type.CCN"  # type: ignore[attr-defined]
    assert str(rec.config_file).endswith("mini.yaml")  # type: ignore[attr-defined]
    assert "no lead agency" in rec.problem  # type: ignore[attr-defined]
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="thaogo.config"):
        assert holder.reload_if_changed() is False  # the same bad file is reported once
    assert not caplog.records
    assert len(refused) == 1  # and counted once

    seen: list[str] = []
    holder.on_change(lambda cs: seen.append(cs.version))
    good = MINI.replace("CCN: mini.so-cong-thuong", "CCN: mini.so-ke-hoach")
    bump(path, good)
    assert holder.reload_if_changed() is True
    assert holder.version != v1 and seen == [holder.version]
    assert holder.current["mini"].lead_for(ZoneType.CCN).id == "mini.so-ke-hoach"

    # a new province file appears; a removed one goes
    write(tmp_path, MINI.replace("mini", "mini2"), "mini2.yaml")
    assert holder.reload_if_changed() is True and set(holder.current) == {"mini", "mini2"}
    (tmp_path / "mini2.yaml").unlink()
    assert holder.reload_if_changed() is True and set(holder.current) == {"mini"}


def test_holder_refuses_bad_config_at_start(tmp_path: Path) -> None:
    write(tmp_path, MINI.replace("head: mini.to-truong", "head: mini.bql-kcn"))
    with pytest.raises(ConfigError, match="task_force"):
        ConfigHolder(tmp_path)


async def test_holder_watch_picks_up_edits(tmp_path: Path) -> None:
    path = write(tmp_path, MINI)
    holder = ConfigHolder(tmp_path)
    v1 = holder.version
    task = asyncio.create_task(holder.watch(interval_s=0.01))
    try:
        bump(path, MINI.replace("resolve: 10", "resolve: 7"))
        for _ in range(500):
            if holder.version != v1:
                break
            await asyncio.sleep(0.01)
        assert holder.current["mini"].deadlines.normal.resolve == 7
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_unknown_zone_type_key(tmp_path: Path) -> None:
    text = MINI.replace("    KKT: mini.bql-kcn", "    KTT: mini.bql-kcn")
    errs = check_dir(write(tmp_path, text).parent)
    err = errs[0]
    assert err.path == "rules.lead_by_zone_type.KTT"
    assert err.line == line_of(text, "KTT: mini.bql-kcn")
    assert "'KTT'" in err.problem and "KKT" in err.problem


# --- the task force's lifecycle: setting dissolved_on in a file ---------------------------------


def test_dissolve_inserts_the_key_after_effective_from_and_keeps_the_rest(tmp_path: Path) -> None:
    from shared.provinces import set_dissolved_on

    text = MINI.replace("  effective_from: 2021-07-16\n",
                        "  effective_from: 2021-07-16   # Quyết định số 1/QĐ-UBND\n")
    path = write(tmp_path, text)
    cfg = set_dissolved_on(path, date(2026, 12, 31))
    assert cfg.task_force.dissolved_on == date(2026, 12, 31)
    after = path.read_text(encoding="utf-8")
    assert after == text.replace(
        "  effective_from: 2021-07-16   # Quyết định số 1/QĐ-UBND\n",
        "  effective_from: 2021-07-16   # Quyết định số 1/QĐ-UBND\n  dissolved_on: 2026-12-31\n")
    assert load_province(path).task_force.dissolved_on == date(2026, 12, 31)
    assert [p.name for p in tmp_path.iterdir()] == ["mini.yaml"]  # no temporary file left


@pytest.mark.parametrize("given", ["dissolved_on: null", "dissolved_on:", "dissolved_on: ~",
                                   "dissolved_on: 2030-01-01  # to be decided"])
def test_dissolve_replaces_only_the_value(tmp_path: Path, given: str) -> None:
    from shared.provinces import set_dissolved_on

    text = MINI.replace("  effective_from: 2021-07-16\n",
                        f"  effective_from: 2021-07-16\n  {given}\n")
    path = write(tmp_path, text)
    set_dissolved_on(path, date(2026, 11, 22))
    kept = "  # to be decided" if "#" in given else ""
    assert path.read_text(encoding="utf-8") == text.replace(
        f"  {given}\n", f"  dissolved_on: 2026-11-22{kept}\n")


def test_dissolve_before_effective_from_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    from shared.provinces import set_dissolved_on

    path = write(tmp_path, MINI)
    with pytest.raises(ConfigError) as exc:
        set_dissolved_on(path, date(2021, 7, 15))
    assert exc.value.path == "task_force.dissolved_on"
    assert "before effective_from" in exc.value.problem
    assert exc.value.line == line_of(MINI, "effective_from") + 1
    assert path.read_text(encoding="utf-8") == MINI
    # The day it takes effect is the first day without the task force.
    cfg = set_dissolved_on(path, date(2021, 7, 16))
    assert not cfg.task_force.is_active(date(2021, 7, 16))


def test_dissolve_refuses_a_file_that_is_already_broken(tmp_path: Path) -> None:
    from shared.provinces import set_dissolved_on

    broken = MINI.replace("NONE: mini.so-ke-hoach", "NONE: mini.nobody")
    path = write(tmp_path, broken)
    with pytest.raises(ConfigError) as exc:
        set_dissolved_on(path, date(2026, 1, 1))
    assert exc.value.path == "rules.lead_by_zone_type.NONE"
    assert path.read_text(encoding="utf-8") == broken
