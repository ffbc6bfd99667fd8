"""doctor with a running listener whose platform cannot post: exit 1 and the platform's fix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.telegram import ALLOWED_USER_ID
from harness.waiting import until


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tether_hooks", *args], capture_output=True,
                          text=True, timeout=60)


def doctor_check(name: str) -> dict | None:
    run = cli("doctor", "--json")
    found = {c["name"]: c for c in json.loads(run.stdout)}.get(name)
    return (found | {"exit": run.returncode}) if found and found["status"] != "ok" else None


def test_a_rejected_telegram_token_gets_the_token_fix(tether_home: Path,
                                                       telegram_emulator) -> None:
    emu = telegram_emulator
    (tether_home / "config.toml").write_text(
        f'[telegram]\nbot_token = "987654321:WRONG-token_for_the_emulator"\n'
        f'chat_id = {ALLOWED_USER_ID}\nallowed_user_ids = [{ALLOWED_USER_ID}]\n'
        f'api_base = "{emu.base_url}"\n')
    cli("listener", "start")
    found = until(lambda: doctor_check("telegram"), what="doctor to see the bridge fail")
    assert found["exit"] == 1 and found["status"] == "fail", found
    assert "token" in found["detail"]
    assert found["fix"].startswith("check the token with `tether-hooks setup telegram --token")
    assert "listener stop && tether-hooks listener start" in found["fix"]


def test_a_bridge_that_cannot_start_fails_doctor(tether_home: Path) -> None:
    (tether_home / "config.toml").write_text('[memory]\nallowed_user_ids = [1]\nfail = "start"\n')
    cli("listener", "start")
    found = until(lambda: doctor_check("memory"), what="doctor to see the bridge fail")
    assert found["exit"] == 1 and found["detail"].startswith("auth: memory: told to fail")
    assert "tether-hooks listener logs" in found["fix"]
