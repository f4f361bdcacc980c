"""Specification of the training tools named as in PyTorch: `nn.Dropout` with
`Module.train()` / `.eval()`, and `nn.utils.clip_grad_norm_`."""

import math
import random

import pytest

from tinygrad_attn import Tensor, manual_seed, nn
from tinygrad_attn import functional as F
from tinygrad_attn.nn.utils import clip_grad_norm_

# ---------------------------------------------------------------------- Dropout


def test_dropout_zeroes_about_p_of_the_numbers_and_scales_the_rest():
    out = nn.Dropout(0.25, rng=0)(Tensor.ones(4000)).tolist()
    dropped = out.count(0.0)
    assert set(out) == {0.0, 1.0 / 0.75}  # kept numbers are scaled by 1 / (1 - p)
    assert abs(dropped / 4000 - 0.25) < 0.03  # 0.03 is more than 4 standard deviations
    assert abs(sum(out) / 4000 - 1.0) < 0.05  # so the mean stays about the same


def test_dropout_passes_the_gradient_through_the_kept_numbers_only():
    x = Tensor.randn(3, 5, rng=1, requires_grad=True)
    out = nn.Dropout(0.5, rng=2)(x)
    out.backward(Tensor.ones(3, 5))
    for v, y, g in zip(x.data, out.data, x.grad.data):
        assert (g, y) == (0.0, 0.0) or (g == 2.0 and y == pytest.approx(2.0 * v))


def test_dropout_is_reproducible_with_a_seed_or_with_manual_seed():
    x = Tensor.ones(20)
    assert nn.Dropout(0.5, rng=7)(x).tolist() == nn.Dropout(0.5, rng=7)(x).tolist()
    drop = nn.Dropout(0.5, rng=7)
    first, second = drop(x).tolist(), drop(x).tolist()
    assert first != second  # the generator goes on: a new mask at every call
    assert nn.Dropout(0.5, rng=random.Random(7))(x).tolist() == first
    manual_seed(3)
    a = nn.Dropout(0.5)(x).tolist()
    manual_seed(3)
    assert nn.Dropout(0.5)(x).tolist() == a


def test_dropout_in_eval_mode_returns_its_input_and_train_turns_it_back_on():
    x = Tensor.randn(2, 3, rng=0, requires_grad=True)
    drop = nn.Dropout(0.9, rng=0)
    assert drop.eval() is drop and drop.training is False
    assert drop(x) is x  # nothing computed, nothing recorded
    assert drop.train().training is True
    assert drop(x).tolist() != x.tolist()


def test_dropout_of_0_changes_nothing_and_of_1_drops_everything():
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    assert nn.Dropout(0.0, rng=0)(x).tolist() == [1.0, -2.0, 3.0]
    dropped = nn.Dropout(1.0, rng=0)(x)
    dropped.sum().backward()
    assert dropped.tolist() == [0.0, 0.0, 0.0] and x.grad.tolist() == [0.0, 0.0, 0.0]


def test_functional_dropout_is_the_same_rule():
    x = Tensor.ones(8)
    assert F.dropout(x, 0.5, rng=4).tolist() == nn.Dropout(0.5, rng=4)(x).tolist()
    assert F.dropout(x, 0.5, training=False) is x


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: nn.Dropout(1.5), ValueError, "between 0 and 1"),
        (lambda: nn.Dropout(-0.1), ValueError, "got -0.1"),
        (lambda: nn.Dropout("0.1"), TypeError, "p must be a number"),
        (lambda: nn.Dropout(0.1, rng="0"), TypeError, "rng must be an int seed"),
        (lambda: F.dropout([1.0], 0.1), TypeError, "x must be a Tensor"),
        (lambda: nn.Linear(2, 2, rng=0).train("no"), TypeError, "True or False"),
    ],
)
def test_bad_dropout_settings_are_refused(make, error, message):
    with pytest.raises(error, match=message):
        make()


# ---------------------------------------------------------------------- train() and eval()


def test_train_and_eval_reach_every_module_inside_lists_too():
    model = nn.TinyTransformer(vocab_size=5, d_model=4, num_heads=2, num_layers=2, max_len=4)
    inner = model.modules()
    assert len(inner) == 27 and inner[0] is model  # itself, then outer before inner
    assert all(m.training for m in inner)  # every module starts in training mode
    assert model.eval() is model and not any(m.training for m in inner)
    assert model.blocks[1].attn.w_q.training is False
    model.train()
    assert all(m.training for m in inner)


def test_a_model_with_dropout_is_random_while_training_and_fixed_in_eval_mode():
    class Net(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(4, 4, rng=0)
            self.drop = nn.Dropout(0.5, rng=1)

        def forward(self, x):
            return self.drop(self.layer(x))

    net, x = Net(), Tensor.ones(3, 4)
    assert net(x).tolist() != net(x).tolist()
    net.eval()
    assert net(x).tolist() == net(x).tolist() == net.layer(x).tolist()


def test_modules_in_dicts_are_named_as_their_parameters_and_switched_too():
    class Experts(nn.Module):
        def __init__(self):
            self.experts = {"small": nn.Linear(2, 2, rng=0), "big": [nn.Dropout(0.5)]}
            self.out = nn.Linear(2, 1, rng=1)

    model = Experts()
    names = [name for name, _ in model.named_modules()]
    assert names == ["", "experts.small", "experts.big.0", "out"]
    weights = [name.rsplit(".", 1)[0] for name, _ in model.named_parameters()]
    assert [n for n in names if n in weights] == ["experts.small", "out"]
    model.eval()
    assert model.experts["big"][0].training is False


def test_a_module_used_twice_is_listed_once():
    shared = nn.Linear(2, 2, rng=0)

    class Twice(nn.Module):
        def __init__(self):
            self.layers = [shared, shared]

    assert [type(m).__name__ for m in Twice().modules()] == ["Twice", "Linear"]


# ---------------------------------------------------------------------- clip_grad_norm_


def with_grads(*grads):
    params = []
    for g in grads:
        p = Tensor.zeros(len(g), requires_grad=True)
        p.grad = Tensor(g)
        params.append(p)
    return params


def test_clip_grad_norm_returns_the_total_norm_of_all_gradients_together():
    params = with_grads([3.0, 0.0], [4.0])  # as one vector (3, 0, 4): length 5
    total = clip_grad_norm_(params, max_norm=10.0)
    assert total.shape == () and total.item() == 5.0 and not total.requires_grad
    assert [p.grad.tolist() for p in params] == [[3.0, 0.0], [4.0]]  # below max: unchanged


def test_clip_grad_norm_scales_every_gradient_by_the_same_factor_when_too_long():
    params = with_grads([3.0, 0.0], [4.0])
    held = params[0].grad  # changed in place, as in PyTorch: a held reference sees it
    assert clip_grad_norm_(params, max_norm=1.0).item() == 5.0
    factor = 1.0 / (5.0 + 1e-6)
    assert held.tolist() == pytest.approx([3.0 * factor, 0.0], rel=1e-15)
    assert params[1].grad.tolist() == pytest.approx([4.0 * factor], rel=1e-15)


def test_clip_grad_norm_takes_other_norms_and_skips_parameters_without_a_gradient():
    params = with_grads([3.0, -4.0], [1.0]) + [Tensor([1.0], requires_grad=True)]
    assert clip_grad_norm_(params, 100.0, norm_type=1).item() == 8.0
    assert clip_grad_norm_(params, 100.0, norm_type=math.inf).item() == 4.0
    assert clip_grad_norm_(params[0], 100.0).item() == 5.0  # one tensor alone
    assert clip_grad_norm_([Tensor([1.0], requires_grad=True)], 1.0).item() == 0.0
    assert params[2].grad is None


def test_clip_grad_norm_in_a_training_step_of_the_model():
    layer = nn.Linear(3, 2, rng=0)
    (layer(Tensor.ones(4, 3) * 100.0) ** 2).sum().backward()
    before = clip_grad_norm_(layer.parameters(), max_norm=0.5)
    assert before.item() > 0.5
    assert clip_grad_norm_(layer.parameters(), max_norm=0.5).item() == pytest.approx(0.5)


def test_a_nan_gradient_makes_a_nan_norm_and_error_if_nonfinite_stops_before_any_change():
    params = with_grads([math.nan, 1.0], [2.0])
    with pytest.raises(RuntimeError, match="total norm of the gradients is nan"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert params[1].grad.tolist() == [2.0]
    assert math.isnan(clip_grad_norm_(params, 1.0).item())
    assert math.isnan(params[1].grad.item())  # every gradient becomes nan, as in PyTorch


def test_nn_utils_is_reached_the_way_a_pytorch_user_writes_it():
    assert nn.utils.clip_grad_norm_ is clip_grad_norm_


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda p: clip_grad_norm_(p, -1.0), ValueError, "max_norm must be >= 0"),
        (lambda p: clip_grad_norm_(p, 1.0, norm_type=0), ValueError, "norm_type must be > 0"),
        (lambda p: clip_grad_norm_(p, "1"), TypeError, "max_norm must be a number"),
        (lambda p: clip_grad_norm_(nn.Linear(2, 2), 1.0), TypeError, "pass model.parameters"),
        (lambda p: clip_grad_norm_([1.0], 1.0), TypeError, "must be Tensors, got float"),
    ],
)
def test_bad_clip_settings_are_refused_and_change_nothing(call, error, message):
    params = with_grads([3.0, 4.0])
    with pytest.raises(error, match=message):
        call(params)
    assert params[0].grad.tolist() == [3.0, 4.0]
