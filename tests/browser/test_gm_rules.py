"""The GM view shows the frame's rules and the last author/designer changes, and a rules change
made while it is open reaches it (issue 16, item 5: "shown in the GM view")."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Stack
from tests.browser.test_web import WAIT, open_page

pytestmark = pytest.mark.browser


def test_the_gm_view_shows_rules_and_follows_a_change(browser: Browser, stack: Stack) -> None:
    ctx, gm = open_page(browser, stack.gm_url())
    try:
        panel = gm.locator("#rules")
        expect(panel.locator('[data-rule="interrupt_policy"] dd')).to_have_text("allow", timeout=WAIT)
        expect(panel.locator('[data-rule="effective_prompt_budget"] dd')).to_have_text("3000")
        r = httpx.patch(f"{stack.base_url}/frames/{stack.frame_id}/rules", timeout=10,
                        headers={"Authorization": f"Bearer {stack.gm_token}"},
                        json={"interrupt_policy": "off", "prompt_budget": 1800, "review": True})
        assert r.status_code == 200, r.text
        expect(panel.locator('[data-rule="interrupt_policy"] dd')).to_have_text("off", timeout=WAIT)
        expect(panel.locator('[data-rule="effective_prompt_budget"] dd')).to_have_text("1800")
        expect(panel.locator('[data-rule="review"] dd')).to_have_text("on")
        expect(panel.locator('.changes li[data-kind="rules"]')).to_contain_text("interrupt_policy")
    finally:
        ctx.close()
