"""Nothing lost: the output folder is swapped in whole, user files survive, failures change nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest
from deckhelp import snapshot

import deckgen.output as output
from deckgen.pipeline import build
from deckgen.config import load_config
from deckgen.errors import OutputError
from deckgen.output import MARKER, check_out, hold_interrupts, install, staging

SHORT = ["training.iterations=20", "deck.checkpoints=10"]


def config(*extra: str):
    return load_config(None, [*SHORT, *extra])




def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("built") / "deck"
    build(config(), out)
    return out


@pytest.fixture
def deck(tmp_path, built) -> Path:
    """A deck deckgen built, for this test alone (a copy of one build shared by the module)."""
    out = tmp_path / "deck"
    shutil.copytree(built, out, symlinks=True)
    return out


def add_user_files(out: Path) -> None:
    (out / "notes.md").write_text("my notes\n", encoding="utf-8")
    (out / "assets" / "logo.svg").write_text("<svg/>\n", encoding="utf-8")
    (out / "assets" / "extra").mkdir()
    (out / "empty").mkdir()
    (out / "script.sh").write_text("#!/bin/sh\n", encoding="utf-8")
    (out / "script.sh").chmod(0o750)
    (out / "figures" / "link.md").symlink_to("../notes.md")
    (out / "elsewhere").symlink_to(out.parent)


def user_part(snap: dict[str, str]) -> dict[str, str]:
    keep = ("notes.md", "assets/logo.svg", "assets/extra", "empty", "script.sh", "figures/link.md", "elsewhere")
    return {k: v for k, v in snap.items() if k in keep}


# --------------------------------------------------------------------------- refusing

def test_a_new_or_empty_folder_is_fine(tmp_path):
    assert check_out(tmp_path / "new", force=False) == set()
    (tmp_path / "empty").mkdir()
    assert check_out(tmp_path / "empty", force=False) == set()


def test_a_folder_deckgen_did_not_make_is_refused_without_force(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("important\n", encoding="utf-8")
    with pytest.raises(OutputError) as info:
        build(config(), out)
    assert "was not written by deckgen" in str(info.value) and "--force" in str(info.value)
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
    assert leftovers(out) == []


def test_force_builds_beside_the_users_files_and_keeps_every_one(tmp_path):
    out = tmp_path / "mine"
    (out / "sub").mkdir(parents=True)
    (out / "thesis.tex").write_text("important\n", encoding="utf-8")
    (out / "sub" / "data.csv").write_text("a,b\n", encoding="utf-8")
    before = snapshot(out)
    build(config(), out, force=True)
    after = snapshot(out)
    assert {k: after[k] for k in before} == before
    assert (out / "index.html").is_file()
    assert "thesis.tex" not in json.loads((out / MARKER).read_text(encoding="utf-8"))["files"]
    build(config("deck.theme=black"), out)  # now it is a deckgen folder: no --force needed
    assert {k: snapshot(out)[k] for k in before} == before


@pytest.mark.parametrize("name", ["index.html", "trace.npz", "assets", MARKER])
def test_force_never_overwrites_a_file_in_the_way(tmp_path, name):
    out = tmp_path / "mine"
    out.mkdir()
    (out / name).write_text("the user's\n", encoding="utf-8")
    if name == MARKER:
        (out / MARKER).write_text("not json", encoding="utf-8")
    with pytest.raises(OutputError) as info:
        build(config(), out, force=True)
    assert str(out / name) in str(info.value)
    assert [p.name for p in out.iterdir()] == [name]
    assert leftovers(out) == []


def test_a_user_file_where_the_new_deck_writes_is_refused_at_install(deck):
    (deck / "figures" / "activation-t1-1.svg").write_text("user's own\n", encoding="utf-8")
    before = snapshot(deck)
    with pytest.raises(OutputError) as info:
        build(config("deck.explain=[0, 1]"), deck)
    assert "activation-t1-1.svg: not written by deckgen" in str(info.value)
    assert snapshot(deck) == before
    assert leftovers(deck) == []


@pytest.mark.parametrize("marker", [
    "not json", '{"files": "index.html"}', '{"files": ["../../etc/passwd"]}', '{"files": ["/etc/passwd"]}',
    '{"files": ["a/./b"]}', '{"nothing": []}',
])
def test_a_damaged_marker_is_refused_never_trusted(deck, marker):
    (deck / MARKER).write_text(marker, encoding="utf-8")
    before = snapshot(deck)
    with pytest.raises(OutputError) as info:
        build(config(), deck)
    assert "unreadable deckgen marker" in str(info.value)
    assert snapshot(deck) == before


def test_outputs_that_are_not_folders_are_refused(tmp_path):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="is not a folder"):
        check_out(tmp_path / "file", force=True)
    with pytest.raises(OutputError, match="is not a folder"):
        check_out(tmp_path / "file" / "deck", force=True)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(OutputError, match="is a symbolic link"):
        check_out(tmp_path / "link", force=True)


# --------------------------------------------------------------------------- keeping

def test_rebuilding_keeps_user_files_as_they_are_and_drops_old_deck_files(deck):
    add_user_files(deck)
    mine = user_part(snapshot(deck))
    assert len(mine) == 7
    build(config("deck.explain=[]"), deck)
    after = snapshot(deck)
    assert user_part(after) == mine
    assert not list((deck / "figures").glob("activation-*"))  # deckgen's, no longer part of the deck
    assert os.readlink(deck / "elsewhere") == str(deck.parent)
    assert leftovers(deck) == []
    written = json.loads((deck / MARKER).read_text(encoding="utf-8"))["files"]
    assert "notes.md" not in written and "index.html" in written


# --------------------------------------------------------------------------- failing midway

class Boom(Exception):
    pass


@pytest.mark.parametrize("where", ["deckgen.render.deck.render_story", "deckgen.core.trace.Trace.save"])
@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_an_interrupted_build_leaves_the_old_deck_byte_identical(deck, monkeypatch, where, error):
    add_user_files(deck)
    before = snapshot(deck)

    def fail(*args, **kwargs):
        raise error()

    monkeypatch.setattr(where, fail)
    with pytest.raises(error):
        build(config("deck.theme=black", "training.seed=7"), deck)
    assert snapshot(deck) == before
    assert leftovers(deck) == []


def test_a_failing_swap_is_undone(deck, monkeypatch):
    add_user_files(deck)
    before = snapshot(deck)
    real_rename = os.rename

    def rename(src, dst):
        if Path(src).name.startswith(".deck.deckgen-tmp-") and Path(dst).name == "deck":
            raise OSError(28, "No space left on device")
        return real_rename(src, dst)

    monkeypatch.setattr(output.os, "rename", rename)
    with pytest.raises(OutputError, match="previous deck is unchanged"):
        build(config("deck.theme=black"), deck)
    assert snapshot(deck) == before
    assert leftovers(deck) == []


def test_ctrl_c_during_the_swap_waits_for_it(deck, monkeypatch):
    add_user_files(deck)
    mine = user_part(snapshot(deck))
    real_rename = os.rename

    def rename(src, dst):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while files move
        return real_rename(src, dst)

    monkeypatch.setattr(output.os, "rename", rename)
    build(config("deck.theme=black"), deck)  # finishes: the new deck is the result
    assert "black.css" in (deck / "index.html").read_text(encoding="utf-8")
    assert user_part(snapshot(deck)) == mine
    assert leftovers(deck) == []


def test_hold_interrupts_delays_ctrl_c_to_the_end_of_the_block():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with hold_interrupts():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("finished")
    assert done == ["finished"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_staging_installs_on_success_and_discards_on_failure(tmp_path):
    out = tmp_path / "deck"
    with staging(out) as tmp:
        (tmp / "index.html").write_text("one\n", encoding="utf-8")
    assert (out / "index.html").read_text(encoding="utf-8") == "one\n"
    with pytest.raises(Boom):
        with staging(out) as tmp:
            (tmp / "index.html").write_text("two\n", encoding="utf-8")
            raise Boom
    assert (out / "index.html").read_text(encoding="utf-8") == "one\n"
    assert leftovers(out) == []


def test_install_into_a_missing_folder_just_renames(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (tmp / "index.html").write_text("x\n", encoding="utf-8")
    install(tmp, tmp_path / "out", set())
    assert json.loads((tmp_path / "out" / MARKER).read_text(encoding="utf-8"))["files"] == ["index.html"]
    assert not tmp.exists()


@pytest.mark.slow
def test_ctrl_c_from_the_terminal_leaves_the_old_deck(deck, tmp_path_factory):
    import subprocess
    import sys
    import time

    before = snapshot(deck)
    repo = Path(__file__).resolve().parent.parent
    cache = tmp_path_factory.mktemp("cache")  # outside the deck's parent, which must stay free of leftovers
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "DECKGEN_CACHE_DIR": str(cache)}
    proc = subprocess.Popen([sys.executable, "-m", "deckgen", "build", "-o", str(deck),
                             "--set", "training.iterations=5000000", "--set", "deck.checkpoints=1000000"],
                            cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted" in err
    assert snapshot(deck) == before
    assert leftovers(deck) == []
