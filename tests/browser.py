"""What every browser test shares: Debian's chromium, the launch flags this machine needs, the staff login."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"  # screenshots (git-ignored)
MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (/usr/bin/chromium)"),
]


def launch(playwright):
    """Headless Debian chromium; without --disable-background-networking it keeps dialling out on a closed network."""
    ARTIFACTS.mkdir(exist_ok=True)
    return playwright.chromium.launch(executable_path=CHROMIUM,
                                      args=["--no-sandbox", "--disable-background-networking"])


def staff_login(page, user: str, password: str) -> None:
    """Fill the Staff login row and press Log in (the caller waits for what it expects to follow)."""
    page.get_by_text("Staff login (agents and admins)").click()
    page.locator("#login-user textarea, #login-user input").first.fill(user)
    page.locator("#login-password input").fill(password)
    page.locator("#login-button").click()
