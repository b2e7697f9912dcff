"""The GM's controls in a real browser, against a real API and worker (issue 15): a player
uses "ready" and out-of-character chat; the GM pauses and resumes (every page shows the
banner), narrates, and resolves a window from its timer row.

Windows run at time scale 10 (an action's window is minutes long), so a narrative that
appears within the wait can only come from "ready" or "resolve now", never from expiry.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Stack
from tests.browser.test_web import DAX, KESSA, WAIT, act, open_page

pytestmark = pytest.mark.browser
SLOW = 10.0


def open_window(stack: Stack, name: str) -> str:
    """The window of this character's latest committed action (the API's truth)."""
    c = stack.characters[name]
    rows = [x for x in stack.get(f"/frames/{stack.frame_id}/liquid", c["token"])
            if x["character_id"] == c["id"] and x["window_id"]]
    return str(rows[-1]["window_id"])


def final_narrative(page: Page, window_id: str) -> Any:
    return page.locator(f'#narratives article.narrative[data-window="{window_id}"]:not(.streaming)')


def test_a_player_uses_ready_and_ooc(browser: Browser, stack_factory: Any) -> None:
    stack = stack_factory(time_scale=SLOW)
    kctx, kessa = open_page(browser, stack.player_url(KESSA))
    dctx, dax = open_page(browser, stack.player_url(DAX))
    gctx, gm = open_page(browser, stack.gm_url())
    try:
        kessa.locator("#ready").click()  # nothing open yet: said plainly, nothing happens
        expect(kessa.locator("#ready-error")).to_contain_text("no open window", timeout=WAIT)

        act(kessa, "I slide into the corner booth and watch the door")
        wid = open_window(stack, KESSA)
        timer = stack.get(f"/frames/{stack.frame_id}/timers", stack.characters[KESSA]["token"])
        assert [t["remaining_seconds"] > 60 for t in timer if t["id"] == wid] == [True]
        kessa.locator("#ready").click()
        expect(final_narrative(kessa, wid)).to_have_count(1, timeout=WAIT)
        expect(kessa.locator("#ready-error")).to_be_hidden()

        kessa.locator("#ooc-text").fill("brb, two minutes")
        kessa.locator("#ooc-text").press("Enter")
        for page in (kessa, dax, gm):
            expect(page.locator("#ooc-list li.ooc")).to_have_count(1, timeout=WAIT)
            expect(page.locator("#ooc-list li.ooc .ooc-text")).to_have_text("brb, two minutes")
        expect(kessa.locator("#ooc-list .ooc-who")).to_have_text("You")
        expect(dax.locator("#ooc-list .ooc-who")).to_have_text(KESSA)
        dax.locator("#ooc-text").fill("np")
        dax.locator("#ooc-send").click()
        expect(kessa.locator("#ooc-list li.ooc")).to_have_count(2, timeout=WAIT)
        posted = stack.get(f"/frames/{stack.frame_id}/ooc")
        assert [m["text"] for m in posted] == ["brb, two minutes", "np"]
        # table talk never reaches a narrator: Kessa's narrative was written before, and the
        # directive her Medium would send now does not hold it either
        cid = stack.characters[KESSA]["id"]
        directive = stack.get(f"/frames/{stack.frame_id}/characters/{cid}/directive")["directive"]
        assert "brb" not in directive
    finally:
        for ctx in (kctx, dctx, gctx):
            ctx.close()


def test_the_gm_pauses_resumes_narrates_and_resolves(browser: Browser, stack_factory: Any) -> None:
    stack = stack_factory(time_scale=SLOW)
    kctx, kessa = open_page(browser, stack.player_url(KESSA))
    gctx, gm = open_page(browser, stack.gm_url())
    try:
        act(kessa, "I order a drink and keep my back to the wall")
        wid = open_window(stack, KESSA)
        expect(kessa.locator("#pause-banner")).to_be_hidden()

        gm.locator("#pause-toggle").click()
        for page in (kessa, gm):
            expect(page.locator("#pause-banner")).to_be_visible(timeout=WAIT)
            expect(page.locator("#pause-banner")).to_contain_text("Paused")
        expect(kessa.locator(f'.timer[data-window="{wid}"]')).to_have_attribute("data-state", "paused", timeout=WAIT)
        expect(gm.locator("#pause-toggle")).to_have_attribute("aria-pressed", "true")
        assert stack.get(f"/frames/{stack.frame_id}")["paused"] is True
        frozen = kessa.locator(f'.timer[data-window="{wid}"] .timer-label').text_content()
        assert frozen
        assert frozen.startswith("Paused")

        gm.locator("#pause-toggle").click()
        for page in (kessa, gm):
            expect(page.locator("#pause-banner")).to_be_hidden(timeout=WAIT)
        expect(kessa.locator(f'.timer[data-window="{wid}"]')).to_have_attribute("data-state", "running", timeout=WAIT)
        assert stack.get(f"/frames/{stack.frame_id}")["paused"] is False

        gm.locator("#narrate-text").fill("A siren wails over the spaceport")
        gm.locator("#narrate-facts").fill("The port is on alert")
        gm.locator("#narrate-send").click()
        expect(gm.locator("#timeline article.outcome .narration")).to_have_text(
            "A siren wails over the spaceport", timeout=WAIT)
        outcomes = stack.get(f"/frames/{stack.frame_id}/outcomes")
        assert [(o["source"], o["world_facts"]) for o in outcomes if o["source"] == "gm"] == [
            ("gm", ["The port is on alert"])]

        gm.locator(f'.timer[data-window="{wid}"] button.resolve').click()
        expect(final_narrative(kessa, wid)).to_have_count(1, timeout=WAIT)
        mine = [n for n in stack.narratives() if n["window_id"] == wid]
        gm_outcome = next(o["id"] for o in outcomes if o["source"] == "gm")
        assert gm_outcome in mine[0]["outcome_ids"]  # her Medium incorporated the GM's narration
    finally:
        for ctx in (kctx, gctx):
            ctx.close()


def test_the_gm_reviews_an_outcome_before_the_player_reads_it(browser: Browser, stack_factory: Any) -> None:
    stack = stack_factory(time_scale=SLOW)
    kctx, kessa = open_page(browser, stack.player_url(KESSA))
    gctx, gm = open_page(browser, stack.gm_url())
    try:
        gm.locator("#review-toggle").check()
        stack.wait_for("review on", lambda: stack.get(f"/frames/{stack.frame_id}")["review"])
        act(kessa, "I flip a coin onto the bar")
        wid = open_window(stack, KESSA)
        kessa.locator("#ready").click()
        item = gm.locator("#review-list li.review-item")
        expect(item).to_have_count(1, timeout=WAIT)
        expect(item).to_contain_text(KESSA)
        held = [n for n in stack.narratives() if n["window_id"] == wid]
        assert [n["held"] for n in held] == [True]  # written, and waiting
        expect(final_narrative(kessa, wid)).to_have_count(0)
        token = stack.characters[KESSA]["token"]
        assert stack.get(f"/frames/{stack.frame_id}/solid", token) == []

        item.locator("button.approve").click()
        expect(final_narrative(kessa, wid)).to_have_count(1, timeout=WAIT)
        expect(gm.locator("#review-list li.review-item")).to_have_count(0)
        assert [n["window_id"] for n in stack.get(f"/frames/{stack.frame_id}/solid", token)] == [wid]
    finally:
        for ctx in (kctx, gctx):
            ctx.close()
