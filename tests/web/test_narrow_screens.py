"""#58: at phone width the charts scale to the card and the channels table wraps instead of overflowing."""

from __future__ import annotations

import re
from pathlib import Path

CSS = (Path(__file__).resolve().parents[2] / "bot" / "web" / "static" / "app.css").read_text(encoding="utf-8")


def narrow_rules() -> str:
    start = CSS.index("@media (max-width: 640px)")
    return CSS[start : CSS.index("\n}", start)]


def test_charts_scale_to_the_container_at_every_width() -> None:
    assert re.search(r"svg\.chart \{[^}]*width: 100%", CSS)
    assert "svg.chart { min-width" not in CSS  # a 680 px minimum put the newest bars off a phone's edge


def test_the_channels_table_wraps_its_cells_on_a_phone() -> None:
    rules = narrow_rules()
    assert re.search(r"\.table\.channels td \{[^}]*flex-wrap: wrap", rules)
    assert "overflow-wrap: anywhere" in rules


def test_chart_svgs_carry_a_viewbox_and_no_fixed_width() -> None:
    from bot.web import svg

    source = Path(svg.__file__).read_text(encoding="utf-8")
    for tag in re.findall(r"<svg class=\"chart\"[^\n]*", source):
        assert "viewBox" in tag
        assert "width=" not in tag
