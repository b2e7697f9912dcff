"""Invite links in a real browser (issue 14): a player opens /join/<code>, joins and plays; the
page URL and the tab's history never hold an access token; a reload keeps the session; a
revoked player is disconnected within a second. The old ?token= link is moved into storage."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Stack

pytestmark = pytest.mark.browser

WAIT = 45_000
KESSA, DAX = "Kessa Vorn", "Dax Orrun"


def history(page: Page) -> list[str]:
    """Every URL of this tab's session history (Chromium DevTools)."""
    cdp = page.context.new_cdp_session(page)
    try:
        entries = cdp.send("Page.getNavigationHistory")["entries"]
    finally:
        cdp.detach()
    return [str(e["url"]) for e in entries]


def stored(page: Page) -> dict[str, Any]:
    raw = page.evaluate("() => window.sessionStorage.getItem('medium.session')")
    assert raw, "no session in sessionStorage"
    return json.loads(raw)  # type: ignore[no-any-return]


def no_token_anywhere(page: Page, token: str) -> None:
    assert token not in page.url
    assert "token=" not in page.url
    for url in history(page):
        assert token not in url, url
        assert "token=" not in url, url
    assert token not in page.evaluate("() => document.location.href + document.referrer")


def test_an_invite_link_joins_plays_survives_a_reload_and_is_revoked(browser: Browser, stack: Stack) -> None:
    join = stack.characters[KESSA]["join"]
    assert join.startswith("/join/")
    ctx = browser.new_context()
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(stack.base_url + join)
    expect(page.locator("#connection")).to_have_attribute("data-status", "connected", timeout=WAIT)
    expect(page.locator("#who")).to_contain_text(KESSA)
    session = stored(page)
    token = session["access_token"]
    assert session["refresh_token"]
    assert page.url == f"{stack.base_url}/?frame={stack.frame_id}"
    no_token_anywhere(page, token)

    # plays: an action commits and its narrative arrives over the socket
    box = page.locator("textarea")
    box.fill("I slide into the corner booth and watch the door")
    box.press("Enter")
    expect(page.locator("#analysis")).to_have_attribute("data-state", "committed", timeout=WAIT)
    expect(page.locator("#narratives article.narrative[data-id]").first).to_be_visible(timeout=WAIT)
    no_token_anywhere(page, token)

    # a reload keeps the session (sessionStorage), with the token still out of the URL
    page.reload()
    expect(page.locator("#connection")).to_have_attribute("data-status", "connected", timeout=WAIT)
    expect(page.locator("#narratives article.narrative[data-id]").first).to_be_visible(timeout=WAIT)
    assert stored(page)["access_token"] == token
    no_token_anywhere(page, token)

    # revoked by the GM: the socket is closed at once and the page says so
    user_id = stack.characters[KESSA]["user_id"]
    started = time.monotonic()
    r = httpx.delete(f"{stack.base_url}/frames/{stack.frame_id}/members/{user_id}",
                     headers={"Authorization": f"Bearer {stack.gm_token}"}, timeout=10)
    assert r.status_code == 204
    expect(page.locator("#connection")).to_have_attribute("data-status", "denied", timeout=1000)
    elapsed_ms = (time.monotonic() - started) * 1000
    print(f"revoked player disconnected after {elapsed_ms:.0f} ms")
    refused = httpx.get(f"{stack.base_url}/frames", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert refused.status_code == 401
    assert not errors, errors
    ctx.close()


def test_the_old_token_link_is_moved_into_storage(browser: Browser, stack: Stack) -> None:
    token = stack.characters[DAX]["token"]
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(stack.player_url(DAX))
    expect(page.locator("#connection")).to_have_attribute("data-status", "connected", timeout=WAIT)
    assert stored(page)["access_token"] == token
    no_token_anywhere(page, token)
    page.reload()
    expect(page.locator("#connection")).to_have_attribute("data-status", "connected", timeout=WAIT)
    expect(page.locator("#who")).to_contain_text(DAX)
    ctx.close()


def test_an_open_invite_lets_a_player_make_a_character_the_gm_approves(browser: Browser, stack: Stack) -> None:
    gm = {"Authorization": f"Bearer {stack.gm_token}"}
    inv = httpx.post(f"{stack.base_url}/frames/{stack.frame_id}/invites", json={"label": "open"}, headers=gm,
                     timeout=10).json()
    ctx = browser.new_context()
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(stack.base_url + inv["path"])
    form = page.locator("#propose-form")
    expect(form).to_be_visible(timeout=WAIT)
    # only the groups this newcomer may know exist are offered: never the Rebel Cell
    offered = page.locator("#propose-form input[name=group]").evaluate_all("els => els.map(e => e.value)")
    assert "Rebel Cell" not in offered
    assert "Bounty Hunters' Guild" in offered
    page.fill("#propose-name", "Kessa Vorn")  # taken: the error names the field
    page.click("#propose-form button[type=submit]")
    expect(page.locator("#propose-error")).to_contain_text("Kessa Vorn", timeout=WAIT)
    page.fill("#propose-name", "Vex Talon")
    page.fill("#propose-universal", "A pilot between jobs.")
    page.fill("#propose-internal", "Owes the Hutts a ship.")
    page.check("#propose-form input[name=group][value=\"Bounty Hunters' Guild\"]")
    page.click("#propose-form button[type=submit]")
    expect(page.locator("#propose-pending")).to_contain_text("Vex Talon", timeout=WAIT)
    token = stored(page)["access_token"]
    no_token_anywhere(page, token)
    requests = httpx.get(f"{stack.base_url}/frames/{stack.frame_id}/character-requests", headers=gm, timeout=10).json()
    (req,) = [r for r in requests if r["status"] == "pending"]
    ok = httpx.post(f"{stack.base_url}/frames/{stack.frame_id}/character-requests/{req['id']}/approve",
                    json={"note": "welcome"}, headers=gm, timeout=10)
    assert ok.status_code == 201, ok.text
    expect(page.locator("#who")).to_contain_text("Vex Talon", timeout=WAIT)
    expect(page.locator("#connection")).to_have_attribute("data-status", "connected", timeout=WAIT)
    no_token_anywhere(page, token)
    assert not errors, errors
    ctx.close()


def test_the_gm_join_link_opens_the_gm_view_without_a_token_in_the_url(browser: Browser, stack: Stack) -> None:
    assert stack.gm_join.startswith("/join/")
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(stack.base_url + stack.gm_join)
    expect(page.locator("#gm-app")).to_be_visible(timeout=WAIT)
    assert page.url == f"{stack.base_url}/gm?frame={stack.frame_id}"
    token = stored(page)["access_token"]
    no_token_anywhere(page, token)
    ctx.close()


def test_the_gm_makes_an_open_invite_and_approves_the_character_in_the_gm_view(browser: Browser,
                                                                                  stack: Stack) -> None:
    gm_ctx = browser.new_context()
    gm = gm_ctx.new_page()
    gm.goto(stack.gm_url())
    expect(gm.locator("#gm-app")).to_be_visible(timeout=WAIT)
    gm.click("#invite-open")
    link = gm.locator("#invite-made input.invite-link")
    expect(link).to_have_value(re.compile(r"/join/[A-Za-z0-9_-]{16}$"), timeout=WAIT)
    url = link.input_value()
    player_ctx = browser.new_context()
    player = player_ctx.new_page()
    player.goto(url)
    expect(player.locator("#propose-form")).to_be_visible(timeout=WAIT)
    player.fill("#propose-name", "Nim Osk")
    player.fill("#propose-external", "A quiet Rodian.")
    player.click("#propose-form button[type=submit]")
    expect(player.locator("#propose-pending")).to_be_visible(timeout=WAIT)
    request = gm.locator("#requests li.request", has_text="Nim Osk")
    expect(request).to_be_visible(timeout=WAIT)
    request.get_by_role("button", name="Approve").click()
    expect(player.locator("#who")).to_contain_text("Nim Osk", timeout=WAIT)
    no_token_anywhere(player, stored(player)["access_token"])
    gm_ctx.close()
    player_ctx.close()
