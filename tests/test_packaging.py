"""Packaging: the wheel is complete and works installed; the repository carries no third-party code.

reveal.js reaches users only through the build (hatch_build.py runs ``npm ci``
against package-lock.json), never through git.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import venv
import tarfile
import urllib.request
import zipfile
from dataclasses import dataclass
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


@dataclass
class Installed:
    bindir: Path
    python: Path
    purelib: Path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Installed:
    """A fresh venv made as the README's first command makes it, with the wheel of this checkout installed.

    ``python -m venv``, then pip installs the wheel (built from ``.``) with its
    dependencies. Those come from this test environment's site-packages through
    a .pth file, so nothing is downloaded, yet pip still checks that every
    declared dependency is there. Paths listed in a .pth are not site dirs, so
    the editable install of this checkout (if any) is not seen by the new venv.
    """
    home = tmp_path_factory.mktemp("installed")
    env_dir = home / ".venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)   # this environment's pip installs into it (--python)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    purelib = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=home).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    ours.update(p for p in sys.path if Path(p).name in ("site-packages", "dist-packages"))
    (purelib / "deckgen_test_deps.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--disable-pip-version-check",
         wheel], cwd=home)
    return Installed(bindir=bindir, python=python, purelib=purelib)


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_checkout(installed, tmp_path):
    bindir, python, purelib = installed.bindir, installed.python, installed.purelib
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


def tour_commands() -> list[list[str]]:
    """The README's quick tour, one argument list per command (comments dropped)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick tour\s+```sh\n(.*?)```", readme, re.S).group(1)
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def serve_once(command: list, cwd: Path, env: dict) -> str:
    """Start ``deckgen serve``, fetch the deck it serves, stop it; return the page."""
    proc = subprocess.Popen([str(c) for c in command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        seen = []
        for line in proc.stdout:                      # "Serving http://127.0.0.1:PORT/ ..." once it listens
            seen.append(line)
            found = re.search(r"Serving (http://\S+/)", line)
            if found:
                with urllib.request.urlopen(found.group(1), timeout=30) as response:
                    return response.read().decode("utf-8")
        raise AssertionError(f"deckgen serve ended without serving (exit {proc.wait()}):\n{''.join(seen)}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


@pytest.mark.slow
@pytest.mark.browser
def test_every_tour_command_works_after_the_readme_install(installed, tmp_path):
    """Each command of the README's tour, run as a new user would: in the checkout's folder, after the install."""
    if not Path("/usr/bin/chromium").exists() and os.environ.get("CI", "").lower() in ("", "0", "false"):
        pytest.skip("/usr/bin/chromium not found (the tour prints a PDF with it)")
    # what a user has: the checkout's decks/, and for `deckgen new` a CSV of their own
    shutil.copytree(ROOT / "decks", tmp_path / "decks")
    shutil.copyfile(ROOT / "decks" / "data" / "iris.csv", tmp_path / "flowers.csv")
    env = {**os.environ, "DECKGEN_CACHE_DIR": str(tmp_path / "cache"), "BROWSER": "true"}  # --open opens nothing
    for key in ("DECKGEN_NO_CACHE", "DECKGEN_BROWSER", "PYTHONPATH"):
        env.pop(key, None)
    # the README installs playwright with deckgen itself: the PDF export needs no extra step
    requires = run([installed.python, "-c", "import importlib.metadata as m; print(m.requires('deckgen'))"],
                   cwd=tmp_path, env=env).stdout
    assert "playwright" in requires

    commands = tour_commands()
    assert len(commands) >= 10
    ran = set()
    for words in commands:
        # every command as written; those that train run 2,000 iterations rather than 60,000, to keep this quick
        short = ["--set", "training.iterations=2000"] if words[1:2] in (["build"], ["serve"], ["export"]) else []
        command = [installed.bindir / "deckgen", *words[1:], *short]
        if words[1:2] == ["serve"]:
            page = serve_once(command, tmp_path, env)
            assert "Reveal.initialize(" in page
        else:
            out = run(command, cwd=tmp_path, env=env, timeout=600).stdout
            if words[1:2] == ["keys"]:
                assert "deck.full_trace" in out
        ran.add(words[1] if len(words) > 1 else "")
    assert {"build", "serve", "export", "new", "cache", "keys", "--help"} <= ran
    for deck in ("trask", "trask-2layer", "iris"):
        assert (tmp_path / "build" / deck / "index.html").is_file(), deck
        assert (tmp_path / "build" / deck / "trace.npz").is_file(), deck
    assert (tmp_path / "talk.pdf").read_bytes().startswith(b"%PDF")
    assert "Reveal.initialize(" in (tmp_path / "talk.html").read_text(encoding="utf-8")
    assert (tmp_path / "decks" / "flowers.toml").is_file()
    assert not list((tmp_path / "cache").glob("??/*"))         # `deckgen cache clear` emptied it
