"""Where an activation slide's points go: the curve figure's fixed frame, and each z value's place in it.

Each activation function's curve is drawn once per deck (``figures/<name>.svg``)
on axes at a fixed place in the figure with fixed limits, so the mapping from
data to the figure's SVG coordinates is known here, without matplotlib. The
slide lays the iteration's points over the figure as SVG circles at the
positions computed here; the figure never changes with the iteration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deckgen.core.activations import FUNCTIONS

#: The figure's size in inches; matplotlib writes SVG at 72 units per inch.
SIZE = (8.0, 4.2)
#: The axes' rectangle in figure fractions: left, bottom, width, height.
AXES = (0.105, 0.165, 0.875, 0.805)
#: The plotted z range is -REACH..REACH; values beyond are drawn at the edge, marked as beyond.
REACH = 8.0
_PAD = 0.06   # of the curve's height, above and below it

#: Most weighted sums marked on an activation slide; each mark is an SVG element.
MAX_MARKS = 500


@dataclass(frozen=True)
class Point:
    """One z value's marker: its centre in the figure's SVG units, and whether it lies beyond the plot."""

    x: str
    y: str
    beyond: bool


@dataclass(frozen=True)
class Frame:
    """The curve figure's coordinate frame: its SVG size and the data limits of its axes."""

    activation: str
    x: tuple[float, float]
    y: tuple[float, float]
    slope: bool = False          # the figure plots f'(z) rather than f(z)

    def value(self, z):
        a = FUNCTIONS[self.activation]
        return (a.gradient if self.slope else a.curve)(z)

    @property
    def width(self) -> float:
        return SIZE[0] * 72

    @property
    def height(self) -> float:
        return SIZE[1] * 72

    def spec(self, path: str) -> dict:
        """What the render stage needs to draw the figure."""
        return {"kind": "activation", "path": path, "activation": self.activation, "slope": self.slope,
                "x": list(self.x), "y": list(self.y), "size": list(SIZE), "axes": list(AXES)}

    def place(self, z: float) -> tuple[float, float, bool]:
        """The SVG position of ``(z, f(z))`` as matplotlib draws it, z clamped to the plotted range."""
        lo, hi = self.x
        clamped = min(max(z, lo), hi)
        fz = float(self.value(np.array(clamped)))
        fx = (clamped - lo) / (hi - lo)
        fy = (fz - self.y[0]) / (self.y[1] - self.y[0])
        left, bottom, w, h = AXES
        return (left + w * fx) * self.width, (1.0 - (bottom + h * fy)) * self.height, clamped != z

    def points(self, z: np.ndarray) -> tuple[Point, ...]:
        """A marker per z value (infinities go to the edge; NaN has no place on the curve).

        A wide layer is marked by at most :data:`MAX_MARKS` evenly spaced order
        statistics of its sums, the smallest and largest among them.
        """
        values = np.asarray(z, dtype=float).ravel()
        if values.size > MAX_MARKS:
            values = np.sort(values)[np.linspace(0, values.size - 1, MAX_MARKS).round().astype(int)]
        out = []
        for value in values:
            if np.isnan(value):
                continue
            x, y, beyond = self.place(float(value))
            out.append(Point(f"{x:.2f}", f"{y:.2f}", beyond))
        return tuple(out)


def frame(activation: str, slope: bool = False) -> Frame:
    """The fixed frame of an activation's curve (or its slope): z in -REACH..REACH, the values over that
    range with a margin."""
    values = Frame(activation, (0, 0), (0, 0), slope).value(np.linspace(-REACH, REACH, 401))
    lo, hi = float(values.min()), float(values.max())
    pad = _PAD * (hi - lo) if hi > lo else 0.5      # a constant (the slope of a linear output) still gets a frame
    return Frame(activation, (-REACH, REACH), (lo - pad, hi + pad), slope)
