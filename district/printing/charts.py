"""Server-side charts as inline SVG (图表): no JavaScript, drawn by WeasyPrint like any other markup.

Both functions return :class:`markupsafe.Markup`, so a template writes ``{{ chart }}`` without
``|safe``; every piece of text inside (title, labels, values) is escaped here. They print legibly in black
and white: dark grey bars on white tracks with black outlines, a grey-filled radar polygon with a solid
outline and a dashed reference polygon, and every value written out as text beside its mark.

Geometry is in SVG user units (CSS px, 0.75 pt); the ``width`` attribute fixes the printed size and
``max-width: 100%`` in ``report.css`` shrinks a chart that would not fit its column.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal

from markupsafe import Markup, escape

__all__ = ["bar_chart_svg", "radar_chart_svg"]

Number = int | float | Decimal
Item = tuple[str, Number | None, Number]
ValueFormat = Callable[[Number | None, Number], str]

_FONT = "'Noto Sans CJK SC', 'Noto Sans', sans-serif"
_INK = "#000"
_BAR = "#595959"  # 65% black: solid on a laser printer, still distinct from the white track
_GRID = "#a6a6a6"


def _number(value: Number | None) -> float:
    if value is None:
        return 0.0
    result = float(value)
    return result if math.isfinite(result) else 0.0


def _fmt(value: Number | None) -> str:
    if value is None:
        return "—"
    d = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if d == d.to_integral_value():
        return f"{int(d)}"
    return f"{d.quantize(Decimal('0.1')):f}"


def default_value_format(value: Number | None, maximum: Number) -> str:
    """``"81.5 / 100"``."""
    return f"{_fmt(value)} / {_fmt(maximum)}"


def _text_width(text: str, size: float) -> float:
    """Rough advance width: CJK glyphs are one em, Latin and digits about half."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.56 for ch in text)


def _fit(text: str, size: float, room: float) -> str:
    if _text_width(text, size) <= room:
        return text
    while text and _text_width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def _attrs(**attrs: object) -> str:
    return " ".join(f'{k.rstrip("_").replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())


def _svg_open(width: float, height: float, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" role="img" '
        f"{_attrs(width=_r(width), height=_r(height), viewBox=f'0 0 {_r(width)} {_r(height)}')} "
        f"{_attrs(aria_label=title, font_family=_FONT)}>",
        f"<title>{escape(title)}</title>",
    ]


def _r(x: float) -> str:
    """Coordinates with at most two decimals keep the markup short."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def bar_chart_svg(
    items: Sequence[Item],
    *,
    width: float = 640,
    height: float | None = None,
    title: str = "",
    value_format: ValueFormat = default_value_format,
) -> Markup:
    """Horizontal bars, one row per ``(label, value, maximum)``; the bar is value/maximum of a full track.

    ``height`` defaults to what the rows need (24 px each); a smaller height squeezes the rows. A value above
    its maximum fills the track (the text still says the true value); ``None`` draws no bar and prints "—".
    """
    if not items:
        raise ValueError("bar_chart_svg needs at least one item")
    font = 11.0
    top = 30.0 if title else 8.0
    row_h = 24.0 if height is None else max(12.0, (height - top - 8) / len(items))
    total_h = height if height is not None else top + row_h * len(items) + 8
    label_w = min(width * 0.32, max(_text_width(str(label), font) for label, _, _ in items) + 10)
    value_w = max(_text_width(value_format(v, m), font) for _, v, m in items) + 12
    x0 = label_w
    track_w = max(20.0, width - label_w - value_w - 4)
    bar_h = min(14.0, row_h * 0.62)

    out = _svg_open(width, total_h, title)
    if title:
        out.append(f"<text {_attrs(x=0, y=18, font_size=13, font_weight='bold', fill=_INK)}>{escape(title)}</text>")
    # Quarter gridlines behind the bars help read values without colour.
    grid_bottom = top + row_h * len(items)
    for q in (0.25, 0.5, 0.75):
        x = _r(x0 + track_w * q)
        out.append(
            f"<line {_attrs(x1=x, y1=_r(top), x2=x, y2=_r(grid_bottom), stroke=_GRID, stroke_width=0.5)} "
            f'stroke-dasharray="2 2"/>'
        )
    for i, (label, value, maximum) in enumerate(items):
        y = top + row_h * i
        bar_y = y + (row_h - bar_h) / 2
        text_y = _r(y + row_h / 2 + font * 0.36)
        shown = _fit(str(label), font, label_w - 8)
        out.append(
            f"<text {_attrs(x=_r(x0 - 6), y=text_y, font_size=_r(font), text_anchor='end', fill=_INK)}>"
            f"{escape(shown)}</text>"
        )
        out.append(
            f"<rect {_attrs(x=_r(x0), y=_r(bar_y), width=_r(track_w), height=_r(bar_h), fill='#fff')} "
            f"{_attrs(stroke=_INK, stroke_width=0.6)}/>"
        )
        top_value = _number(maximum)
        ratio = 0.0 if top_value <= 0 else min(1.0, max(0.0, _number(value) / top_value))
        if value is not None and ratio > 0:
            out.append(
                f"<rect {_attrs(x=_r(x0), y=_r(bar_y), width=_r(track_w * ratio), height=_r(bar_h))} "
                f"{_attrs(fill=_BAR, stroke=_INK, stroke_width=0.6)}/>"
            )
        out.append(
            f"<text {_attrs(x=_r(x0 + track_w + 6), y=text_y, font_size=_r(font), fill=_INK)}>"
            f"{escape(value_format(value, maximum))}</text>"
        )
    out.append("</svg>")
    return Markup("\n".join(out))  # noqa: S704 - every interpolated text above went through escape()


def radar_chart_svg(
    items: Sequence[Item],
    *,
    width: float = 560,
    height: float = 400,
    title: str = "",
    reference: Sequence[Number | None] | None = None,
    series_label: str = "本校",
    reference_label: str = "全县平均",
    absent_label: str = "不适用",
) -> Markup:
    """A radar (蛛网图) of ``(label, value, maximum)`` per axis, each axis scaled to its own maximum.

    Meant for the seven rubric areas (labels from ``district.scoring.rubric``: 五项整治 … 学生公寓), but any
    three or more axes work. The school's
    polygon is grey-filled with a solid outline and round points; ``reference`` (same order, same maxima,
    e.g. the county average) is a dashed outline with square points. Axis labels carry the value. A value of
    ``None`` (不适用: nothing was available on that axis) is absent, not 0: no point is drawn on its axis, the
    polygon joins the neighbouring axes, and the label says ``absent_label``.
    """
    if len(items) < 3:
        raise ValueError("radar_chart_svg needs at least three axes")
    if reference is not None and len(reference) != len(items):
        raise ValueError("reference must have one value per axis")
    font = 11.0
    top = 30.0 if title else 8.0
    legend_h = 22.0
    cx = width / 2
    cy = top + (height - top - legend_h) / 2
    radius = max(30.0, min((height - top - legend_h) / 2 - 34, width / 2 - 120))
    n = len(items)

    def point(i: int, fraction: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * i / n  # first axis straight up, then clockwise
        return cx + radius * fraction * math.cos(angle), cy + radius * fraction * math.sin(angle)

    def fraction(value: Number | None, maximum: Number) -> float:
        top_value = _number(maximum)
        return 0.0 if top_value <= 0 else min(1.0, max(0.0, _number(value) / top_value))

    def polygon(fractions: Sequence[float | None]) -> str:
        return " ".join(f"{_r(x)},{_r(y)}" for x, y in (point(i, f) for i, f in enumerate(fractions) if f is not None))

    def fraction_or_absent(value: Number | None, maximum: Number) -> float | None:
        return None if value is None else fraction(value, maximum)

    out = _svg_open(width, height, title)
    if title:
        out.append(f"<text {_attrs(x=0, y=18, font_size=13, font_weight='bold', fill=_INK)}>{escape(title)}</text>")
    for ring in (0.2, 0.4, 0.6, 0.8, 1.0):
        out.append(
            f"<polygon {_attrs(points=polygon([ring] * n), fill='none', stroke=_GRID)} "
            f'stroke-width="{0.9 if ring == 1.0 else 0.5}"/>'
        )
    for i in range(n):
        x, y = point(i, 1.0)
        out.append(f"<line {_attrs(x1=_r(cx), y1=_r(cy), x2=_r(x), y2=_r(y), stroke=_GRID, stroke_width=0.5)}/>")
    for ring in (0.2, 0.4, 0.6, 0.8, 1.0):  # percentage scale along the first axis
        x, y = point(0, ring)
        out.append(f"<text {_attrs(x=_r(x + 3), y=_r(y + 3), font_size=7.5, fill='#555')}>{int(ring * 100)}%</text>")

    if reference is not None:
        ref = [fraction_or_absent(v, m) for v, (_, _, m) in zip(reference, items, strict=True)]
        out.append(
            f"<polygon {_attrs(points=polygon(ref), fill='none', stroke=_INK, stroke_width=1.2)} "
            f'stroke-dasharray="5 3"/>'
        )
        for i, f in enumerate(ref):
            if f is None:
                continue
            x, y = point(i, f)
            out.append(f"<rect {_attrs(x=_r(x - 2.5), y=_r(y - 2.5), width=5, height=5, fill=_INK)}/>")
    own = [fraction_or_absent(v, m) for _, v, m in items]
    out.append(
        f"<polygon {_attrs(points=polygon(own), fill=_BAR, fill_opacity=0.35)} "
        f"{_attrs(stroke=_INK, stroke_width=1.6)}/>"
    )
    for i, f in enumerate(own):
        if f is None:
            continue
        x, y = point(i, f)
        out.append(f"<circle {_attrs(cx=_r(x), cy=_r(y), r=2.6, fill=_INK)}/>")

    for i, (label, value, _maximum) in enumerate(items):
        x, y = point(i, 1.0)
        dx = x - cx
        anchor = "middle" if abs(dx) < radius * 0.15 else ("start" if dx > 0 else "end")
        lx = x + (8 if anchor == "start" else -8 if anchor == "end" else 0)
        dy = y - cy
        ly = y + (-22 if dy < -radius * 0.85 else 14 if dy > radius * 0.85 else -2)
        room = width / 2 - radius - 14 if anchor != "middle" else width * 0.45
        out.append(
            f"<text {_attrs(x=_r(lx), y=_r(ly), font_size=_r(font), text_anchor=anchor, fill=_INK)}>"
            f"{escape(_fit(str(label), font, room))}</text>"
        )
        out.append(
            f"<text {_attrs(x=_r(lx), y=_r(ly + font + 1), font_size=_r(font - 1), text_anchor=anchor)} "
            f"{_attrs(fill=_INK, font_weight='bold')}>{escape(absent_label if value is None else _fmt(value))}</text>"
        )

    # Legend, bottom left: the marks themselves, so it reads the same in black and white.
    ly = height - 8
    out.append(
        f"<rect {_attrs(x=0, y=_r(ly - 9), width=16, height=10, fill=_BAR, fill_opacity=0.35)} "
        f"{_attrs(stroke=_INK, stroke_width=1.2)}/>"
        f"<text {_attrs(x=22, y=_r(ly), font_size=10, fill=_INK)}>{escape(series_label)}</text>"
    )
    if reference is not None:
        lx = 32 + _text_width(series_label, 10) + 16
        out.append(
            f"<line {_attrs(x1=_r(lx), y1=_r(ly - 4), x2=_r(lx + 18), y2=_r(ly - 4), stroke=_INK)} "
            f'stroke-width="1.2" stroke-dasharray="5 3"/>'
            f"<text {_attrs(x=_r(lx + 24), y=_r(ly), font_size=10, fill=_INK)}>"
            f"{escape(reference_label)}</text>"
        )
    out.append("</svg>")
    return Markup("\n".join(out))  # noqa: S704 - every interpolated text above went through escape()
