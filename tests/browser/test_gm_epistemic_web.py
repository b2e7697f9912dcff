"""The epistemic view in a real browser (issue 15, items 7 and 8): the GM opens Dax's panel,
sees what he knows and what is withheld (Kessa's secret, her hidden Rebel Cell membership),
adds a fact that then appears in his directive, and redacts one that then leaves it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.test_web import DAX, KESSA_SECRET, WAIT, open_page

pytestmark = pytest.mark.browser
ADDED = "The back door of the cantina is unlocked tonight"


def test_the_gm_adds_a_fact_that_reaches_the_directive(browser: Browser, stack_factory: Any) -> None:
    stack = stack_factory()
    ctx, gm = open_page(browser, stack.gm_url())
    try:
        dax = stack.characters[DAX]["id"]
        gm.locator(f'#characters li.character[data-character="{dax}"] button.epistemic').click()
        dialog = gm.locator("#epistemic-dialog")
        expect(dialog).to_be_visible(timeout=WAIT)
        expect(dialog.locator("#epistemic-title")).to_have_text(f"Epistemic view · {DAX}")
        withheld = dialog.locator("#epistemic-withheld")
        expect(withheld.locator('li[data-reason="private"]', has_text=KESSA_SECRET)).to_have_count(1, timeout=WAIT)
        expect(withheld.locator('li[data-reason="hidden"]', has_text="Kessa Vorn's membership in Rebel Cell")
               ).to_have_count(1)
        directive = dialog.locator("#epistemic-directive")
        expect(directive).not_to_contain_text(KESSA_SECRET)
        expect(directive).not_to_contain_text(ADDED)

        dialog.locator("#epistemic-add-text").fill(ADDED)
        dialog.locator("#epistemic-add-send").click()
        expect(dialog.locator('#epistemic-known li[data-source="gm_override"]')).to_have_text(
            f"{DAX} · gm {ADDED} (added by the GM) Remove", timeout=WAIT)
        expect(directive).to_contain_text(f"you also know (only you): {ADDED}")
        cid_directive = stack.get(f"/frames/{stack.frame_id}/characters/{dax}/directive")["directive"]
        assert ADDED in cid_directive

        # Redact what he sees of Kessa: it moves to withheld and leaves the directive.
        kessa = stack.characters["Kessa Vorn"]["id"]
        row = dialog.locator(f'#epistemic-known li[data-fact="character:{kessa}:external"]')
        text = row.locator(".fact-text").inner_text()
        row.locator("button.redact").click()
        expect(withheld.locator('li[data-reason="redacted"] .fact-text')).to_have_text(text, timeout=WAIT)
        expect(directive).not_to_contain_text(text)
        withheld.locator('li[data-reason="redacted"] button.undo').click()
        expect(row).to_have_count(1, timeout=WAIT)
        expect(directive).to_contain_text(text)
    finally:
        ctx.close()
