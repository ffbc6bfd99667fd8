"""``cd`` is logical in the shell: ``l/..`` drops ``l`` as text, whatever ``l`` links to.

A directory timer judged ``cd ./l/../../..`` by the link's real path (inside) while bash went
to the project's grandparent (outside) and ran the rest there. Every member must be asked;
the controls must still be allowed (so the cases cannot pass by refusing everything)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tether_hooks.shellscope import command_inside


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    root = tmp_path / "home" / "work"
    project = root / "proj"
    (project / "a" / "b" / "c").mkdir(parents=True)
    (project / "a" / "b" / "c" / "f.txt").write_text("inside\n")
    (project / "x.txt").write_text("x\n")
    os.symlink(project / "a" / "b" / "c", project / "l")  # a link deep inside, pointing inside
    os.symlink(project / "a", project / "la")
    (root / "secret.txt").write_text("outside\n")
    (root / "other").mkdir()
    return project


# proj/l -> proj/a/b/c: by the links ./l/../.. is proj/a (inside); as bash reads it, the
# project's parent, where secret.txt and other/ are.
ESCAPES = [
    "cd ./l/../.. && cat ./secret.txt",
    "cd ./l/../.. && rm -f ./secret.txt",
    "cd ./l/../.. && echo pwned > ./victim.txt",
    "cd ./l/../.. && rm -rf ./other",
    "cd ./l/../../other && touch ./x",
    "cd ./l/../../other && ls",
    "cd ./l/../.. ; cat ./secret.txt",
    "cd ./l/../.. && ls ./other",
    "pushd ./l/../.. && cat ./secret.txt",
    "cd ./l/../.. && cd ./other && touch ./x",
    "cd ./la/../.. && cat ./secret.txt",
    "cd ./l/../../proj/../other && ls",
]


@pytest.mark.parametrize("command", ESCAPES)
def test_a_logical_cd_out_of_the_directory_is_asked(proj: Path, command: str) -> None:
    assert not command_inside(command, str(proj), os.path.realpath(proj))


@pytest.mark.parametrize("command", ESCAPES[:4])
def test_bash_really_lands_outside(proj: Path, command: str) -> None:
    """What the cases stand for: the shell's ``cd`` goes where the text says."""
    where = subprocess.run(["bash", "-c", command.split("&&")[0] + "&& pwd"], cwd=proj,
                           capture_output=True, text=True).stdout.strip()
    assert where == str(proj.parent)  # the checker's links say proj/a: inside


@pytest.mark.parametrize("command", [
    "cd ./l/../.. && cat ./secret.txt",
    "cd .. && cat ./secret.txt",
    "cd ./.. && rm -f ./secret.txt",
])
def test_a_cwd_given_through_a_link_is_judged_as_the_shell_sees_it(
        proj: Path, tmp_path: Path, command: str) -> None:
    """The agent's cwd may be a path through a link: ``cd ..`` leaves the link's folder."""
    (tmp_path / "links").mkdir()
    through = tmp_path / "links" / "p"
    os.symlink(proj, through)
    assert not command_inside(command, str(through), os.path.realpath(proj))


@pytest.mark.parametrize("command", [
    "cd ./a && cat ./b/c/f.txt",
    "cd ./l && cat ./f.txt",
    "cd ./a/b/../b && ls",
    "cd ./a/b && cat ./c/f.txt",
    "cd ./l/.. && ls",  # text: proj/ (inside); links: proj/a/b (inside)
    "cd ./la && cat ./b/c/f.txt",
])
def test_cd_inside_is_still_allowed(proj: Path, command: str) -> None:
    assert command_inside(command, str(proj), os.path.realpath(proj))
