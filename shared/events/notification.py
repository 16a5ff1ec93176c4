"""Events of notify's deliveries: sent messages, sign-in links and members' reminders."""

from __future__ import annotations

import uuid
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from shared import topics
from shared.events.envelope import CE_TYPE_PREFIX, EventData
from shared.events.vocabulary import (
    ShortText,
)


class NotificationSent(EventData):
    """Audit of one delivered message. Recipients are referred to by role id, not address."""

    topic: ClassVar[str] = topics.NOTIFICATION_SENT
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "notification.sent.v1"

    notification_key: ShortText  # deterministic: what, about which, for whom, for which window
    kind: ShortText
    channel: ShortText
    recipient_id: ShortText  # agency id or member id, never an address
    province_code: str | None = None
    difficulty_id: uuid.UUID | None = None
    week_label: str | None = None
    attempts: int = Field(ge=1)
    sent_at: AwareDatetime

    def key(self) -> str:
        return str(self.difficulty_id) if self.difficulty_id else self.notification_key


class SignInLink(EventData):
    """A one-time sign-in link a person asked for, for notify to mail (and for nobody
    else: the link signs its holder in, once, for `expires_at`; the topic is readable by
    notify alone). The recipient is named by role id; the address is not here, only its
    hash, for notify to pick the one contact the person typed among the recipient's."""

    topic: ClassVar[str] = topics.SIGN_IN_LINK
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "sign-in.link.v1"

    request_id: uuid.UUID
    recipient_id: ShortText  # a person's id (member, head, permanent deputy) or an agency's
    role: Literal["agency", "member", "permanent_deputy", "head", "deputy"]
    province: ShortText  # the task force's slug
    address_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    url: Annotated[str, StringConstraints(max_length=2000)]
    expires_at: AwareDatetime
    lang: Literal["vi", "en"] = "vi"

    def key(self) -> str:
        return str(self.request_id)


class MemberReminderRequested(EventData):
    """The permanent deputy asks that a member who has not reported this week be
    reminded (one click in the workspace); notify sends the reminder on the member's
    channels. One a member a week a day: a second click the same day is the same event."""

    topic: ClassVar[str] = topics.MEMBER_REMINDER
    ce_type: ClassVar[str] = CE_TYPE_PREFIX + "member.reminder.v1"

    request_id: uuid.UUID
    member_id: ShortText
    task_force: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,60}$")]
    week_label: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-W[0-9]{2}$")]
    requested_by: ShortText  # the permanent deputy's id
    requested_at: AwareDatetime

    def key(self) -> str:
        return self.member_id
