"""A figure regenerated from the same records is the same file, byte for byte: no
creation date and fixed SVG element ids (regenerated docs show no churn in git)."""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from semnet.analysis.style import save, save_to


def _figure() -> Figure:
    fig = Figure(figsize=(3, 2))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot([0, 1, 2], [1, 3, 2], label="finefed")
    ax.imshow([[0.0, 1.0], [1.0, 0.0]], extent=(0, 2, 0, 3), alpha=0.3)  # clip paths and an embedded image
    ax.legend()
    return fig


def test_the_same_figure_saved_twice_gives_the_same_bytes(tmp_path):
    first = save(_figure(), tmp_path / "a", "fig")
    second = save(_figure(), tmp_path / "b", "fig")
    assert [p.name for p in first] == ["fig.png", "fig.svg"]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert b"<dc:date>" not in first[1].read_bytes()
    pdf_a, pdf_b = save_to(_figure(), tmp_path / "a.pdf", "fig"), save_to(_figure(), tmp_path / "b.pdf", "fig")
    assert pdf_a[0].read_bytes() == pdf_b[0].read_bytes()
    assert b"CreationDate" not in pdf_a[0].read_bytes()
