"""Wrong-allow suite: calls no timer may allow (directory timers, Bash rules, tool timers),
generated over a real project tree with real symlinks out of it, plus the calls that must
stay allowed (so the suite cannot pass by refusing everything), plus a sample run through
the real hook process. Each case asserts what the hook would decide: ``find_timer``."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from harness.hookproc import HookRunner

from tether_hooks import rules
from tether_hooks.agents import claude, codex
from tether_hooks.errors import UsageError

NOW = 1_000_000.0


def timer(scope: str, **fields: object) -> dict:
    base = {"id": "t1", "scope": scope, "session_id": None, "agent": None, "tool": None,
            "path": None, "prefix": None, "created_at": NOW - 1, "expires_at": NOW + 600,
            "created_by": "test"}
    return {**base, **fields}


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    """proj/ with files, sub dirs and links out: out -> other/, secret -> other/s.txt,
    .hid -> other/, links/a -> other/s.txt, sub/up -> tmp_path; other/ holds s.txt."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "s.txt").write_text("secret")
    root = tmp_path / "proj"
    for d in ("src", "build", "sub/deep", "links", "d"):
        (root / d).mkdir(parents=True)
    for f in ("a.txt", "b.txt", "README.md", "src/a.py", "build/x.o", "x.json"):
        (root / f).write_text("{}\n")
    (root / "out").symlink_to(other)
    (root / "secret").symlink_to(other / "s.txt")
    (root / ".hid").symlink_to(other)
    (root / "links" / "a").symlink_to(other / "s.txt")
    (root / "sub" / "up").symlink_to(tmp_path)
    (root / "d" / "rel").symlink_to("../../other/s.txt")
    return root


def claude_call(cwd: Path, tool: str, session: str = "s1", **tool_input: object) -> dict:
    return claude.parse({"session_id": session, "cwd": str(cwd), "tool_name": tool,
                         "hook_event_name": "PermissionRequest", "tool_input": tool_input})


def codex_call(cwd: Path, tool: str, **tool_input: object) -> dict:
    return codex.parse({"session_id": "c1", "turn_id": "t", "cwd": str(cwd), "tool_name": tool,
                        "hook_event_name": "PermissionRequest", "tool_input": tool_input})


def dir_timers(root: Path) -> dict:
    return {"t1": timer("dir", path=os.path.realpath(root))}


# -- Bash commands under a directory timer ----------------------------------------------

OUTSIDE_FORMS = ("/etc/passwd", "{other}/s.txt", "~/x", "~root/x", "..", "../..", "./..",
                 "../other/s.txt", "sub/../../x", "out/s.txt", "out", "secret", ".hid/s.txt",
                 "links/*", "*/s.txt", "-t..", "-o/etc/x", "--target-directory=..",
                 "--reference={other}/s.txt", "sub/up/other/s.txt", "d/rel", "d/*", "$HOME",
                 "`pwd`/..", "{a,/etc/passwd}", ".*/s.txt")
PROGRAM_FORMS = ("cat {}", "ls {}", "rm -rf {}", "cp a.txt {}", "mv b.txt {}", "touch {}",
                 "head -n 1 {}", "grep -r foo {}", "tee {}", "chmod +x {}", "echo hi > {}",
                 "wc -l < {}")
RUNS_CODE = (
    "python x.py", "python3 -c 'print(1)'", "node x.js", "make", "make test", "npm test",
    "npm run build", "npx jest", "cargo build", "go run .", "pytest -q", "./script.sh",
    "bin/tool", "/bin/ls", "sh x.sh", "bash -c ls", "perl x.pl", "ruby x.rb", "php x.php",
    "sed -i s/a/b/ a.txt", "sed 'w out.txt' a.txt", "awk '{print}' a.txt", "find . -delete",
    "find . -exec rm {} ;", "tar -xf x.tar", "tar --to-command=sh -xf x.tar", "rsync -e sh a b",
    "zip -T x.zip a.txt", "xargs rm < a.txt", "env ls", "sudo ls", "nohup ls", "timeout 1 ls",
    "nice ls", "command ls", "exec ls", "eval ls", "source x.sh", ". x.sh", "less a.txt",
    "more a.txt", "vi a.txt", "git status", "git log", "git diff", "git add .",
    "git commit -m x", "git -C .. status", "git -c core.pager=sh log", "git --git-dir=x log",
    "git status --porcelain", "sort --compress-program=sh a.txt", "sort --compress=sh a.txt",
    "grep -R foo .", "ls -L out", "cp -L -r d e", "du -L .", "diff -r src d", "diff src d",
    "jq -f x.jq x.json", "jq 'import \"x\" as y; .' x.json", "jq env x.json", "tree -l",
    "sha256sum -c a.txt", "file -f a.txt", "wc --files0-from=a.txt", "cp -s a.txt l",
    "cp -S ../x a.txt b.txt", "ln -t.. a.txt", "chmod -R -L +x .", "time ls",
    "if true; then ls; fi", "[[ -f a.txt ]]", "ls | sh", "cat a.txt | python3",
    "a.txt", "=ls", "pushd", "popd",
)
ASSIGNMENTS = ("GIT_DIR=/x git log", "LD_PRELOAD=./x.so ls", "PATH=. ls", "A=1 cat a.txt",
               "HOME=/ ls", "BASH_ENV=x.sh cat a.txt", "IFS=/ ls", "x=1 ls && cat a.txt",
               "ls && LC_ALL=C sort a.txt")
SHAPES = (
    "ls\nrm -rf /", "ls\r\nrm x", "ls &", "ls & cat ../x", "ls;cat /etc/passwd",
    "sort ';' --compress-program=sh a.txt", "cat <<EOF", "ls $(id)", "ls ${HOME}", "ls !(x)",
    "ls (x)", "cat a.txt # /etc", "echo 'unbalanced", "ls ;; ls", "ls >", "| ls", "ls \\..",
    "cd .. && ls", "cd", "cd -", "cd src && ls", "cd ./out && ls", "cd ./sub/up && cat other/s.txt",
    "cd ./sub && cd ./up && cat other/s.txt", "mv d e; cat e/rel", "cp -r d e && cat e/rel",
    "ln -s ../other/s.txt z", "ln -s d/rel z", "ls ^a", "cat a.txt >& ../x",
)
UNICODE = ("ls\x00", "ls\x1b[31m", "ls\u2028rm -rf ~", "ls\u2029", "cat \u202ea.txt",
           "cat \uff0fetc\uff0fpasswd", "cat \u2215etc\u2215passwd", "ls\t..", "cat \u2025",
           "ls\x7f", "ls \u00a0..", "cat caf\u00e9")


def bash_cases() -> list[str]:
    forms = [f.replace("{other}", "../other") for f in OUTSIDE_FORMS]
    made = [p.format(f) for p, f in itertools.product(PROGRAM_FORMS, forms)]
    return made + list(RUNS_CODE) + list(ASSIGNMENTS) + list(SHAPES) + list(UNICODE)


@pytest.mark.parametrize("command", bash_cases())
def test_dir_timer_never_allows_bash_reaching_out(proj: Path, command: str) -> None:
    for request in (claude_call(proj, "Bash", command=command),
                    codex_call(proj, "Bash", command=command)):
        assert rules.find_timer(dir_timers(proj), request, NOW) is None, command


@pytest.mark.parametrize("command", ("ls", "cat a.txt", "git status"))
def test_dir_timer_never_allows_from_a_cwd_outside(proj: Path, command: str) -> None:
    for cwd in (proj.parent, proj / "out", proj / "sub" / "up"):
        request = claude_call(cwd, "Bash", command=command)
        assert rules.find_timer(dir_timers(proj), request, NOW) is None


def test_a_program_on_path_inside_the_directory_is_not_trusted(proj: Path, monkeypatch) -> None:
    (proj / "bin").mkdir()
    monkeypatch.setenv("PATH", f"{proj / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert rules.find_timer(dir_timers(proj), claude_call(proj, "Bash", command="ls"), NOW) is None
    monkeypatch.setenv("PATH", f".{os.pathsep}{os.environ['PATH']}")
    assert rules.find_timer(dir_timers(proj), claude_call(proj, "Bash", command="ls"), NOW) is None


# -- tools under a directory timer -------------------------------------------------------

def tool_cases(root: Path) -> list[dict]:
    other = str(root.parent / "other")
    inside = str(root / "a.txt")
    c = root
    return [
        claude_call(c, "mcp__fs__write", path=inside, content="x"),
        claude_call(c, "mcp__fs__read", file_path=inside),
        claude_call(c, "mcp__db__query", path=str(root), sql="drop table users"),
        claude_call(c, "CustomTool", file_path=inside),
        claude_call(c, "WebFetch", url="http://evil", path=inside),
        claude_call(c, "WebSearch", query="x"),
        claude_call(c, "Agent", prompt="rm -rf ~", path=inside),
        claude_call(c, "Task", prompt="x", file_path=inside),
        claude_call(c, "read", file_path=inside),
        claude_call(c, "Read", file_path="/etc/passwd"),
        claude_call(c, "Read", file_path=f"{other}/s.txt"),
        claude_call(c, "Read", file_path=str(root / "secret")),
        claude_call(c, "Read", file_path=str(root / "out" / "s.txt")),
        claude_call(c, "Read", file_path="../other/s.txt"),
        claude_call(c, "Read", file_path=inside, target="/etc/passwd"),
        claude_call(c, "Read", file_path=inside, extra={"path": "/etc"}),
        claude_call(c, "Read", file_path=["/etc/passwd"]),
        claude_call(c, "Write", file_path="~/.bashrc", content="x"),
        claude_call(c, "Write", file_path=str(root / "d" / "rel"), content="x"),
        claude_call(c, "Write", file_path=str(root / "links" / "a"), content="x"),
        claude_call(c, "Edit", file_path="../../etc/hosts", old_string="a", new_string="b"),
        claude_call(c, "MultiEdit", file_path=f"{other}/s.txt", edits=[]),
        claude_call(c, "NotebookEdit", notebook_path=str(root / "out" / "n.ipynb"),
                    new_source="x"),
        claude_call(c, "Glob", pattern="../*"),
        claude_call(c, "Glob", pattern="/etc/**"),
        claude_call(c, "Glob", pattern="out/**/*.txt"),
        claude_call(c, "Glob", pattern="~/.ssh/*"),
        claude_call(c, "Glob", pattern="*.py", path=str(root / "out")),
        claude_call(c, "Grep", pattern="x", path=other),
        claude_call(c, "Grep", pattern="x", glob="~/x"),
        claude_call(c, "Grep", pattern="x", glob="/etc/**"),
        claude_call(c, "Grep", pattern="x", path=str(root / "sub" / "up")),
        claude_call(c, "LS", path=".."),
        claude_call(c, "Bash", command="ls", run_in_background=True),
        claude_call(c, "Bash", command="ls", workdir=other),
        codex_call(c, "apply_patch", command=f"*** Begin Patch\n*** Add File: {other}/x\n+x\n"),
        codex_call(c, "apply_patch", command="*** Begin Patch\n*** Add File: out/x\n+x\n"),
        codex_call(c, "apply_patch", command="*** Begin Patch\n*** Update File: d/rel\n"),
        codex_call(c, "apply_patch", command="*** Begin Patch\n*** Add File: x\n", root=other),
        codex_call(c, "mcp__fs__write", path=inside),
        codex_call(c, "Bash", command="ls", workdir=other),
    ]


def test_dir_timer_never_allows_tools_reaching_out_or_unknown(proj: Path) -> None:
    cases = tool_cases(proj)
    assert len(cases) == 41
    for request in cases:
        found = rules.find_timer(dir_timers(proj), request, NOW)
        assert found is None, (request["tool_name"], request["tool_input"])


# -- Bash rules --------------------------------------------------------------------------

RULE_CASES = [
    (rule, command)
    for rule in ("git status", "git status*", "git status:*", "ls*", "*")
    for command in (
        "git status\nrm -rf ~", "git status\r\nrm x", "git status; rm -rf ~", "git status && id",
        "git status | sh", "git status > /etc/passwd", "git status < x", "git status &",
        "git status $(id)", "git status `id`", "git status ';'", "git status \x1b[2J",
        "git status\x00", "git status \u2028", "git status \u202e", "git\u00a0status",
        "ls\nrm -rf ~", "ls; rm -rf ~", "ls '|' x", "ls 'a\nb'", "",
    )
] + [("git status", "git status --short"), ("git status", "git statusx"),
     ("git status:*", "git statusx"), ("git status:*", "git"), ("npm test", "npm test --watch"),
     ("git status*", "git log"), ("ls -la", "ls"), ("rm build", "rm build /")]


@pytest.mark.parametrize(("rule", "command"), RULE_CASES)
def test_bash_rules_cover_one_simple_command_only(proj: Path, rule: str, command: str) -> None:
    request = claude_call(proj, "Bash", command=command)
    assert rules.find_timer({"t1": timer("bash", prefix=rule)}, request, NOW) is None


@pytest.mark.parametrize("pattern", ["", "  ", "rm -rf /; ls", "ls\nrm", "ls | sh", "ls > x",
                                     "a && b*", "ls `id`*", "ls $(id):*", "ls\x1b", "git 'status"])
def test_impossible_or_empty_bash_rules_are_refused(pattern: str) -> None:
    with pytest.raises(UsageError):
        rules.check_bash_rule(pattern)


# -- tool and session timers -------------------------------------------------------------

SCOPE_CASES = [
    (timer("tool", tool="read"), "Write", "s1", "claude"),
    (timer("tool", tool="read"), "Bash", "s1", "claude"),
    (timer("tool", tool="read"), "mcp__fs__read", "s1", "claude"),
    (timer("tool", tool="bash"), "apply_patch", "s1", "codex"),
    (timer("tool", tool="edit"), "MultiEdit", "s1", "claude"),
    (timer("tool", tool="mcp__github__*"), "mcp__gitlab__x", "s1", "claude"),
    (timer("tool", tool="mcp__github__*"), "mcp__githubx__x", "s1", "claude"),
    (timer("tool", tool="bash", session_id="s1"), "Bash", "s2", "claude"),
    (timer("tool", tool="bash", agent="claude"), "Bash", "s1", "codex"),
    (timer("tool", tool="bash", expires_at=NOW), "Bash", "s1", "claude"),
    (timer("tool", tool="*"), "AskUserQuestion", "s1", "claude"),
    (timer("tool", tool="*"), "ExitPlanMode", "s1", "claude"),
    (timer("session", session_id="s1"), "Bash", "s2", "claude"),
    (timer("session", session_id="s1"), "Bash", "", "claude"),
    (timer("session", session_id="s1", agent="claude"), "Bash", "s1", "codex"),
    (timer("session"), "Bash", "s1", "claude"),
    (timer("session", session_id="s1", expires_at=NOW - 1), "Bash", "s1", "claude"),
    (timer("dir", path="/nonexistent-dir"), "Read", "s1", "claude"),
    (timer("bash", prefix="ls*"), "Write", "s1", "claude"),
    (timer("bash", prefix="ls*", session_id="s1"), "Bash", "s2", "claude"),
]


@pytest.mark.parametrize(("rule", "tool", "session", "agent"), SCOPE_CASES)
def test_timers_cover_only_their_tool_session_and_agent(proj: Path, rule: dict, tool: str,
                                                        session: str, agent: str) -> None:
    request = {**claude_call(proj, tool, session=session, command="ls", file_path="a.txt"),
               "agent": agent}
    assert rules.find_timer({"t1": rule}, request, NOW) is None


# -- what must stay allowed --------------------------------------------------------------

ALLOWED_BASH = (
    "ls", "ls -la", "ls -la 2>/dev/null", "cat a.txt", "cat ./src/a.py", "cat {root}/README.md",
    "rm -rf build/*", "rm -rf build", "mkdir -p build/new", "touch new.txt", "echo hi > out.txt",
    "echo hi >> out.txt", "cp a.txt c.txt", "mv b.txt c.txt", "grep -rn TODO src",
    "head -n 5 a.txt", "tail -n 2 a.txt", "wc -l build/*.o", "cd ./src && ls",
    "cd {root}/src && ls",
    "sort a.txt | uniq -c", "diff a.txt b.txt", "cmp a.txt b.txt", "ln -s a.txt l",
    "chmod +x a.txt", "jq . x.json", "du -sh src", "sha256sum a.txt", "pwd",
    "echo done", "cat a.txt | grep x | wc -l", "ls src; ls build", "cp -r src copy",
    "stat a.txt", "file a.txt", "test -f a.txt && echo yes", "[ -d src ]", "ls .",
    "cat 'a.txt'", "ls src/*.py", "cut -d, -f1 a.txt", "rm -rf .",
)


@pytest.mark.parametrize("command", ALLOWED_BASH)
def test_dir_timer_still_allows_commands_inside(proj: Path, command: str) -> None:
    command = command.replace("{root}", str(proj))
    for request in (claude_call(proj, "Bash", command=command),
                    codex_call(proj, "Bash", command=command)):
        assert rules.find_timer(dir_timers(proj), request, NOW) is not None, command


def test_dir_timer_still_allows_tools_inside(proj: Path) -> None:
    c, inside = proj, str(proj / "a.txt")
    allowed = [
        claude_call(c, "Read", file_path=inside, offset=1, limit=10),
        claude_call(c, "Write", file_path=str(proj / "new.txt"), content="x"),
        claude_call(c, "Edit", file_path=inside, old_string="a", new_string="b",
                    replace_all=False),
        claude_call(c, "MultiEdit", file_path=inside, edits=[{"old_string": "a"}]),
        claude_call(c, "NotebookEdit", notebook_path=str(proj / "n.ipynb"), new_source="x"),
        claude_call(c, "Glob", pattern="src/**/*.py"),
        claude_call(c, "Grep", pattern="TODO", path=str(proj / "src"), glob="*.py", **{"-n": True}),
        claude_call(c, "LS", path=str(proj)),
        claude_call(c, "Bash", command="ls", description="list", timeout=1000),
        codex_call(c, "apply_patch", command="*** Begin Patch\n*** Update File: a.txt\n@@\n"),
        codex_call(c, "Bash", command="ls", description="list"),
    ]
    for request in allowed:
        assert rules.find_timer(dir_timers(proj), request, NOW) is not None, request


@pytest.mark.parametrize(("rule", "command"), [
    ("git status*", "git status -s"), ("git status:*", "git  status --short"),
    ("npm test", "npm  test"), ("npm test", "npm 'test'"), ("git stat*", "git status"),
    ("*", "ls -la")])
def test_bash_rules_still_allow_their_command(proj: Path, rule: str, command: str) -> None:
    assert rules.check_bash_rule(rule) == rule
    request = claude_call(proj, "Bash", command=command)
    assert rules.find_timer({"t1": timer("bash", prefix=rule)}, request, NOW) is not None


# -- through the real hook process -------------------------------------------------------

HOOK_SAMPLE = ("cat ../other/s.txt", "cat out/s.txt", "cat secret", "ls ..", "cat links/*",
               "cat */s.txt", "GIT_DIR=/x git log", "python3 x.py", "make", "git status",
               "npm test", "ls\nrm -rf ~", "ls; cat /etc/passwd", "cat \u202ea.txt",
               "ls\x1b[2J", "cd ./sub/up && cat other/s.txt", "cp a.txt -t..", "cat d/rel",
               "sort --compress-program=sh a.txt", "echo x > out/y")


def test_the_hook_process_allows_none_of_a_sample(proj: Path, hook: HookRunner) -> None:
    from tether_hooks.store import Store

    Store().add_timer("dir", 600, created_by="test", path=str(proj))
    payload = {"session_id": "s1", "cwd": str(proj), "hook_event_name": "PermissionRequest",
               "permission_mode": "default"}
    tools = [("Bash", {"command": c}) for c in HOOK_SAMPLE] + [
        ("mcp__fs__write", {"path": str(proj / "a.txt")}), ("Read", {"file_path": "../x"}),
        ("Write", {"file_path": str(proj / "secret"), "content": "x"})]
    for agent in ("claude", "codex"):
        for tool, tool_input in tools:
            run = hook.run(agent, {**payload, "tool_name": tool, "tool_input": tool_input})
            assert run.returncode == 0 and "Traceback" not in run.stderr
            assert '"allow"' not in run.stdout, (agent, tool, tool_input)
    # and the same timer does allow a call inside, through the same process
    run = hook.run("claude", {**payload, "tool_name": "Bash", "tool_input": {"command": "ls"}})
    assert run.output["hookSpecificOutput"]["decision"]["behavior"] == "allow"


# -- review round 2: classes found by an adversarial review --------------------------------
# Each class: several members, all asked; the must-stay-allowed cases above still pass.


@pytest.fixture
def proj2(proj: Path) -> Path:
    """proj plus: shared_data -> other/ (a glob through it reaches out), sub/ls (an
    agent-written program), lnk/ holding a relative link inside (lnk/rl -> ../a.txt), agent
    settings folders with their files, copies of those files at the root, and a hard link
    hl.json to .claude/settings.json."""
    other = proj.parent / "other"
    (proj / "shared_data").symlink_to(other)
    (proj / "sub" / "ls").write_text("#!/bin/sh\necho RAN\n")
    (proj / "sub" / "ls").chmod(0o755)
    (proj / "lnk").mkdir()
    (proj / "lnk" / "rl").symlink_to("../a.txt")
    for folder in (".claude", ".codex"):
        (proj / folder).mkdir()
    for name in (".claude/settings.json", ".claude/settings.local.json", ".codex/hooks.json",
                 "settings.local.json", "settings.json", "hooks.json"):
        (proj / name).write_text("{}")
    os.link(proj / ".claude" / "settings.json", proj / "hl.json")
    return proj


ASSIGNS = ("printf -v PATH %s sub ; ls", "printf -v PATH sub && ls", "printf -vPATH sub && cat a",
           "printf -v HOME . && ls", "printf -v BASH_ENV a.txt", "printf -- -v PATH sub; ls",
           "printf -v x %s a.txt", "printf '-vPATH' sub; ls", "printf -v PATH sub | ls")
GLOB_SUPERSET = ("cat shared[A-z]data/s.txt", "cat shared[A-_]data/s.txt",
                 "rm -rf shared[A-z]data/*", "cat shared?data/s.txt", "cat sha*/s.txt",
                 "cat shared[!a]data/s.txt", "cat shared[^a]data/s.txt",
                 "ls shared[_]data", "cat *_data/nomatch*", "cp a.txt shared[A-z]data/",
                 "touch shared[A-z]data/new", "cat s?cret", "cat sec[A-z]et", "ls sub/u?/")
LINKS_MOVED = ("ln -s ../other/s.txt l", "ln -s ./../x l", "ln -s ../../other/s.txt sub/l",
               "ln a.txt hard", "ln -f a.txt hard2", "ln --force a.txt h", "ln -P a.txt h",
               "ln -L a.txt h", "mv lnk/rl .", "mv lnk/rl sub/x", "cp -P lnk/rl x",
               "cp -a lnk y", "cp -r lnk y", "cp -R lnk q", "cp -d lnk/rl z", "mv lnk z",
               "cp -a l* y", "mv -t sub lnk/rl", "ln -s a.txt l && mv l sub",
               "cp -rt sub lnk", "mv -ft sub lnk", "cp --target-directory=sub -r lnk",
               "cp -l a.txt h", "cp --link a.txt h", "cp -al lnk y")
AGENT_SETTINGS = ("cp settings.local.json .claude", "mv settings.local.json .claude/",
                  "mv hooks.json .codex", "cp hooks.json .codex/",
                  "cp a.txt .claude/setting[s].local.json", "tee .codex/h*.json",
                  "rm .claude/s*", "cat .claude/s*", "ls .codex", "touch .claude/x",
                  "cd ./.claude && cp ../a.txt settings.local.json", "ln settings.json .claude/x",
                  "rm -rf .codex", "cp -r .claude z", "cat .c*/*", "echo {} > .codex/x.json",
                  "cp a.txt .cl?ude/settings.json", "cat hl.json > .claude/n")


FROM_SUB = ("ln -s ../d/top.txt l", "ln -s ../../other/s.txt l", "mv ../lnk/rl ..",
            "cp -a ../lnk ../y", "cat ../shared[A-z]data/s.txt", "printf -v PATH %s . ; ls",
            "cp ../a.txt ../.claude/settings.json", "cd ../.codex && touch x", "ln ../a.txt h")


@pytest.mark.parametrize("command", ASSIGNS + GLOB_SUPERSET + LINKS_MOVED + AGENT_SETTINGS
                         + tuple("@sub " + c for c in FROM_SUB))
def test_review_classes_are_asked_under_a_dir_timer(proj2: Path, command: str) -> None:
    cwd = proj2 / "sub" if command.startswith("@sub ") else proj2
    command = command.removeprefix("@sub ")
    for request in (claude_call(cwd, "Bash", command=command),
                    codex_call(cwd, "Bash", command=command)):
        assert rules.find_timer(dir_timers(proj2), request, NOW) is None, (cwd, command)


def test_hard_links_and_agent_settings_are_asked_for_edit_tools(proj2: Path) -> None:
    hl = str(proj2 / "hl.json")
    asked = [
        claude_call(proj2, "Edit", file_path=hl, old_string="{}", new_string="{1}"),
        claude_call(proj2, "Write", file_path=hl, content="{}"),
        claude_call(proj2, "MultiEdit", file_path=hl, edits=[{"old_string": "{"}]),
        claude_call(proj2, "NotebookEdit", notebook_path=hl, new_source="x"),
        codex_call(proj2, "apply_patch",
                   command="*** Begin Patch\n*** Update File: hl.json\n@@\n-{}\n+{1}\n"),
        claude_call(proj2, "Write", file_path=str(proj2 / ".claude" / "commands.md"), content="x"),
        claude_call(proj2, "Edit", file_path=str(proj2 / ".codex" / "x.toml"), old_string="a",
                    new_string="b"),
        claude_call(proj2, "Read", file_path=str(proj2 / ".claude" / "settings.local.json")),
        claude_call(proj2, "Glob", pattern=".claude/*"),
        claude_call(proj2, "LS", path=str(proj2 / ".codex")),
        claude_call(proj2, "Grep", pattern="x", path=".claude"),
    ]
    for request in asked:
        assert rules.find_timer(dir_timers(proj2), request, NOW) is None, request["tool_input"]


@pytest.mark.parametrize("rule", ["git status*", "git status:*", "echo*", "ls:*", "*", "git *"])
@pytest.mark.parametrize("command", [
    "git status ${x:=\\$\\(touch\\ /tmp/PWN\\)}${x@P}", "git status $[1+1]",
    "git status ${PWD:y}", "git status $x", 'git status "$HOME"', "git status '$x'",
    "git status $'\\x3b' id", "git status ${IFS}id", "echo $((1))", "ls $PWD", "echo $0",
    "ls ${x:=a[\\$\\(id\\)]}${y:x}", "git status \\$x"])
def test_bash_rules_never_cover_a_dollar(proj: Path, rule: str, command: str) -> None:
    request = claude_call(proj, "Bash", command=command)
    assert rules.find_timer({"t1": timer("bash", prefix=rule)}, request, NOW) is None


@pytest.mark.parametrize("pattern", ["git status $x*", "echo $HOME", "ls ${x}:*", "ls '$x'",
                                     "echo $[1]", "git $(id)*"])
def test_bash_rules_with_a_dollar_are_refused(pattern: str) -> None:
    with pytest.raises(UsageError, match=r"\$"):
        rules.check_bash_rule(pattern)


@pytest.fixture
def home_timer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME whose default config/state/data folders hold our files and the agents' homes
    (~/.claude, ~/.codex); the timer is ``allow-dir ~ --force``."""
    home = tmp_path / "home"
    for name in ("TETHER_HOOKS_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME",
                 "CLAUDE_CONFIG_DIR", "CODEX_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    for name in (".config/tether-hooks/config.toml", ".local/state/tether-hooks/state.json",
                 ".local/share/tether-hooks/x", ".claude/settings.json", ".codex/config.toml",
                 "proj/a.txt", "a.txt", "x"):
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text("token = 'x'\n")
    return home


HOME_BASH = ("cat .config/t*/c*.toml", "cat .config/*/*.toml", "cp x .local/state/t*/s*.json",
             "cat .claude/s*", "cd ./.config && cat ./t*/config.tom?", "grep -r token .",
             "grep -r token", "grep -rn token .config", "ls -R", "du -a", "tree", "rm -rf .config",
             "cat .local/*/*/*", "cp -r .config x2", "grep token -r .local", "ls .local/state",
             "cat */*/config.toml", "chmod -R 600 .", "cat .config/tether-hooks/config.toml")


@pytest.mark.parametrize("command", HOME_BASH)
def test_a_home_timer_never_reaches_our_files(home_timer: Path, command: str) -> None:
    request = claude_call(home_timer, "Bash", command=command)
    assert rules.find_timer(dir_timers(home_timer), request, NOW) is None


def test_a_home_timer_never_searches_our_folders(home_timer: Path) -> None:
    h = home_timer
    asked = [claude_call(h, "Glob", pattern=".config/*/*"), claude_call(h, "Glob", pattern="**/*"),
             claude_call(h, "Grep", pattern="token", path=".config"),
             claude_call(h, "Grep", pattern="token", glob="**/*.toml"),
             claude_call(h, "Grep", pattern="token"), claude_call(h, "LS", path=str(h)),
             claude_call(h, "LS", path=str(h / ".local")), claude_call(h, "LS"),
             claude_call(h, "Grep", pattern="x", path=str(h / ".local" / "state")),
             claude_call(h, "Read", file_path=str(h / ".codex" / "config.toml"))]
    for request in asked:
        assert rules.find_timer(dir_timers(h), request, NOW) is None, request["tool_input"]
    # and what stays allowed under that timer: work in a project below home
    for request in (claude_call(h, "Bash", command="cat a.txt"),
                    claude_call(h / "proj", "Bash", command="ls"),
                    claude_call(h, "Read", file_path=str(h / "proj" / "a.txt")),
                    claude_call(h, "Grep", pattern="x", path=str(h / "proj"))):
        assert rules.find_timer(dir_timers(h), request, NOW) is not None, request["tool_input"]


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "sub/\x00/../a.txt", "/\x00etc", "~\x00/x",
                                  "~\x00"])
def test_unresolvable_paths_are_asked_never_a_crash(proj: Path, text: str) -> None:
    for request in (claude_call(proj, "Read", file_path=text),
                    claude_call(proj, "Write", file_path=text, content="x"),
                    claude_call(proj, "Grep", pattern="x", path=text),
                    claude_call(proj, "Glob", pattern="*", path=text),
                    claude_call(proj, "LS", path=text)):
        assert rules.find_timer(dir_timers(proj), request, NOW) is None
    request = {**claude_call(proj, "Read", file_path="a.txt"), "cwd": str(proj) + "\x00"}
    assert rules.find_timer(dir_timers(proj), request, NOW) is None


ROUND2_HOOK_SAMPLE = ("printf -v PATH %s sub ; ls", "cat shared[A-z]data/s.txt",
                      "rm -rf shared[A-z]data/*", "ln a.txt hard", "mv lnk/rl .",
                      "cp settings.local.json .claude", "tee .codex/h*.json",
                      "git status $[1]")


def test_the_hook_process_asks_the_review_classes(proj2: Path, hook: HookRunner) -> None:
    from tether_hooks.store import Store

    store = Store()
    store.add_timer("dir", 600, created_by="test", path=str(proj2))
    store.add_timer("bash", 600, created_by="test", prefix="git status*")
    payload = {"session_id": "s1", "cwd": str(proj2), "hook_event_name": "PermissionRequest",
               "permission_mode": "default"}
    tools = [("Bash", {"command": c}) for c in ROUND2_HOOK_SAMPLE] + [
        ("Edit", {"file_path": str(proj2 / "hl.json"), "old_string": "{", "new_string": "["}),
        ("Read", {"file_path": "a\x00b"})]
    for agent in ("claude", "codex"):
        for tool, tool_input in tools:
            run = hook.run(agent, {**payload, "tool_name": tool, "tool_input": tool_input})
            assert run.returncode == 0 and "Traceback" not in run.stderr
            assert '"allow"' not in run.stdout, (agent, tool, tool_input)
    run = hook.run("claude", {**payload, "tool_name": "Bash", "tool_input": {"command": "ls"}})
    assert run.output["hookSpecificOutput"]["decision"]["behavior"] == "allow"
