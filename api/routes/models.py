"""LLM models configured at runtime. Keys are encrypted at rest (MEDIUM_SECRET_KEY) and only
ever shown masked."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from api import schemas
from api.deps import CurrentUser, SettingsDep, StoreDep
from synthesis.errors import Conflict, InvalidInput
from synthesis.llm import keys
from synthesis.settings import Settings

router = APIRouter(prefix="/models", tags=["models"])


def _public(row: dict[str, Any], settings: Settings) -> schemas.ModelPublic:
    masked = None
    if row.get("api_key_encrypted"):
        secret = settings.medium_secret_key.get_secret_value() if settings.medium_secret_key else ""
        try:
            masked = keys.mask_key(keys.decrypt_key(secret, row["api_key_encrypted"]))
        except (keys.KeyDecryptionError, InvalidInput):
            masked = keys.ELLIPSIS  # stored, but unreadable with the current MEDIUM_SECRET_KEY
    return schemas.ModelPublic.model_validate({**row, "api_key": masked})


@router.get("", response_model=list[schemas.ModelPublic])
async def list_models(user: CurrentUser, st: StoreDep, settings: SettingsDep) -> list[schemas.ModelPublic]:
    return [_public(r, settings) for r in await st.list_models()]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=schemas.ModelPublic)
async def create_model(body: schemas.ModelCreate, user: CurrentUser, st: StoreDep,
                       settings: SettingsDep) -> schemas.ModelPublic:
    encrypted = None
    if body.api_key:
        if settings.medium_secret_key is None:
            raise InvalidInput("storing an API key needs MEDIUM_SECRET_KEY on the server", field="api_key")
        encrypted = keys.encrypt_key(settings.medium_secret_key.get_secret_value(), body.api_key)
    try:
        row = await st.insert_model(name=body.name, provider=body.provider, model=body.model,
                                    base_url=body.base_url, api_key_encrypted=encrypted, role=body.role)
    except Conflict:
        raise Conflict(f"a model named {body.name!r} exists", field="name") from None
    return _public(row, settings)
