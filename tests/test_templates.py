"""Templates only lay out: every value they show is prepared by the story stage.

Each Jinja expression and statement of the built-in templates is scanned for
computation (index arithmetic, counting, slicing, comparisons, inline choices);
a slide needing such a thing gets a prepared value, a named part or its own
template instead.
"""

from __future__ import annotations

import re

import pytest

from deckgen.core.activations import ACTIVATIONS
from deckgen.resources import templates_dir

_TAG = re.compile(r"\{\{[-+]?(.*?)[-+]?\}\}|\{%[-+]?(.*?)[-+]?%\}", re.S)
_STRING = re.compile(r'"[^"]*"|\'[^\']*\'')

#: What a template must not do, with the reason shown when one does.
FORBIDDEN = [
    (re.compile(r"\bloop\.(index0?|revindex0?|length|cycle|previtem|nextitem)\b"), "position arithmetic on a loop"),
    (re.compile(r"\|\s*(length|count|sum|min|max|round|int|float|abs|first|last|sort|join|batch|slice)\b"),
     "counting, rounding or joining in a filter"),
    (re.compile(r"\["), "indexing or slicing (pair or name the values in Python)"),
    (re.compile(r"==|!=|<|>"), "a comparison (prepare a flag or pick the template in Python)"),
    (re.compile(r"[-+*/%~]"), "arithmetic or concatenation"),
    (re.compile(r"\brange\s*\("), "a computed range"),
    (re.compile(r"\bis\s+(divisibleby|even|odd|sameas|eq|ne|lt|le|gt|ge|in)\b"), "a test on a data value"),
]


def _templates():
    root = templates_dir()
    return sorted(p for p in root.rglob("*.html") if "assets" not in p.parts)


def _expressions(text: str):
    """(line, code) of each Jinja expression and statement, string literals blanked out."""
    text = re.sub(r"\{#.*?#\}", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    for m in _TAG.finditer(text):
        code = m.group(1) if m.group(1) is not None else m.group(2)
        yield text.count("\n", 0, m.start()) + 1, _STRING.sub('""', code), m.group(1) is not None


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(templates_dir())))
def test_templates_do_not_compute(path):
    problems = []
    for line, code, is_output in _expressions(path.read_text(encoding="utf-8")):
        for pattern, why in FORBIDDEN:
            if pattern.search(code):
                problems.append(f"{path.name}:{line}: {{{{{code.strip()}}}}}: {why}")
        if is_output and re.search(r"\bif\b", code):
            problems.append(f"{path.name}:{line}: {code.strip()}: an inline choice (prepare the value in Python)")
    assert not problems, "\n".join(problems)


def test_the_scan_catches_what_it_forbids():
    bad = ['{{ slide.ops[loop.index0 - 1] }}', '{% if slide.worked | length > 2 %}', '{{ slide.matrices[0] }}',
           '{% if slide.ctx.activation == "sigmoid" %}', '{{ "a" if x else "b" }}', '{{ n + 1 }}',
           '{% for m in slide.matrices[2:] %}', '{{ xs | join(", ") }}']
    for text in bad:
        found = []
        for _, code, is_output in _expressions(text):
            found += [why for pattern, why in FORBIDDEN if pattern.search(code)]
            if is_output and re.search(r"\bif\b", code):
                found.append("inline")
        assert found, text
    for text in ['{% extends "slides/matmul.html" %}', '{% include slide.ctx.note %}', '{{ slide.ctx.label | math }}',
                 '{% if not loop.first %}', '{% for role, colour in palette.items() %}']:
        assert not [why for _, code, _ in _expressions(text) for pattern, why in FORBIDDEN if pattern.search(code)], text


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_has_its_speaker_note(name):
    assert (templates_dir() / "notes" / f"{name}.html").is_file()


def _chain(name: str) -> str:
    """A slide template's text with the templates it extends."""
    text = (templates_dir() / name).read_text(encoding="utf-8")
    parent = re.search(r'\{%\s*extends\s+"([^"]+)"', text)
    return text + (_chain(parent.group(1)) if parent else "")


def test_every_context_value_is_read_by_its_template():
    from deckgen.config import load_config
    from deckgen.data import load_dataset, resolve_layers
    from deckgen.resources import decks_dir
    from deckgen.run.traces import train_for
    from deckgen.story import build_story

    seen = set()
    for path, overrides in [(None, ["network.layers=[3,4,3,1]", "network.bias=true"]),
                            (decks_dir() / "iris.toml", []), (decks_dir() / "too-fast.toml", ["training.iterations=2000"]),
                            (decks_dir() / "xor-stuck.toml", ["training.iterations=20000", "deck.checkpoints=10000"])]:
        cfg = load_config(path, ["training.iterations=300", "deck.checkpoints=100", *overrides])
        data = load_dataset(cfg)
        story = build_story(cfg, data, train_for(cfg, data, resolve_layers(cfg, data)))
        for slide in story.slides:
            text = _chain(slide.template)
            # a template may name the context once: {% set c = slide.ctx %}
            alias = "|".join(re.findall(r"\{%-?\s*set\s+(\w+)\s*=\s*slide\.ctx\s*-?%\}", text))
            ctx = rf"(?:slide\.ctx|\b(?:{alias}))" if alias else r"slide\.ctx"
            unread = [key for key in slide.ctx if not re.search(rf"{ctx}\.{key}\b", text)]
            assert not unread, f"{slide.template} is given {unread} but never reads them"
            seen.add(slide.template)
    assert {"slides/trouble-overshot.html", "slides/trouble-stuck.html", "slides/bias-change.html",
            "slides/backprop.html", "slides/raw.html"} <= seen
