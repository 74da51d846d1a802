"""One document, four formats: the same figures everywhere; the review link only when it is a plain web URL."""

from __future__ import annotations

import dataclasses

import pytest

from bot.notify.content import build_document
from bot.notify.plan import RENDERERS
from tests.notify_world import hostile_digest


def test_every_format_shows_the_same_figures() -> None:
    document = build_document(hostile_digest(), key="k")
    for kind, render in RENDERERS.items():
        text = render(document)["text"]
        for figure in ("42", "314", "12,345 EUR", "50,000 EUR", "2,000 EUR", "1,000 EUR", "20.0%"):
            assert figure in text, (kind, figure)


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://ospo.example.com/review/latest.html", True),
        ("javascript:alert(1)", False),
        ("https://ospo.example.com/x)](https://evil.example", False),
        ("demo-out/review/review.html", False),
    ],
)
def test_the_review_link_is_shown_only_when_it_is_a_web_url(url: str, linked: bool) -> None:
    document = build_document(dataclasses.replace(hostile_digest(), review_url=url), key="k")
    payloads = {kind: render(document) for kind, render in RENDERERS.items()}
    shown = {
        "mattermost": f"]({url})" in payloads["mattermost"]["message"],
        "matrix": f'<a href="{url}">' in payloads["matrix"]["content"]["formatted_body"],
        "teams": any(
            a.get("url") == url for a in payloads["teams"]["message"]["attachments"][0]["content"].get("actions", [])
        ),
        "email": f'<a href="{url}">' in payloads["email"]["html"],
    }
    assert shown == dict.fromkeys(shown, linked)
