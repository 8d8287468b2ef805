"""The survey in a real headless chromium: from the comment and from the e-mail to "already answered".

Screenshots of every page are kept in test-artifacts/surveys/. Also checked here, where only a
browser can tell: the band's reasons appear once a rating is chosen (and all show without
script), keyboard-only use with a visible focus, text contrast of at least 4.5:1, no horizontal
scrolling and large targets on a phone, and no resource refused by the content security policy.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from settings.model import MailSettings
from storage.models import Survey, SurveyResponse

from tests.surveys.helpers import make_ticket, plan, run_survey_jobs, sent_survey

pytestmark = pytest.mark.browser

CONTRAST_OF_TEXT = """() => {
  const channel = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const luminance = c => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map(channel);
                           return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const background = el => { for (; el; el = el.parentElement) {
      const c = getComputedStyle(el).backgroundColor, parts = c.match(/[\\d.]+/g);
      if (parts && (parts.length < 4 || Number(parts[3]) > 0)) return c; }
    return "rgb(255, 255, 255)"; };
  const found = [];
  for (const el of document.querySelectorAll("h1, h2, p, legend, label, a, button, li, textarea, input[type=text]")) {
    if (!el.getClientRects().length) continue;
    const fg = luminance(getComputedStyle(el).color), bg = luminance(background(el));
    found.push({text: (el.textContent || el.name || "").trim().slice(0, 40),
                ratio: (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05)});
  }
  return found;
}"""


def _watch_for_refusals(page) -> list[str]:
    """Console messages about anything the page's security policy refused (there must be none)."""
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text or "Refused" in message.text else None)
    return refused


def _assert_contrast(page):
    low = [item for item in page.evaluate(CONTRAST_OF_TEXT) if item["ratio"] < 4.5]
    assert not low, low


def _responses(world):
    with world.sessions() as session:
        return session.execute(select(SurveyResponse)).scalars().all()


def test_from_the_ticket_comment_to_already_answered(browser, live_server, artifacts):
    world = live_server.world
    ticket, link = sent_survey(world)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    refused = _watch_for_refusals(page)
    page.goto(link)
    assert page.title() == "How did we do?"
    assert not page.is_visible("#reasons-positive") and not page.is_visible("#reasons-negative")
    page.screenshot(path=artifacts / "01-form-from-comment.png", full_page=True)
    _assert_contrast(page)

    page.click("label[for=rating-4]")
    assert page.is_visible("#reasons-negative") and not page.is_visible("#reasons-positive")
    assert not page.is_visible(".band-hint")
    page.click("label[for=rating-9]")
    assert page.is_visible("#reasons-positive") and not page.is_visible("#reasons-negative")
    page.click("label[for=rating-3]")
    page.check("#reason-passed_around")
    page.check("#reason-no_updates")
    page.fill("#lost-hours", "3")
    page.fill("#lost-minutes", "15")
    page.fill("#comment", "I was passed around between three teams and nobody told me anything.")
    page.screenshot(path=artifacts / "02-form-filled-negative-band.png", full_page=True)
    _assert_contrast(page)
    page.click("button.submit")
    page.wait_for_url(re.compile(r".*/thanks$"))
    assert page.inner_text("h1") == "Thank you!"
    page.screenshot(path=artifacts / "03-thank-you.png", full_page=True)

    page.goto(link)
    assert page.inner_text("h1") == "You have already answered"
    assert page.locator("input[name=rating]").count() == 0
    page.screenshot(path=artifacts / "04-already-answered.png", full_page=True)
    assert refused == []
    context.close()

    [stored] = _responses(world)
    assert (stored.rating, sorted(stored.reasons), stored.lost_minutes) == (3, ["no_updates", "passed_around"], 195)
    assert stored.sentiment_label == "negative"


def test_from_the_email_on_a_phone(browser, start_server, smtp_server, artifacts):
    server = start_server(mail=MailSettings(host=smtp_server.host, port=smtp_server.port,
                                            sender="IT Service Desk <servicedesk@example.com>"),
                          connection_surveys={"jira-main": {"channel": "email"}})
    plan(server.world, make_ticket())
    assert run_survey_jobs(server.world) == ["sent"]
    html = smtp_server.messages[0][1].get_body(preferencelist=("html",)).get_content()
    nine = next(link for link, rating in re.findall(r'href="([^"]+\?r=(\d+))"', html) if rating == "9")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                has_touch=True, locale="en-US")
    page = phone.new_page()
    refused = _watch_for_refusals(page)
    page.set_content(html)  # the mail as a mail client would show it
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the mail fits a phone"
    page.screenshot(path=artifacts / "05-email.png", full_page=True)
    page.goto(nine)
    assert page.is_checked("#rating-9") and page.is_visible("#reasons-positive")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    heights = page.eval_on_selector_all(".scale label", "els => els.map(e => e.getBoundingClientRect().height)")
    widths = page.eval_on_selector_all(".scale label", "els => els.map(e => e.getBoundingClientRect().width)")
    assert min(heights) >= 44 and min(widths) >= 44, (heights, widths)
    assert page.eval_on_selector("button.submit", "e => e.getBoundingClientRect().height") >= 44
    page.screenshot(path=artifacts / "06-form-from-email-phone.png", full_page=True)
    with server.world.sessions() as session:
        assert session.execute(select(Survey.state)).scalar_one() == "sent", "opening the link recorded nothing"
    page.tap("label[for=reason-kept_informed]")
    page.tap("button.submit")
    page.wait_for_url(re.compile(r".*/thanks$"))
    page.screenshot(path=artifacts / "07-thank-you-phone.png", full_page=True)
    page.goto(nine)
    assert page.inner_text("h1") == "You have already answered"
    assert refused == []
    phone.close()
    [stored] = _responses(server.world)
    assert stored.rating == 9 and stored.reasons == ["kept_informed"]


def test_keyboard_only_with_visible_focus(browser, live_server, artifacts):
    _, link = sent_survey(live_server.world)
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    page = context.new_page()
    page.goto(link)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "rating"
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    assert page.is_checked("#rating-8") and page.is_visible("#reasons-neutral")
    outline = page.evaluate("""() => { const s = getComputedStyle(
        document.querySelector('label[for=' + document.activeElement.id + ']'));
        return [s.outlineStyle, parseFloat(s.outlineWidth)]; }""")
    assert outline[0] != "none" and outline[1] >= 2, outline
    page.screenshot(path=artifacts / "08-keyboard-focus.png")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "reason"
    page.keyboard.press("Space")
    for _ in range(30):
        if page.evaluate("document.activeElement.id") == "lost-hours":
            break
        page.keyboard.press("Tab")
    page.keyboard.type("1")
    for _ in range(10):
        if page.evaluate("document.activeElement.classList.contains('submit')"):
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/thanks$"))
    context.close()
    [stored] = _responses(live_server.world)
    assert stored.rating == 8 and len(stored.reasons) == 1 and stored.lost_minutes == 60


def test_without_script_every_band_shows_with_its_hint(browser, live_server, artifacts):
    _, link = sent_survey(live_server.world)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1024, "height": 900})
    page = context.new_page()
    page.goto(link)
    for band in ("positive", "neutral", "negative"):
        assert page.is_visible(f"#reasons-{band}")
    assert page.locator(".band-hint").count() == 3 and page.is_visible(".band-hint")
    page.screenshot(path=artifacts / "09-form-without-script.png", full_page=True)
    page.click("label[for=rating-7]")
    page.check("#reason-took_longer")
    page.click("button.submit")
    page.wait_for_url(re.compile(r".*/thanks$"))
    context.close()
    assert _responses(live_server.world)[0].reasons == ["took_longer"]


def test_errors_invalid_links_opt_out_and_other_languages(browser, live_server, artifacts):
    from dataclasses import replace

    world = live_server.world
    context = browser.new_context(viewport={"width": 1024, "height": 900}, locale="en-GB")
    page = context.new_page()
    refused = _watch_for_refusals(page)

    _, link = sent_survey(world)
    page.goto(link)
    page.fill("#comment", "Forgot the rating")
    page.click("button.submit")
    page.wait_for_selector("#error-summary", state="visible")  # the answer page may still be loading
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.input_value("#comment") == "Forgot the rating"
    page.screenshot(path=artifacts / "10-missing-rating.png", full_page=True)
    _assert_contrast(page)

    response = page.goto(f"{live_server.url}/s/{'Z' * 43}")
    assert response.status == 404 and page.inner_text("h1") == "This link is no longer valid"
    page.screenshot(path=artifacts / "11-invalid-link.png", full_page=True)

    page.goto(link + "/opt-out")
    page.screenshot(path=artifacts / "12-opt-out.png", full_page=True)
    page.click("button.submit")
    page.wait_for_selector("h1:has-text('Surveys stopped')")
    page.screenshot(path=artifacts / "13-opted-out.png", full_page=True)

    for language, title in (("de", "Wie zufrieden waren Sie?"), ("fr", "Votre avis nous intéresse")):
        ticket = make_ticket()
        _, translated = sent_survey(world, replace(ticket, caller=replace(ticket.caller, language=language)))
        page.goto(translated)
        assert page.inner_text("h1") == title
        page.click("label[for=rating-10]")
        page.screenshot(path=artifacts / f"14-form-{language}.png", full_page=True)
        _assert_contrast(page)
    assert refused == []
    context.close()
