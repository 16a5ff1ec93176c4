"""The router's rules, pure: routing.py decides a new difficulty, handover.py escalates
and reassigns, membership.py moves a departing member's items. Pure functions from a
difficulty and its province's configuration to assignments. No I/O, no clock (the
caller passes `now`), no randomness: a replay of the same difficulty under the same
configuration yields the same assignments, ids included.

decide() — a new difficulty:
  1. No configuration for the province -> ONE assignment to the operators' triage
     queue (`UNCONFIGURED_TRIAGE`), rule "fallback.triage".
  2. Zone type: the registry's type of the zone name the business gave
     (`shared.vn.zone_key`: "KCN VSIP II" == "khu công nghiệp vsip 2"), which wins
     over a type it declared (the reason says so: VSIP is an industrial park whatever
     the form said); else the type it declared; a name not in the registry without a
     type, or neither type nor name -> ONE assignment to the permanent deputy's
     triage queue (`rules.triage`), rule "fallback.triage".
  3. LEAD: `rules.lead_by_zone_type.<TYPE>`.
  4. CO_HANDLER: each agency of `rules.co_handlers_by_category.<category>` other than
     the lead.
  5. MEMBER: the task-force member(s) in charge by field (category) and area (ward,
     former district, zone), see members_for(); none -> the permanent deputy.

escalate() — one level up: district -> the province lead for the zone type;
province -> the ministry of `rules.escalation.<category>` (or `.default`); central or
task force -> the head.

movable() — what an escalation or reassignment request may move: only what the actor
holds (the lead its own, a co-handler its own part, the permanent deputy the holder's);
a member's or an outsider's request moves nothing.

reassign() — an agency asks for another agency: the case goes to the permanent
deputy's triage queue, who decides; from triage with a target agency (the deputy or
an operator decided) -> that agency; from triage without one -> decide() again (the
zone registry may have learnt the zone since), refused if that still cannot route.

Every assignment carries a deterministic id (`shared.events.deterministic_id` of
difficulty, role, agency, member, replaces), the rule that matched, a reason
(Vietnamese, " / ", English), the configuration version and `now`.
"""

from services.router.logic.handover import (
    Movable,
    correct,
    escalate,
    movable,
    reassign,
    why,
)
from services.router.logic.membership import (
    CLOSING,
    RULE_REMOVED,
    RULE_REPLACED,
    holders,
    moved_id,
    moves,
    successor,
)
from services.router.logic.routing import (
    REASON_MAX,
    RULE_MEMBER_NONE,
    RULE_TRIAGE,
    UNCONFIGURED_TRIAGE,
    Route,
    RoutingError,
    Step,
    config_for,
    decide,
    members_for,
    route,
)

__all__ = [
    "CLOSING", "REASON_MAX", "RULE_MEMBER_NONE", "RULE_REMOVED", "RULE_REPLACED",
    "RULE_TRIAGE", "UNCONFIGURED_TRIAGE", "Movable", "Route", "RoutingError", "Step",
    "config_for", "correct", "decide", "escalate", "holders", "members_for",
    "movable", "moved_id", "moves", "reassign", "route", "successor", "why",
]

