"""Specification of weights files: `save` writes standard JSON whole or not at all through a
fresh temporary file (never a planted link), `load` reads only a regular file of a size the
model's weights could have, and both refuse what is not a file name."""

import json
import math
import os
import subprocess
import sys
import textwrap

import pytest

from tinygrad_attn import Tensor, files, nn, optim
from tinygrad_attn.viz import write_svg


def layer():
    return nn.Linear(3, 2, rng=0)


def run_python(code, timeout=60):
    """Run `code` in a fresh Python (a hang or a crash there cannot take the tests with it)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ---------------------------------------------------------------------- save


def test_save_never_follows_a_link_planted_where_its_temporary_file_would_be(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    target = tmp_path / "weights.json"
    for name in ("weights.json.tmp", f".weights.json.{os.getpid()}.tmp"):
        os.symlink(victim, tmp_path / name)
    layer().save(target)
    assert victim.read_text() == "keep me"
    assert json.loads(target.read_text())["model"] == "Linear"


def test_save_replaces_a_link_at_the_path_itself_not_the_file_it_points_to(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    os.symlink(victim, tmp_path / "weights.json")
    layer().save(tmp_path / "weights.json")
    assert victim.read_text() == "keep me"
    assert not os.path.islink(tmp_path / "weights.json")


def test_each_save_uses_a_new_temporary_name_created_exclusively(tmp_path, monkeypatch):
    names = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(files.secrets, "token_hex", lambda n: next(names))
    (tmp_path / ".weights.json.aaaa.tmp").write_text("someone else's")
    layer().save(tmp_path / "weights.json")
    assert (tmp_path / ".weights.json.aaaa.tmp").read_text() == "someone else's"
    assert sorted(os.listdir(tmp_path)) == [".weights.json.aaaa.tmp", "weights.json"]


def test_a_failed_save_removes_its_temporary_file_and_names_the_users_path(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", src)

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(PermissionError) as error:
        layer().save(tmp_path / "weights.json")
    assert str(tmp_path / "weights.json") in str(error.value) and ".tmp" not in str(error.value)
    assert os.listdir(tmp_path) == []


def test_saving_to_a_folder_is_a_clear_error_and_writes_nothing(tmp_path):
    with pytest.raises(IsADirectoryError, match="save: .* is a folder; give a file name, e.g."):
        layer().save(tmp_path)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("bad", [1, None, 2.5, ["w.json"], b"w.json"], ids=repr)
def test_saving_to_something_that_is_not_a_file_name_is_a_type_error(tmp_path, bad):
    os.chdir(tmp_path)
    with pytest.raises(TypeError, match="save: the path must be a file name"):
        layer().save(bad)
    assert os.listdir(tmp_path) == []


def test_saved_weights_are_standard_json_and_nan_weights_are_refused(tmp_path):
    model = layer()
    model.save(tmp_path / "ok.json")

    def refuse(name):
        raise AssertionError(f"not standard JSON: {name}")

    json.loads((tmp_path / "ok.json").read_text(), parse_constant=refuse)
    model.bias.data[0] = math.nan
    with pytest.raises(ValueError, match="save: bias hold nan or inf.*nothing was written"):
        model.save(tmp_path / "nan.json")
    assert sorted(os.listdir(tmp_path)) == ["ok.json"]


def test_figures_are_written_through_a_fresh_temporary_file_too(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    os.symlink(victim, tmp_path / f".q.svg.{os.getpid()}.tmp")
    write_svg("<svg/>", tmp_path / "q.svg")
    assert victim.read_text() == "keep me" and (tmp_path / "q.svg").read_text() == "<svg/>\n"


# ---------------------------------------------------------------------- load


def test_loading_from_an_int_is_a_type_error_and_leaves_standard_output_open():
    done = run_python(
        """
        from tinygrad_attn import nn
        try:
            nn.Linear(3, 2).load(1)
        except TypeError as error:
            print("refused:", error)
        print("stdout still works")
        """
    )
    assert "refused: load: the path must be a file name" in done.stdout
    assert "an int is an open file's number" in done.stdout
    assert "stdout still works" in done.stdout


def test_loading_a_named_pipe_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    done = run_python(
        f"""
        from tinygrad_attn import nn
        try:
            nn.Linear(3, 2).load({str(tmp_path / "pipe")!r})
        except ValueError as error:
            print(error)
        """,
        timeout=30,
    )
    assert "is a named pipe, not a regular file" in done.stdout


def test_loading_a_device_is_refused_before_reading_it():
    done = run_python(
        """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))
        from tinygrad_attn import nn
        try:
            nn.Linear(3, 2).load("/dev/zero")
        except ValueError as error:
            print(error)
        """,
        timeout=30,
    )
    assert "/dev/zero is a device or socket, not a regular file" in done.stdout


def test_loading_a_folder_is_an_is_a_directory_error(tmp_path):
    with pytest.raises(IsADirectoryError):
        layer().load(tmp_path)


def test_a_file_far_larger_than_the_weights_is_refused_before_it_is_read(tmp_path, monkeypatch):
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(200_000_000)  # 200 MB (a sparse file: no disk space used)
    read = []
    monkeypatch.setattr(files.os, "read", lambda fd, n: read.append(n) or b"")
    with pytest.raises(ValueError) as error:
        layer().load(big)
    assert read == []
    message = str(error.value)
    assert "big.json is 200,000,000 bytes, far more than a Linear's 8 numbers could take" in message


def test_a_file_that_grows_while_it_is_read_is_refused_too(tmp_path, monkeypatch):
    path = tmp_path / "w.json"
    layer().save(path)
    monkeypatch.setattr(files.os, "read", lambda fd, n: b" " * n)  # an endless stream
    with pytest.raises(ValueError, match="bytes, far more than a Linear's 8 numbers"):
        layer().load(path)


def test_deeply_nested_json_is_a_clear_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 20_000 + "]" * 20_000)  # (within the size a Linear may have)
    with pytest.raises(ValueError, match="deep.json is not a tinygrad_attn weights file .*deeply"):
        layer().load(path)


def test_nan_and_infinity_in_a_weights_file_are_refused_unless_asked_for(tmp_path):
    model = layer()
    path = tmp_path / "w.json"
    payload = {"format": "tinygrad_attn weights", "model": "Linear", "state": model.state_dict()}
    payload["state"]["bias"] = [math.nan, math.inf]
    path.write_text(json.dumps(payload))  # Python's json writes NaN and Infinity
    before = model.state_dict()
    with pytest.raises(ValueError, match="w.json holds NaN, which is not a number in standard"):
        model.load(path)
    assert model.state_dict() == before
    model.load(path, allow_nan=True)
    assert math.isnan(model.bias.data[0]) and model.bias.data[1] == math.inf


def test_weights_saved_by_a_model_load_back_into_it(tmp_path):
    model = nn.TinyTransformer(vocab_size=7, d_model=8, num_heads=2, num_layers=2, max_len=5)
    model.save(tmp_path / "m.json")
    other = nn.TinyTransformer(7, 8, 2, 2, 5, rng=3).load(tmp_path / "m.json")
    assert other.state_dict() == model.state_dict()


# ---------------------------------------------------------------------- parameters in dicts


class Experts(nn.Module):
    def __init__(self):
        self.experts = {"small": nn.Linear(2, 2, rng=0), "big": nn.Linear(2, 2, rng=1)}
        self.gates = {"scale": Tensor([1.0], requires_grad=True)}
        self.stack = [{"inner": nn.Linear(2, 1, rng=2)}]

    def forward(self, x):
        y = self.experts["small"](x) + self.experts["big"](x)
        return self.stack[0]["inner"](y * self.gates["scale"])


def test_parameters_kept_in_a_dict_are_found_named_trained_and_saved(tmp_path):
    model = Experts()
    names = [name for name, _ in model.named_parameters()]
    assert names == [
        "experts.small.weight",
        "experts.small.bias",
        "experts.big.weight",
        "experts.big.bias",
        "gates.scale",
        "stack.0.inner.weight",
        "stack.0.inner.bias",
    ]
    assert model.gates["scale"].label == "gates.scale"
    assert model.experts["big"].weight.label == "experts.big.weight"
    before = model.state_dict()
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(Tensor([[1.0, 2.0]])).sum().backward()
    opt.step()
    after = model.state_dict()
    assert all(after[name] != before[name] for name in names)  # every one of them learned
    model.save(tmp_path / "e.json")
    assert Experts().load(tmp_path / "e.json").state_dict() == after


def test_modules_in_a_set_are_refused_they_could_not_be_named_in_order():
    class Bad(nn.Module):
        def __init__(self):
            self.layers = {nn.Linear(2, 2), nn.Linear(2, 2)}

    with pytest.raises(TypeError, match="Bad.layers: a set has no order"):
        Bad()
