"""The command line without a broker: the catalogue listing and user errors (no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from centinela.cli import main


def test_list_prints_every_named_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["produce", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ("stable", "covariate-sudden", "covariate-gradual", "concept-sudden",
                 "prior-shift", "mixed"):  # fmt: skip
        assert f"\n{name} " in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["produce", "--scenario", "nope"], "unknown scenario 'nope'"),
        (["produce", "--replay", "/no/such/file.csv", "--label-column", "y"], "does not exist"),
        (["produce", "--drift", "covariate@10:features=x99"], "no feature 'x99'"),
        (["produce", "--label-delay", "gamma:2"], "distribution must be one of"),
        (["produce", "--rate", "-5"], "--rate must be >= 0"),
        (["produce", "--source", "warp"], "unknown source 'warp'"),
        (["bootstrap", "--scenario", "stable", "--params", "{oops"], "--params is not JSON"),
    ],
)
def test_user_errors_exit_non_zero_with_a_message_and_no_traceback(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_non_numeric_replay_column_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b,y\n1,2,0\n3,x,1\n")
    assert main(["produce", "--replay", str(path), "--label-column", "y"]) == 2
    assert "column 'b' is not numeric: row 1 holds 'x'" in capsys.readouterr().err
