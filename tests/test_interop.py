"""The bridge to PyTorch without PyTorch: `tinygrad_attn.interop` imports without it, and each
function that needs it says how to install it. (With PyTorch, tests/test_torch_interop.py
checks what the bridge computes.)"""

import subprocess
import sys

import pytest

from tinygrad_attn import Tensor, nn


def test_the_bridge_imports_without_importing_torch():
    code = "import sys, tinygrad_attn.interop; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda interop: interop.to_torch(nn.Linear(2, 3, rng=0)), "to_torch"),
        (lambda interop: interop.to_torch(Tensor([1.0])), "to_torch"),
        (lambda interop: interop.from_torch(object(), like=nn.Linear(2, 3)), "from_torch"),
    ],
)
def test_without_torch_each_function_says_how_to_install_its_cpu_build(monkeypatch, call, name):
    from tinygrad_attn import interop

    monkeypatch.setitem(sys.modules, "torch", None)  # as if it were not installed
    with pytest.raises(ModuleNotFoundError) as error:
        call(interop)
    message = str(error.value)
    assert message.startswith(f"{name} needs PyTorch, which is not installed")
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in message
    assert error.value.name == "torch"
