"""Wrong-allow suite, review round 3: paths a program derives from its words.

Three classes an adversarial review found, each with many members over a real project tree
holding real symbolic links out of it, plus the calls that must stay allowed (so no test
passes by refusing everything), plus a run through the real hook process:

1. a write to a path DERIVED from an operand (``cp a dst`` writes ``dst/a``, ``cp -r s dst``
   every file under ``dst/s``) where a link already sits: GNU cp writes through it;
2. an option's attached value (``--from-file=DIR``, ``-tDIR``, ``-m LIST``) read as less
   than an operand (``diff --from-file=DIR a`` reads ``DIR/a``, through a link out);
3. a word after ``--`` counted as an option (``ln -- -s a b`` makes HARD links).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from harness.hookproc import HookRunner

from tether_hooks import rules
from tether_hooks.agents import claude, codex
from tether_hooks.shellscope import command_inside
from tether_hooks.shellscope_words import argv, forbidden, ln_symbolic

NOW = 1_000_000.0


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """proj/ beside other/ (victim, s.txt, d/). In proj: files a, a.txt, b.txt, x.json;
    srcdir/{f, sub/g}; and folders where a link out sits at a DERIVED path:
    dst/a, dst/a.txt, dst/srcdir/f, dir2/a -> other/victim; ndst/srcdir/sub/g -> victim (nested);
    dang/a -> other/missing (dangling); inl/a -> ../a.txt (a link pointing inside);
    dirlink/srcdir -> other/d; par/srcdir -> other/d (--parents); tdst/f -> victim (-T);
    sub/a -> other/s.txt, sub/up -> tmp_path (a folder diff would read);
    '-x'/ref -> ../a.txt, '-d'/a.txt -> s.txt, '-d'/up -> tmp_path (dash-named folders);
    okdir/ holding only an unrelated link (unrelated -> victim): copies into it stay allowed."""
    other = tmp_path / "other"
    (other / "d").mkdir(parents=True)
    (other / "victim").write_text("original")
    (other / "s.txt").write_text("secret")
    root = tmp_path / "proj"
    for folder in ("srcdir/sub", "dst/srcdir", "ndst/srcdir/sub", "dang", "inl", "dirlink",
                   "par", "tdst", "sub", "-x", "-d", "okdir", "dir2"):
        (root / folder).mkdir(parents=True)
    for name in ("a", "a.txt", "b.txt", "srcdir/f", "srcdir/sub/g"):
        (root / name).write_text("mine\n")
    (root / "x.json").write_text("{}\n")
    links = {"dst/a": other / "victim", "dst/a.txt": other / "victim",
             "dst/srcdir/f": other / "victim", "ndst/srcdir/sub/g": other / "victim",
             "dang/a": other / "missing", "inl/a": "../a.txt", "dirlink/srcdir": other / "d",
             "par/srcdir": other / "d", "tdst/f": other / "victim", "sub/a": other / "s.txt",
             "sub/up": tmp_path, "-x/ref": "../a.txt", "-d/a.txt": other / "s.txt",
             "-d/up": tmp_path, "okdir/unrelated": other / "victim", "dir2/a": other / "victim"}
    for name, target in links.items():
        (root / name).symlink_to(target)
    return root


def dir_timer(root: Path) -> dict:
    return {"t1": {"id": "t1", "scope": "dir", "session_id": None, "agent": None,
                   "tool": None, "path": os.path.realpath(root), "prefix": None,
                   "created_at": NOW - 1, "expires_at": NOW + 600, "created_by": "test"}}


def requests(cwd: Path, command: str) -> list[dict]:
    return [claude.parse({"session_id": "s1", "cwd": str(cwd), "tool_name": "Bash",
                          "hook_event_name": "PermissionRequest",
                          "tool_input": {"command": command}}),
            codex.parse({"session_id": "c1", "turn_id": "t", "cwd": str(cwd),
                         "tool_name": "Bash", "hook_event_name": "PermissionRequest",
                         "tool_input": {"command": command}})]


def split(command: str, root: Path) -> tuple[Path, str]:
    """``@dst cp ../a .`` runs from proj/dst."""
    if command.startswith("@"):
        folder, command = command[1:].split(" ", 1)
        return root / folder, command
    return root, command


# -- class 1: writes to a path derived from an operand ------------------------------------

DERIVED_WRITES = (
    # cp FILE DIR: DIR/FILE is a link out (the repro), in every spelling of DIR
    "cp a dst", "cp a.txt dst", "cp a dst/", "cp ./a ./dst", "cp -f a dst", "cp -u a dst",
    "cp -b a dst", "cp --remove-destination a dst", "cp a b.txt dst", "cp a* dst",
    "cp a d?t", "cp -p a dst", "@dst cp ../a .", "@srcdir cp ../a ../dst",
    # the destination named by -t / --target-directory, glued or not, abbreviated
    "cp -t dst a", "cp -tdst a", "cp --target-directory=dst a", "cp --target-directory dst a",
    "cp --target=dst a", "cp -ft dst a", "cp -t dst -- a", "cp -t ./dst ./a",
    "cp -tdir2 a", "cp -ftdir2 a", "cp -t dir2 a", "cp -tdir2/ ./a", "mv -tdir2 a",
    # recursive: a link anywhere under DIR/SRC, nested, or DIR/SRC itself a link
    "cp -r srcdir dst", "cp -R srcdir dst", "cp -a srcdir dst", "cp --recursive srcdir dst",
    "cp -r srcdir ndst", "cp -rf srcdir/ ndst", "cp -r srcdir dirlink", "cp -rt dst srcdir",
    "cp -r --target-directory=ndst srcdir", "cp -r srcdir/. dst/srcdir",
    # dangling, and pointing inside (still a link: asked)
    "cp a dang", "cp -f a dang", "cp a inl", "cp --target-directory=inl a",
    # --parents: DIR/srcdir is a link out; -T: DIR itself is the destination folder
    "cp --parents srcdir/f par", "cp --parents -r srcdir/sub par", "cp -rT srcdir tdst",
    "cp -r --no-target-directory srcdir tdst", "cp -r --no-t srcdir tdst",
    # mv and ln name the same derived paths
    "mv a dst", "mv -f a dst", "mv -t dst a", "mv -tdst a", "mv --target-directory=dst a",
    "mv srcdir dst", "mv srcdir ndst", "mv a dang", "mv -T srcdir tdst", "mv -b a dst",
    "ln -s a dst", "ln -sf a dst", "ln -s a.txt dst/", "ln -sfn srcdir dirlink",
    # a glob destination hides sources: every match may be one (l* = lnk and lz)
    "cp -r a.txt l*", "mv a.txt l*", "cp a.txt s*",
)


@pytest.fixture
def links_moved(tree: Path) -> Path:
    """Folders for the glob-destination members: lnk/rl -> ../a.txt and an empty lz/."""
    (tree / "lnk").mkdir()
    (tree / "lnk" / "rl").symlink_to("../a.txt")
    (tree / "lz").mkdir()
    return tree


@pytest.mark.parametrize("command", DERIVED_WRITES)
def test_writes_to_a_derived_path_holding_a_link_are_asked(links_moved: Path,
                                                           command: str) -> None:
    cwd, command = split(command, links_moved)
    for request in requests(cwd, command):
        assert rules.find_timer(dir_timer(links_moved), request, NOW) is None, command


def test_the_repro_would_have_written_outside(tree: Path) -> None:
    """The first member, run for real: GNU cp writes through dst/a to the victim outside
    (what the checker refuses), and plain copies next to it stay allowed."""
    victim = tree.parent / "other" / "victim"
    assert not command_inside("cp a dst", str(tree), os.path.realpath(tree))
    subprocess.run(["cp", "a", "dst"], cwd=tree, check=True)
    assert victim.read_text() == "mine\n"
    assert command_inside("cp a okdir", str(tree), os.path.realpath(tree))


# -- class 2: option values attached with = or glued -------------------------------------

OPTION_VALUES = (
    # diff reads DIR/NAME, whichever option names the folder
    "diff --from-file=sub a", "diff --to-file=sub a", "diff --from-file sub a",
    "diff --to-file sub a.txt", "diff --from=sub a", "diff -u --to-file=./sub a",
    "diff --from-file=sub/ a", "diff --to-file=su? a", "diff -N --from-file=sub a b.txt",
    "diff --to-file=sub/up a", "diff a.txt --from-file=sub", "diff -Xsub a.txt b.txt",
    # file -m: a colon list of magic files, each read and quoted in warnings; -C writes
    "file -m a.txt:/etc/passwd a.txt", "file -m sub a.txt", "file --magic-file=sub a.txt",
    "file -msub a.txt", "file -bm a.txt a.txt", "file -C -m a.txt", "file --compile",
    # values that name a link out, attached or glued: read or written through it
    "grep --file=sub/a a.txt", "grep -fsub/a a.txt", "grep --exclude-from=sub/a x a.txt",
    "sort --output=sub/a a.txt", "sort -osub/a a.txt", "sort -o sub/a a.txt",
    "sort --random-source=sub/a a.txt", "sort -Tsub/up a.txt", "sort --temporary-d=sub/up a",
    "touch --reference=sub/a b.txt", "touch -rsub/a b.txt", "chmod --reference=sub/a a.txt",
    "du --exclude-from=sub/a .", "du -Xsub/a .", "tee --output-error=warn sub/a",
    "jq --rawfile v sub/a . x.json", "jq --slurpfile v sub/a . x.json", "cmp -i1 a sub/a",
    "mkdir -m755 dst/a/x", "cp --backup=t a dst", "realpath --relative-to=sub/up a",
    # option values in a line that moves files: the value's folder must exist now
    "cp a.txt b.txt && sort --output=nodir/x a.txt", "cp a a.txt && sort -onodir/x a.txt",
)


@pytest.mark.parametrize("command", OPTION_VALUES)
def test_option_values_are_checked_as_operands(tree: Path, command: str) -> None:
    cwd, command = split(command, tree)
    for request in requests(cwd, command):
        assert rules.find_timer(dir_timer(tree), request, NOW) is None, command


@pytest.mark.parametrize(("program", "option"), [
    ("file", "-m"), ("file", "--magic-file=x"), ("file", "--mag"), ("file", "-C"),
    ("file", "--compile"), ("file", "-bm"), ("tree", "--info"), ("tree", "--infofile=x"),
    ("tree", "--gitignore"), ("tree", "--gitfile=x"), ("tree", "--fromtabfile"),
    ("chmod", "--dereference")])
def test_options_that_read_files_no_operand_names_are_refused(program: str,
                                                              option: str) -> None:
    """Checked on the table itself: ``tree`` may not be installed where tests run."""
    assert forbidden(program, option)


# -- class 3: after ``--`` every word is an operand --------------------------------------

END_OF_OPTIONS = (
    # an -s after -- (or after an operand) names a file: ln makes hard links
    "ln -- -s a b", "ln -- -s a.txt h", "ln -f -- -s a.txt h", "ln -- --symbolic a.txt h",
    "ln -- -sf a.txt h", "ln -P -- -s a.txt h", "ln a.txt -s h", "ln a.txt h -s",
    "ln -- -s a.txt", "ln -n -- -s a.txt h",
    # dash-named operands after --: sources carrying links, folders diff reads, link places
    "cp -r -- -x y", "cp -- -x/ref y", "mv -- -x y", "mv -- -x/ref y", "cp -a -- -x y",
    "diff -- -d a.txt", "diff a.txt -- -d", "diff -u -- -d a.txt", "cp -r -- -x okdir",
    "ln -s -- up/other/s.txt -d/", "ln -s up/other/s.txt su*",
    # and they must exist in a line that moves files
    "cp a.txt b.txt && cat -- -nope", "mv a.txt b.txt; tail -- -gone",
)


@pytest.mark.parametrize("command", END_OF_OPTIONS)
def test_words_after_double_dash_are_operands(tree: Path, command: str) -> None:
    for request in requests(tree, command):
        assert rules.find_timer(dir_timer(tree), request, NOW) is None, command


def test_ln_counts_only_an_s_before_every_operand() -> None:
    assert ln_symbolic([("-s", False), ("a", False), ("b", False)])
    assert ln_symbolic([("-fs", False), ("--", False), ("a", False), ("b", False)])
    for words in ([("--", False), ("-s", False), ("a", False)], [("a", False), ("-s", False)],
                  [("-*", True), ("-s", False)], [("-", False), ("-s", False)]):
        assert not ln_symbolic(words), words


def test_argv_marks_words_after_double_dash_as_operands(tree: Path) -> None:
    args = argv([("-r", False), ("--", False), ("-x", False), ("a", False)], str(tree))
    assert [(a.text, a.sure) for a in args] == [("-r", False), ("--", False), ("-x", True),
                                                ("a", True)]


# -- what must stay allowed ----------------------------------------------------------------

STILL_ALLOWED = (
    "cp a okdir", "cp a.txt okdir/", "cp -r srcdir okdir", "cp -t srcdir a.txt",
    "cp --target-directory=okdir a b.txt", "cp -tokdir a", "mv b.txt okdir", "cp a dst/new",
    "cp a c.txt", "cp -r srcdir copy", "cp --parents srcdir/f okdir", "ln -s a.txt okdir/l",
    "diff a b.txt", "diff a.txt b.txt", "diff --from-file=a a.txt b.txt",
    "diff --to-file=b.txt a", "diff -u a b.txt", "cmp a b.txt", "file --mime-type a.txt",
    "grep --file=b.txt a.txt", "sort --output=out.txt a.txt", "sort -oout2.txt a.txt",
    "touch --reference=a b.txt", "cp -- a.txt c.txt", "ln -s -- a.txt l2", "ln -sf a.txt l3",
    "diff -- a.txt b.txt", "cat -- a.txt", "mv -- b.txt d.txt",
)


@pytest.mark.parametrize("command", STILL_ALLOWED)
def test_commands_without_a_link_where_they_land_stay_allowed(tree: Path,
                                                              command: str) -> None:
    for request in requests(tree, command):
        assert rules.find_timer(dir_timer(tree), request, NOW) is not None, command


# -- through the real hook process ---------------------------------------------------------

HOOK_SAMPLE = ("cp a dst", "cp -r srcdir dst", "cp --target-directory=dst a", "mv a dang",
               "cp -rT srcdir tdst", "diff --from-file=sub a", "diff --to-file=sub a",
               "file -m a.txt:/etc/passwd a.txt", "sort -osub/a a.txt", "ln -- -s a b",
               "cp -r -- -x y", "diff -- -d a.txt")


def test_the_hook_process_asks_the_derived_classes(tree: Path, hook: HookRunner) -> None:
    from tether_hooks.store import Store

    Store().add_timer("dir", 600, created_by="test", path=str(tree))
    payload = {"session_id": "s1", "cwd": str(tree), "hook_event_name": "PermissionRequest",
               "permission_mode": "default", "tool_name": "Bash"}
    for agent in ("claude", "codex"):
        for command in HOOK_SAMPLE:
            run = hook.run(agent, {**payload, "tool_input": {"command": command}})
            assert run.returncode == 0 and "Traceback" not in run.stderr
            assert '"allow"' not in run.stdout, (agent, command)
    for command in ("cp a okdir", "diff a b.txt"):
        run = hook.run("claude", {**payload, "tool_input": {"command": command}})
        assert run.output["hookSpecificOutput"]["decision"]["behavior"] == "allow", command
