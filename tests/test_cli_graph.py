"""Specification of `tinygrad-attn graph`: every example draws, with defaults that need no
flags; every mistake is one line on stderr and exit status 2."""

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from tinygrad_attn.cli import main
from tinygrad_attn.commands import graph as graph_command
from tinygrad_attn.viz import render


def svg_text(path):
    root = ET.parse(path).getroot()
    return [t.text for t in root.iter() if t.tag.endswith("text") and t.text]


def run_cli(capsys, *argv):
    status = main(["graph", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_no_flags_draws_the_neuron_to_out_graph_neuron_svg(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(capsys)
    assert status == 0 and err == ""
    assert out.strip() == "out/graph/neuron.svg"
    text = svg_text(tmp_path / "out" / "graph" / "neuron.svg")
    assert "tanh" in text and "w1" in text and "grad 1" in text


@pytest.mark.parametrize(
    "example, level",
    [(name, level) for name, levels in graph_command.EXAMPLES.items() for level in levels],
)
def test_every_example_draws_at_every_level_it_supports(capsys, tmp_path, example, level):
    target = tmp_path / f"{example}-{level}.svg"
    status, out, _ = run_cli(capsys, "--example", example, "--level", level, "-o", str(target))
    assert status == 0 and out.strip() == str(target)
    text = " ".join(svg_text(target))
    if level == "tensor":
        assert "(" in text and ")" in text  # ops are named with their shapes
    else:
        assert "data" in text and "grad" in text


def test_both_engines_draw_the_same_numbers_for_an_example():
    for name, levels in graph_command.EXAMPLES.items():
        if len(levels) == 2:
            scalar, tensor = levels["scalar"](), levels["tensor"]()
            assert scalar.data == pytest.approx(tensor.item(), rel=1e-9), name


def test_multi_head_picture_has_the_module_boxes(capsys, tmp_path):
    target = tmp_path / "mha.dot"
    status, _, _ = run_cli(capsys, "--example", "multi-head", "-o", str(target))
    dot = target.read_text()
    assert status == 0
    for box in ("MultiHeadAttention", "w_q", "w_k", "w_v", "heads", "w_o"):
        assert f"label=<<b>{box}</b>>" in dot
    assert "softmax (2, 4, 4)" in dot


def test_png_format_writes_a_png_with_the_right_extension(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, _ = run_cli(capsys, "--example", "attention-head", "--format", "png")
    assert status == 0 and out.strip() == "out/graph/attention-head.png"
    assert (tmp_path / out.strip()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_format_follows_the_output_file_name(capsys, tmp_path):
    status, out, _ = run_cli(capsys, "-o", str(tmp_path / "n.png"))
    assert status == 0 and (tmp_path / "n.png").read_bytes()[:4] == b"\x89PNG"


def test_highlight_takes_a_label(capsys, tmp_path):
    target = tmp_path / "h.dot"
    status, _, _ = run_cli(
        capsys, "--example", "multi-head", "--highlight", "w_q.weight", "-o", str(target)
    )
    assert status == 0 and "#dc2626" in target.read_text()


def test_highlight_takes_a_module_name_for_its_parameters(capsys, tmp_path):
    target = tmp_path / "h.dot"
    status, _, err = run_cli(
        capsys, "--example", "multi-head", "--highlight", "w_q", "-o", str(target)
    )
    assert status == 0, err
    lit = [line for line in target.read_text().splitlines() if "#dc2626" in line]
    assert any("w_q.weight" in line for line in lit)
    assert not any("w_k.weight" in line for line in lit)


def test_dash_o_dash_writes_the_picture_to_standard_output(tmp_path):
    for fmt, start in (("dot", b"digraph"), ("svg", b"<?xml"), ("png", b"\x89PNG")):
        done = subprocess.run(
            [sys.executable, "-m", "tinygrad_attn", "graph", "--format", fmt, "-o", "-"],
            capture_output=True,
            cwd=tmp_path,
            timeout=120,
        )
        assert done.returncode == 0 and done.stderr == b"", done.stderr
        assert done.stdout.startswith(start), fmt
    assert list(tmp_path.iterdir()) == []  # no file called "-.dot" or anything else


def test_detail_full_draws_every_reshape(capsys, tmp_path):
    folded, full = tmp_path / "folded.dot", tmp_path / "full.dot"
    run_cli(capsys, "--example", "multi-head", "-o", str(folded))
    run_cli(capsys, "--example", "multi-head", "--detail", "full", "-o", str(full))
    assert full.read_text().count("transpose (") > folded.read_text().count("transpose (") == 0


def test_attention_head_at_scalar_level_points_to_the_one_word_example(capsys):
    status, _, err = run_cli(capsys, "--example", "attention-head", "--level", "scalar")
    assert status == 2 and "--example attention-word" in err


def test_an_unknown_highlight_label_lists_the_labels(capsys, tmp_path):
    target = str(tmp_path / "x.dot")
    status, out, err = run_cli(capsys, "--highlight", "nope", "-o", target)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "'nope'" in err and "w1" in err


def test_multi_head_at_scalar_level_is_a_usage_error_naming_the_level_it_has(capsys):
    status, out, err = run_cli(capsys, "--example", "multi-head", "--level", "scalar")
    assert status == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "level tensor" in err


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--level", "huge"], ["auto", "scalar", "tensor"]),
        (["--format", "pdf"], ["svg", "png", "dot"]),
        (["--example", "gpt"], ["neuron", "multi-head"]),
        (["--format", "png", "-o", "graph.svg"], ["says svg", "'png'"]),
        (["--max-nodes", "3"], ["10 nodes", "max_nodes=3"]),
        (["--max-nodes", "0"], ["positive"]),
    ],
)
def test_bad_flags_are_one_line_and_exit_status_2(capsys, tmp_path, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(capsys, *argv)
    assert status == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    for word in words:
        assert word in err


def test_an_output_path_under_a_file_is_one_line_and_exit_status_2(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    status, out, err = run_cli(capsys, "-o", str(blocker / "g.svg"))
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and str(blocker / "g.svg") in err and "not a directory" in err


def test_without_a_renderer_the_dot_file_is_kept_and_the_error_is_one_line(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.delenv(render.RENDERER_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(render, "_python_script_dirs", lambda: [])
    status, out, err = run_cli(capsys, "-o", str(tmp_path / "n.svg"))
    assert status == 1 and out == ""
    assert err.count("\n") == 1 and "pip install graphviz-pure" in err
    assert str(tmp_path / "n.dot") in err and (tmp_path / "n.dot").exists()


def test_python_m_tinygrad_attn_graph_writes_a_png(tmp_path):
    target = tmp_path / "mha.png"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tinygrad_attn",
            "graph",
            "--example",
            "multi-head",
            "-o",
            str(target),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_python_m_tinygrad_attn_graph_usage_error_has_no_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "tinygrad_attn", "graph", "--level", "nope"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
