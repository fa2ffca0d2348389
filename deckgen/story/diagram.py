"""The network diagram: nodes and weighted edges at one iteration, laid out for an SVG.

The SVG is drawn at exactly the size of its box (CSS px of the 1280x720 slide), so its type sizes are the
slide's and every label renders at :data:`LABEL_PX`. Each weight label sits on its own edge, on a
background, where no other edge, label or node touches it; an edge with no such place goes unlabelled
rather than labelled small.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deckgen.story.names import output_label
from deckgen.story.views import Layout

#: Units of a layer the diagram draws; wider layers are cut to their first ``MAX_UNITS``.
MAX_UNITS = 10
#: The box the network slide draws the diagram in (its content width, the height above its text).
BOX = (1232, 440)
#: Type size of node names and weight labels (deck.css), 19.4 px on screen at 1280x720.
LABEL_PX = 20
MONO, SANS = 0.62, 0.56          # advance of a character in em, generous
#: Where along an edge a weight label may sit, tried in this order.
ALONG = tuple(sorted((round(0.1 + 0.02 * i, 2) for i in range(41)), key=lambda f: (abs(f - 0.5), f)))


def _crosses(x1: float, y1: float, x2: float, y2: float, box: tuple[float, float, float, float]) -> bool:
    """Whether the segment (x1, y1)-(x2, y2) passes through the box (left, top, right, bottom): Liang-Barsky."""
    left, top, right, bottom = box
    lo, hi = 0.0, 1.0
    dx, dy = x2 - x1, y2 - y1
    for p, q in ((-dx, x1 - left), (dx, right - x1), (-dy, y1 - top), (dy, bottom - y1)):
        if p == 0:
            if q < 0:
                return False
        else:
            r = q / p
            if p < 0:
                lo = max(lo, r)
            else:
                hi = min(hi, r)
            if lo > hi:
                return False
    return True


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(edges: list[dict], texts: list[str], blocked: list[tuple[float, ...]]) -> list[tuple[float, float] | None]:
    """A centre on its own edge for each label, clear of every other edge, every other label and ``blocked``
    boxes (nodes and their names); None where an edge has no such place. The edges with the fewest free
    places choose first."""
    h = LABEL_PX + 8
    free: list[list[tuple[float, float, tuple[float, ...]]]] = []
    for i, (e, text) in enumerate(zip(edges, texts, strict=True)):
        w = len(text) * MONO * LABEL_PX + 10
        spots = []
        for f in ALONG:
            cx, cy = e["x1"] + (e["x2"] - e["x1"]) * f, e["y1"] + (e["y2"] - e["y1"]) * f
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            roomy = (box[0] - 4, box[1] - 4, box[2] + 4, box[3] + 4)
            if any(_overlap(roomy, other) for other in blocked):
                continue
            if any(_crosses(o["x1"], o["y1"], o["x2"], o["y2"], roomy) for j, o in enumerate(edges) if j != i):
                continue
            spots.append((cx, cy, box))
        free.append(spots)
    placed: list[tuple[float, ...]] = []
    out: list[tuple[float, float] | None] = [None] * len(edges)
    for i in sorted(range(len(edges)), key=lambda i: len(free[i])):
        for cx, cy, box in free[i]:
            if not any(_overlap((box[0] - 4, box[1] - 4, box[2] + 4, box[3] + 4), other) for other in placed):
                out[i] = (cx, cy)
                placed.append(box)
                break
    return out


def diagram(trace, layout: Layout, t: int, names: tuple[tuple[str, ...], ...], *,
            weight_labels: bool = True, box: tuple[int, int] = BOX, animate: bool = False) -> dict[str, Any]:
    """Node positions and weighted edges of the network at iteration ``t``, in a ``box`` of CSS px.

    Input and output names stand outside their nodes; hidden units are numbered inside theirs when the
    nodes are large enough to hold the number.
    ``animate``: every edge carries a stable id, so auto-animate changes it in place between slides.
    """
    layers = trace.layers
    width, height = box
    pad = LABEL_PX + 12
    shown = [min(n, MAX_UNITS) for n in layers]
    label_of = [[names[i][j] if i < len(names) and j < len(names[i]) else (f"h{j + 1}" if 0 < i < len(layers) - 1 else "")
                 for j in range(n)] for i, n in enumerate(shown)]
    label_of[-1] = [output_label(x) for x in label_of[-1]]
    gaps = [(height - 2 * pad) / (n - 1) for n in shown if n > 1]
    radius = round(min([22.0] + [0.42 * g for g in gaps]), 1)
    inside = radius * 2 >= SANS * (LABEL_PX - 1) * 3       # room for "h10" inside a hidden node
    left = 8 + SANS * LABEL_PX * max((len(x) for x in label_of[0]), default=0) + radius + 8
    right = 8 + SANS * LABEL_PX * max((len(x) for x in label_of[-1]), default=0) + radius + 8
    xs = [left + i * (width - left - right) / max(len(layers) - 1, 1) for i in range(len(layers))]
    nodes, edges, blocked = [], [], []
    pos: dict[tuple[int, int], tuple[float, float]] = {}
    for i, n in enumerate(shown):
        gap = (height - 2 * pad) / max(n - 1, 1) if n > 1 else 0
        top = height / 2 - gap * (n - 1) / 2
        last = i == len(layers) - 1
        for j in range(n):
            x, y = round(xs[i], 1), round(top + j * gap, 1)
            pos[i, j] = (x, y)
            label = label_of[i][j] if (i == 0 or last or inside) else ""
            nodes.append({"x": x, "y": y, "layer": i, "label": label,
                          "role": "input" if i == 0 else ("output" if last else "activation"),
                          # names of inputs and outputs stand outside the node, hidden numbers inside
                          "lx": x - radius - 8 if i == 0 else (x + radius + 8 if last else x), "ly": round(y + 0.35 * LABEL_PX, 1),
                          "anchor": "end" if i == 0 else ("start" if last else "middle")})
            blocked.append((x - radius, y - radius, x + radius, y + radius))
    have_weights = all(trace.has(f"W{k}", t) for k in range(1, len(layers)))
    biggest = max((float(np.abs(trace.get(f"W{k}", t)).max()) for k in range(1, len(layers))), default=1.0) if have_weights else 1.0
    label_edges = weight_labels and have_weights and sum(shown[i] * shown[i + 1] for i in range(len(shown) - 1)) <= 24
    for k in range(1, len(layers)):
        for i in range(shown[k - 1]):
            for j in range(shown[k]):
                w = trace.value(f"W{k}", t, i, j) if have_weights else 0.0
                (x1, y1), (x2, y2) = pos[k - 1, i], pos[k, j]
                strength = abs(w) / biggest if biggest else 0.0
                edges.append({
                    "x1": x1, "y1": y1, "x2": x2, "y2": y2, "id": f"edge-W{k}-{i}-{j}" if animate else "",
                    "sign": "pos" if w >= 0 else "neg",
                    "width": round(1 + 7 * strength, 2), "opacity": round(0.25 + 0.75 * strength, 2),
                    "num": layout.num(trace, f"W{k}", t, i, j) if label_edges else None,
                })
    if label_edges:
        spots = place_labels(edges, [e["num"].text for e in edges], blocked)
        for e, spot in zip(edges, spots, strict=True):
            if spot is None:
                e["num"] = None
                continue
            half = (len(e["num"].text) * MONO * LABEL_PX + 10) / 2
            e.update(lx=round(spot[0], 1), ly=round(spot[1], 1), bx=round(spot[0] - half, 1),
                     by=round(spot[1] - (LABEL_PX + 8) / 2, 1), bw=round(2 * half, 1), bh=LABEL_PX + 8)
    labelled = sum(e["num"] is not None for e in edges)
    return {"nodes": nodes, "edges": edges, "width": width, "height": height, "radius": radius,
            "cut": any(n > MAX_UNITS for n in layers), "max_units": MAX_UNITS,
            "unlabelled": len(edges) - labelled if 0 < labelled < len(edges) else 0}
