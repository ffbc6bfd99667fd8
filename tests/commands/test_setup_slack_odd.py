"""``tether-hooks setup slack`` and ``doctor`` on odd values, as a user runs them (a
subprocess, against the Slack emulator with the real slack_sdk): a bad api_base (an IPv6
URL cut short, a port out of range), a token with a line break, a space, a control or a
non-ASCII character, an api_base that answers something other than Slack's JSON (an HTML
page, text, a list, bytes that are not UTF-8), a malformed proxy in the environment. Each
gives exit 1 and one line naming what to fix: no traceback, no "unexpected error", no token,
nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from emulators.slack import SlackEmulator
from harness.slack import ALICE, CHANNEL

from tether_hooks import paths

SECRET_PROXY_PASSWORD = "pr0xyPassw0rd"


def cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tether_hooks", *argv], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def args(emu: SlackEmulator, **over: str) -> list[str]:
    options = {"--bot-token": emu.bot_token, "--app-token": emu.app_token,
               "--channel": CHANNEL, "--allow-user": ALICE, "--api-base": emu.base_url}
    options.update({f"--{k.replace('_', '-')}": v for k, v in over.items()})
    return ["setup", "slack", *[x for kv in options.items() for x in kv]]


def clean(emu: SlackEmulator, run: subprocess.CompletedProcess[str], *tokens: str) -> str:
    """Everything printed: no traceback, no unexpected error, no token (whole or its
    secret part), no proxy password; and no crash log written."""
    out = run.stdout + run.stderr
    assert "Traceback" not in out and "unexpected error" not in out, out
    for token in (emu.bot_token, emu.app_token, *tokens):
        assert token not in out and token.strip()[-16:] not in out, out
    assert SECRET_PROXY_PASSWORD not in out, out
    assert not (Path(paths.log_dir()) / "cli-errors.log").exists(), out
    return out


def one_line(emu: SlackEmulator, run: subprocess.CompletedProcess[str], *tokens: str) -> str:
    """The single line a refused setup prints (exit 1); nothing written."""
    out = clean(emu, run, *tokens)
    assert run.returncode == 1, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    assert lines[0].startswith("tether-hooks: error: "), out
    assert not os.path.exists(paths.config_file())
    return lines[0]


def test_the_good_setup_still_works(slack_emulator: SlackEmulator) -> None:
    run = cli(*args(slack_emulator))
    assert run.returncode == 0, run.stderr
    clean(slack_emulator, run)
    assert "channel #approvals (C0APPROVAL)" in run.stdout


# -- api_base ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("api_base", "says"), [
    ("http://[::1/api/", "is not a URL (Invalid IPv6 URL)"),
    ("http://[::1]x/api/", "is not a URL"),
    ("http://127.0.0.1:99999/api/", "is not a URL (Port out of range 0-65535)"),
    ("http://127.0.0.1:port/api/", "is not a URL"),
    ("http://exa mple/api/", "has a space or a control character in it"),
    ("http://example.com/api/\n", "has a space or a control character in it"),
    ("http://example.com/a\x01pi/", "has a space or a control character in it"),
    ("ftp://example.com/api/", "is not an http:// or https:// URL"),
    ("example.com/api/", "is not an http:// or https:// URL"),
    ("http:///api/", "has no host name"),
    ("http://example.com/", "does not end in /api/"),
    ("http://example.com/api/?x=1", "does not end in /api/"),
])
def test_a_bad_api_base_option_is_named(slack_emulator: SlackEmulator, api_base: str,
                                        says: str) -> None:
    line = one_line(slack_emulator, cli(*args(slack_emulator, api_base=api_base)))
    assert line.startswith(f"tether-hooks: error: --api-base {api_base!r} {says}"), line
    assert "give the Web API base ending in /api/" in line
    assert slack_emulator.calls() == []


# -- tokens -----------------------------------------------------------------------------------


BAD_TOKENS = {  # a good token spoiled
    "header-injection": lambda t: f"{t}\nX-Evil: 1", "trailing-word": lambda t: f"{t} extra",
    "space": lambda t: f"{t[:12]} {t[12:]}", "tab": lambda t: f"{t[:12]}\t{t[12:]}",
    "cr": lambda t: f"{t[:12]}\r{t[12:]}", "escape": lambda t: f"{t[:12]}\x1b{t[12:]}",
    "del": lambda t: f"{t[:12]}\x7f{t[12:]}", "non-ascii": lambda t: f"{t[:12]}\u00e9{t[12:]}",
    "zero-width-space": lambda t: f"{t[:12]}\u200b{t[12:]}",
}


@pytest.mark.parametrize("bad", sorted(BAD_TOKENS))
@pytest.mark.parametrize("option", ["--bot-token", "--app-token"])
def test_a_token_with_a_space_or_a_control_character_is_refused_unshown(
        slack_emulator: SlackEmulator, option: str, bad: str) -> None:
    emu = slack_emulator
    good = emu.bot_token if option == "--bot-token" else emu.app_token
    value = BAD_TOKENS[bad](good)
    argv = args(emu)
    argv[argv.index(option) + 1] = value
    line = one_line(emu, cli(*argv), value)
    assert line == (f"tether-hooks: error: {option}: the token given has a space, a control "
                    "character (a line break...) or a non-ASCII character in it (it is not "
                    "shown)")
    assert emu.calls() == []


# -- what api_base answers ----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "body", "content_type", "status", "says"), [
    ("auth.test", "<html><body>Sign in to the Wi-Fi</body></html>", "text/html", 200,
     "(HTTP 200, text/html)"),
    ("auth.test", "<html>Forbidden by the proxy</html>", "text/html", 403,
     "(HTTP 403, text/html)"),
    ("auth.test", "hello", "text/plain", 200, "(AttributeError"),
    ("auth.test", "{not json", "application/json", 200, "(HTTP 200, application/json)"),
    ("auth.test", "[1, 2]", "application/json", 200, "(AttributeError"),
    ("auth.test", '"ok"', "application/json", 200, "(AttributeError"),
    ("auth.test", "null", "application/json", 200, "(HTTP 200, application/json)"),
    ("auth.test", "", "application/json", 200, "(HTTP 200, application/json)"),
    ("auth.test", "{}", "application/json", 200, "(HTTP 200, application/json)"),
    ("auth.test", b"\xff\xfe{}", "application/json", 200, "(UnicodeDecodeError"),
    ("auth.test", "x" * 40, "application/gzip", 200, "(bytes)"),
    ("auth.test", "[" * 100000 + "]" * 100000, "application/json", 200, "(RecursionError"),
    ("auth.test", '{"ok": true, "user": ["tether"]}', "application/json", 200,
     "(user is a list, not a string)"),
    ("apps.connections.open", "<html></html>", "text/html", 200, "(HTTP 200, text/html)"),
    ("conversations.info", '{"ok": true, "channel": "C0APPROVAL"}', "application/json", 200,
     "(channel is a string, not an object)"),
    ("conversations.info", '{"ok": true, "channel": {"name": 5}}', "application/json", 200,
     "(channel.name is a number, not a string)"),
], ids=["html", "html-403", "text", "bad-json", "json-list", "json-string", "json-null",
        "empty", "json-without-ok", "not-utf8", "gzip", "deep", "odd-field",
        "app-token-html", "channel-string", "channel-name-number"])
def test_an_answer_that_is_not_slacks_names_api_base(
        slack_emulator: SlackEmulator, method: str, body: str | bytes, content_type: str,
        status: int, says: str) -> None:
    emu = slack_emulator
    emu.answer_next(method, body, content_type=content_type, status=status)
    line = one_line(emu, cli(*args(emu)))
    what = {"auth.test": "check the bot token", "apps.connections.open":
            "check the app-level token", "conversations.info": "find the channel"}[method]
    assert line.startswith(f"tether-hooks: error: the answer to {what} is not a Slack Web API "
                           f"answer {says}"), line
    assert line.endswith("check api_base (Slack's Web API, ending in /api/: "
                         "https://slack.com/api/) and the proxy"), line


# -- the proxy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("var", "value", "says"), [
    ("HTTPS_PROXY", "http://[::1", "is not a URL (Invalid IPv6 URL)"),
    ("HTTPS_PROXY", "proxy.example:3128", "is not an http:// or https:// URL"),
    ("HTTPS_PROXY", "http://", "has no host name"),
    ("HTTPS_PROXY", "http://proxy.example:99999", "is not a URL (Port out of range"),
    ("https_proxy", "socks5://proxy.example:1080", "is not an http:// or https:// URL"),
    ("HTTP_PROXY", "http://proxy example:3128", "has a space or a control character"),
    ("http_proxy", "http://proxy.example:3128/\x01", "has a space or a control character"),
    ("HTTPS_PROXY", f"http://me:{SECRET_PROXY_PASSWORD}@[::1", "is not a URL"),
])
def test_a_malformed_proxy_in_the_environment_is_named(slack_emulator: SlackEmulator,
                                                       var: str, value: str,
                                                       says: str) -> None:
    line = one_line(slack_emulator, cli(*args(slack_emulator), env={var: value}))
    assert line.startswith(f"tether-hooks: error: {var} = "), line
    assert f"(environment) {says}" in line and "give an http(s) proxy URL" in line
    assert f"or unset {var}, or set proxy in [slack] of " in line
    if "@" in value:
        assert "(not shown: it has a user name or password)" in line
    else:
        assert repr(value) in line
    assert slack_emulator.calls() == []


def test_an_empty_proxy_variable_is_no_proxy(slack_emulator: SlackEmulator) -> None:
    """(slack_sdk ignores a blank one: so does the check.)"""
    run = cli(*args(slack_emulator), env={"HTTPS_PROXY": " "})
    assert run.returncode == 0, run.stderr
    clean(slack_emulator, run)


# -- a bad config.toml: setup without options, and doctor ---------------------------------------

def table(emu: SlackEmulator, **over: object) -> str:
    keys = {"bot_token": emu.bot_token, "app_token": emu.app_token, "channel_id": CHANNEL,
            "allowed_user_ids": [ALICE], "api_base": emu.base_url, **over}
    return "[slack]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items())


BAD_TABLES = [
    ({"api_base": "http://[::1/api/"},
     "[slack] api_base = 'http://[::1/api/' is not a URL (Invalid IPv6 URL)"),
    ({"api_base": "http://127.0.0.1:99999/api/"},
     "[slack] api_base = 'http://127.0.0.1:99999/api/' is not a URL (Port out of range"),
    ({"api_base": 42}, "[slack] api_base = 42 is not a string"),
    ({"proxy": "http://[::1"}, "[slack] proxy = 'http://[::1' is not a URL"),
    ({"proxy": f"http://me:{SECRET_PROXY_PASSWORD}@proxy:99999"},
     "[slack] proxy = (not shown: it has a user name or password) is not a URL"),
    ({"proxy": "http://"}, "[slack] proxy = 'http://' has no host name"),
    ({"bot_token": "{bot}\nX-Evil: 1"}, "[slack] bot_token has a space, a control character"),
    ({"bot_token": "{bot} extra"}, "[slack] bot_token has a space, a control character"),
    ({"app_token": "{app}\u0007"}, "[slack] app_token has a space, a control character"),
    ({"app_token": "xapp-\u00fc\u00f1\u00ef"}, "[slack] app_token has a space"),
    ({"bot_token": 1}, "[slack] bot_token is not a string"),
]


def _bad(emu: SlackEmulator, over: dict[str, object]) -> tuple[dict[str, object], list[str]]:
    """``over`` with {bot}/{app} filled in, and the token values to never show."""
    filled = {k: v.format(bot=emu.bot_token, app=emu.app_token) if isinstance(v, str) else v
              for k, v in over.items()}
    return filled, [v for k, v in filled.items() if k.endswith("_token") and isinstance(v, str)]


@pytest.mark.parametrize(("over", "says"), BAD_TABLES)
def test_setup_reading_a_bad_table_names_the_key(slack_emulator: SlackEmulator,
                                                 over: dict[str, object], says: str) -> None:
    emu = slack_emulator
    filled, tokens = _bad(emu, over)
    Path(paths.config_file()).write_text(table(emu, **filled))
    before = Path(paths.config_file()).read_text()
    run = cli("setup", "slack", "--allow-user", ALICE)
    out = clean(emu, run, *tokens)
    lines = [line for line in out.splitlines() if line.strip()]
    assert run.returncode == 1 and len(lines) == 1, out
    assert lines[0].startswith(f"tether-hooks: error: {paths.config_file()}: {says}"), out
    assert Path(paths.config_file()).read_text() == before  # nothing written
    assert emu.calls() == []


@pytest.mark.parametrize(("over", "says"), BAD_TABLES)
def test_doctor_reading_a_bad_table_fails_that_check_in_one_line(
        slack_emulator: SlackEmulator, over: dict[str, object], says: str) -> None:
    emu = slack_emulator
    filled, tokens = _bad(emu, over)
    Path(paths.config_file()).write_text(table(emu, **filled))
    run = cli("doctor")
    out = clean(emu, run, *tokens)
    assert run.returncode == 1 and "the check crashed" not in out, out
    (line,) = [line for line in out.splitlines() if line.startswith("[FAIL] slack config:")]
    assert line == f"[FAIL] slack config: {paths.config_file()}: " + line.split(": ", 2)[2]
    assert says in line, out


def test_doctor_names_a_malformed_proxy_in_the_environment(slack_emulator: SlackEmulator
                                                          ) -> None:
    emu = slack_emulator
    Path(paths.config_file()).write_text(table(emu))
    run = cli("doctor", env={"HTTPS_PROXY": f"http://me:{SECRET_PROXY_PASSWORD}@[::1"})
    out = clean(emu, run)
    (line,) = [line for line in out.splitlines() if line.startswith("[FAIL] slack config:")]
    assert "HTTPS_PROXY = (not shown: it has a user name or password) (environment) is not " \
           "a URL" in line, out


def test_a_token_from_the_environment_is_named_by_its_variable(slack_emulator: SlackEmulator
                                                               ) -> None:
    emu = slack_emulator
    value = f"{emu.bot_token[:12]} {emu.bot_token[12:]}"
    run = cli("setup", "slack", "--app-token", emu.app_token, "--channel", CHANNEL,
              "--allow-user", ALICE, "--api-base", emu.base_url,
              env={"SLACK_BOT_TOKEN": value})
    line = one_line(emu, run, value)
    assert "SLACK_BOT_TOKEN (environment) has a space, a control character" in line
    assert emu.calls() == []
