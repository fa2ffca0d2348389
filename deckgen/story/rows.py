"""Which rows of the data a slide shows at an iteration, and the row numbers it labels them with.

A matrix is recorded with its rows as used: with mini-batches row ``r`` of ``X@t``
is row ``batch_rows(t).start + r`` of ``X``, and ``data-trace`` addresses keep that
matrix index. Labels are the file's row numbers (``Dataset.file_rows``), which
differ from positions in ``X`` once rows are held out, dropped or shuffled.
"""

from __future__ import annotations

from deckgen.core.batches import chunks


def local_rows(example_rows: tuple[int, ...] | None, batch: range) -> tuple[int, ...] | None:
    """``data.rows`` (rows of ``X``) as rows of a matrix over ``batch``: those inside it, else None (its first rows)."""
    if example_rows is None:
        return None
    inside = tuple(r - batch.start for r in example_rows if r in batch)
    return inside or None


def file_row(row_names: tuple[int, ...], i: int) -> int:
    """The file's row number of row ``i`` of ``X`` (``i`` itself when the numbers are not known)."""
    return int(row_names[i]) if 0 <= i < len(row_names) else int(i)


def spans(numbers) -> str:
    """Row numbers as runs: ``8–15``, or ``0–3, 5, 7–9`` when they are not consecutive."""
    out: list[list[int]] = []
    for n in numbers:
        if out and n == out[-1][1] + 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return ", ".join(f"{a}" if a == b else f"{a}, {b}" if b == a + 1 else f"{a}\u2013{b}" for a, b in out)


def batch_of(trace, t: int, row_names: tuple[int, ...]) -> dict | None:
    """What an iteration slide says of the rows iteration ``t`` trained on; None without mini-batches."""
    if trace.batch_size is None:
        return None
    n = int(trace.shape("X")[0])
    count = chunks(trace.batch_size, n)
    rows = trace.batch_rows(t)
    return {"rows": spans(file_row(row_names, i) for i in rows), "size": len(rows), "of": f"{n:,}",
            "batch": f"{t % count + 1:,}", "batches": f"{count:,}", "epoch": f"{t // count + 1:,}",
            "full": trace.batch_size}


def spread(wanted: list[int], limit: int, groups: tuple[int, ...]) -> list[int]:
    """``limit`` of ``wanted`` (in their order) that cover as many groups as they can: the first of each group in
    turn, then the second of each, and so on (``groups[i]``: the group, such as the class, of ``wanted[i]``). A
    smaller limit keeps a subset of what a larger one shows."""
    seen: dict[int, int] = {}
    turns = []
    for i, g in enumerate(groups):
        turns.append((seen.get(g, 0), i))
        seen[g] = seen.get(g, 0) + 1
    return [wanted[i] for i in sorted(i for _, i in sorted(turns)[:limit])]


def pick(n: int, limit: int, preferred: tuple[int, ...] | None = None,
         groups: tuple[int, ...] = ()) -> list[int | None]:
    """Indices to show out of ``n`` (at most ``limit``), with ``None`` where rows are skipped. When ``preferred``
    rows do not all fit, those shown cover each of their ``groups`` (one per preferred row) first; with no groups,
    the first of them and the last."""
    wanted = list(preferred) if preferred else list(range(n))
    if not preferred and n <= limit + 1:
        limit = n          # cutting one index would put an ellipsis in its place: nothing saved, a number lost
    keep = [k for k, i in enumerate(wanted) if 0 <= i < n]
    grouped = preferred is not None and len(groups) == len(wanted) and len(set(groups)) > 1
    groups = tuple(groups[k] for k in keep) if grouped else ()
    wanted = [wanted[k] for k in keep]
    if len(wanted) > limit:
        wanted = spread(wanted, limit, groups) if groups else wanted[:limit - 1] + [wanted[-1]]
    out: list[int | None] = []
    for i in wanted:
        if out and out[-1] is not None and i != out[-1] + 1:
            out.append(None)
        elif not out and i != 0:
            out.append(None)
        out.append(i)
    if out and out[-1] is not None and out[-1] != n - 1:
        out.append(None)
    return out
