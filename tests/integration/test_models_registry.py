"""The model registry, wired: a `models` row (provider, base URL, encrypted key) is what the
runtime resolves, a character's `model` picks its row, writes need an admin, and the key
never shows in a log line or an API response.

The provider is a fake OpenAI server on a real socket (tests/unit/llm_server.py) spoken to
by the real SDK; the database is real.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from synthesis import medium, store, store_api
from synthesis.errors import LLMError
from synthesis.llm import keys
from synthesis.llm.registry import Registry
from synthesis.settings import Settings
from tests.integration.api_support import bearer, new_user, running_api
from tests.integration.helpers import commit, make_frame, three_players
from tests.unit.llm_server import LLMServer, Reply, openai_chat, openai_error, openai_models

SECRET_KEY = "registry-test-secret-key-0123456789"
API_KEY = "sk-row-abcdefghijklmnopqrstuv5678"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as running:
        yield running


def narration(handle: str) -> str:
    return json.dumps({"outcome": {"actions_resolved": [{"character": handle, "action": "looks around the room",
                                                         "result": "success"}],
                                   "world_facts": [], "interrupts": [], "involved": []},
                       "narrative": "You look around the small room; nobody meets your eye."})


async def _row(st: store.Store, name: str, base_url: str, *, role: str | None = None) -> None:
    encrypted = keys.encrypt_key(SECRET_KEY, API_KEY)
    await store_api.ApiStore(st.pool).insert_model(name=name, provider="openai", model="gpt-row-model",
                                                   base_url=base_url, api_key_encrypted=encrypted, role=role)


async def test_a_characters_medium_calls_the_model_its_row_names(st: store.Store, server: LLMServer) -> None:
    spec = three_players()
    spec["characters"][0]["model"] = "house-gpt"  # Alda's model: the row below, by name
    cast = await make_frame(st, spec)
    await _row(st, "house-gpt", server.openai_base_url)
    registry = Registry(Settings(MEDIUM_LLM="scripted", MEDIUM_SECRET_KEY=SECRET_KEY))
    server.enqueue(Reply(body=openai_chat(narration("alda"), model="gpt-row-model")))
    try:
        alda = await commit(st, cast, "Alda", "I look around the room", -1, NOW)
        brix = await commit(st, cast, "Brix", "I look around the room", -1, NOW)
        done = await medium.synthesize(st, registry, cast.frame_id, alda.liquid.window_id,  # type: ignore[arg-type]
                                       now=NOW)
        other = await medium.synthesize(st, registry, cast.frame_id, brix.liquid.window_id,  # type: ignore[arg-type]
                                        now=NOW)
    finally:
        await registry.aclose()

    assert done.routed
    assert other.routed
    (call,) = server.requests  # Brix has no model: the environment's scripted narrator
    assert call.path == "/v1/chat/completions"
    assert call.headers["authorization"] == f"Bearer {API_KEY}"
    assert call.json["model"] == "gpt-row-model"
    assert call.json["response_format"]["type"] == "json_schema"  # compatible server: json_schema first
    solids = {s.character_id: s for s in await st.solids(cast.frame_id)}
    assert solids[cast.ids["Alda"]].narrator == "openai:gpt-row-model"
    assert solids[cast.ids["Brix"]].narrator.startswith("scripted")


async def test_a_role_row_is_the_default_before_the_environment(st: store.Store, server: LLMServer) -> None:
    cast = await make_frame(st, three_players())
    await _row(st, "default-medium", server.openai_base_url, role="medium")
    registry = Registry(Settings(MEDIUM_LLM="scripted", MEDIUM_SECRET_KEY=SECRET_KEY))
    server.enqueue(Reply(body=openai_chat(narration("cato"))))
    try:
        cato = await commit(st, cast, "Cato", "I look around the room", -1, NOW)
        await medium.synthesize(st, registry, cast.frame_id, cato.liquid.window_id, now=NOW)  # type: ignore[arg-type]
    finally:
        await registry.aclose()
    assert [r.json["model"] for r in server.requests] == ["gpt-row-model"]


async def test_the_key_never_reaches_a_log_line_or_an_api_response(
        db_url: str, server: LLMServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    keys.install_masking()  # what every process does once its logging is set up
    admin, player = new_user(), new_user()
    bodies: list[str] = []
    async with running_api(db_url, MEDIUM_SECRET_KEY=SECRET_KEY, MEDIUM_ADMIN_USER_IDS=str(admin)) as api:
        c = api.client
        row = {"name": "house-gpt", "provider": "openai", "model": "gpt-row-model",
               "base_url": server.openai_base_url, "api_key": API_KEY}
        r = await c.post("/models", json=row, headers=bearer(player))
        assert r.status_code == 403  # writes need an admin
        r = await c.post("/models", json=row, headers=bearer(admin))
        assert r.status_code == 201
        assert r.json()["api_key"] == "sk-…5678"
        bodies.append(r.text)
        r = await c.post("/models/bulk", headers=bearer(admin), json={"models": [
            {**row, "name": "house-a", "model": "a"}, {**row, "name": "house-b", "model": "b", "role": "soft"}]})
        assert r.status_code == 201
        assert [m["name"] for m in r.json()] == ["house-a", "house-b"]
        bodies.append(r.text)
        r = await c.post("/models/bulk", headers=bearer(admin), json={"models": [
            {**row, "name": "house-c"}, {**row, "name": "house-a"}]})
        assert r.status_code == 409  # one name exists: nothing added
        bodies.append(r.text)
        listed = await c.get("/models", headers=bearer(player))
        assert [m["name"] for m in listed.json()] == ["house-a", "house-b", "house-gpt"]
        bodies.append(listed.text)

        server.enqueue(Reply(body=openai_models("qwen", "llama")))
        assert (await c.get("/models/discover", params={"base_url": server.openai_base_url},
                            headers=bearer(player))).status_code == 403
        r = await c.get("/models/discover", params={"base_url": server.openai_base_url}, headers=bearer(admin))
        assert r.status_code == 200
        assert r.json()["models"] == ["llama", "qwen"]
        bad = await c.get("/models/discover", params={"base_url": "file:///etc"}, headers=bearer(admin))
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "base_url"

        # The provider rejects the key and, as OpenAI does, quotes it back; the error is logged.
        registry: Registry = api.app.state.registry
        await registry.refresh(api.st)
        server.enqueue(Reply(401, openai_error(f"Incorrect API key provided: {API_KEY}.")))
        llm, model, _ = registry.resolve("house-gpt")
        with pytest.raises(LLMError) as failed:
            await llm.complete([{"role": "user", "content": "hi"}], model=model)
        logging.getLogger("medium.test").warning("synthesis failed: %s", failed.value)
        assert server.requests[-1].headers["authorization"] == f"Bearer {API_KEY}"
        async with api.st.pool.acquire() as conn:
            stored = await conn.fetch("SELECT api_key_encrypted FROM models")
        assert len(stored) == 3
        assert all(API_KEY not in r["api_key_encrypted"] for r in stored)

    assert API_KEY not in caplog.text
    assert "sk-…5678" in caplog.text  # the failure was logged, masked
    for body in bodies:
        assert API_KEY not in body
        assert "abcdefghijklmnop" not in body
