"""Specification of drawing graphs when something is off: labels with control characters,
a layout program that writes nothing, a folder given as the picture's path, a timeout that
is not a finite number of seconds. Each either works or fails clearly, never half-way."""

import math
import os
import stat

import pytest

from tinygrad_attn import Tensor, Value
from tinygrad_attn.cli import main
from tinygrad_attn.viz import render, render_graph


@pytest.mark.parametrize("label", ["a\x00b", "red\x1b[31m", "bell\x07", "two\nlines"])
def test_labels_with_control_characters_are_cleaned_as_in_figures(tmp_path, label):
    value = Value(2.0, label=label) * 3
    tensor = Tensor([1.0, 2.0], requires_grad=True, label=label) * 2
    for root, name in ((value, "v.svg"), (tensor, "t.svg")):
        svg = open(render_graph(root, tmp_path / name), encoding="utf-8").read()
        assert "</svg>" in svg and "\x00" not in svg and "\x1b" not in svg


@pytest.fixture
def silent_renderer(tmp_path, monkeypatch):
    """A "layout program" that reads the DOT text, writes nothing and exits with 0."""
    program = tmp_path / "silent-dot"
    program.write_text("#!/bin/sh\ncat > /dev/null\nexit 0\n")
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv(render.RENDERER_ENV, str(program))
    return program


def test_a_renderer_that_writes_nothing_is_a_failure_and_no_file_is_written(
    tmp_path, silent_renderer
):
    with pytest.raises(RuntimeError, match="silent-dot wrote no picture .exit status 0."):
        render_graph(Value(1.0) * 2, tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()


@pytest.mark.parametrize("folder", ["pictures", "pictures/", "new/"])
def test_a_folder_as_the_pictures_path_is_refused_and_nothing_is_written_beside_it(
    tmp_path, monkeypatch, folder
):
    monkeypatch.chdir(tmp_path)
    os.mkdir("pictures")
    with pytest.raises(IsADirectoryError, match="is a folder; give a file name in it, e.g."):
        render_graph(Value(1.0) * 2, folder)
    assert sorted(os.listdir(tmp_path)) == ["pictures"] and os.listdir("pictures") == []


def test_the_graph_command_refuses_a_folder_as_its_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    os.mkdir("pictures")
    assert main(["graph", "-o", "pictures"]) == 2
    assert "pictures is a folder" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["pictures"]


@pytest.mark.parametrize("timeout", [math.inf, math.nan, 0, -1])
def test_a_timeout_must_be_a_finite_number_of_seconds(tmp_path, timeout):
    with pytest.raises(ValueError, match="timeout must be a finite number of seconds > 0"):
        render_graph(Value(1.0) * 2, tmp_path / "g.svg", timeout=timeout)
    with pytest.raises(ValueError, match="timeout must be a finite number"):
        render.run_renderer("digraph { a -> b }", "svg", timeout=timeout)
    assert os.listdir(tmp_path) == []
