"""The report's two plots as PNG bytes: metrics per question type (heatmap) and latency per stage.

Uses matplotlib's object API with the Agg canvas (no pyplot, no global state, no display needed) and
strips PNG metadata so the same numbers give the same bytes. Does not write files or HTML.
"""

from __future__ import annotations

import base64
import io
import math

PLOTTED = ("hit@5", "mrr", "ndcg@10", "key_fact_recall", "citation_validity", "cited_evidence",
           "supported_sentences", "refusal_accuracy", "dutch_share")
STAGE_COLOURS = {"retrieve": "#1f77b4", "generate": "#ff7f0e", "total": "#2ca02c"}


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def metrics_by_type(by_type: dict[str, dict], overall: dict) -> bytes:
    """Heatmap: rows are question types (and 'overall'), columns the plotted metrics, cells annotated."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    rows = [*by_type, "overall"]
    table = [[_num((by_type.get(t) or overall).get(name)) for name in PLOTTED] for t in rows]
    fig = Figure(figsize=(11, 0.55 * len(rows) + 1.8))
    ax = fig.add_subplot()
    cmap = colormaps["RdYlGn"].with_extremes(bad="#dddddd")
    image = ax.imshow(table, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(PLOTTED)), PLOTTED, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), [f"{t} (n={(by_type.get(t) or overall)['n']})" for t in rows])
    for i, row in enumerate(table):
        for j, value in enumerate(row):
            ax.text(j, i, "–" if math.isnan(value) else f"{value:.2f}", ha="center", va="center", fontsize=9)
    ax.set_title("Metrieken per vraagtype (grijs: niet van toepassing)")
    fig.colorbar(image, ax=ax, fraction=0.025)
    return _png(fig)


def latency_histogram(rows: list[dict]) -> bytes:
    """One histogram per stage (retrieve, generate, total) of the per-question timings in ms."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.2))
    axes = fig.subplots(1, len(STAGE_COLOURS))
    for ax, (stage, colour) in zip(axes, STAGE_COLOURS.items(), strict=True):
        values = [r["timings_ms"][stage] for r in rows if r["timings_ms"].get(stage) is not None]
        if values:
            ax.hist(values, bins=min(20, max(5, len(values) // 2)), color=colour)
        else:
            ax.text(0.5, 0.5, "geen metingen", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(f"{stage} (n={len(values)})")
        ax.set_xlabel("ms")
    axes[0].set_ylabel("vragen")
    fig.suptitle("Latentie per stap")
    fig.tight_layout()
    return _png(fig)


def _num(value) -> float:
    return float("nan") if value is None else float(value)
