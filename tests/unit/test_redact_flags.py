"""A switch before a secret flag must not hide it: ``--prod --token X`` used to be read as
the switch ``--prod`` with the value ``--token`` (not secret), and X was left as it was."""

from __future__ import annotations

import pytest

from tether_hooks import redact

SECRET = "Zq8Lm3Rv7Tx2Wb9Kd4"
SWITCHES = ["--prod", "-q", "--verbose", "--json", "-s", "--insecure-skip-tls-verify",
            "--batch", "-v -v", "--yes --force", "-L"]
FLAGS = ["--token {}", "--token={}", "--password {}", "--password={}", "--api-key {}",
         "--client-secret={}", "--oauth2-bearer {}", "--passphrase={}", "--auth-token {}",
         "--access-token={}"]


@pytest.mark.parametrize("switch", SWITCHES)
@pytest.mark.parametrize("flag", FLAGS)
def test_a_secret_flag_after_a_switch_is_masked(switch: str, flag: str) -> None:
    line = f"tool deploy {switch} {flag.format(SECRET)} ./dir"
    for sink in (redact.chat, redact.text):
        out = sink(line)
        assert SECRET not in out, out
        assert switch in out and out.endswith(" ./dir")  # the rest stays readable


@pytest.mark.parametrize("name", ["SECRETS", "PASSWORDS", "API_KEYS", "client_secrets",
                                  "DB_PASSWORDS", "aws_credentials", "SSH_PASSPHRASES"])
def test_a_list_of_secrets_by_its_plural_name(name: str) -> None:
    assert SECRET not in redact.chat(f"{name}={SECRET}")


@pytest.mark.parametrize("line", ["git diff -U3 --stat", "ls -la --color=auto /tmp",
                                  "input_tokens: 5", "max_new_tokens: 512", "TOKENS=12",
                                  "pytest -q -x --maxfail=1 tests", "KEYS=abc",
                                  "curl -s -o out.html https://example.com"])
def test_ordinary_lines_stay_as_they_are(line: str) -> None:
    assert redact.chat(line) == line
