"""The network diagram: nodes and weighted edges at one iteration, laid out for an SVG."""

from __future__ import annotations

from typing import Any

import numpy as np

from deckgen.story.views import Layout

#: Units of a layer the diagram draws; wider layers are cut to their first ``MAX_UNITS``.
MAX_UNITS = 10


def diagram(trace, layout: Layout, t: int, names: tuple[tuple[str, ...], ...], *,
             weight_labels: bool = True, animate: bool = False) -> dict[str, Any]:
    """Node positions and weighted edges of the network at iteration ``t``.

    Coordinates are in a box 1000 wide and 560 high, widened on the left and right for the input
    and output names, which stand outside their nodes; hidden units are numbered inside theirs.
    ``animate``: every edge carries a stable id, so auto-animate changes it in place between slides.
    """
    layers = trace.layers
    height, pad, radius = 560, 50, 22
    shown = [min(n, MAX_UNITS) for n in layers]
    label_of = [[names[i][j] if i < len(names) and j < len(names[i]) else (f"h{j + 1}" if 0 < i < len(layers) - 1 else "")
                 for j in range(n)] for i, n in enumerate(shown)]
    left = 40 + 11 * max((len(x) for x in label_of[0]), default=0)
    right = 40 + 11 * max((len(x) for x in label_of[-1]), default=0)
    width = 1000 + left + right
    xs = [left + pad + i * (1000 - 2 * pad) / max(len(layers) - 1, 1) for i in range(len(layers))]
    nodes, edges = [], []
    pos: dict[tuple[int, int], tuple[float, float]] = {}
    for i, n in enumerate(shown):
        gap = (height - 2 * pad) / max(n - 1, 1) if n > 1 else 0
        top = height / 2 - gap * (n - 1) / 2
        last = i == len(layers) - 1
        for j in range(n):
            x, y = round(xs[i], 1), round(top + j * gap, 1)
            pos[i, j] = (x, y)
            nodes.append({"x": x, "y": y, "layer": i, "label": label_of[i][j],
                          "role": "input" if i == 0 else ("output" if last else "activation"),
                          # names of inputs and outputs stand outside the node, hidden numbers inside
                          "lx": x - radius - 8 if i == 0 else (x + radius + 8 if last else x), "ly": y + 6,
                          "anchor": "end" if i == 0 else ("start" if last else "middle")})
    have_weights = all(trace.has(f"W{k}", t) for k in range(1, len(layers)))
    biggest = max((float(np.abs(trace.get(f"W{k}", t)).max()) for k in range(1, len(layers))), default=1.0) if have_weights else 1.0
    label_edges = weight_labels and have_weights and sum(shown[i] * shown[i + 1] for i in range(len(shown) - 1)) <= 24
    for k in range(1, len(layers)):
        along = [0.22 + 0.5 * j / max(shown[k] - 1, 1) for j in range(shown[k])]
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
                    # labels spread along the edges by target unit, so edges leaving one node don't collide
                    "lx": round(x1 + (x2 - x1) * along[j], 1), "ly": round(y1 + (y2 - y1) * along[j] - 8, 1),
                })
    return {"nodes": nodes, "edges": edges, "width": round(width), "height": height, "radius": radius,
            "cut": any(n > MAX_UNITS for n in layers), "max_units": MAX_UNITS}
