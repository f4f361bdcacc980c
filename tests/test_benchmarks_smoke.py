"""The benchmark suite runs, checks its engines agree, and prints its tables.

Only tiny sizes and one call per engine (`--quick`): these tests say nothing about speed.
"""

import doctest
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `benchmarks` lives beside the package, not inside it

from benchmarks import __main__ as bench_main  # noqa: E402
from benchmarks import attention_by_hand, before, bench_attention, timing  # noqa: E402


def tables_in(text):
    """The titles of the markdown tables printed (lines starting with '### ')."""
    return [line[4:] for line in text.splitlines() if line.startswith("### ")]


def test_quick_run_prints_one_table_per_workload_and_exits_zero():
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    titles = tables_in(run.stdout)
    assert [t[:2] for t in titles] == ["A.", "B.", "C.", "D.", "E."]
    assert "CPUs" in run.stdout.splitlines()[0]  # the header says where it ran
    assert run.stdout.count("| target") == 5  # every table has a target column
    assert "all" in run.stdout and "engines agree" in run.stdout


def test_only_runs_the_named_workloads_given_as_list_or_repeated(capsys):
    assert bench_main.main(["--quick", "--only", "softmax,matmul"]) == 0
    assert [t[:2] for t in tables_in(capsys.readouterr().out)] == ["C.", "D."]
    assert bench_main.main(["--quick", "--only", "softmax", "--only", "value"]) == 0
    assert [t[:2] for t in tables_in(capsys.readouterr().out)] == ["A.", "D."]


def test_unknown_workload_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench_main.main(["--only", "nonsense"])
    assert exit_info.value.code == 2
    assert "unknown workload nonsense" in capsys.readouterr().err


def test_rounds_below_one_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench_main.main(["--rounds", "0"])
    assert exit_info.value.code == 2
    assert "--rounds" in capsys.readouterr().err


def test_engines_that_disagree_stop_the_run_with_exit_status_1(monkeypatch, capsys):
    def off_by_a_little(x, weights, heads):
        step, grads = attention_by_hand_engine(x, weights, heads)
        return (lambda: step() + 1e-6), grads

    attention_by_hand_engine = bench_attention.ENGINES["by_hand"]
    monkeypatch.setitem(bench_attention.ENGINES, "by_hand", off_by_a_little)
    assert bench_main.main(["--quick", "--only", "attention"]) == 1
    captured = capsys.readouterr()
    assert "disagree" in captured.err
    assert not tables_in(captured.out)  # nothing was timed


def test_quick_run_judges_no_target(capsys):
    assert bench_main.main(["--quick", "--only", "softmax"]) == 0
    out = capsys.readouterr().out
    assert "n/a (--quick)" in out
    assert "PASS" not in out and "MISS" not in out


@pytest.mark.parametrize("module", [timing, attention_by_hand], ids=lambda m: m.__name__)
def test_examples_in_docstrings_hold(module):
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


def test_ab_times_this_checkout_against_a_git_revision():
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.ab", "HEAD", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    rows = [line for line in run.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split(" | ")[0][2:].strip() for row in rows[1:]] == [
        "attention",
        "training step",
        "Value step",
    ]


def test_only_with_no_name_is_a_usage_error_not_everything(capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench_main.main(["--only", ","])
    assert exit_info.value.code == 2
    assert "--only names no workload" in capsys.readouterr().err


def test_every_table_times_the_engine_before_beside_this_one_and_none_leaves_it_out(capsys):
    quick = ["--quick", "--before", before.BASELINE]  # (--quick alone leaves it out)
    assert bench_main.main([*quick, "--only", "value,matmul,softmax,attention"]) == 0
    out = capsys.readouterr().out
    assert "'before': the package at revision" in out.splitlines()[2]
    assert "Value before (" in out and "Tensor before (" in out  # tables A and C
    assert "fused ms before (" in out and "Tensor before: nn.MultiHeadAttention" in out
    assert bench_main.main(["--quick", "--only", "value", "--before", "none"]) == 0
    out = capsys.readouterr().out
    assert "before (" not in out and "left out (--before none)" in out
