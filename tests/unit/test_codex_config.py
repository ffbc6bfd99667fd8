"""Codex installation: hooks.json merge, config.toml trust records, notify, trust report."""

from __future__ import annotations

import json
import shlex
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from tether_hooks import installer, paths
from tether_hooks.agents import codex, codex_config
from tether_hooks.agents.codex_trust import trust_entries
from tether_hooks.errors import SettingsError
from tether_hooks.main import cli

OURS = "'/x/bin/tether-hook' codex"
FOREIGN = {"type": "command", "command": "/usr/local/bin/guard.sh", "timeout": 5}
USER_CONFIG = """\
# Codex settings, by hand
model = "gpt-5.5"  # the default
approval_policy = "on-request"

[model_providers.fake]
name = "fake"   # keep me
base_url = "http://127.0.0.1:1/v1"
notes = '''
[hooks.state."not a table"]
'''
extra = [
  "[also not a header]",
]

[hooks.state."/elsewhere/hooks.json:stop:0:0"]
trusted_hash = "sha256:foreign"
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cx = tmp_path / "codex"
    cx.mkdir()
    monkeypatch.setenv("CODEX_HOME", str(cx))
    return cx.resolve()


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.output


def state(home: Path) -> dict:
    return tomllib.loads((home / "config.toml").read_text()).get("hooks", {}).get("state", {})


def expected_trust(home: Path) -> dict:
    hooks = json.loads((home / "hooks.json").read_text())["hooks"]
    return {k: h for k, h in trust_entries(str(home / "hooks.json"), hooks).items()}


# -- hooks.json merge --------------------------------------------------------------------


def test_merge_and_unmerge_codex_entries_keep_foreign_groups() -> None:
    settings = {
        "hooks": {
            "PermissionRequest": [{"matcher": "Bash", "hooks": [FOREIGN]}],
            "PostToolUse": [{"hooks": [FOREIGN]}],
        }
    }
    entries = codex.hook_entries(OURS, "permission", 300, 0)
    merged = installer.merge(settings, entries)
    assert merged["hooks"]["PermissionRequest"][0] == {"matcher": "Bash", "hooks": [FOREIGN]}
    assert merged["hooks"]["PermissionRequest"][1]["hooks"][0]["command"] == OURS
    assert installer.merge(merged, entries) == merged
    assert installer.unmerge(merged) == settings


def test_our_trust_lists_only_our_handlers_at_their_positions() -> None:
    merged = installer.merge(
        {"hooks": {"Stop": [{"hooks": [FOREIGN]}]}}, codex.hook_entries(OURS, "permission", 300, 0)
    )
    keys = set(codex_config.our_trust("/h/hooks.json", merged))
    assert keys == {
        "/h/hooks.json:permission_request:0:0",
        "/h/hooks.json:session_start:0:0",
        "/h/hooks.json:stop:1:0",
    }


# -- the TOML editor ------------------------------------------------------------------------


def test_edit_adds_and_removes_records_byte_for_byte() -> None:
    data = tomllib.loads(USER_CONFIG)
    added = codex_config.edit(
        USER_CONFIG,
        data,
        {
            "trust": {
                "/h/hooks.json:stop:0:0": "sha256:a",
                "/h/x.json:pre_tool_use:0:1": "sha256:b",
            },
            "notify": ["/x/bin/tether-hook", "codex", "notify"],
            "project": "/repo é",
        },
    )
    assert added.startswith(USER_CONFIG.split("\n[model")[0])
    parsed = tomllib.loads(added)
    assert parsed["hooks"]["state"]["/h/hooks.json:stop:0:0"] == {"trusted_hash": "sha256:a"}
    assert parsed["hooks"]["state"]["/elsewhere/hooks.json:stop:0:0"]["trusted_hash"] == (
        "sha256:foreign"
    )
    assert parsed["projects"]["/repo é"] == {"trust_level": "trusted"}
    assert parsed["notify"][-1] == "notify" and parsed["model_providers"] == data["model_providers"]
    assert 'approval_policy = "on-request"\nnotify = [' in added
    removed = codex_config.edit(
        added,
        parsed,
        {
            "trust": {"/h/hooks.json:stop:0:0": None, "/h/x.json:pre_tool_use:0:1": None},
            "notify": "drop",
        },
    )
    assert removed == USER_CONFIG + '\n[projects."/repo é"]\ntrust_level = "trusted"\n'


def test_edit_updates_a_record_in_place_keeping_its_other_keys() -> None:
    text = '[hooks.state."/h:stop:0:0"] # mine\nenabled = true\ntrusted_hash = "sha256:old"\n'
    new = codex_config.edit(text, tomllib.loads(text), {"trust": {"/h:stop:0:0": "sha256:new"}})
    assert (
        new == '[hooks.state."/h:stop:0:0"] # mine\nenabled = true\ntrusted_hash = "sha256:new"\n'
    )


def test_edit_refuses_records_in_a_form_it_does_not_edit() -> None:
    text = '[hooks]\nstate = { "/h:stop:0:0" = { trusted_hash = "sha256:old" } }\n'
    with pytest.raises(SettingsError, match="left untouched"):
        codex_config.edit(text, tomllib.loads(text), {"trust": {"/h:stop:0:0": "sha256:new"}})


def test_a_file_without_final_newline_and_crlf_lines() -> None:
    text = 'model = "x"\r\n[a]\r\nb = 1'
    new = codex_config.edit(text, tomllib.loads(text), {"trust": {"/h:stop:0:0": "sha256:n"}})
    assert new.startswith(text + "\n") and tomllib.loads(new)["a"] == {"b": 1}


# -- install / uninstall through the CLI ------------------------------------------------------


def test_install_writes_hooks_trust_and_notify(home: Path) -> None:
    (home / "config.toml").write_text(USER_CONFIG)
    out = run("install", "--agent", "codex")
    assert "hooks.json" in out and "config.toml" in out
    hooks = json.loads((home / "hooks.json").read_text())["hooks"]
    command = hooks["PermissionRequest"][0]["hooks"][0]["command"]
    assert shlex.split(command) == [paths.hook_shim(), "codex"]
    records = {k: v["trusted_hash"] for k, v in state(home).items() if k.startswith(str(home))}
    assert records == expected_trust(home)
    config = tomllib.loads((home / "config.toml").read_text())
    assert config["notify"] == [paths.hook_shim(), "codex", "notify"]
    assert state(home)["/elsewhere/hooks.json:stop:0:0"] == {"trusted_hash": "sha256:foreign"}
    assert [r["status"] for r in codex.trust_report()] == ["trusted"] * 3


def test_install_is_idempotent(home: Path) -> None:
    run("install", "--agent", "codex")
    before = {p.name: p.read_bytes() for p in home.iterdir()}
    out = run("install", "--agent", "codex")
    assert "nothing to change" in out and "config.toml" not in out
    assert {p.name: p.read_bytes() for p in home.iterdir()} == before


def test_install_then_uninstall_restores_both_files_byte_for_byte(home: Path) -> None:
    foreign = {"hooks": {"PermissionRequest": [{"matcher": "Bash", "hooks": [FOREIGN]}]}}
    (home / "hooks.json").write_text(json.dumps(foreign, indent=4))  # no final newline
    (home / "config.toml").write_text(USER_CONFIG)
    run("install", "--agent", "codex")
    assert len(json.loads((home / "hooks.json").read_text())["hooks"]) == 3
    run("uninstall", "--agent", "codex")
    assert (home / "hooks.json").read_text() == json.dumps(foreign, indent=4)
    assert (home / "config.toml").read_text() == USER_CONFIG


def test_stale_records_of_ours_go_when_our_handler_moves(home: Path) -> None:
    run("install", "--agent", "codex")
    old_keys = set(expected_trust(home))
    # Someone puts a foreign group before ours: our handler moves to index 1.
    hooks = json.loads((home / "hooks.json").read_text())
    hooks["hooks"]["PermissionRequest"].insert(0, {"matcher": "Bash", "hooks": [FOREIGN]})
    (home / "hooks.json").write_text(json.dumps(hooks, indent=2))
    with (home / "config.toml").open("a") as f:
        f.write(
            f'\n[hooks.state."{home}/hooks.json:post_tool_use:0:0"]\n'
            'trusted_hash = "sha256:someone-elses"\n'
        )
    assert {r["status"] for r in codex.trust_report()} == {"trusted", "untrusted"}
    run("install", "--agent", "codex")
    records = state(home)
    ours = {
        k
        for k, (_, h) in codex_config.our_trust(
            str(home / "hooks.json"), json.loads((home / "hooks.json").read_text())
        ).items()
    }
    assert f"{home}/hooks.json:permission_request:1:0" in ours
    assert ours <= set(records)
    assert f"{home}/hooks.json:permission_request:0:0" not in records  # our stale record
    assert f"{home}/hooks.json:post_tool_use:0:0" in records  # foreign, untouched
    assert old_keys - ours == {f"{home}/hooks.json:permission_request:0:0"}


def test_changed_definition_is_reported_and_retrusted(home: Path) -> None:
    run("install", "--agent", "codex")
    # Our config now says approval_timeout = 600, and hooks.json was edited to match by hand:
    # Codex sees a changed hook until install records the new hash.
    Path(paths.config_file()).write_text("approval_timeout = 600\n")
    hooks = json.loads((home / "hooks.json").read_text())
    hooks["hooks"]["PermissionRequest"][0]["hooks"][0]["timeout"] = 630
    (home / "hooks.json").write_text(json.dumps(hooks, indent=2))
    report = {r["event"]: r["status"] for r in codex.trust_report()}
    assert report["PermissionRequest"] == "changed" and report["Stop"] == "trusted"
    assert "1 changed" in run("status")
    run("install", "--agent", "codex")
    assert {r["status"] for r in codex.trust_report()} == {"trusted"}
    assert len([k for k in state(home) if "permission_request" in k]) == 1


def test_foreign_notify_is_kept_and_reported(home: Path) -> None:
    (home / "config.toml").write_text('notify = ["/usr/bin/notify-send", "codex"]\n')
    out = run("install", "--agent", "codex")
    assert "already runs a notify program" in out
    assert tomllib.loads((home / "config.toml").read_text())["notify"][0] == "/usr/bin/notify-send"
    run("uninstall", "--agent", "codex")
    assert (home / "config.toml").read_text() == 'notify = ["/usr/bin/notify-send", "codex"]\n'


def test_broken_files_are_refused_untouched(home: Path) -> None:
    (home / "config.toml").write_text("model = [\n")
    out = run("install", "--agent", "codex", code=1)
    assert "not valid TOML" in out and "left untouched" in out
    assert not (home / "hooks.json").exists()  # nothing written when the trust cannot be
    assert (home / "config.toml").read_text() == "model = [\n"
    (home / "config.toml").write_text("")
    (home / "hooks.json").write_text('{"hooks": ')
    assert "not valid JSON" in run("install", "--agent", "codex", code=1)
    assert (home / "hooks.json").read_text() == '{"hooks": '
    assert (home / "config.toml").read_text() == ""
    assert "unreadable" in run("status")


def test_dry_run_writes_nothing(home: Path) -> None:
    out = run("install", "--agent", "codex", "--dry-run")
    assert "trusted_hash" in out and "PermissionRequest" in out
    assert list(home.iterdir()) == []


def test_project_scope_warns_unless_trusted_on_request(home: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    out = run("install", "--agent", "codex", "--scope", "project", "--project", str(repo / "sub"))
    assert "WARNING" in out and "--trust-project" in out
    target = repo.resolve() / ".codex" / "hooks.json"
    assert target.exists()
    config = tomllib.loads((home / "config.toml").read_text())
    assert "notify" not in config and "projects" not in config
    assert all(k.startswith(f"{target}:") for k in config["hooks"]["state"])
    assert {r["status"] for r in codex.trust_report(str(repo))} == {"untrusted"}
    out = run(
        "install",
        "--agent",
        "codex",
        "--scope",
        "project",
        "--project",
        str(repo),
        "--trust-project",
    )
    assert "WARNING" not in out
    config = tomllib.loads((home / "config.toml").read_text())
    assert config["projects"][str(repo.resolve())] == {"trust_level": "trusted"}
    assert {r["status"] for r in codex.trust_report(str(repo))} == {"trusted"}
    run("uninstall", "--agent", "codex", "--scope", "project", "--project", str(repo))
    config = tomllib.loads((home / "config.toml").read_text())
    assert "state" not in config.get("hooks", {})
    assert config["projects"][str(repo.resolve())] == {"trust_level": "trusted"}  # the user's


def test_agent_all_installs_both(home: Path) -> None:
    run("install", "--agent", "all")
    assert (home / "hooks.json").exists()
    assert "PermissionRequest" in (Path.home() / ".claude" / "settings.json").read_text()
    run("uninstall", "--agent", "all")
    assert json.loads((Path.home() / ".claude" / "settings.json").read_text()) == {}
    assert json.loads((home / "hooks.json").read_text()) == {}
    assert "state" not in tomllib.loads((home / "config.toml").read_text()).get("hooks", {})


def test_local_scope_is_refused_for_codex(home: Path) -> None:
    assert "no 'local' scope" in run("install", "--agent", "codex", "--scope", "local", code=1)


def test_headers_are_seen_only_outside_strings_and_brackets() -> None:
    # Was a test of the line scanner (toml_lines.Doc); the editor is tomlkit now: text that
    # looks like a header inside strings and arrays is neither edited nor taken for a table.
    text = (
        'a = """\n[x]\n\\"""\n[y]\n"""\n'  # an escaped quote run does not close the string
        "b = '''\n[z]'''\n"
        'c = { d = "]" }  # [w]\n'
        '[ "t" . u ]  # a header with spaces\n'
        "e = [\n  [1, 2],\n  ['[v]'],\n]\n"
        "[[arr]]\n"
    )
    data = tomllib.loads(text)
    new = codex_config.edit(text, data, {"trust": {"/h:stop:0:0": "sha256:n"},
                                         "notify": ["/x/tether-hook", "codex", "notify"]})
    at = text.index("[ ")
    head = text[:at] + 'notify = ["/x/tether-hook", "codex", "notify"]\n'
    assert new.startswith(head)
    rest = new[len(head):]  # tomlkit >= 0.14 puts a blank line before the first table
    assert rest.startswith(text[at:]) or rest.startswith("\n" + text[at:])
    assert tomllib.loads(new) == {**data, "notify": ["/x/tether-hook", "codex", "notify"],
                                  "hooks": {"state": {"/h:stop:0:0": {"trusted_hash": "sha256:n"}}}}


def test_comments_inside_the_trust_tables_we_rewrite_survive() -> None:
    text = (
        "# mine\n"
        "[hooks]\n# my note on hooks\nfoo = 1  # and here\n\n"
        '[hooks.state."/h:stop:0:0"]\n# my note on trust\ntrusted_hash = "sha256:old"  # hash\n'
        "enabled = true\n\n"
        '[projects."/repo"]\n# my note on the project\ntrust_level = "untrusted"\n'
    )
    new = codex_config.edit(text, tomllib.loads(text), {
        "trust": {"/h:stop:0:0": "sha256:new", "/h:pre_tool_use:0:0": "sha256:p"},
        "project": "/repo",
    })
    assert new == (
        "# mine\n"
        "[hooks]\n# my note on hooks\nfoo = 1  # and here\n\n"
        '[hooks.state."/h:stop:0:0"]\n# my note on trust\ntrusted_hash = "sha256:new"  # hash\n'
        "enabled = true\n\n"
        '[hooks.state."/h:pre_tool_use:0:0"]\ntrusted_hash = "sha256:p"\n\n'
        '[projects."/repo"]\n# my note on the project\ntrust_level = "trusted"\n'
    )
    back = codex_config.edit(new, tomllib.loads(new), {"trust": {"/h:pre_tool_use:0:0": None}})
    assert back == text.replace("sha256:old", "sha256:new").replace('"untrusted"', '"trusted"')


def test_tables_codex_wrote_out_of_order_are_edited() -> None:
    # Codex appends [projects.*] and [hooks.state.*] tables as it goes: they interleave.
    text = (
        '[projects."/a"]\ntrust_level = "trusted"\n\n'
        '[hooks.state."/h:stop:0:0"]\n# note\ntrusted_hash = "sha256:1"\n\n'
        '[projects."/b"]\ntrust_level = "trusted"\n'
    )
    data = tomllib.loads(text)
    new = codex_config.edit(text, data, {
        "trust": {"/h:stop:0:0": None, "/h:session_start:0:0": "sha256:2"}, "project": "/c",
    })
    assert tomllib.loads(new) == {
        "projects": {p: {"trust_level": "trusted"} for p in ("/a", "/b", "/c")},
        "hooks": {"state": {"/h:session_start:0:0": {"trusted_hash": "sha256:2"}}},
    }
