"""One real browser: headless Chromium opens the app, clicks the DDPM tab's Generate and sees images appear."""

import shutil

import pytest

from conftest import needs_tab

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium") and not __import__("os").path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield pg
        browser.close()


def test_ddpm_generate_shows_images(page, app_url, tmp_path):
    page.goto(app_url)
    page.get_by_role("tab", name="DDPM").click()
    page.get_by_role("button", name="Generate").click()
    page.get_by_text("done:").wait_for(timeout=60_000)
    imgs = page.locator("img[src*='/file=']")
    imgs.first.wait_for(timeout=10_000)
    assert imgs.count() >= 4  # x_t, x0, final grid, strip
    page.screenshot(path=str(tmp_path / "ddpm.png"), full_page=True)


@needs_tab("imagen")
def test_imagen_tab_streams_both_stages_in_the_browser(page, app_url, tmp_path):
    page.goto(app_url)
    page.get_by_role("tab", name="Imagen", exact=True).click()
    page.get_by_role("button", name="Generate").filter(visible=True).click()
    page.get_by_text("saturated pixels").filter(visible=True).wait_for(timeout=120_000)
    # base, SR, without thresholding: the status can arrive a moment before the browser has rendered the last image
    page.locator("img[src*='/file=']").filter(visible=True).nth(2).wait_for(timeout=10_000)
    page.screenshot(path=str(tmp_path / "imagen.png"), full_page=True)
