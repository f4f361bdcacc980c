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
    files = sorted(f for f in os.listdir(out_dir) if f.endswith(".svg"))
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
    assert not [f for f in out_dir.iterdir() if f.is_dir()]  # no staging folder left behind


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


def test_in_every_product_the_columns_of_the_left_name_the_rows_of_the_right():
    w = Walkthrough(dim=6, heads=2)
    labels = {name: (rows, cols) for name, _, _, _, rows, cols, _ in w.stages}
    for left, right, product in [("x", "w_q", "q"), ("x", "w_k", "k"), ("x", "w_v", "v")]:
        assert labels[left][1] == labels[right][0]  # X's columns are W's rows: d0..d5
        assert labels[right][1] == labels[product][1]  # W's columns are Q's: q0..q5
    assert labels["w_q"][0] != labels["w_q"][1]  # input and output dimensions differ
    assert labels["concat"][1] == labels["w_o"][0]  # Concat's columns are W^O's rows
    assert labels["w_o"][1] == labels["output"][1] == labels["x"][1]  # the input's shape
    assert labels["head1"][1] == labels["concat"][1][:3]  # head 1 is Concat's first block


def test_the_heads_are_marked_in_the_figures_of_w_q_concat_and_w_o():
    from tinygrad_attn.walkthrough_figures import stage_svg

    w = Walkthrough(dim=6, heads=3)
    for name, kind in [("w_q", "col-group"), ("q", "col-group"), ("concat", "col-group")]:
        root = ET.fromstring(stage_svg(w, name))
        groups = [e.text for e in root.iter() if e.get("class") == kind]
        assert groups == ["head 1", "head 2", "head 3"], name
    root = ET.fromstring(stage_svg(w, "w_o"))
    assert [e.text for e in root.iter() if e.get("class") == "row-group"] == [
        "head 1",
        "head 2",
        "head 3",
    ]
    one_head = ET.fromstring(stage_svg(Walkthrough(dim=3, heads=1), "w_q"))
    assert not [e for e in one_head.iter() if e.get("class") == "col-group"]


def test_scores_and_scaled_scores_share_one_colour_scale_and_say_so():
    from tinygrad_attn.walkthrough_figures import stage_svg

    w = Walkthrough()
    figures = [ET.fromstring(stage_svg(w, name)) for name in ("head1_scores", "head1_scaled")]
    legends = [[e.text for e in f.iter() if e.get("class") == "legend"] for f in figures]
    assert legends[0] == legends[1]  # the same ends of the colour scale
    scores = {name: m for name, _, _, m, _, _, _ in w.stages}["head1_scores"]
    top = max(abs(x) for row in scores for x in row)
    assert legends[0][0] == f"{top:.2f}"  # set by the scores, the larger of the two
    for f in figures:
        caption = " ".join(e.text for e in f.iter() if e.get("class") == "caption")
        assert "One colour scale for scores and scaled scores" in caption
        words = [e.text for e in f.iter() if e.get("class") in ("x-label", "y-label")]
        assert words == ["key (attended to)", "query (attending)"]


def test_one_head_uses_q_k_v_without_a_head_number_and_one_word_is_singular(capsys):
    from tinygrad_attn.walkthrough import report

    w = Walkthrough("cats", dim=3, heads=1)
    report(w)
    out = capsys.readouterr().out
    assert "(1 word, d_model = 3, 1 head of d_head = 3)" in out
    assert "(1 word x 3 numbers)" in out
    assert "scores = Q K^T" in out and "head 1 = weights @ V " in out
    assert "Q_1" not in out and "K_1" not in out and "V_1" not in out


def test_figures_are_written_before_anything_is_printed(tmp_path):
    from tinygrad_attn.walkthrough import run

    def reader_gone(text):
        raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(BrokenPipeError):
        run(out=str(tmp_path / "figs"), echo=reader_gone)
    written = sorted(os.listdir(tmp_path / "figs"))
    assert "01_x.svg" in written and any("graph" in name for name in written)


def test_walkthrough_piped_into_head_exits_0_with_every_figure_written(tmp_path):
    import subprocess
    import sys

    figs = tmp_path / "figs"
    command = (
        f"{sys.executable} -m tinygrad_attn walkthrough --out {figs} | head -n 3; "
        'exit "${PIPESTATUS[0]}"'
    )
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('Sentence: "I play with cats"') and done.stderr == ""
    svgs = [f for f in os.listdir(figs) if f.endswith(".svg")]
    assert len(svgs) == 28  # 19 stages, 2 graphs, 7 composite figures


def test_heads_alone_picks_a_dim_that_fits(tmp_path, capsys):
    status, out, err = run_cli(["--heads", "4", "--out", str(tmp_path / "w")], capsys)
    assert status == 0, err
    assert "d_model = 12, 4 heads of d_head = 3" in out  # 3 numbers per head, as the seed's
    status, out, _ = run_cli(["--heads", "2", "--out", str(tmp_path / "w")], capsys)
    assert "d_model = 6, 2 heads" in out  # the default when the heads divide it


def test_heads_that_do_not_divide_dim_get_working_values_suggested(tmp_path, capsys):
    status, _, err = run_cli(["--dim", "6", "--heads", "4", "--out", str(tmp_path)], capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "try --dim 4 or --dim 8 or --dim 12, or --heads 1, 2, 3, 6" in err


def test_a_second_run_into_the_same_folder_leaves_only_its_own_figures(tmp_path, capsys):
    out = tmp_path / "figs"
    out.mkdir()
    (out / "notes.svg").write_text("<svg/>")  # not ours: stays
    run_cli(["--out", str(out)], capsys)  # two heads
    assert (out / "17_concat.svg").exists()
    run_cli(["--out", str(out), "--heads", "3"], capsys)  # three: more stages, new numbers
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert "17_concat.svg" not in names and "19_concat.svg" in names
    assert len([n for n in names if n.endswith("_concat.svg")]) == 1
    assert "notes.svg" in names
