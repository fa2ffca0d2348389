"""What the output units are called on slides: the prediction ``ŷ``, as the network diagram draws it."""

from __future__ import annotations


def output_label(name: str) -> str:
    """The output unit's name, as the diagram calls it: the prediction ``ŷ``, with the target's name when it has
    one (``y2`` -> ``ŷ2``, ``setosa`` -> ``ŷ setosa``)."""
    if name == "y":
        return "\u0177"
    if name.startswith("y") and name[1:].isdigit():
        return "\u0177" + name[1:]
    return f"\u0177 {name}" if name else "\u0177"


def output_columns(name: str) -> str:
    """A column label of an output-side matrix (z, a, e, δ of the last layer): the unit's name as the diagram
    has it when the target's name is only ``y``/``y2`` (so the prediction is not labelled as its target);
    a class or column name as it is."""
    return output_label(name) if name == "y" or (name.startswith("y") and name[1:].isdigit()) else name
