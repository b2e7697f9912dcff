"""LLM models configured at runtime: the registry workers and the API resolve a character's
or a role's model from (before the environment variables).

Keys are encrypted at rest (MEDIUM_SECRET_KEY) and only ever shown masked. Reading the list
needs a signed-in user; every write, and discovery (which makes this server fetch a URL),
needs an admin: a user listed in `MEDIUM_ADMIN_USERS` (or `MEDIUM_ADMIN_USER_IDS`). Being GM of a frame is not enough,
since a model row serves every frame.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field

from api import schemas
from api.deps import CurrentUser, SettingsDep, StoreDep, User, require_admin
from synthesis.errors import Conflict, InvalidInput
from synthesis.llm import keys
from synthesis.llm.factory import PLACEHOLDER_API_KEY
from synthesis.llm.registry import Registry
from synthesis.settings import Settings

router = APIRouter(prefix="/models", tags=["models"])
MAX_BULK = 100
DISCOVER_TIMEOUT = 10.0


class ModelsBulkCreate(BaseModel):
    models: list[schemas.ModelCreate] = Field(min_length=1, max_length=MAX_BULK)


class Discovered(BaseModel):
    base_url: str
    models: list[str] = Field(description="model ids the server's GET /models lists")


def _require_admin(user: User, settings: Settings) -> None:
    require_admin(user, settings)


def _public(row: dict[str, Any], settings: Settings) -> schemas.ModelPublic:
    masked = None
    if row.get("api_key_encrypted"):
        secret = settings.medium_secret_key.get_secret_value() if settings.medium_secret_key else ""
        try:
            masked = keys.mask_key(keys.decrypt_key(secret, row["api_key_encrypted"]))
        except (keys.KeyDecryptionError, InvalidInput):
            masked = keys.ELLIPSIS  # stored, but unreadable with the current MEDIUM_SECRET_KEY
    return schemas.ModelPublic.model_validate({**row, "api_key": masked})


def _row(body: schemas.ModelCreate, settings: Settings) -> dict[str, Any]:
    encrypted = None
    if body.api_key:
        if settings.medium_secret_key is None:
            raise InvalidInput("storing an API key needs MEDIUM_SECRET_KEY on the server", field="api_key")
        encrypted = keys.encrypt_key(settings.medium_secret_key.get_secret_value(), body.api_key)
    return {"name": body.name, "provider": body.provider, "model": body.model, "base_url": body.base_url,
            "api_key_encrypted": encrypted, "role": body.role}


def _forget(request: Request) -> None:
    """This process reads the rows again on its next resolution (workers within seconds)."""
    registry = getattr(request.app.state, "registry", None)
    if isinstance(registry, Registry):
        registry.invalidate_rows()


@router.get("", response_model=list[schemas.ModelPublic])
async def list_models(user: CurrentUser, st: StoreDep, settings: SettingsDep) -> list[schemas.ModelPublic]:
    return [_public(r, settings) for r in await st.list_models()]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=schemas.ModelPublic)
async def create_model(body: schemas.ModelCreate, user: CurrentUser, st: StoreDep, settings: SettingsDep,
                       request: Request) -> schemas.ModelPublic:
    _require_admin(user, settings)
    row = _row(body, settings)
    try:
        stored = await st.insert_model(**row)
    except Conflict:
        raise Conflict(f"a model named {body.name!r} exists", field="name") from None
    _forget(request)
    return _public(stored, settings)


@router.post("/bulk", status_code=status.HTTP_201_CREATED, response_model=list[schemas.ModelPublic])
async def create_models(body: ModelsBulkCreate, user: CurrentUser, st: StoreDep, settings: SettingsDep,
                        request: Request) -> list[schemas.ModelPublic]:
    """Add several models at once (e.g. what `/models/discover` found): all, or none."""
    _require_admin(user, settings)
    names = [m.name for m in body.models]
    if len(set(names)) != len(names):
        raise InvalidInput("model names repeat within the request", field="models")
    rows = [_row(m, settings) for m in body.models]
    try:
        stored = await st.insert_models(rows)
    except Conflict:
        raise Conflict("a model with one of these names exists; nothing was added", field="models") from None
    _forget(request)
    return [_public(r, settings) for r in stored]


@router.get("/discover", response_model=Discovered)
async def discover(user: CurrentUser, settings: SettingsDep,
                   base_url: str = Query(min_length=1, max_length=2000,
                                         description="an OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1"),
                   ) -> Discovered:
    """What an OpenAI-compatible server offers: its `GET /models` ids (keyless servers only)."""
    _require_admin(user, settings)
    if not base_url.startswith(("http://", "https://")):
        raise InvalidInput("base_url must start with http:// or https://", field="base_url")
    import openai  # the SDK takes seconds to import: only discovery pays

    from synthesis.llm.openai_adapter import list_models as list_server_models

    client = openai.AsyncOpenAI(base_url=base_url, api_key=PLACEHOLDER_API_KEY, timeout=DISCOVER_TIMEOUT,
                                max_retries=0)
    try:
        ids = await list_server_models(client, provider="discover")
    finally:
        await client.close()
    return Discovered(base_url=base_url, models=ids)
