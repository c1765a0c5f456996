"""The command line: every subcommand explains itself, options come from flags or the environment."""

from __future__ import annotations

import subprocess
import sys

import pytest

from latentwire.cli import build_parser, command_modules, main
from latentwire.cli.options import env_name


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    names = [a for a in parser._subparsers._group_actions[0].choices]  # noqa: SLF001
    assert {"demo", "broker", "train", "produce", "consume"} <= set(names)
    for name in names:
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0
        out = capsys.readouterr().out
        assert "usage: latentwire" in out and "--help" in out
        assert "(default: None)" not in out  # an option without a default says nothing about one


def test_commands_are_discovered_in_order() -> None:
    modules = command_modules()
    assert modules[0].endswith("demo_cmd")
    assert all(m.startswith("latentwire.cli.") and m.endswith("_cmd") for m in modules)


def test_environment_supplies_defaults_and_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATENTWIRE_BATCH_SIZE", "77")
    monkeypatch.setenv("LATENTWIRE_MODEL", "m/")
    monkeypatch.setenv("LATENTWIRE_TOPIC", "t")
    monkeypatch.setenv("LATENTWIRE_DATA", "d.csv")
    args = build_parser().parse_args(["produce"])  # required options satisfied by the environment
    assert (args.batch_size, args.model, args.topic, args.data) == (77, "m/", "t", "d.csv")
    args = build_parser().parse_args(["produce", "--batch-size", "5"])
    assert args.batch_size == 5


def test_bad_environment_value_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setenv("LATENTWIRE_BATCH_SIZE", "many")
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["produce", "--model", "m", "--topic", "t", "--data", "d"])
    assert info.value.code == 2
    assert "invalid int value: 'many'" in capsys.readouterr().err


def test_env_names() -> None:
    assert env_name("--bootstrap-servers") == "LATENTWIRE_BOOTSTRAP_SERVERS"


def test_errors_exit_2_with_a_message(tmp_path) -> None:  # noqa: ANN001
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "latentwire",
            "train",
            "--data",
            str(tmp_path / "missing.csv"),
            "--out",
            str(tmp_path / "b"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "latentwire train: error:" in done.stderr and "missing.csv" in done.stderr
