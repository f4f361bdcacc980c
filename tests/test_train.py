"""Training: attention is learned, measured, reproducible, saved; and the `train` command."""

import io
import json
import os

import pytest

from tinygrad_attn import Tensor
from tinygrad_attn.cli import main
from tinygrad_attn.commands.train import ProgressBar
from tinygrad_attn.tasks import Data, Example, get_task
from tinygrad_attn.train import (
    Config,
    History,
    attention_accuracy,
    evaluate,
    make_model,
    results,
    run_training,
    task_accuracy,
)
from tinygrad_attn.train_figures import format_attention, training_figures, write_figures

SHORT = Config(steps=25, batch_size=16, heldout_size=32)  # the default task, a few seconds
KEYS = {"final_loss", "task_accuracy", "attention_accuracy", "heldout_loss", "baseline_loss"}
KEYS |= {"steps", "seconds"}


@pytest.fixture(scope="module")
def short_run():
    return run_training(SHORT)


# ---------------------------------------------------------------------- learning


def test_a_short_training_run_lowers_the_loss(short_run):
    assert short_run.after.loss < short_run.before.loss - 0.5
    assert short_run.history.loss[-1] < short_run.history.loss[0]


def test_a_short_training_run_raises_attention_accuracy(short_run):
    # untrained, the one head spreads its weight: 1/5 to 1/8 lands on any one visible word
    assert short_run.after.attention_accuracy > short_run.before.attention_accuracy + 0.05


def test_the_history_has_one_entry_per_step(short_run):
    history = short_run.history
    assert len(history.loss) == len(history.task_accuracy) == len(history.attention_accuracy)
    assert len(history.loss) == SHORT.steps


def test_the_same_seed_gives_identical_results():
    config = Config(task="lag", steps=4, batch_size=8, heldout_size=8, seed=3)
    a, b = run_training(config), run_training(config)
    assert a.history == b.history
    assert a.before == b.before and a.after == b.after
    assert a.attention_after == b.attention_after
    assert a.model.state_dict() == b.model.state_dict()


def test_another_seed_gives_other_results():
    a = run_training(Config(task="lag", steps=2, batch_size=8, heldout_size=8, seed=1))
    b = run_training(Config(task="lag", steps=2, batch_size=8, heldout_size=8, seed=2))
    assert a.history.loss != b.history.loss


def test_zero_steps_only_evaluates():
    run = run_training(Config(task="lag", steps=0, heldout_size=8))
    assert run.history == History()
    assert run.after == run.before


# ---------------------------------------------------------------------- saving and loading


def test_save_then_load_reproduces_the_predictions(short_run, tmp_path):
    path = short_run.model.save(tmp_path / "weights.json")
    loaded = make_model(Config(seed=SHORT.seed + 1))  # other random weights, until loaded
    loaded.load(path)
    tokens = [list(ex.tokens) for ex in short_run.data.heldout]
    assert loaded(tokens).tolist() == short_run.model(tokens).tolist()
    assert evaluate(loaded, short_run.data.heldout) == short_run.after


# ---------------------------------------------------------------------- measuring


def test_task_accuracy_counts_rows_whose_largest_logit_is_the_target():
    logits = Tensor([[3.0, 1.0, 0.0], [0.0, 1.0, 2.0], [5.0, 0.0, 0.0], [0.0, 2.0, 1.0]])
    assert task_accuracy(logits, [0, 2, 1, 1]) == 0.75


def test_attention_accuracy_averages_the_weight_on_each_key_for_every_head():
    examples = [
        Example(tokens=(0, 1, 2), positions=(1, 2), targets=(0, 0), keys=(0, 0)),
        Example(tokens=(0, 1, 2), positions=(2,), targets=(1,), keys=(1,)),
    ]
    # (B=2, heads=2, T=3, T=3); head 0 looks at the keys, head 1 at itself
    head_0 = [
        [[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.6, 0.2, 0.2]],
        [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.1, 0.9, 0.0]],
    ]
    head_1 = [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]] * 2
    weights = Tensor([[head_0[0], head_1[0]], [head_0[1], head_1[1]]])
    shares = attention_accuracy([weights], examples)
    assert shares[0, 0] == pytest.approx((0.9 + 0.6 + 0.9) / 3)
    assert shares[0, 1] == pytest.approx(0.0)


def test_evaluate_reports_the_best_head():
    config = Config(task="lag", num_heads=2, heldout_size=8)
    score = evaluate(make_model(config), Data(get_task("lag"), heldout_size=8).heldout)
    assert set(score.per_head) == {(0, 0), (0, 1)}
    assert score.attention_accuracy == max(score.per_head.values())
    assert score.per_head[score.best_head] == score.attention_accuracy


def test_results_have_the_seven_numbers(short_run):
    numbers = results(short_run)
    assert set(numbers) == KEYS
    assert numbers["steps"] == SHORT.steps
    assert numbers["final_loss"] == short_run.after.loss
    json.dumps(numbers)  # plain numbers only


# ---------------------------------------------------------------------- showing


def test_format_attention_puts_queries_on_rows_and_keys_on_columns():
    table = format_attention([[1.0, 0.0], [0.3, 0.7]], ["cat", "red"])
    header, first, second = table.splitlines()
    assert header.split() == ["cat", "red"]
    assert first.split() == ["cat", "1.00", "."]  # nothing on the later word
    assert second.split() == ["red", "0.30", "0.70"]


def test_training_figures_show_attention_before_and_after_and_the_curves(short_run):
    figures = training_figures(short_run)
    assert set(figures) == {
        "attention_before.svg",
        "attention_after.svg",
        "loss.svg",
        "accuracy.svg",
    }
    assert all(svg.startswith("<svg") for svg in figures.values())
    for word in get_task(SHORT.task).words(short_run.data.heldout[0].tokens):
        assert f">{word}</text>" in figures["attention_after.svg"]


def test_write_figures_writes_the_figures_and_loadable_weights(short_run, tmp_path):
    paths = write_figures(short_run, tmp_path / "new")
    assert sorted(os.listdir(tmp_path / "new")) == sorted(
        ["attention_before.svg", "attention_after.svg", "loss.svg", "accuracy.svg", "weights.json"]
    )
    assert all(os.path.exists(p) for p in paths)
    make_model(SHORT).load(tmp_path / "new" / "weights.json")


# ---------------------------------------------------------------------- the progress bar


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _history(steps):
    return History(
        loss=[1.0] * steps, task_accuracy=[0.5] * steps, attention_accuracy=[0.25] * steps
    )


def test_the_progress_bar_redraws_one_line_on_a_terminal():
    stream = _Terminal()
    bar = ProgressBar(20, stream=stream)
    for step in range(1, 21):
        bar.update(step, _history(step))
    bar.close()
    text = stream.getvalue()
    assert text.count("\r") == 20 and text.count("\n") == 1  # one line, redrawn
    assert "20/20" in text and "loss 1.0000" in text and "attn 0.25" in text


def test_the_progress_bar_prints_a_few_lines_when_not_a_terminal():
    stream = io.StringIO()
    bar = ProgressBar(100, stream=stream)
    for step in range(1, 101):
        bar.update(step, _history(step))
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10 and "\r" not in stream.getvalue()
    assert lines[-1].startswith("train [" + "#" * 24 + "] 100/100")


# ---------------------------------------------------------------------- the command


def test_train_json_last_line_has_the_seven_keys(capsys, tmp_path):
    status = main(["train", "--steps", "2", "--out", str(tmp_path / "out"), "--json"])
    out = capsys.readouterr().out
    assert status == 0
    numbers = json.loads(out.strip().splitlines()[-1])
    assert set(numbers) == KEYS
    assert numbers["steps"] == 2
    assert 0.0 <= numbers["attention_accuracy"] <= 1.0


def test_train_writes_figures_and_weights_into_out(capsys, tmp_path):
    out = tmp_path / "a" / "b"
    assert main(["train", "--task", "lag", "--steps", "2", "--out", str(out)]) == 0
    assert sorted(os.listdir(out)) == sorted(
        ["attention_before.svg", "attention_after.svg", "loss.svg", "accuracy.svg", "weights.json"]
    )
    report = capsys.readouterr().out
    assert "held-out task accuracy" in report and "attention accuracy" in report


def test_train_save_then_load_with_zero_steps_evaluates_the_same_model(capsys, tmp_path):
    saved = tmp_path / "w.json"
    args = ["train", "--task", "reverse", "--steps", "3", "--json"]
    assert main([*args, "--out", str(tmp_path / "1"), "--save", str(saved)]) == 0
    trained = json.loads(capsys.readouterr().out.splitlines()[-1])
    again = ["train", "--task", "reverse", "--load", str(saved), "--steps", "0", "--json"]
    assert main([*again, "--out", str(tmp_path / "2")]) == 0
    loaded = json.loads(capsys.readouterr().out.splitlines()[-1])
    for key in ("final_loss", "task_accuracy", "attention_accuracy"):
        assert loaded[key] == trained[key]
    assert loaded["steps"] == 0


def _not_ours(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"weights": [1, 2, 3]}))
    return ["--load", str(path)]


def _other_shapes(tmp_path):
    path = tmp_path / "reverse.json"
    make_model(Config(task="reverse")).save(path)  # 9 words, not the 16 of recall
    return ["--load", str(path)]


def _not_json(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not json at all")
    return ["--load", str(path)]


BAD_INPUTS = {
    "unknown task": (lambda tmp_path: ["--task", "copy"], "invalid choice: 'copy'"),
    "zero steps": (lambda tmp_path: ["--steps", "0"], "--steps must be at least 1"),
    "negative steps": (lambda tmp_path: ["--steps", "-5"], "--steps must be at least 1"),
    "steps not a number": (lambda tmp_path: ["--steps", "ten"], "invalid int value"),
    "weights not ours": (_not_ours, "not a tinygrad_attn weights file"),
    "weights not json": (_not_json, "not a tinygrad_attn weights file"),
    "weights of other shapes": (_other_shapes, "another --task"),
    "weights missing": (lambda tmp_path: ["--load", str(tmp_path / "nope.json")], "No such file"),
    "save into a missing folder": (
        lambda tmp_path: ["--save", str(tmp_path / "missing" / "w.json")],
        "does not exist",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_leaves_out_unchanged(case, capsys, tmp_path):
    make_args, message = BAD_INPUTS[case]
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("from before")
    status = main(["train", *make_args(tmp_path), "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.count("\n") == 1 and message in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert os.listdir(out) == ["keep.txt"] and (out / "keep.txt").read_text() == "from before"


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_does_not_create_the_out_folder(case, capsys, tmp_path):
    make_args, _ = BAD_INPUTS[case]
    out = tmp_path / "never"
    assert main(["train", *make_args(tmp_path), "--out", str(out)]) == 2
    assert not out.exists()


def test_save_may_name_a_file_in_the_out_folder_it_makes(capsys, tmp_path):
    out = tmp_path / "new"
    status = main(["train", "--steps", "1", "--out", str(out), "--save", str(out / "w.json")])
    assert status == 0
    make_model(Config()).load(out / "w.json")


def test_out_that_is_a_file_is_a_usage_error(capsys, tmp_path):
    out = tmp_path / "file.txt"
    out.write_text("mine")
    assert main(["train", "--out", str(out)]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert out.read_text() == "mine"
