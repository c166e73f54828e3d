"""Browser fixtures shared by the phone tests: a 360 px Vietnamese page that keeps the site's CSP."""
import pytest

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def phone(browser, live_server):
    """A phone-sized page that keeps the site's CSP (no bypass): any violation or script error fails the test."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(10000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text
            else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, errors


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
