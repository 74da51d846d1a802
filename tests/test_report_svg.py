"""The SVG writer and what the charts build with it: valid XML, hostile text kept as text,
rank labels that never overlap, and density squares for quadrants too large for one dot each."""

from __future__ import annotations

import itertools
import random
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

from bot.report.charts import (
    LABEL_GAP,
    QUADRANT_MAX_POINTS,
    gap_quadrant_chart,
    nice_ticks,
    place_labels,
    render_charts,
    top_gaps_chart,
)
from bot.report.interface import GapRow
from bot.report.svg import Box, Svg, text_box
from tests.report_sample import HOSTILE_NAMES, hostile_review

SVG = "{http://www.w3.org/2000/svg}"


def _row(name: str, usage: float, investment: float) -> GapRow:
    return GapRow(f"github.com/o/{name}", usage, usage, investment, usage - investment, 1.0, usage, 100.0, 0.0)


def _crowd(count: int, seed: int) -> list[GapRow]:
    rng = random.Random(seed)
    return [_row(f"p{i}", 10 ** rng.uniform(-6, -1.5), 10 ** rng.uniform(-6, -1.5)) for i in range(count)]


def _labels(root: Element) -> list[tuple[str, Box]]:
    """Each rank label with the box the writer's own estimate gives it (the one placement used)."""
    found = []
    for element in root.iter(f"{SVG}text"):
        if element.get("class") == "rank":
            value = element.text or ""
            x, y, size = (float(element.get(k, "0")) for k in ("x", "y", "font-size"))
            found.append((value, text_box(x, y, value, size, element.get("text-anchor", "start"))))
    return found


def test_a_drawing_is_one_well_formed_svg_element_with_prefixed_ids() -> None:
    svg = Svg(200, 100, prefix="c")
    with svg.group("series-a"):
        svg.rect(1, 2, 3, 4, fill="#000", id="series-a-0", title="a < b")
        svg.circle(5, 6, 1.5, fill="#111")
    svg.line(0, 0, 10, 10.005, stroke="#222", dash="4 3")
    svg.text(10, 20, "label", anchor="middle", rotate=-90)
    root = ElementTree.fromstring(svg.render(root={"data-chart": "c"}, title="A & B"))
    assert root.tag == f"{SVG}svg" and root.get("viewBox") == "0 0 200 100" and root.get("data-chart") == "c"
    assert root.findtext(f"{SVG}title") == "A & B"
    assert {e.get("id") for e in root.iter() if e.get("id")} == {"c-title", "c-series-a", "c-series-a-0"}
    assert root.find(f"{SVG}line") is not None and root.find(f"{SVG}line").get("y2") == "10.01"  # type: ignore[union-attr]


def test_hostile_text_stays_text_in_content_and_attributes() -> None:
    svg = Svg(100, 100, prefix="h")
    for name in HOSTILE_NAMES:
        svg.text(0, 10, name)
        svg.rect(0, 0, 1, 1, fill="#000", title=name)
    svg.text(0, 10, 'quote" onload="alert(1)')
    svg.text(0, 10, "nul\x00 and \x1b[31m escape")  # characters XML 1.0 cannot carry are dropped
    document = svg.render(root={"data-x": '"><script>alert(1)</script>'}, title="<b>title</b>")
    root = ElementTree.fromstring(document)
    assert not [e for e in root.iter() if not e.tag.startswith(SVG)], "only SVG elements, no injected markup"
    texts = [e.text for e in root.iter(f"{SVG}text")]
    assert texts[: len(HOSTILE_NAMES)] == list(HOSTILE_NAMES)
    assert 'quote" onload="alert(1)' in texts and "nul and [31m escape" in texts
    assert root.get("data-x") == '"><script>alert(1)</script>'
    assert "<script>" not in document and "onload=" not in document.replace('onload="alert', "")


def test_every_chart_of_a_hostile_review_parses_and_shows_the_names_as_text() -> None:
    for chart in render_charts(hostile_review()):
        root = ElementTree.fromstring(chart.svg)
        assert not [e for e in root.iter() if not e.tag.startswith(SVG)], chart.id
    svg = top_gaps_chart([_row(HOSTILE_NAMES[0], 0.1, 0.0)], currency="<EUR>").svg
    assert "github.com/o/&lt;script&gt;alert(1)" in svg and "&lt;EUR&gt; per year" in svg and "<script" not in svg


def test_placed_labels_never_overlap_each_other_or_the_points() -> None:
    rng = random.Random(7)
    area = Box(0, 0, 400, 300)
    points = [(rng.uniform(150, 170), rng.uniform(140, 160)) for _ in range(25)]  # 25 labels on one spot
    obstacles = [Box(x - 3, y - 3, x + 3, y + 3) for x, y in points]
    placed = place_labels([(p, str(i + 1)) for i, p in enumerate(points)], area, obstacles)
    assert [label.text for label in placed] == [str(i + 1) for i in range(25)]
    for a, b in itertools.combinations(placed, 2):
        assert not a.box.overlaps(b.box), (a.text, b.text)
    for label in placed:
        assert not any(label.box.overlaps(o) for o in obstacles), label.text
        assert label.box.inside(area)
        assert label.leader is not None or abs(label.x - label.point[0]) <= 12  # far labels get a leader line


def test_a_full_area_puts_the_remaining_labels_below_it_still_apart() -> None:
    area = Box(0, 0, 30, 20)
    placed = place_labels([((15, 10), f"{i}, {i + 100}") for i in range(4)], area)
    for a, b in itertools.combinations(placed, 2):
        assert not a.box.overlaps(b.box)
    assert any(label.box.top >= area.bottom for label in placed)


def test_quadrant_rank_labels_do_not_overlap_at_6000_upstreams() -> None:
    others = _crowd(6000, seed=1)
    rng = random.Random(2)
    top = [_row(f"t{i}", 10 ** rng.uniform(-2.5, -2.2), 10 ** rng.uniform(-4.5, -4.0)) for i in range(20)]
    chart = gap_quadrant_chart([*others, *top], top=top)
    labels = _labels(ElementTree.fromstring(chart.svg))
    ranks = sorted(int(r) for value, _ in labels for r in value.split(", "))
    assert ranks == list(range(1, 21))  # every top gap named once
    for (a, box_a), (b, box_b) in itertools.combinations(labels, 2):
        apart = Box(box_a.left - LABEL_GAP, box_a.top, box_a.right + LABEL_GAP, box_a.bottom)
        assert not apart.overlaps(box_b), (a, b)  # not even touching: "2" beside "1, 5" would read "21, 5"


def test_density_squares_replace_dots_above_the_threshold_and_count_every_upstream() -> None:
    below = gap_quadrant_chart(_crowd(QUADRANT_MAX_POINTS, seed=3))
    above = gap_quadrant_chart(_crowd(QUADRANT_MAX_POINTS + 1, seed=3))
    group_below = _series(ElementTree.fromstring(below.svg), "upstreams")
    group_above = _series(ElementTree.fromstring(above.svg), "upstreams")
    assert len(group_below.findall(f"{SVG}circle")) == QUADRANT_MAX_POINTS and below.note == ""
    cells = group_above.findall(f"{SVG}rect")
    assert cells and not group_above.findall(f"{SVG}circle")
    assert len(cells) < QUADRANT_MAX_POINTS  # squares share upstreams, which is what keeps it readable
    counts = [int((cell.findtext(f"{SVG}title") or "0").split()[0].replace(",", "")) for cell in cells]
    assert sum(counts) == QUADRANT_MAX_POINTS + 1
    opacity = {count: float(cell.get("fill-opacity", "1")) for count, cell in zip(counts, cells, strict=True)}
    assert opacity[max(counts)] == 1.0 and opacity[min(counts)] < 1.0  # darker squares hold more
    assert "1,501 upstreams drawn as density squares" in above.note


def test_ticks_are_round_and_cover_the_data() -> None:
    assert nice_ticks(11_600) == [0, 2500, 5000, 7500, 10000, 12500]
    assert nice_ticks(3, integer=True) == [0, 1, 2, 3]
    assert nice_ticks(0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0.7, integer=True) == [0, 1]


def test_charts_are_deterministic_to_the_byte() -> None:
    first = gap_quadrant_chart(_crowd(2000, seed=5), top=_crowd(3, seed=6))
    second = gap_quadrant_chart(_crowd(2000, seed=5), top=_crowd(3, seed=6))
    assert first.svg == second.svg


def _series(root: Element, name: str) -> Element:
    [group] = [g for g in root.iter(f"{SVG}g") if g.get("id") == f"gap-quadrant-series-{name}"]
    return group


def test_labels_that_find_no_room_in_the_plot_go_below_it_inside_the_drawing() -> None:
    # 400 top gaps, each at its own spot (over 8 px apart), more labels than the plot has room for.
    top = [_row(f"t{i}", 10 ** (-3.9 + (i % 20) * 0.15), 10 ** (-3.9 + (i // 20) * 0.15)) for i in range(400)]
    chart = gap_quadrant_chart(top, top=top)
    root = ElementTree.fromstring(chart.svg)
    labels = _labels(root)
    assert sorted(int(r) for value, _ in labels for r in value.split(", ")) == list(range(1, 401))
    for (a, box_a), (b, box_b) in itertools.combinations(labels, 2):
        assert not box_a.overlaps(box_b), (a, b)
    height = float(root.get("height", "0"))
    assert max(box.bottom for _, box in labels) <= height
    assert height > 460  # the drawing grew to hold the labels set below the plot
