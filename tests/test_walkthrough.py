"""Specification of `tinygrad-attn walkthrough` (what `make demo` runs)."""

import os
import xml.etree.ElementTree as ET

import pytest

from tinygrad_attn.cli import main
from tinygrad_attn.walkthrough import Walkthrough, format_matrix


def run_cli(args, capsys):
    status = main(["walkthrough", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_walkthrough_runs_with_no_flags_and_prints_every_stage(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli([], capsys)
    assert status == 0, err
    for stage in [
        "X: the sentence as a matrix (4 words x 6 numbers)",
        "Q = X W_q",
        "K = X W_k",
        "V = X W_v",
        "Q_1 = columns 0..2 of Q",
        "scores = Q_1 K_1^T",
        "scaled scores = scores / sqrt(d_k)",
        "attention weights = softmax(scaled scores)",
        "head 1 = weights @ V_1",
        "head 2 = weights @ V_2",
        "Concat(head 1 .. head 2)",
        "W^O",
        "the input's shape",
        "computes the same output in one call",
        "d loss / d W_q",
        "d loss / d W^O",
        "gradcheck passed",
        "Two engines, one answer",
    ]:
        assert stage in out, stage
    assert os.path.isdir(tmp_path / "out" / "walkthrough")


def test_walkthrough_writes_one_figure_per_stage_and_lists_them(tmp_path, capsys):
    out_dir = tmp_path / "figs"
    status, out, _ = run_cli(["--out", str(out_dir), "--dim", "4", "--heads", "2"], capsys)
    assert status == 0
    files = sorted(os.listdir(out_dir))
    assert "01_x.svg" in files and "13_head1_weights.svg" in files
    assert any(f.endswith("graph_score_scalar.svg") for f in files)
    assert any(f.endswith("graph_multi_head_tensor.svg") for f in files)
    assert {"15_head2_weights.svg", "17_concat.svg", "19_output.svg"} <= set(files)
    for name in files:
        assert str(out_dir / name) in out  # every file is listed at the end
        ET.parse(out_dir / name)  # and is a real SVG document
    weights_svg = (out_dir / "13_head1_weights.svg").read_text()
    for word in ("I", "play", "with", "cats"):
        assert f">{word}<" in weights_svg  # the words label both axes
    assert not [f for f in files if f.startswith(".")]  # no staging folder left behind


def test_walkthrough_is_deterministic_for_a_seed(tmp_path, capsys):
    first = run_cli(["--out", str(tmp_path / "a"), "--seed", "3"], capsys)[1]
    second = run_cli(["--out", str(tmp_path / "b"), "--seed", "3"], capsys)[1]
    other = run_cli(["--out", str(tmp_path / "c"), "--seed", "4"], capsys)[1]
    strip = lambda text: text.split("Figures written to")[0]  # noqa: E731
    assert strip(first) == strip(second) and strip(first) != strip(other)
    assert (tmp_path / "a" / "13_head1_weights.svg").read_bytes() == (
        tmp_path / "b" / "13_head1_weights.svg"
    ).read_bytes()


@pytest.mark.parametrize("dim, heads", [(3, 1), (4, 2), (6, 3)])
def test_walkthrough_numbers_are_consistent(dim, heads):
    w = Walkthrough("the cat sat down", dim=dim, heads=heads, seed=1)
    stages = {name: matrix for name, _, _, matrix, _, _, _ in w.stages}
    for i in range(1, heads + 1):
        for row in stages[f"head{i}_weights"]:
            assert sum(row) == pytest.approx(1.0)
    assert len(stages["output"]) == 4 and len(stages["output"][0]) == dim  # the input's shape
    assert w.layer_difference < 1e-12  # the stages add up to nn.MultiHeadAttention
    assert w.engine_difference < 1e-12  # Value and Tensor agree
    assert w.check.ok  # the gradients are right
    assert set(w.grads) == {"W_q", "W_k", "W_v", "W^O"}
    assert ("concat" in stages) == (heads > 1)  # one head: nothing to concatenate


def test_each_head_uses_its_own_columns_of_the_printed_q_k_v():
    from tinygrad_attn import Tensor

    w = Walkthrough(dim=6, heads=2)
    stages = {name: matrix for name, _, _, matrix, _, _, _ in w.stages}
    q, k = Tensor(stages["q"]), Tensor(stages["k"])
    q1, k1 = Tensor([row[:3] for row in q.tolist()]), Tensor([row[:3] for row in k.tolist()])
    assert (q1 @ k1.T).data == pytest.approx(Tensor(stages["head1_scores"]).data)
    assert Tensor(stages["head1_q"]).data == pytest.approx(q1.data)


def test_concat_of_the_printed_heads_times_w_o_is_the_printed_output():
    from tinygrad_attn import Tensor

    w = Walkthrough(dim=4, heads=2)
    stages = {name: matrix for name, _, _, matrix, _, _, _ in w.stages}
    y = Tensor(stages["concat"]) @ Tensor(stages["w_o"])
    assert y.data == pytest.approx(Tensor(stages["output"]).data)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sentence", "   "], "empty"),
        (["--dim", "0"], "--dim"),
        (["--dim", "4", "--heads", "3"], "divisible"),
        (["--heads", "0"], "--heads"),
        (["--dim", "x"], "invalid int"),
    ],
)
def test_bad_flags_are_one_line_errors_with_status_2_and_write_nothing(
    tmp_path, capsys, args, message
):
    out_dir = tmp_path / "never"
    status, out, err = run_cli([*args, "--out", str(out_dir)], capsys)
    assert status == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert not out_dir.exists()


def test_an_output_folder_that_cannot_be_written_is_a_usage_error(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    status, _, err = run_cli(["--out", str(blocker / "figs")], capsys)
    assert status == 2 and "not a folder" in err
    assert blocker.read_text() == "not a folder"


def test_format_matrix_labels_rows_and_columns_and_shows_row_sums():
    text = format_matrix([[0.25, 0.75], [0.5, 0.5]], ["a", "b"], ["x", "y"], row_sums=True)
    lines = text.splitlines()
    assert lines[0].split() == ["x", "y", "|", "sum"]
    assert lines[1].split()[0] == "a" and lines[1].endswith("1.000")
