"""Attachments (#20 item 10): the answer to files attached, each as kept."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from shared.events import AttachmentRef


class AttachmentsAccepted(BaseModel):
    status_id: uuid.UUID = Field(description="The history entry recording who attached them")
    difficulty_id: uuid.UUID
    attachments: list[AttachmentRef] = Field(description="Each file as kept: its id (to "
                                             "download it), checked type, size and SHA-256")
