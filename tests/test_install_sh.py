"""./install.sh on a clean HOME, without a terminal, as a new user would run it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_install_sh_sets_up_everything_in_a_clean_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / "settings.json").write_text(json.dumps({"model": "opus"}))
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
    for _ in range(2):  # the second run must be a harmless no-op
        run = subprocess.run(["bash", str(ROOT / "install.sh"), "--extras", ""], env=env,
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, run.stderr
    assert "nothing to change" in run.stdout
    command = home / ".local" / "bin" / "tether-hooks"
    assert subprocess.run([command, "--version"], capture_output=True, text=True, env=env,
                          check=True).stdout.strip() == "tether-hooks, version 0.1.0"
    settings = json.loads((home / ".claude" / "settings.json").read_text())
    assert settings["model"] == "opus"
    hook_command = settings["hooks"]["PermissionRequest"][0]["hooks"][0]["command"]
    shim = home / ".local" / "share" / "tether-hooks" / "bin" / "tether-hook"
    assert hook_command == f"{shim} claude"
    # The installed hook runs with nothing of ours in its environment.
    subprocess.run([command, "allow-tool", "Bash"], env=env, check=True, capture_output=True)
    payload = (ROOT / "tests" / "payloads" / "claude" / "PermissionRequest-Bash.json").read_bytes()
    hook = subprocess.run([shim, "claude"], input=payload, capture_output=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(home)}, timeout=30)
    assert json.loads(hook.stdout)["hookSpecificOutput"]["decision"] == {"behavior": "allow"}
