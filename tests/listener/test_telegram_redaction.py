"""End to end: secrets in a tool input never reach the chat nor the audit log; the local
``tether-hooks pending --json`` still shows the whole command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from emulators.telegram import TelegramEmulator
from harness.hookproc import HookRunner
from harness.telegram_relay import CHAT, configure, request_message

from tether_hooks import paths
from tether_hooks.store import Store

AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GH = "ghp_" + "Zy9Xw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa98"
PASSWORD = "Tr0ub4dor-and-3"
PEM_BODY = "MIIEpAIBAAKCAQEAsecretPemBodyLine0123456789abcdefABCDEF"
RAILS = "9c1f0e4b7a2d8c3e6f5a4b3c2d1e0f9a8b7c6d5e"  # secret words not last in the name
GH_RO = "Zk3mP9qL2xR7vT4wB8nC6yH1jD5sF0gA"
VAULT = "hvs.CAESIJ3kq9VxLm2P7wRtY8uZb4NcA6sDfGhJ"  # dotted values after a secret name
PASETO = "v2.local.q7Lm2Vx9Rt4Wb8Nc"
YAML_PW = "correct.horse.staple"
SECRETS = (AWS_ID, AWS_KEY, GH, PASSWORD, PEM_BODY, RAILS, GH_RO, VAULT[4:], PASETO, YAML_PW)
COMMAND = (
    f"export AWS_ACCESS_KEY_ID={AWS_ID} AWS_SECRET_ACCESS_KEY={AWS_KEY}\n"
    f"git clone https://{GH}@github.com/acme/app.git\n"
    f"DB_PASSWORD={PASSWORD} ./deploy.sh\n"
    "cat > key.pem <<'EOF'\n-----BEGIN RSA PRIVATE KEY-----\n"
    f"{PEM_BODY}\n-----END RSA PRIVATE KEY-----\nEOF\n"
    f"SECRET_KEY_BASE={RAILS} bin/rails s\nGITHUB_TOKEN_RO={GH_RO} ./sync.sh\n"
    f'curl -H "X-Vault-Token: {VAULT}" https://vault:8200/v1/secret/data/app\n'
    f"curl -H 'X-Custom-Token: {PASETO}' https://api.example.com\n"
    f"cat > app.yml <<'EOF'\ndb:\n  password: {YAML_PW}\nEOF\n"
    + "# padding so the input is long enough for Show full\n" * 30
)


pytestmark = pytest.mark.usefixtures("listener_stops_first")


def leaked(text: str | None) -> list[str]:
    return [s for s in SECRETS if s in (text or "")]


def test_secrets_are_masked_in_the_chat_and_the_audit_log_but_not_locally(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    emu = telegram_emulator
    configure(tether_home, emu)
    proc = hook.start("claude", {
        "session_id": "s-sec", "transcript_path": "/tmp/t.jsonl", "cwd": "/tmp",
        "permission_mode": "default", "hook_event_name": "PermissionRequest",
        "tool_name": "Bash", "tool_input": {"command": COMMAND}})
    msg = request_message(emu, "deploy.sh")
    assert leaked(msg.text) == [] and leaked(msg.source) == []
    assert msg.text.count("«secret: ") >= 9 and "-----BEGIN RSA PRIVATE KEY-----" in msg.text

    emu.press(msg, "📄 Show full")
    full = emu.wait_for_message(lambda m: "part 1/" in (m.text or ""), chat_id=CHAT, timeout=15)
    assert "deploy.sh" in full.text and "«secret: " in full.text and leaked(full.text) == []

    (request,) = [r for r in Store().read()["requests"].values() if r["status"] == "pending"]
    emu.send_text(CHAT, "/pending")
    listing = emu.wait_for_message(lambda m: f"{request['id']} Bash" in (m.text or ""),
                                   chat_id=CHAT, timeout=15)
    assert "«secret: " in listing.text and "sha256" not in listing.text

    local = subprocess.run([sys.executable, "-m", "tether_hooks", "pending", "--json"],
                           capture_output=True, text=True, timeout=30)
    assert local.returncode == 0
    assert json.loads(local.stdout)[0]["tool_input"]["command"] == COMMAND  # every secret

    emu.press(msg, "❌ Deny")
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "deny"
    emu.wait_for_message(lambda m: m.message_id == msg.message_id and not m.buttons,
                         chat_id=CHAT, timeout=15)
    for shown in emu.messages(CHAT):
        assert leaked(shown.text) == [] and leaked(shown.source) == [], shown.text
    lines = Path(paths.audit_file()).read_text().splitlines()
    (entry,) = [json.loads(x) for x in lines if request["id"] in x]
    assert entry["status"] == "denied" and re.search(r"sha256:[0-9a-f]{12}»", entry["input"])
    assert leaked("\n".join(lines)) == []


def test_a_token_cut_by_the_stores_cap_shows_no_part_of_it(
        hook: HookRunner, tether_home: Path, telegram_emulator: TelegramEmulator) -> None:
    """The store keeps 4096 characters of a huge input: the token the cap runs through is
    left out whole, never shown cut short (where no rule could find it)."""
    emu = telegram_emulator
    configure(tether_home, emu)
    token = "ghp_" + "Zq8Lm3Rv7Tx2Wb9Nc4Hy6Jd1Kf5Sg0Pa3Ue8"
    command = "echo " + "a" * (4096 - 5 - 20) + " " + token + " " + "b" * 70_000
    proc = hook.start("claude", {
        "session_id": "s-cut", "transcript_path": "/tmp/t.jsonl", "cwd": "/tmp",
        "permission_mode": "default", "hook_event_name": "PermissionRequest",
        "tool_name": "Bash", "tool_input": {"command": command}})
    msg = request_message(emu, "echo aaa")
    emu.press(msg, "📄 Show full")
    emu.wait_for_message(lambda m: "part 1/" in (m.text or ""), chat_id=CHAT, timeout=15)
    emu.press(msg, "❌ Deny")
    assert hook.finish(proc).output["hookSpecificOutput"]["decision"]["behavior"] == "deny"
    shown = [m.text or "" for m in emu.messages(CHAT)] + [Path(paths.audit_file()).read_text()]
    kept = token[:19]  # what the cap would have kept of it
    assert len(shown) >= 3 and not [t for t in shown if kept[:8] in t or kept[4:] in t]
