"""Upstream text cannot become a mention, a link, an image or HTML in Slack or GitHub."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bot.deliver.escape import clean, md_code, md_text, plain_text, slack_text
from bot.deliver.interface import GapIssueData, Term
from bot.deliver.issue_bodies import END_MARKER, find_marker, gap_marker, render_gap_issue

EVIL = "<!channel> @everyone [x](http://evil)"
MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])
# What GitHub turns into mentions and autolinks on top of CommonMark (GFM autolink extension, @mentions).
GFM_MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9]")
GFM_AUTOLINK = re.compile(r"(?i)(https?://|www\.)")


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def assert_inert_markdown(markdown: str) -> None:
    html = MARKDOWN.render(markdown)
    assert "<a " not in html and "<img" not in html
    assert not re.search(r"<(?!/?(p|code|strong|em|h\d|ul|ol|li|table|thead|tbody|tr|th|td|hr|sub|del)\b)", html), html
    text = visible_text(re.sub(r"<code>.*?</code>", "", html, flags=re.S))  # code spans are literal on GitHub
    assert not GFM_MENTION.search(text), text
    assert not GFM_AUTOLINK.search(text), text


def test_slack_text_cannot_form_special_mentions_or_links() -> None:
    escaped = slack_text(EVIL)
    assert "<" not in escaped and ">" not in escaped
    assert escaped.startswith("&lt;!channel&gt;")
    assert "@everyone" not in escaped
    assert "http://evil" not in escaped
    assert slack_text("a & b <@U123|x>") == "a &amp; b &lt;@\u2060U123|x&gt;"


def test_markdown_text_is_inert_and_keeps_the_words() -> None:
    escaped = md_text(EVIL)
    assert_inert_markdown(escaped)
    shown = visible_text(MARKDOWN.render(escaped)).replace("\u200d", "")
    assert shown.strip() == "&lt;!channel&gt; @everyone [x](http://evil)"  # entity-escaped once more by the renderer


def test_markdown_text_neutralises_html_images_and_issue_references() -> None:
    for text in ("<img src=x onerror=alert(1)>", "![x](http://evil/p.png)", "<!-- upkeep:gap:a/b/c -->", "see #12"):
        assert_inert_markdown(md_text(text))
    assert "<!--" not in md_text("<!-- upkeep:gap:a/b/c -->")
    lines = [md_text("# heading"), md_text("line\nbreak")]
    html = MARKDOWN.render(f"- {lines[0]}\n- {lines[1]}")
    assert "<h1>" not in html and "line break" in html


@given(st.text(max_size=200))
def test_any_text_stays_inert(text: str) -> None:
    assert_inert_markdown(md_text(text))
    assert "<" not in slack_text(text) and ">" not in slack_text(text)
    assert "\n" not in plain_text(text)


@given(st.text(max_size=60))
def test_code_span_renders_exactly_the_text(text: str) -> None:
    html = MARKDOWN.render(f"x {md_code(text)} y")
    expected = clean(text)
    if expected:
        match = re.search(r"<code>(.*)</code>", html, re.S)
        assert match is not None, html
        rendered = match.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
        assert rendered.strip(" ") == expected


def test_code_span_in_a_table_keeps_the_cell() -> None:
    html = MARKDOWN.render(f"| a | b |\n| --- | --- |\n| {md_code('x|y`z', in_table=True)} | 2 |\n")
    assert "<td><code>x|y`z</code></td>" in html


def test_issue_body_for_an_evil_upstream_has_one_marker_and_no_mention_or_link() -> None:
    data = GapIssueData(
        upstream="github.com/evil/x",
        display_name=EVIL,
        usage_share=0.2,
        expected_share=0.2,
        investment_share=0.0,
        gap=0.2,
        risk=1.5,
        priority=0.3,
        recommended_amount=1000,
        given_amount=0,
        terms=(Term(EVIL, 1.0, EVIL),),
        risk_flags=(EVIL, "<!-- upkeep:dashboard -->"),
        packages=(EVIL,),
        internal_repos=("acme/app",),
        funding_links=("http://evil/pay",),
    )
    payload = render_gap_issue(data, organisation="acme", labels=["upkeep"])
    body = payload["body"]
    assert find_marker(body) == gap_marker("github.com/evil/x")
    assert body.count("<!--") == 2 and body.rstrip().endswith(END_MARKER)  # the section's start and end, nothing else
    assert_inert_markdown(body.replace(gap_marker("github.com/evil/x"), "").replace(END_MARKER, ""))
    assert "@everyone" not in payload["title"] and "http://evil" not in payload["title"]
