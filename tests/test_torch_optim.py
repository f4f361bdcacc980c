"""The optimizers side by side with torch.optim (float64): the same model, the same data, the
same settings, and after every step the same weights. Run by `make test-torch`."""

import pytest

from tinygrad_attn import Tensor, optim
from tinygrad_attn import functional as F
from tinygrad_attn.interop import to_torch
from tinygrad_attn.nn import Linear, TinyTransformer

torch = pytest.importorskip("torch")

SETTINGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.02, betas=(0.85, 0.95), weight_decay=0.3)),
]


def max_difference(model, twin):
    """The largest relative difference between our weights and torch's (torch stores Linear
    weights transposed: (out, in))."""
    linear = {f"{name}.weight" for name, m in model.named_modules() if isinstance(m, Linear)}
    theirs = dict(twin.named_parameters())
    worst = 0.0
    for name, p in model.named_parameters():
        t = theirs[name].detach()
        numbers = (t.T if name in linear else t).reshape(-1).tolist()
        worst = max(worst, *(abs(a - b) / max(1.0, abs(b)) for a, b in zip(p.data, numbers)))
    return worst


@pytest.mark.parametrize("name, settings", SETTINGS, ids=[f"{n} {s}" for n, s in SETTINGS])
def test_every_step_gives_torchs_weights(name, settings):
    model = TinyTransformer(vocab_size=6, d_model=8, num_heads=2, num_layers=1, max_len=5, rng=0)
    twin = to_torch(model)
    ours = getattr(optim, name)(model.parameters(), **settings)
    theirs = getattr(torch.optim, name)(twin.parameters(), **settings)
    ids = [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]]
    targets = [[2, 3, 4, 5, 0], [4, 3, 2, 1, 0]]
    for step in range(8):
        ours.zero_grad()
        F.cross_entropy(model(ids), targets).backward()
        ours.step()
        theirs.zero_grad()
        logits = twin(torch.tensor(ids))
        torch.nn.functional.cross_entropy(
            logits.reshape(-1, 6), torch.tensor(targets).reshape(-1)
        ).backward()
        theirs.step()
        assert max_difference(model, twin) < 1e-11, f"step {step + 1}"


def test_a_parameter_without_a_gradient_is_skipped_like_torch():
    a = Tensor([1.0, -2.0], requires_grad=True)
    b = Tensor([0.5], requires_grad=True)
    ta = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    tb = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    ours = optim.AdamW([a, b], lr=0.1, weight_decay=0.5)
    theirs = torch.optim.AdamW([ta, tb], lr=0.1, weight_decay=0.5)
    for step in range(4):
        ours.zero_grad()
        theirs.zero_grad()
        loss = (a * a).sum() + ((b * b).sum() if step >= 2 else 0.0)
        loss.backward()
        ((ta * ta).sum() + ((tb * tb).sum() if step >= 2 else 0.0)).backward()
        ours.step()
        theirs.step()
        assert a.tolist() == pytest.approx(ta.tolist(), rel=1e-13)
        assert b.tolist() == pytest.approx(tb.tolist(), rel=1e-13)  # no decay without a grad
