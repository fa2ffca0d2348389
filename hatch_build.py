"""Hatchling build hook: vendor reveal.js into the package at build time.

reveal.js is never committed. Its exact version and sha512 integrity are pinned
in package.json / package-lock.json; for every wheel and editable build this
hook runs ``npm ci`` in a temporary folder (npm checks the integrity from the
lockfile) and copies only the files a deck needs into the git-ignored
``deckgen/_vendor/reveal.js``, which the wheel ships as an artifact.

For regular wheels it also maps the top-level ``templates/`` and ``decks/``
folders to ``deckgen/templates`` and ``deckgen/decks``. Editable installs read
them from the checkout (see deckgen/resources.py), so nothing is copied there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = "reveal.js"
VENDOR_DIR = Path("deckgen", "_vendor", "reveal.js")
# Paths inside the npm package, copied to the same relative paths.
REQUIRED_FILES = (
    "dist/reveal.js",
    "dist/reveal.css",
    "dist/reset.css",
    "dist/plugin/notes.js",
    "LICENSE",
)
GLOBS = (
    "dist/theme/*.css",
    "css/theme/fonts/**/*",
)
# Folders at the project root that regular wheels carry inside the package.
DATA_DIRS = {"templates": "deckgen/templates", "decks": "deckgen/decks"}


class RevealBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        ensure_reveal(root)
        if version == "standard":
            for source, target in DATA_DIRS.items():
                path = root / source
                if not path.is_dir():
                    raise SystemExit(f"deckgen's build needs the {source}/ folder next to pyproject.toml, and {path} is missing.")
                build_data["force_include"][str(path)] = target


def pinned_version(root: Path) -> str:
    """The reveal.js version pinned in package-lock.json (and matching package.json)."""
    lock = json.loads((root / "package-lock.json").read_text(encoding="utf-8"))
    manifest = json.loads((root / "package.json").read_text(encoding="utf-8"))
    locked = lock["packages"][f"node_modules/{PACKAGE}"]["version"]
    declared = manifest["dependencies"][PACKAGE]
    if declared != locked:
        raise SystemExit(
            f"package.json pins {PACKAGE} {declared} but package-lock.json has {locked}; "
            "run `npm install --package-lock-only` and commit both files."
        )
    return locked


def vendored_version(dest: Path) -> str | None:
    stamp = dest / "VERSION"
    if not stamp.is_file() or not (dest / "dist" / "reveal.js").is_file():
        return None
    return stamp.read_text(encoding="utf-8").strip()


def ensure_reveal(root: Path) -> Path:
    """Make ``deckgen/_vendor/reveal.js`` hold the pinned reveal.js; return its path."""
    version = pinned_version(root)
    dest = root / VENDOR_DIR
    if vendored_version(dest) == version:
        return dest

    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            f"deckgen's build fetches reveal.js {version} with npm, and npm was not found: "
            "install Node.js and npm, then build again."
        )

    with tempfile.TemporaryDirectory(prefix="deckgen-npm-") as tmp:
        work = Path(tmp)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(root / name, work / name)
        env = dict(os.environ, npm_config_update_notifier="false")
        proc = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            detail = npm_error_summary(proc.stderr or proc.stdout or "")
            detail = f" (npm said: {detail})" if detail else ""
            raise SystemExit(
                f"deckgen's build could not fetch reveal.js {version} with `npm ci`{detail}: "
                "install Node.js and npm, make sure the npm registry is reachable, then build again."
            )
        source = work / "node_modules" / PACKAGE
        got = json.loads((source / "package.json").read_text(encoding="utf-8"))["version"]
        if got != version:
            raise SystemExit(f"npm installed {PACKAGE} {got}, but package-lock.json pins {version}.")
        copy_assets(source, dest, version)
    return dest


def npm_error_summary(output: str) -> str:
    """npm's error code and first message line, e.g. ``EINTEGRITY: sha512-... integrity checksum failed``."""
    code, message = "", ""
    for raw in output.splitlines():
        line = raw.strip()
        if line.startswith("npm error "):
            text = line[len("npm error ") :].strip()
            key = text.split(" ", 1)[0]
            if key == "code" and not code:
                code = text[len("code") :].strip()
            elif key not in ("code", "syscall", "errno", "path") and not text.startswith("A complete log") and text and not message:
                message = text
    if not (code or message):
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        return lines[-1] if lines else ""
    return ": ".join(part for part in (code, message) if part)


def copy_assets(source: Path, dest: Path, version: str) -> None:
    """Copy the deck-facing reveal.js files into ``dest`` in one step (stage, then rename)."""
    files = [source / rel for rel in REQUIRED_FILES]
    missing = [str(f.relative_to(source)) for f in files if not f.is_file()]
    if missing:
        raise SystemExit(f"{PACKAGE} {version} from npm lacks {', '.join(missing)}; update hatch_build.py's file list.")
    for pattern in GLOBS:
        matched = sorted(p for p in source.glob(pattern) if p.is_file())
        if not matched:
            raise SystemExit(f"{PACKAGE} {version} from npm has nothing matching {pattern}; update hatch_build.py.")
        files.extend(matched)

    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    for path in files:
        target = staging / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    (staging / "VERSION").write_text(version + "\n", encoding="utf-8")
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
