"""Nothing lost: the output folder is swapped in whole, user files survive, failures change nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import numpy as np
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
    (deck / "figures" / "tanh.svg").write_text("user's own\n", encoding="utf-8")
    before = snapshot(deck)
    with pytest.raises(OutputError) as info:
        build(config("network.activation=tanh"), deck)
    assert "tanh.svg: not written by deckgen" in str(info.value)
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
    assert not (deck / "figures" / "sigmoid.svg").exists()  # deckgen's, no longer part of the deck
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
        if Path(src).parent.name.startswith(".deck.deckgen-tmp-") and Path(dst).name == "index.html":
            raise OSError(28, "No space left on device")
        return real_rename(src, dst)

    monkeypatch.setattr(output.folder.os, "rename", rename)
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

    monkeypatch.setattr(output.folder.os, "rename", rename)
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


# --------------------------------------------------------------------------- the folder keeps its identity

def identity(path: Path) -> tuple:
    st = path.stat()
    return st.st_ino, st.st_mode, st.st_uid, st.st_gid


@pytest.mark.parametrize("mode", [0o700, 0o750, 0o2775, 0o1777])
def test_a_rebuild_keeps_the_folder_itself_its_mode_owner_and_group(deck, mode):
    deck.chmod(mode)
    before = identity(deck)
    add_user_files(deck)
    build(config("deck.theme=black"), deck)
    assert identity(deck) == before
    assert "black.css" in (deck / "index.html").read_text(encoding="utf-8")
    assert leftovers(deck) == []


def test_force_into_a_private_folder_keeps_it_private(tmp_path):
    out = tmp_path / "private"
    out.mkdir()
    out.chmod(0o700)
    (out / "diary.txt").write_text("mine\n", encoding="utf-8")
    before = identity(out)
    build(config(), out, force=True)
    assert identity(out) == before
    assert (out / "diary.txt").read_text(encoding="utf-8") == "mine\n"


def test_a_shell_sitting_in_the_folder_sees_the_new_deck(deck):
    fd = os.open(deck, os.O_RDONLY)   # what a shell's working directory holds on to
    try:
        build(config("deck.theme=black"), deck)
        seen = os.listdir(fd)
        assert "index.html" in seen and MARKER in seen
        inside = os.open("index.html", os.O_RDONLY, dir_fd=fd)
        with os.fdopen(inside, encoding="utf-8") as page:
            assert "black.css" in page.read()
    finally:
        os.close(fd)


def test_a_new_folder_gets_the_mode_mkdir_gives(tmp_path):
    previous = os.umask(0o027)
    try:
        build(config(), tmp_path / "deck")
    finally:
        os.umask(previous)
    assert (tmp_path / "deck").stat().st_mode & 0o7777 == 0o750


# --------------------------------------------------------------------------- killed builds

REPO = Path(__file__).resolve().parent.parent


def start_build(out: Path, cache: Path, stop_at: str, *extra: str):
    """A ``deckgen build`` in its own process that stops itself (SIGSTOP) at ``stop_at``; returns once it has."""
    import subprocess
    import sys

    env = {**os.environ, "DECKGEN_CACHE_DIR": str(cache), "DECKGEN_STOP_AT": stop_at, "TMPDIR": str(cache)}
    args = [sys.executable, "-m", "deckgen", "build", "-o", str(out), *(a for s in [*SHORT, *extra] for a in ("--set", s))]
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status = os.waitpid(proc.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), proc.communicate()
    return proc


def finish(proc, signum: int) -> tuple[int, str]:
    proc.send_signal(signum)
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.parametrize("stage", ["render", "install"])
def test_sigterm_mid_build_cleans_up_like_ctrl_c(deck, tmp_path_factory, stage):
    add_user_files(deck)
    before = snapshot(deck)
    proc = start_build(deck, tmp_path_factory.mktemp("cache"), stage, "deck.theme=black")
    assert len(leftovers(deck)) == 1      # its staging folder
    code, err = finish(proc, signal.SIGTERM)
    assert code == 143, err
    assert err.strip().splitlines() == ["deckgen: terminated (SIGTERM) — the previous deck was left as it was"]
    assert snapshot(deck) == before
    assert leftovers(deck) == []


def test_sigterm_during_the_swap_lets_the_swap_finish(deck, tmp_path_factory):
    add_user_files(deck)
    mine = user_part(snapshot(deck))
    proc = start_build(deck, tmp_path_factory.mktemp("cache"), "swap", "deck.theme=black")
    code, err = finish(proc, signal.SIGTERM)
    assert code == 0, err
    assert "black.css" in (deck / "index.html").read_text(encoding="utf-8")
    assert user_part(snapshot(deck)) == mine
    assert leftovers(deck) == []


@pytest.mark.parametrize("stage", ["render", "install", "swap"])
def test_after_sigkill_the_next_build_restores_and_cleans_up_and_says_so(deck, tmp_path_factory, stage):
    add_user_files(deck)
    before = snapshot(deck)
    inode = identity(deck)
    proc = start_build(deck, tmp_path_factory.mktemp("cache"), stage, "deck.theme=black")
    code, _ = finish(proc, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert leftovers(deck)                # what the killed build could not clean up
    notes = output.recover(deck)
    assert len(notes) == 1 and "an earlier build was interrupted" in notes[0], notes
    if stage == "swap":
        assert "put 6 files of the previous deck back" in notes[0] or "of the previous deck back" in notes[0]
    assert "removed" in notes[0]
    assert snapshot(deck) == before       # the previous deck whole again, every user file in its place
    assert identity(deck) == inode
    assert leftovers(deck) == []


def test_the_cli_says_in_one_line_what_it_cleaned_up(deck, tmp_path_factory, monkeypatch):
    import tempfile

    from click.testing import CliRunner

    from deckgen.commands.cli import cli

    add_user_files(deck)
    mine = user_part(snapshot(deck))
    cache = tmp_path_factory.mktemp("cache")
    proc = start_build(deck, cache, "swap", "deck.theme=black")
    finish(proc, signal.SIGKILL)
    monkeypatch.setattr(tempfile, "tempdir", str(cache))
    result = CliRunner().invoke(cli, ["build", "-q", "-o", str(deck), *(a for s in SHORT for a in ("--set", s))],
                                env={"DECKGEN_CACHE_DIR": str(cache), "DECKGEN_STOP_AT": None})
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("deckgen: note:")]
    assert len(notes) == 1 and "an earlier build was interrupted" in notes[0], result.stderr
    assert user_part(snapshot(deck)) == mine
    assert leftovers(deck) == []


def test_a_running_build_is_left_alone(deck, tmp_path_factory):
    proc = start_build(deck, tmp_path_factory.mktemp("cache"), "install")
    try:
        staged = leftovers(deck)
        assert output.recover(deck) == []
        assert leftovers(deck) == staged
    finally:
        code, _ = finish(proc, signal.SIGCONT)
    assert code == 0
    assert leftovers(deck) == []


def test_user_files_stranded_in_a_staging_folder_go_back(deck):
    # what an earlier deckgen, killed while it carried the user's files across, left behind
    stranded = deck.parent / ".deck.deckgen-tmp-12345-abcd"
    (stranded / "figures").mkdir(parents=True)
    (stranded / "index.html").write_text("<html>new</html>\n", encoding="utf-8")
    (stranded / MARKER).write_text(json.dumps({"files": ["index.html"]}), encoding="utf-8")
    (stranded / "notes.md").write_text("mine\n", encoding="utf-8")
    (stranded / "figures" / "sketch.png").write_bytes(b"\x89PNG")
    (stranded / "photos").mkdir()
    (stranded / "photos" / "a.jpg").write_bytes(b"jpg")
    notes = output.recover(deck)
    assert notes == [f"{deck}: an earlier build was interrupted; put 3 files of yours back into {deck}, "
                     "removed 1 unfinished build folder (0.0 MB)"]
    assert (deck / "notes.md").read_text(encoding="utf-8") == "mine\n"
    assert (deck / "figures" / "sketch.png").read_bytes() == b"\x89PNG"
    assert (deck / "photos" / "a.jpg").read_bytes() == b"jpg"
    assert leftovers(deck) == []


def test_a_stranded_file_whose_place_is_taken_is_kept_and_reported(deck):
    stranded = deck.parent / ".deck.deckgen-tmp-12345-abcd"
    stranded.mkdir()
    (stranded / MARKER).write_text(json.dumps({"files": []}), encoding="utf-8")
    (stranded / "notes.md").write_text("older\n", encoding="utf-8")
    (deck / "notes.md").write_text("newer\n", encoding="utf-8")
    notes = output.recover(deck)
    assert len(notes) == 1 and "could not go back" in notes[0] and "notes.md" in notes[0]
    assert (stranded / "notes.md").read_text(encoding="utf-8") == "older\n"
    assert (deck / "notes.md").read_text(encoding="utf-8") == "newer\n"


def test_killed_builds_figure_folders_are_removed_but_not_live_ones(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead, lock = output.scratch_folder()
    output.unlock(lock)                    # as when its build was killed
    (dead / "x.svg").write_text("<svg/>", encoding="utf-8")
    live, lock = output.scratch_folder()
    older = tmp_path / "deckgen-figures-older"   # an older deckgen's: no mark, no lock
    older.mkdir()
    other = tmp_path / "someone-elses"
    other.mkdir()
    try:
        assert output.sweep_scratch() == (1, 6)
        assert not dead.exists() and live.exists() and older.exists() and other.exists()
        assert output.sweep_scratch(now=older.stat().st_mtime + 2 * 24 * 3600) == (1, 0)
    finally:
        output.unlock(lock)
    assert not older.exists() and live.exists() and other.exists()


def test_a_killed_exports_build_folder_is_removed_by_the_next_build(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead, lock = output.scratch_folder(output.EXPORT_PREFIX)
    output.unlock(lock)
    (dead / "talk").mkdir()
    (dead / "talk" / "index.html").write_text("<html/>", encoding="utf-8")
    notes = []
    build(config(), tmp_path / "deck", notice=notes.append)
    assert notes == ["removed 1 temporary folder of interrupted builds from the temporary directory (0.0 MB)"]
    assert not dead.exists()


def test_a_very_wide_layer_is_marked_by_a_bounded_number_of_points():
    """A 100,000-unit layer wrote a 42 MB figure; its sums are now stood for by a few hundred marks."""
    from deckgen.story.curves import MAX_MARKS, frame

    z = np.linspace(-40, 40, 100_000).reshape(4, 25_000)
    points = frame("sigmoid").points(z)
    assert len(points) == MAX_MARKS
    assert sum(p.beyond for p in points) > 0                       # the extremes are among them, clamped

