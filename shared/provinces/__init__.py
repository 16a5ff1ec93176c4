"""Province configuration: agencies, zones, routing rules, deadlines and the task force.

One YAML file per province (`binh-duong.yaml`; the stem is the province slug)
in a directory operators edit. The router reads the agencies, zones and rules;
notify the contacts; reporting the members and deadlines; intake the task
force's lifecycle. Files are checked on load: a bad file is refused with the
file, the key path, the line and the problem (`ConfigError`), and a running
service keeps its previous configuration (`ConfigHolder`).

Outline of a file (see `shared/data/provinces/binh-duong.yaml` for a full one)::

    province: {slug, name_vi, name_en, province_code, former_province,
               former_province_code?, merged_into_vi?}
    agencies: [{id, name_vi, name_en, level, contacts: [{channel, address, name?,
               secret_env?}]}]
    zones:    [{name, type: KCN|KKT|CCN, aliases: [...], district?}]
    rules:    {lead_by_zone_type: {KCN, KKT, CCN, NONE: agency},
               co_handlers_by_category: {category: [agency, ...]},
               escalation: {category: central agency, ..., default: central agency},
               triage: agency, head: agency}
    deadlines: {normal: {ack, resolve}, urgent: {ack, resolve}, reminder_every,
                reminders_before_escalation,          # working days
                on_time_target?,                      # % on time, the league table's target
                decision_overdue_days?}               # overdue more: waits for the head (5)
    task_force: {name_vi?, decision?, effective_from, dissolved_on?, head: person,
                 permanent_deputy: deputy, deputies: [deputy], members: [member],
                 document?: {parent_body?, place?, symbol?, recipients?, signer_title?}}
    zns?:     {templates: {notice: template id}}   # ZNS to businesses (BusinessNotice)

A person is {id, name, title, agency, contacts}; a deputy adds `zone_types`; a
member adds `fields` (categories), `areas` (ward, former district or zone
names), `replaced_by` and `active`. A member who leaves stays in the file with
`active: false` and, if someone takes over their fields and areas, `replaced_by`
(the router moves their open items accordingly; see services/router/jobs.py).

`set_dissolved_on` is the one edit the system makes to these files itself
(`thaogo taskforce dissolve`): one key, the rest of the file byte for byte.

The package by concern: `model` (the schema and each configuration's lookups),
`checks` (cross-references), `load` (files to configurations, with lines), `edit`
(`set_dissolved_on`), `configset` (the loaded set), `holder` (hot reload). What a
service derives from a configuration for itself lives in that service (the router's
lookups: services/router/routing_index.py), kept with the configuration by
`ProvinceConfig.derived`.
"""

from shared.provinces.checks import CENTRAL_PREFIX, ESCALATION_DEFAULT, reference_problems
from shared.provinces.configset import ConfigSet
from shared.provinces.edit import set_dissolved_on
from shared.provinces.errors import ConfigError, Loc, format_path
from shared.provinces.holder import ConfigHolder
from shared.provinces.load import (
    CONFIG_SUFFIXES,
    check_dir,
    config_files,
    default_config_dir,
    load_dir,
    load_province,
)
from shared.provinces.model import (
    ZONE_AREA_PREFIX,
    Agency,
    BusinessNotice,
    CentralDeadline,
    Channel,
    ContactPoint,
    DayCount,
    Deadline,
    Deadlines,
    Deputy,
    Lookups,
    Member,
    OfficialDocument,
    Person,
    ProvinceConfig,
    ProvinceInfo,
    Rules,
    TaskForce,
    Zns,
    ZoneSpec,
    email_key,
)

__all__ = [
    "CENTRAL_PREFIX",
    "CONFIG_SUFFIXES",
    "ESCALATION_DEFAULT",
    "ZONE_AREA_PREFIX",
    "Agency",
    "BusinessNotice",
    "CentralDeadline",
    "Channel",
    "ConfigError",
    "ConfigHolder",
    "ConfigSet",
    "ContactPoint",
    "DayCount",
    "Deadline",
    "Deadlines",
    "Deputy",
    "Loc",
    "Lookups",
    "Member",
    "OfficialDocument",
    "Person",
    "ProvinceConfig",
    "ProvinceInfo",
    "Rules",
    "TaskForce",
    "Zns",
    "ZoneSpec",
    "check_dir",
    "config_files",
    "default_config_dir",
    "email_key",
    "format_path",
    "load_dir",
    "load_province",
    "reference_problems",
    "set_dissolved_on",
]
