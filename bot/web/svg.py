"""Charts drawn as SVG on the server (no script, no network): stacked bars, a timeline, a sparkline.
Every label is escaped; the markup is ours alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = (
    "#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed",
    "#0891b2", "#db2777", "#65a30d", "#9333ea", "#475569",
)  # fmt: skip


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def stacked_bars(
    buckets: Sequence[str],
    series: Mapping[str, Sequence[int]],
    *,
    tick_every: int = 1,
    tick_label: Sequence[str] | None = None,
    title: str = "",
    width: int = 960,
    height: int = 260,
) -> Markup:
    """Bars per bucket, one coloured segment per series (stacked), with a y scale and x ticks."""
    left, right, top, bottom = 44, 8, 10, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for values in series.values()) for i in range(len(buckets))]
    peak = max(totals, default=0) or 1
    step = plot_w / max(1, len(buckets))
    bar = max(1.0, step * 0.8)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title>",
    ]
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{round(peak * frac)}</text>'
        )
    labels = tick_label or buckets
    for i, _bucket in enumerate(buckets):
        x = left + i * step + (step - bar) / 2
        y = top + plot_h
        for s_index, (name, values) in enumerate(series.items()):
            value = values[i]
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{color(s_index)}">'
                f"<title>{escape(labels[i])} · {escape(name)}: {value}</title></rect>"
            )
        if i % max(1, tick_every) == 0:
            parts.append(
                f'<text class="axis" x="{left + i * step + step / 2:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle">{escape(labels[i])}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True, slots=True)
class Dot:
    """One post on a timeline: where (0..1 across the window), its tooltip and its page."""

    at: float
    title: str
    href: str


def timeline(
    lanes: Sequence[tuple[str, Sequence[Dot]]],
    ticks: Sequence[tuple[float, str]],
    *,
    title: str = "",
    width: int = 960,
) -> Markup:
    """One lane per channel with a dot per post, linked to the post page."""
    left, right, top, lane_h = 170, 44, 8, 28
    height = top + lane_h * max(1, len(lanes)) + 30
    plot_w = width - left - right
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title>",
    ]
    for at, label in ticks:
        x = left + plot_w * at
        parts.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - 26}"/>')
        parts.append(
            f'<text class="axis" x="{x:.1f}" y="{height - 10}" text-anchor="middle">{escape(label)}</text>'
        )
    for i, (name, dots) in enumerate(lanes):
        y = top + lane_h * i + lane_h / 2
        shown = name if len(name) <= 24 else name[:23] + "…"
        parts.append(
            f'<text class="lane" x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{escape(shown)}</text>'
        )
        parts.append(f'<line class="lane-line" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        for dot in dots:
            x = left + plot_w * min(1.0, max(0.0, dot.at))
            parts.append(
                f'<a href="{escape(dot.href)}"><circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{color(i)}">'
                f"<title>{escape(dot.title)}</title></circle></a>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(values: Sequence[int], *, width: int = 120, height: int = 24, title: str = "") -> Markup:
    """Small bars for a short series (matches per day on the rules page)."""
    peak = max(values, default=0) or 1
    step = width / max(1, len(values))
    parts = [
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for i, value in enumerate(values):
        h = (height - 2) * value / peak if value else 0
        parts.append(
            f'<rect x="{i * step + 0.5:.1f}" y="{height - h - 1:.1f}" width="{max(1.0, step - 1):.1f}" '
            f'height="{max(h, 1 if value else 0):.1f}"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
