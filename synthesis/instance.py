"""Instance settings: what an instance admin changes at runtime (``/admin/settings``), and the
rules they set. Pure: the store reads and writes the rows; this module names the keys, their
defaults and their validation, and answers the questions the API asks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class InstanceSettings(BaseModel):
    """Every key with its default; a row in ``instance_settings`` overrides one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    frame_creation: Literal["anyone", "admins"] = Field(
        default="anyone", description="who may create frames (and so become a GM)")
    open_invites: bool = Field(default=True, description="whether GMs may make open invites")


class InstanceSettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    frame_creation: Literal["anyone", "admins"] | None = None
    open_invites: bool | None = None


def effective(rows: dict[str, Any]) -> InstanceSettings:
    """The settings from stored rows (unknown keys, e.g. from a newer version, are ignored)."""
    known = {k: v for k, v in rows.items() if k in InstanceSettings.model_fields}
    return InstanceSettings.model_validate(known)


def may_create_frame(settings: InstanceSettings, *, admin: bool) -> bool:
    return admin or settings.frame_creation == "anyone"


def may_open_invite(settings: InstanceSettings, *, admin: bool) -> bool:
    return admin or settings.open_invites
