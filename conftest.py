"""Test-run settings for the whole repository (tests/ and the doctests in tinygrad_attn/)."""

import importlib.util

import pytest

# ---------------------------------------------------------------------- PyTorch comparisons
# tests/test_torch_*.py and the doctests of tinygrad_attn/interop.py compare with PyTorch.
# They carry the `torch` marker. `make test` (-m "not torch") and any run without torch
# installed leave them out and say so in one line; `make test-torch` installs PyTorch's CPU
# build and runs them (-m torch on those files: a new comparison goes in a test_torch_ file).

TORCH_INSTALLED = importlib.util.find_spec("torch") is not None
_left_out = []


def _compares_with_torch(path):
    return path.name.startswith("test_torch_") or path.name == "interop.py"


def _torch_left_out(config):
    return not TORCH_INSTALLED or config.option.markexpr.replace(" ", "") == "nottorch"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "torch: compares with PyTorch (make test-torch installs it and runs these)"
    )


def pytest_ignore_collect(collection_path, config):
    if _compares_with_torch(collection_path) and _torch_left_out(config):
        _left_out.append(collection_path.name)
        return True  # not even imported: no torch needed
    return None


@pytest.hookimpl(tryfirst=True)  # before -m reads the markers
def pytest_collection_modifyitems(config, items):
    for item in items:
        if _compares_with_torch(item.path):
            item.add_marker(pytest.mark.torch)


def pytest_terminal_summary(terminalreporter, config):
    if _left_out:
        reason = "torch is not installed" if not TORCH_INSTALLED else '-m "not torch"'
        terminalreporter.write_line(
            f"PyTorch comparisons not run ({reason}): `make test-torch` installs PyTorch's "
            f"CPU build into .venv and runs them"
        )
