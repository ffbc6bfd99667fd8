"""config_write.set_table: one table replaced or added, every other line kept."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tether_hooks.config_write import set_table, toml_value
from tether_hooks.errors import ConfigError

VALUES = {"bot_token": 'a"b\\c\n', "chat_id": -100123, "allowed_user_ids": [1, 2],
          "forum": False, "ratio": 0.5, "odd key": "é"}


def test_values_round_trip(tmp_path: Path) -> None:
    path = str(tmp_path / "config.toml")
    set_table("telegram", VALUES, path)
    assert tomllib.loads(Path(path).read_text()) == {"telegram": VALUES}


def test_a_table_is_added_after_existing_content(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# top\non_timeout = \"deny\"")
    set_table("telegram", {"chat_id": 1}, str(path))
    assert path.read_text() == '# top\non_timeout = "deny"\n\n[telegram]\nchat_id = 1\n'


def test_an_existing_table_is_replaced_and_sub_tables_kept(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[telegram]\nchat_id = 1\ntext = """\n[slack]\n"""\n\n'
                    '[telegram.extra]\nx = 1\n\n[slack]\nok = true\n')
    set_table("telegram", {"chat_id": 2}, str(path))
    data = tomllib.loads(path.read_text())
    assert data == {"telegram": {"chat_id": 2, "extra": {"x": 1}}, "slack": {"ok": True}}


def test_inline_tables_and_broken_files_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("telegram = { chat_id = 1 }\n")
    with pytest.raises(ConfigError, match="inline table"):
        set_table("telegram", {"chat_id": 2}, str(path))
    path.write_text("[telegram\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        set_table("telegram", {"chat_id": 2}, str(path))
    assert path.read_text() == "[telegram\n"


def test_unsupported_values_are_refused() -> None:
    with pytest.raises(TypeError):
        toml_value({"nested": 1})


def test_comments_blank_lines_and_order_survive_inside_the_rewritten_table(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "# top comment\non_timeout = \"deny\"\n\n"
        "[telegram]\n# my note\nbot_token = \"old\"  # from BotFather\n\n"
        "# the group\nchat_id = 1\nstale = true\n\n"
        "[telegram.extra]\nx = 1  # keep\n\n[[telegram.hooks]]\ny = 2\n\n[slack]\nok = true\n"
    )
    set_table("telegram", {"bot_token": "new", "chat_id": 2, "forum": True}, str(path))
    assert path.read_text() == (
        "# top comment\non_timeout = \"deny\"\n\n"
        "[telegram]\n# my note\nbot_token = \"new\"  # from BotFather\n\n"
        "# the group\nchat_id = 2\nforum = true\n\n"
        "[telegram.extra]\nx = 1  # keep\n\n[[telegram.hooks]]\ny = 2\n\n[slack]\nok = true\n"
    )
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_dotted_keys_and_header_less_tables_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    for text in ("telegram.chat_id = 1\n", "[telegram.extra]\nx = 1\n"):
        path.write_text(text)
        with pytest.raises(ConfigError, match="dotted keys"):
            set_table("telegram", {"chat_id": 2}, str(path))
        assert path.read_text() == text
