"""Packaging: the wheel is complete and works installed; the repository carries no third-party code.

reveal.js reaches users only through the build (hatch_build.py runs ``npm ci``
against package-lock.json), never through git.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENDOR = "deckgen/_vendor/reveal.js/"
# Everything the build may copy out of the reveal.js npm package.
VENDOR_ALLOWED = ("dist/reveal.js", "dist/reveal.css", "dist/reset.css", "dist/plugin/notes.js", "dist/theme/",
                  "css/theme/fonts/", "LICENSE", "VERSION")


def run(cmd: list, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL, **kwargs)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def pinned_reveal_version() -> str:
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    return lock["packages"]["node_modules/reveal.js"]["version"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-w", out, ROOT], cwd=out)
    wheels = sorted(out.glob("deckgen-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.mark.slow
def test_wheel_carries_templates_decks_and_reveal(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        version = zf.read(VENDOR + "VERSION").decode().strip()
    assert any(n.startswith("deckgen/templates/") for n in names), "no deckgen/templates/ in the wheel"
    assert "deckgen/decks/trask.toml" in names
    for rel in ("dist/reveal.js", "dist/reveal.css", "dist/theme/white.css", "dist/plugin/notes.js", "LICENSE"):
        assert VENDOR + rel in names
    assert version == pinned_reveal_version()
    assert not [n for n in names if "node_modules" in n]
    extra = [n for n in names if n.startswith(VENDOR) and not n[len(VENDOR):].startswith(VENDOR_ALLOWED)]
    assert not extra, f"reveal.js files the decks don't need: {extra}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_checkout(wheel, tmp_path):
    # A fresh venv gets only the wheel; its dependencies (numpy, matplotlib, ...)
    # come from this test environment's site-packages through a .pth file, so
    # nothing is downloaded. Paths listed in a .pth are not site dirs, so the
    # editable install of this checkout (if any) is not seen by the new venv.
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)   # this environment's pip installs into it (--python)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    purelib = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    ours.update(p for p in sys.path if Path(p).name in ("site-packages", "dist-packages"))
    (purelib / "deckgen_test_deps.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
         "--disable-pip-version-check", wheel], cwd=tmp_path)

    probe = (
        "import json, deckgen, deckgen.resources as r; "
        "print(json.dumps({'pkg': deckgen.__file__, 'reveal': str(r.reveal_dir()), 'version': r.reveal_version(), "
        "'templates': str(r.templates_dir()), 'deck': str(r.default_deck())}))"
    )
    found = json.loads(run([python, "-c", probe], cwd=tmp_path).stdout)
    for key in ("pkg", "reveal", "templates", "deck"):
        assert Path(found[key]).resolve().is_relative_to(purelib.resolve()), (key, found[key])
    assert found["version"] == pinned_reveal_version()
    assert (Path(found["reveal"]) / "dist" / "reveal.js").is_file()
    assert Path(found["deck"]).is_file()

    import deckgen

    out = run([bindir / "deckgen", "--version"], cwd=tmp_path)
    assert deckgen.__version__ in out.stdout + out.stderr

    # the installed wheel alone builds the default talk: templates, deck and reveal.js all come from it
    run([bindir / "deckgen", "build", "--quiet", "--set", "training.iterations=100"], cwd=tmp_path)
    html = (tmp_path / "build" / "trask" / "index.html").read_text(encoding="utf-8")
    assert "Reveal.initialize(" in html and 'data-trace="W1@0:0,0"' in html
    assert (tmp_path / "build" / "trask" / "assets" / "reveal" / "reveal.js").is_file()


def test_sdist_carries_the_pins_and_the_hook_not_reveal(tmp_path):
    pytest.importorskip("hatchling")
    run([sys.executable, "-c", f"from hatchling.build import build_sdist; build_sdist({str(tmp_path)!r})"], cwd=ROOT)
    (sdist,) = tmp_path.glob("deckgen-*.tar.gz")
    with tarfile.open(sdist) as tf:
        names = [n.split("/", 1)[1] for n in tf.getnames() if "/" in n]
    for required in ("pyproject.toml", "hatch_build.py", "package.json", "package-lock.json", "deckgen/__init__.py"):
        assert required in names
    assert not [n for n in names if "node_modules" in n or n.startswith("deckgen/_vendor")]


def test_lockfile_pins_reveal_with_integrity():
    manifest = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    entry = lock["packages"]["node_modules/reveal.js"]
    assert manifest["dependencies"]["reveal.js"] == entry["version"]
    assert entry["integrity"].startswith("sha512-")
    assert "scripts" not in manifest
    assert not [k for k, v in lock["packages"].items() if "resolved" in v], "lockfile must not record download addresses"


def test_git_tracks_no_third_party_code():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    files = run(["git", "ls-files", "-z"], cwd=ROOT).stdout.split("\0")
    vendored_names = {"reveal.js", "reveal.mjs", "reveal.css", "reset.css", "notes.js"}
    bad = []
    for name in filter(None, files):
        path = Path(name)
        if {"node_modules", "_vendor"} & set(path.parts):
            bad.append(name)
        elif path.name in vendored_names or path.name.endswith((".min.js", ".min.css", ".woff", ".woff2")):
            bad.append(name)
        elif path.suffix in (".js", ".mjs", ".css") and (ROOT / path).is_file():
            text = (ROOT / path).read_text(encoding="utf-8", errors="replace")
            if "Hakim El Hattab" in text or "sourceMappingURL" in text or "@license" in text:
                bad.append(name)
    assert not bad, f"third-party files tracked by git: {bad}"
