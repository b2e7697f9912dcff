"""The web client and GM view in a real browser, against a real API and worker (issues 6, 12).

Each test runs ``medium api`` and ``medium worker`` as subprocesses on a fresh database with
the Mos Eisley scenario, and drives Debian's Chromium. Waits are Playwright's auto-waiting
``expect`` (or polling the API for readiness), never fixed sleeps.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.browser.conftest import STREAM_RECORDER, TIMER_RECORDER, Stack

pytestmark = pytest.mark.browser

WAIT = 45_000  # ms; generous: a window, the narrator and the realtime fan-out
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 360, "height": 780}

KESSA, DAX = "Kessa Vorn", "Dax Orrun"
KESSA_SECRET = "Carries the stolen Imperial patrol codes"
DAX_SECRET = "Hunting Kessa Vorn for the 5,000-credit contract"
REBEL_SECRET = "The stolen garrison patrol codes must reach the contact"
GUILD_SECRET = "Open contract: 5,000 credits"


def open_page(browser: Browser, url: str, viewport: ViewportSize = DESKTOP) -> tuple[BrowserContext, Page]:
    ctx = browser.new_context(viewport=viewport)
    ctx.add_init_script(TIMER_RECORDER)
    ctx.add_init_script(STREAM_RECORDER)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    expect(page.locator("#connection")).to_have_attribute("data-status", "connected", timeout=WAIT)
    assert not errors, errors
    return ctx, page


def act(page: Page, text: str) -> None:
    """Type an action into the page's only textarea and press Enter to commit it."""
    box = page.locator("textarea")
    expect(box).to_have_count(1)
    box.fill(text)
    box.press("Enter")
    expect(page.locator("#analysis")).to_have_attribute("data-state", "committed", timeout=WAIT)


def saw_countdown(page: Page) -> None:
    page.wait_for_function("() => window.__timerStates.some((s) => s.startsWith('running'))", timeout=WAIT)


def narrative_ids(page: Page) -> list[str]:
    ids: list[str] = page.locator("#narratives article.narrative[data-id]").evaluate_all(
        "els => els.map(e => e.dataset.id)")
    return ids


def of(stack: Stack, name: str) -> list[dict[str, Any]]:
    cid = stack.characters[name]["id"]
    return [n for n in stack.narratives() if n["character_id"] == cid]


def shot(page: Page, path: Path, viewport: ViewportSize, *, full: bool = False) -> None:
    page.set_viewport_size(viewport)
    page.evaluate("() => document.fonts && document.fonts.ready")
    page.screenshot(path=str(path), full_page=full)


def test_two_players_and_gm(browser: Browser, stack: Stack, artifacts: Path) -> None:
    kctx, kessa = open_page(browser, stack.player_url(KESSA))
    dctx, dax = open_page(browser, stack.player_url(DAX))
    gctx, gm = open_page(browser, stack.gm_url())
    try:
        # The character card shows own truths, secrets included; others only as seen.
        expect(kessa.locator("#card")).to_contain_text(KESSA_SECRET)
        expect(kessa.locator("#card")).to_contain_text("Quiet, watchful, heavily armed")
        expect(dax.locator("#card")).to_contain_text(DAX_SECRET)

        # Kessa's quick line resolves first; Dax's minute-long look around incorporates it.
        act(kessa, "I order a drink and ask the bartender, quietly, whether anyone has been asking for me")
        act(dax, "I lean on the bar and study every face in the room")
        saw_countdown(kessa)
        saw_countdown(dax)
        expect(kessa.locator("#narratives article.narrative").first).to_be_visible(timeout=WAIT)
        expect(dax.locator("#narratives article.narrative").first).to_be_visible(timeout=WAIT)

        k_story = stack.wait_for("Kessa's narrative", lambda: of(stack, KESSA))
        d_story = stack.wait_for("Dax's narrative", lambda: of(stack, DAX))
        shared = set(k_story[0]["outcome_ids"]) & {o for n in d_story for o in n["outcome_ids"]}
        assert shared, "Dax's narrative should incorporate the outcome of Kessa's window"
        outcome_id = sorted(shared)[0]

        # Each page shows its own narrative, marked with trigger, clock and the scripted label.
        mine = kessa.locator(f'#narratives article.narrative[data-id="{k_story[0]["id"]}"]')
        expect(mine).to_be_visible()
        expect(mine.locator(".badge.trigger")).to_have_text(re.compile(r"\S"))
        expect(mine.locator(".clock")).to_contain_text("day 1")
        expect(mine.locator(".badge.narrator")).to_have_text("scripted")

        # Isolation: neither DOM ever holds the other's narrative text or secrets.
        k_html, d_html = kessa.content(), dax.content()
        for n in of(stack, DAX):
            assert n["narrative"] not in k_html
        for n in of(stack, KESSA):
            assert n["narrative"] not in d_html
        assert DAX_SECRET not in k_html
        assert GUILD_SECRET not in k_html
        assert KESSA_SECRET not in d_html
        assert REBEL_SECRET not in d_html

        # GM: the shared outcome, then both narratives side by side.
        outcome = gm.locator(f'#timeline article.outcome[data-id="{outcome_id}"]')
        expect(outcome).to_be_visible(timeout=WAIT)
        expect(outcome.locator(".action .result").first).to_have_text(re.compile("success|partial|failure|interrupted"))
        outcome.locator("button.compare").click()
        cols = gm.locator("#compare .column")
        expect(cols.filter(has=gm.locator(f'article[data-id="{k_story[0]["id"]}"]'))).to_have_count(1, timeout=WAIT)
        dax_col = next(n for n in d_story if outcome_id in n["outcome_ids"])
        expect(cols.filter(has=gm.locator(f'article[data-id="{dax_col["id"]}"]'))).to_have_count(1, timeout=WAIT)
        expect(gm.locator("#compare")).to_contain_text(KESSA)
        expect(gm.locator("#compare")).to_contain_text(DAX)
        expect(gm.locator('#metrics [data-metric="open_windows"]')).to_be_visible(timeout=WAIT)
        expect(gm.locator("#timers .timer")).not_to_have_count(0)

        # Show directive: the compiled prompt of a narrative, and a preview for a character.
        gm.locator(f'#compare article[data-id="{k_story[0]["id"]}"] button.show-directive').click()
        expect(gm.locator("#directive-text")).to_have_attribute("data-state", "loaded", timeout=WAIT)
        expect(gm.locator("#directive-text")).to_contain_text("ORIENTATION")
        shot(gm, artifacts / "gm-directive-1440.png", DESKTOP)
        gm.keyboard.press("Escape")
        expect(gm.locator("#directive-dialog")).not_to_be_visible()
        gm.locator(f'#characters li[data-character="{stack.characters[DAX]["id"]}"] button.preview').click()
        expect(gm.locator("#directive-text")).to_have_attribute("data-state", "loaded", timeout=WAIT)
        expect(gm.locator("#directive-title")).to_contain_text(DAX)
        gm.locator("#directive-close").click()

        # Screenshots for a person to look at.
        shot(kessa, artifacts / "player-1440.png", DESKTOP)
        shot(dax, artifacts / "player-dax-1440.png", DESKTOP)
        shot(gm, artifacts / "gm-1440.png", DESKTOP)
        shot(kessa, artifacts / "player-360.png", PHONE, full=True)
        shot(gm, artifacts / "gm-360.png", PHONE, full=True)
    finally:
        for c in (kctx, dctx, gctx):
            c.close()


def test_interrupt_cuts_a_countdown_short(browser: Browser, stack_factory: Any, artifacts: Path) -> None:
    stack = stack_factory(time_scale=0.5)  # Dax: 7.5 s window; Kessa: 2 s
    kctx, kessa = open_page(browser, stack.player_url(KESSA))
    dctx, dax = open_page(browser, stack.player_url(DAX))
    gctx, gm = open_page(browser, stack.gm_url())
    try:
        act(dax, "I lean on the bar and study every face in the room")
        saw_countdown(dax)
        kessa.locator("textarea").fill("I draw my blaster and aim it at Dax Orrun")
        kessa.locator("#check").click()
        expect(kessa.locator("#analysis .interruptive")).to_contain_text(DAX, timeout=WAIT)
        kessa.locator("textarea").press("Enter")
        expect(kessa.locator("#analysis")).to_have_attribute("data-state", "committed", timeout=WAIT)

        timer = dax.locator("#timer .timer")
        expect(timer).to_have_attribute("data-interrupted", "true", timeout=WAIT)
        expect(timer.locator(".timer-note")).to_contain_text("Cut short", timeout=WAIT)
        expect(timer.locator(".timer-note")).to_contain_text(KESSA)
        story = dax.locator('#narratives article.narrative[data-trigger="interrupt"]')
        expect(story).to_have_count(1, timeout=WAIT)
        expect(story.locator(".badge.trigger")).to_have_text("Interrupted")
        shot(dax, artifacts / "player-interrupted-1440.png", DESKTOP)

        windows = stack.get(f"/frames/{stack.frame_id}/timers")
        assert any(w["character_id"] == stack.characters[DAX]["id"] and w.get("trigger_mode") == "interrupt"
                   for w in windows) or of(stack, DAX)[0]["trigger_mode"] == "interrupt"

        arrow = gm.locator("#timeline .interrupt-arrow")
        expect(arrow.first).to_be_visible(timeout=WAIT)
        expect(arrow.first.locator(".chip.source")).to_have_text(KESSA)
        expect(arrow.first.locator(".chip.target")).to_have_text(DAX)
        expect(gm.locator('#timeline .action[data-result="interrupted"]').first).to_be_visible(timeout=WAIT)
        shot(gm, artifacts / "gm-interrupt-1440.png", DESKTOP)
    finally:
        for c in (kctx, dctx, gctx):
            c.close()


def test_reconnect_catches_up_without_duplicates(browser: Browser, stack_factory: Any) -> None:
    stack = stack_factory(time_scale=0.6)  # a 3 s window: time enough to go offline first
    kctx, kessa = open_page(browser, stack.player_url(KESSA))
    try:
        act(kessa, "I walk to the end of the bar and say: 'Is the Dune Sea calm tonight?'")
        kctx.set_offline(True)
        expect(kessa.locator("#connection")).to_have_attribute("data-status", "offline", timeout=WAIT)
        story = stack.wait_for("Kessa's narrative while she is offline", lambda: of(stack, KESSA))
        expect(kessa.locator("#narratives article.narrative")).to_have_count(0)

        kctx.set_offline(False)
        expect(kessa.locator("#connection")).to_have_attribute("data-status", "connected", timeout=WAIT)
        caught_up = kessa.locator(f'#narratives article.narrative[data-id="{story[0]["id"]}"]')
        expect(caught_up).to_have_count(1, timeout=WAIT)

        # A second drop and reconnect replays from the cursor: still no duplicates.
        kctx.set_offline(True)
        expect(kessa.locator("#connection")).to_have_attribute("data-status", "offline", timeout=WAIT)
        kctx.set_offline(False)
        expect(kessa.locator("#connection")).to_have_attribute("data-status", "connected", timeout=WAIT)
        before = len(of(stack, KESSA))
        act(kessa, "I nod to the bartender")
        after = stack.wait_for("Kessa's second narrative", lambda: len(of(stack, KESSA)) > before and of(stack, KESSA))
        # (final narratives only: a preview being written has no id yet)
        expect(kessa.locator("#narratives article.narrative[data-id]")).to_have_count(len(after), timeout=WAIT)
        ids = narrative_ids(kessa)
        assert len(ids) == len(set(ids))
        assert set(ids) == {n["id"] for n in of(stack, KESSA)}
    finally:
        kctx.close()


def test_the_player_page_renders_the_narrative_as_it_is_written(browser: Browser, stack_factory: Any,
                                                                 artifacts: Path) -> None:
    # The scripted narrator streams its reply over 2 s: word by word, a delta per batch.
    stack = stack_factory(worker_env={"MEDIUM_LLM_LATENCY": "fixed:2s"})
    kctx, kessa = open_page(browser, stack.player_url(KESSA))
    gctx, gm = open_page(browser, stack.gm_url())
    try:
        act(kessa, "I slide into the corner booth and watch the door")
        preview = kessa.locator("#narratives article.narrative.streaming")
        expect(preview).to_be_visible(timeout=WAIT)
        expect(preview.locator(".badge")).to_have_text("writing…")
        shot(kessa, artifacts / "player-streaming-1440.png", DESKTOP)
        story = stack.wait_for("Kessa's narrative", lambda: of(stack, KESSA))
        final = kessa.locator(f'#narratives article.narrative[data-id="{story[0]["id"]}"]')
        expect(final).to_be_visible(timeout=WAIT)
        window_id = story[0]["window_id"]
        # The final narrative replaced the preview of its window.
        expect(kessa.locator(f'#narratives article.streaming[data-window="{window_id}"]')).to_have_count(0)
        expect(kessa.locator("#narratives article.narrative[data-id]")).to_have_count(len(of(stack, KESSA)))

        seen = [e for e in kessa.evaluate("() => window.__stream") if e["window"] == window_id]
        texts = [e["text"] for e in seen]
        assert len(texts) > 1, seen  # it grew while the narrator wrote
        assert all(b.startswith(a) for a, b in itertools.pairwise(texts))  # growing
        assert not any(e["final"] for e in seen)  # every preview state came before the final
        assert texts[-1] == final.locator(".content").text_content()  # and it ends as the final

        # The GM saw the same window being written, in its "Being written" panel, then nothing.
        expect(gm.locator("#live p.empty")).to_be_visible(timeout=WAIT)
        gm_seen = [e for e in gm.evaluate("() => window.__stream") if e["window"] == window_id]
        assert gm_seen
        assert all(e["where"] == "live" for e in gm_seen)
        assert gm_seen[-1]["text"] == texts[-1]
    finally:
        for c in (kctx, gctx):
            c.close()


def test_bad_input_shows_inline_errors(browser: Browser, stack: Stack, artifacts: Path) -> None:
    kctx, kessa = open_page(browser, stack.player_url(KESSA))
    try:
        box = kessa.locator("textarea")
        error = kessa.locator("#action-error")
        box.press("Enter")
        expect(error).to_be_visible(timeout=WAIT)
        expect(error).to_contain_text("Your action is empty")
        expect(box).to_have_attribute("aria-invalid", "true")

        too_long = ("I talk. " * 300).strip()  # 2,399 characters; the limit is 2,000
        box.fill(too_long)
        box.press("Enter")
        expect(error).to_contain_text("limit is 2000", timeout=WAIT)
        expect(error).to_contain_text(f"{len(too_long)} characters")
        shot(kessa, artifacts / "player-error-360.png", PHONE)

        # Nothing was written.
        mine = stack.get(f"/frames/{stack.frame_id}/liquid", token=stack.characters[KESSA]["token"])
        assert not [row for row in mine if row["status"] == "committed"]

        # Shift+Enter is a newline, not a commit; fixing the text clears the error.
        box.fill("I nod")
        box.press("Shift+Enter")
        box.type("to the bartender")
        expect(box).to_have_value("I nod\nto the bartender")
        expect(error).to_be_hidden()

        # A pause submits a draft (soft analysis shown, not committed); editing re-analyses
        # the same liquid (PATCH); Withdraw deletes it.
        analysis = kessa.locator("#analysis")
        expect(analysis).to_have_attribute("data-state", "draft", timeout=WAIT)
        expect(analysis.locator(".window")).to_have_text(re.compile(r"\d"))
        draft_id = analysis.get_attribute("data-liquid")
        box.fill("I nod to the bartender and slide a coin across the bar")
        kessa.locator("#check").click()
        expect(analysis).to_have_attribute("data-state", "draft", timeout=WAIT)
        token = stack.characters[KESSA]["token"]

        def draft() -> dict[str, Any] | None:
            rows = stack.get(f"/frames/{stack.frame_id}/liquid", token=token)
            return next((r for r in rows if r["id"] == draft_id), None)

        stack.wait_for("the edited draft", lambda: (d := draft()) and "coin" in d["content"] and d)
        assert (draft() or {})["status"] == "submitted"
        kessa.locator("#withdraw").click()
        expect(analysis).to_have_attribute("data-state", "none", timeout=WAIT)
        expect(kessa.locator("#withdraw")).to_be_disabled()
        assert (draft() or {"status": "withdrawn"})["status"] == "withdrawn"
    finally:
        kctx.close()
