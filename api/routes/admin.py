"""Instance settings, the instance admins' (``MEDIUM_ADMIN_USERS``): ``GET/PATCH
/admin/settings``. The keys and their rules are ``synthesis.instance``'s."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ClockDep, CurrentUser, SettingsDep, StoreDep, require_admin
from synthesis import instance

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/settings", response_model=instance.InstanceSettings)
async def get_settings(user: CurrentUser, st: StoreDep, settings: SettingsDep) -> instance.InstanceSettings:
    require_admin(user, settings, "reading instance settings")
    return await st.instance_settings()


@router.patch("/settings", response_model=instance.InstanceSettings)
async def update_settings(body: instance.InstanceSettingsUpdate, user: CurrentUser, st: StoreDep,
                          settings: SettingsDep, clock: ClockDep) -> instance.InstanceSettings:
    """Change the keys sent; the others keep their values."""
    require_admin(user, settings, "changing instance settings")
    return await st.set_instance_settings(body.model_dump(exclude_none=True), user.id, clock.now())
