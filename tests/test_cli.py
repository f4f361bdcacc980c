"""Specification of the command line as a whole: every subcommand has --help; a usage error
is one line on stderr with exit status 2, a runtime failure one line with status 1, and a
traceback appears only with --debug. `python -m tinygrad_attn` and the `tinygrad-attn`
script are the same program."""

import errno
import io
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from tinygrad_attn import cli, walkthrough_figures
from tinygrad_attn.cli import main
from tinygrad_attn.commands import graph as graph_command
from tinygrad_attn.commands import train as train_command
from tinygrad_attn.viz import render

COMMANDS = ["walkthrough", "graph", "gradcheck", "train", "generate", "explore", "bench"]
SCRIPT = Path(sys.executable).parent / "tinygrad-attn"


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line(err, *words):
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err


def run_process(argv, cwd, program=(sys.executable, "-m", "tinygrad_attn")):
    return subprocess.run([*program, *argv], capture_output=True, text=True, timeout=120, cwd=cwd)


def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


# ---------------------------------------------------------------------- help


def test_top_level_help_lists_every_subcommand(capsys):
    status, out, err = run(capsys, "--help")
    assert status == 0 and err == ""
    for name in COMMANDS:
        assert f"\n    {name}" in out
    assert "--debug" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(capsys, command):
    status, out, err = run(capsys, command, "--help")
    assert status == 0 and err == ""
    assert out.startswith(f"usage: tinygrad-attn {command}") and "--debug" in out


# ---------------------------------------------------------------------- usage errors: status 2


def test_no_command_is_one_line_naming_the_commands(capsys):
    status, out, err = run(capsys)
    assert status == 2 and out == ""
    assert_one_line(err, "choose a command", *COMMANDS)


def test_an_unknown_command_is_one_line_naming_the_commands(capsys):
    status, out, err = run(capsys, "trian")
    assert status == 2 and out == ""
    assert_one_line(err, "'trian'", "train", "walkthrough")


@pytest.mark.parametrize(
    "argv, words",
    [
        (["walkthrough", "--dim", "x"], ["--dim", "invalid int"]),
        (["walkthrough", "--dim", "6", "--heads", "4"], ["divisible", "try --dim 4"]),
        (["walkthrough", "--colour"], ["unrecognized arguments: --colour"]),
        (["graph", "--example", "gpt"], ["invalid choice", "neuron"]),
        (["graph", "--rankdir", "up"], ["invalid choice", "LR"]),
        (["gradcheck", "--only", "nothing"], ["no check name starts with 'nothing'"]),
        (["gradcheck", "--seed", "1.5"], ["invalid int value"]),
        (["train", "--task", "copy"], ["invalid choice", "recall"]),
        (["train", "--steps", "-1"], ["--steps must be at least 1"]),
        (["bench", "--only", "gpu"], ["unknown workload gpu", "value"]),
        (["bench", "--rounds", "0"], ["--rounds must be at least 1"]),
        (["bench", "--only", ","], ["--only names no workload", "value"]),
        (["bench", "--only", ""], ["--only names no workload"]),
        (["walkthrough", "--heads", "-2"], ["--heads must be at least 1, got -2"]),
        (["walkthrough", "--out", ""], ["argument --out: the path is empty"]),
        (["train", "--out", "", "--steps", "1"], ["argument --out: the path is empty"]),
        (["train", "--save", "", "--steps", "1"], ["argument --save: the path is empty"]),
        (["train", "--load", " ", "--steps", "0"], ["argument --load: the path is empty"]),
        (["graph", "-o", ""], ["argument -o/--output: the path is empty"]),
        (["explore", "--out", ""], ["argument --out: the path is empty"]),
    ],
)
def test_usage_errors_are_one_line_and_status_2(capsys, tmp_path, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert_one_line(err, *words)
    assert os.listdir(tmp_path) == []  # nothing was written


# ---------------------------------------------------------------------- runtime failures: status 1


def test_a_disk_error_while_walkthrough_writes_is_one_line_and_status_1(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.setattr(walkthrough_figures, "write_svg", disk_full)
    status, _, err = run(capsys, "walkthrough", "--out", str(tmp_path / "w"))
    assert status == 1
    assert_one_line(err, "No space left on device")
    assert os.listdir(tmp_path / "w") == []  # no figure, no staging folder left behind


def test_a_disk_error_while_graph_writes_is_one_line_and_status_1(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(render, "_write", disk_full)
    status, out, err = run(capsys, "graph", "-o", str(tmp_path / "g.svg"))
    assert status == 1 and out == ""
    assert_one_line(err, "No space left on device")


def test_a_disk_error_while_train_writes_is_one_line_and_status_1(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(train_command, "write_figures", disk_full)
    status, _, err = run(capsys, "train", "--task", "lag", "--steps", "1", "--out", str(tmp_path))
    assert status == 1
    progress, failure = err.rsplit("\n", 2)[0], err.rsplit("\n", 2)[1] + "\n"
    assert progress.startswith("train [") and "error" not in progress  # the progress bar
    assert_one_line(failure, "No space left on device")


def test_a_loss_that_is_nan_is_null_in_valid_json_with_an_error_and_status_1(
    capsys, tmp_path, monkeypatch
):
    from tinygrad_attn.train import Config, make_model

    model = make_model(Config(task="lag"))
    for p in model.parameters():
        p.data = [1e300] * len(p.data)  # finite weights whose scores overflow: a nan loss
    model.save(tmp_path / "huge.json")
    monkeypatch.chdir(tmp_path)
    argv = ["train", "--task", "lag", "--load", "huge.json", "--steps", "0", "--json"]
    status, out, err = run(capsys, *argv)
    assert status == 1
    report = json.loads(out.splitlines()[-1], parse_constant=lambda name: pytest.fail(name))
    assert report["final_loss"] is None and "training diverged" in report["error"]
    assert_one_line(err, "final_loss", "nothing was written")
    assert sorted(os.listdir(tmp_path)) == ["huge.json"]


def test_progress_to_a_file_is_reported_by_time_in_long_runs(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(train_command.time, "perf_counter", lambda: now[0])
    stream = io.StringIO()
    bar = train_command.ProgressBar(10**6, stream=stream)
    history = types.SimpleNamespace(loss=[1.0], task_accuracy=[0.5], attention_accuracy=[0.5])
    for step in range(1, 21):
        now[0] = 3.0 * step  # a step every 3 seconds
        bar.update(step, history)
    lines = stream.getvalue().splitlines()
    # 20 steps, 3 s apart: a line every 10 s or more (steps 4, 8, ...), not every 100,000 steps
    assert [line.split("]")[1].split()[0] for line in lines] == ["4/1000000", "8/1000000",
        "12/1000000", "16/1000000", "20/1000000"]  # fmt: skip


def test_progress_of_a_short_run_is_a_line_every_tenth(monkeypatch):
    monkeypatch.setattr(train_command.time, "perf_counter", lambda: 0.0)
    stream = io.StringIO()
    bar = train_command.ProgressBar(20, stream=stream)
    history = types.SimpleNamespace(loss=[1.0], task_accuracy=[0.5], attention_accuracy=[0.5])
    for step in range(1, 21):
        bar.update(step, history)
    assert len(stream.getvalue().splitlines()) == 10


def test_running_out_of_memory_is_one_line_with_a_message_and_status_1(capsys, monkeypatch):
    def out_of_memory(args):
        raise MemoryError  # Python's own: no message at all

    monkeypatch.setattr(graph_command, "run", out_of_memory)
    status, _, err = run(capsys, "graph")
    assert status == 1
    assert_one_line(err, "out of memory", "use smaller ones")


def test_a_missing_benchmark_suite_is_one_line_and_status_1(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "benchmarks.__main__", None)  # importing it fails
    status, _, err = run(capsys, "bench", "--quick")
    assert status == 1
    assert_one_line(err, "benchmark suite is part of the source repository")


def no_renderer(monkeypatch, tmp_path):
    monkeypatch.delenv(render.RENDERER_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(render, "_python_script_dirs", lambda: [])


def test_walkthrough_without_a_renderer_says_how_to_get_one_and_writes_nothing(
    capsys, tmp_path, monkeypatch
):
    no_renderer(monkeypatch, tmp_path)
    status, out, err = run(capsys, "walkthrough", "--out", str(tmp_path / "w"))
    assert status == 1 and out == ""
    assert_one_line(err, "pip install graphviz-pure")
    assert not (tmp_path / "w").exists()


def test_graph_without_a_renderer_is_status_1(capsys, tmp_path, monkeypatch):
    no_renderer(monkeypatch, tmp_path)
    status, _, err = run(capsys, "graph", "-o", str(tmp_path / "n.svg"))
    assert status == 1
    assert_one_line(err, "pip install graphviz-pure", str(tmp_path / "n.dot"))


def test_an_unexpected_error_is_one_line_naming_its_type_and_debug(capsys, monkeypatch):
    def broken(args):
        return {}["missing"]

    monkeypatch.setattr(graph_command, "run", broken)
    status, _, err = run(capsys, "graph")
    assert status == 1
    assert_one_line(err, "KeyError", "--debug")


def test_a_closed_output_pipe_ends_quietly_and_successfully(capsys, monkeypatch):
    def reader_went_away(args):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setattr(graph_command, "run", reader_went_away)
    status, out, err = run(capsys, "graph")
    assert status == 0 and out == "" and err == ""  # `| head` read what it wanted: not a failure


def test_an_interrupt_is_one_line_and_status_130(capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(graph_command, "run", interrupted)
    status, _, err = run(capsys, "graph")
    assert status == 130 and err == "interrupted\n"


# ---------------------------------------------------------------------- --debug


@pytest.mark.parametrize(
    "argv",
    [["--debug", "graph", "--level", "nope"], ["graph", "--level", "nope", "--debug"]],
    ids=["before the command", "after the command"],
)
def test_debug_shows_the_traceback_before_or_after_the_command(tmp_path, argv):
    done = run_process(argv, tmp_path)
    assert done.returncode != 0
    assert "Traceback (most recent call last)" in done.stderr
    assert "invalid choice: 'nope'" in done.stderr


def test_without_debug_a_runtime_failure_has_no_traceback(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = run_process(["train", "--out", str(blocker)], tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


# ---------------------------------------------------------------------- one program, two names


@pytest.mark.skipif(not SCRIPT.exists(), reason="the tinygrad-attn script is not installed")
@pytest.mark.parametrize(
    "argv", [["gradcheck", "--only", "nothing"], ["--help"], []], ids=["error", "help", "none"]
)
def test_the_script_and_python_m_behave_the_same(tmp_path, argv):
    module = run_process(argv, tmp_path)
    script = run_process(argv, tmp_path, program=(str(SCRIPT),))
    assert (script.returncode, script.stdout, script.stderr) == (
        module.returncode,
        module.stdout,
        module.stderr,
    )
    assert module.returncode == (0 if argv == ["--help"] else 2)


def test_the_order_of_help_is_the_order_of_reading():
    names = [name for name, _ in cli._command_modules()]
    assert names == COMMANDS
