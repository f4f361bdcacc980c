"""The PyTorch side of docs/09_pytorch.md runs as written and prints what its comments say
(its own side runs in tests/test_docs_pytorch.py). Run by `make test-torch`."""

import pytest
from test_docs_pytorch import blocks, run_in_order

torch = pytest.importorskip("torch")


def test_the_pytorch_blocks_run_and_print_what_they_say(monkeypatch, tmp_path):
    codes = [code for _, code in blocks("torch")]
    assert len(codes) == 6  # four table rows, carrying a model across, training on a GPU
    namespace = run_in_order(codes, monkeypatch, tmp_path)
    assert isinstance(namespace["twin"], torch.nn.Module)
