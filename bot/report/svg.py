"""A small SVG writer for the review's charts: shapes, text and groups, no dependency.

Every string that reaches the document goes through :func:`text` or :func:`attribute` (XML
escaping, and characters XML 1.0 cannot hold dropped), so upstream-controlled names stay text.
Numbers are written with at most two decimals, so the same chart gives the same bytes.
Text is not measured by a font engine: :func:`text_width` estimates it (DejaVu Sans averages
about 0.6 em a character), which is what margins and label placement need.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
#: Average advance of a character in em (DejaVu Sans, the page's font, runs 0.55 to 0.62 for text).
CHAR_EM = 0.6

# Characters XML 1.0 cannot carry at all (controls other than tab, newline, carriage return; surrogates; U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def text(value: str) -> str:
    """``value`` as XML character data: markup escaped, characters XML cannot hold dropped."""
    return escape(_NOT_XML.sub("", value))


def attribute(value: str) -> str:
    """``value`` as a quoted XML attribute value."""
    return quoteattr(_NOT_XML.sub("", value), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def number(value: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros, no ``-0``."""
    formatted = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if formatted in ("-0", "") else formatted


def text_width(value: str, size: float) -> float:
    """Estimated width of ``value`` at font ``size`` (px)."""
    return len(value) * size * CHAR_EM


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned rectangle in drawing coordinates (y grows downwards)."""

    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box) -> bool:
        return not (
            self.right <= other.left or other.right <= self.left or self.bottom <= other.top or other.bottom <= self.top
        )

    def inside(self, other: Box) -> bool:
        return (
            other.left <= self.left
            and self.right <= other.right
            and other.top <= self.top
            and self.bottom <= other.bottom
        )


def text_box(x: float, y: float, value: str, size: float, anchor: str = "start") -> Box:
    """Where a ``<text>`` at (x, y) (baseline) with this anchor is estimated to be drawn."""
    width = text_width(value, size)
    left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
    return Box(left, y - size * 0.8, left + width, y + size * 0.25)


class Svg:
    """An SVG document built element by element; :meth:`render` returns it as one ``<svg>`` element.

    ``prefix`` is put before every id given to an element, so several drawings can share one page.
    """

    def __init__(self, width: float, height: float, *, prefix: str, font_size: float = 9.0) -> None:
        self.width = width
        self.height = height
        self.prefix = prefix
        self.font_size = font_size
        self._parts: list[str] = []

    def _attrs(self, id: str | None, extra: dict[str, str | float | None]) -> str:
        parts = [f" id={attribute(f'{self.prefix}-{id}')}"] if id else []
        for key, value in extra.items():
            if value is None:
                continue
            shown = number(value) if isinstance(value, float | int) else value
            parts.append(f" {key}={attribute(shown)}")
        return "".join(parts)

    def rect(
        self,
        x: float,
        y: float,
        width: float,
        height: float,
        *,
        fill: str,
        id: str | None = None,
        opacity: float | None = None,
        title: str | None = None,
    ) -> None:
        attrs = self._attrs(
            id,
            {
                "x": x,
                "y": y,
                "width": max(width, 0.0),
                "height": max(height, 0.0),
                "fill": fill,
                "fill-opacity": opacity,
            },
        )
        self._element("rect", attrs, title)

    def circle(
        self, cx: float, cy: float, r: float, *, fill: str, id: str | None = None, opacity: float | None = None
    ) -> None:
        self._element("circle", self._attrs(id, {"cx": cx, "cy": cy, "r": r, "fill": fill, "fill-opacity": opacity}))

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        *,
        stroke: str,
        width: float = 1.0,
        dash: str | None = None,
        id: str | None = None,
    ) -> None:
        attrs = self._attrs(
            id,
            {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "stroke": stroke, "stroke-width": width, "stroke-dasharray": dash},
        )
        self._element("line", attrs)

    def text(
        self,
        x: float,
        y: float,
        value: str,
        *,
        size: float | None = None,
        anchor: str = "start",
        fill: str = "#2d3748",
        rotate: float | None = None,
        id: str | None = None,
        css_class: str | None = None,
    ) -> None:
        attrs = self._attrs(
            id,
            {
                "x": x,
                "y": y,
                "font-size": size or self.font_size,
                "text-anchor": None if anchor == "start" else anchor,
                "fill": fill,
                "class": css_class,
                "transform": None if rotate is None else f"rotate({number(rotate)} {number(x)} {number(y)})",
            },
        )
        self._parts.append(f"<text{attrs}>{text(value)}</text>")

    @contextmanager
    def group(self, id: str | None = None, **extra: str) -> Iterator[None]:
        """Elements drawn inside the ``with`` block form one ``<g>`` (a series, a legend)."""
        self._parts.append(f"<g{self._attrs(id, {k.replace('_', '-'): v for k, v in extra.items()})}>")
        try:
            yield
        finally:
            self._parts.append("</g>")

    def _element(self, tag: str, attrs: str, title: str | None = None) -> None:
        if title is None:
            self._parts.append(f"<{tag}{attrs}/>")
        else:
            self._parts.append(f"<{tag}{attrs}><title>{text(title)}</title></{tag}>")

    def render(self, *, root: dict[str, str], title: str | None = None) -> str:
        """The document; ``root`` adds attributes to the ``<svg>`` element, ``title`` its accessible name."""
        attrs = "".join(f" {key}={attribute(value)}" for key, value in root.items())
        size = f"0 0 {number(self.width)} {number(self.height)}"
        head = (
            f"<svg xmlns={attribute(SVG_NAMESPACE)}{attrs} viewBox={attribute(size)} "
            f'width="{number(self.width)}" height="{number(self.height)}" '
            f'font-family="DejaVu Sans, Bitstream Vera Sans, Arial, sans-serif" font-size="{number(self.font_size)}">'
        )
        heading = f"<title id={attribute(f'{self.prefix}-title')}>{text(title)}</title>" if title is not None else ""
        return "\n".join([head + heading, *self._parts, "</svg>"])
