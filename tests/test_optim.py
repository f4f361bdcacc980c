"""Specification of the optimizers: SGD, Adam and AdamW take exactly PyTorch's steps (worked
out by hand below; tests/test_torch_optim.py compares them with torch.optim), skip
parameters without a gradient, refuse bad settings, and learn."""

import pytest

from tinygrad_attn import Tensor
from tinygrad_attn.nn import Linear
from tinygrad_attn.optim import SGD, Adam, AdamW


def run_steps(optimizer_class, steps, **settings):
    """Minimise loss = w0^2 + w1^2 from w = (1, -2); the gradient is 2w. Returns w after
    each step."""
    w = Tensor([1.0, -2.0], requires_grad=True)
    opt = optimizer_class([w], **settings)
    trail = []
    for _ in range(steps):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
        trail.append(w.tolist())
    return trail


def assert_trail(trail, expected):
    for got, want in zip(trail, expected):
        assert got == pytest.approx(want, rel=1e-12)


def test_sgd_steps_against_the_gradient():
    # w <- w - lr * 2w = 0.8 w with lr = 0.1
    assert_trail(run_steps(SGD, 3, lr=0.1), [[0.8, -1.6], [0.64, -1.28], [0.512, -1.024]])


def test_sgd_with_momentum_keeps_a_running_velocity():
    # v <- 0.9 v + g, w <- w - 0.1 v, following w0 = 1 (w1 = -2 is the same times -2):
    # step 1: g = 2,    v = 2,                  w = 1 - 0.2 = 0.8
    # step 2: g = 1.6,  v = 0.9 * 2 + 1.6 = 3.4, w = 0.8 - 0.34 = 0.46
    # step 3: g = 0.92, v = 3.06 + 0.92 = 3.98, w = 0.46 - 0.398 = 0.062
    assert_trail(
        run_steps(SGD, 3, lr=0.1, momentum=0.9),
        [[0.8, -1.6], [0.46, -0.92], [0.062, -0.124]],
    )


def test_sgd_with_nesterov_momentum_looks_one_step_ahead():
    # v <- 0.9 v + g, w <- w - 0.1 (g + 0.9 v), following w0 = 1:
    # step 1: g = 2,      v = 2,      w = 1 - 0.1 * (2 + 1.8) = 0.62
    # step 2: g = 1.24,   v = 3.04,   w = 0.62 - 0.1 * (1.24 + 2.736) = 0.2224
    # step 3: g = 0.4448, v = 3.1808, w = 0.2224 - 0.1 * (0.4448 + 2.86272) = -0.108352
    assert_trail(
        run_steps(SGD, 3, lr=0.1, momentum=0.9, nesterov=True),
        [[0.62, -1.24], [0.2224, -0.4448], [-0.108352, 0.216704]],
    )


def test_sgd_weight_decay_adds_decay_times_w_to_the_gradient():
    # g = 2w + 0.1w = 2.1w, so w <- w - 0.1 * 2.1w = 0.79 w
    assert_trail(run_steps(SGD, 2, lr=0.1, weight_decay=0.1), [[0.79, -1.58], [0.6241, -1.2482]])


@pytest.mark.parametrize(
    "make",
    [
        lambda ps, wd: SGD(ps, lr=0.1, momentum=0.9, weight_decay=wd),
        lambda ps, wd: SGD(ps, lr=0.1, momentum=0.5, nesterov=True, weight_decay=wd),
        lambda ps, wd: Adam(ps, lr=0.1, weight_decay=wd),
    ],
)
def test_coupled_weight_decay_is_the_gradient_of_an_extra_loss_decay_over_2_w_squared(make):
    # SGD's and Adam's weight_decay: the same steps as no decay on loss + wd/2 * sum(w^2)
    def trail(decay, extra):
        w = Tensor([1.0, -2.0, 0.5], requires_grad=True)
        opt = make([w], decay)
        out = []
        for _ in range(4):
            opt.zero_grad()
            ((w * Tensor([1.0, 2.0, 3.0])).exp().sum() + extra / 2 * (w * w).sum()).backward()
            opt.step()
            out.append(w.tolist())
        return out

    assert_trail(trail(0.3, extra=0.0), trail(0.0, extra=0.3))


def test_adamw_shrinks_the_weight_itself_outside_adams_scaling():
    # With a zero gradient Adam takes no step, so AdamW only shrinks: w <- w (1 - lr * wd).
    # Adam's coupled decay instead feeds wd * w through Adam's scaling, which does not care
    # how large a gradient is: the same steps as for the gradient 2w above (about lr each).
    adam_trail = [0.7015862729460302, -1.700623392046465]
    for opt_class, expected in ((AdamW, [0.95**3, -2 * 0.95**3]), (Adam, adam_trail)):
        w = Tensor([1.0, -2.0], requires_grad=True)
        opt = opt_class([w], lr=0.1, weight_decay=0.5)
        for _ in range(3):
            w.grad = Tensor([0.0, 0.0])
            opt.step()
        assert w.tolist() == pytest.approx(expected, rel=1e-6)


def test_adamw_first_step_is_decay_then_adams_step_and_defaults_to_decay_0_01():
    # 1 * (1 - 0.1 * 0.5) = 0.95, then Adam's first step moves it by lr = 0.1 (minus eps)
    assert_trail(run_steps(AdamW, 1, lr=0.1, weight_decay=0.5), [[0.8500000005, -1.80000000025]])
    assert AdamW([Tensor([1.0], requires_grad=True)]).weight_decay == 0.01
    assert_trail(run_steps(AdamW, 3, lr=0.1, weight_decay=0.0), run_steps(Adam, 3, lr=0.1))


def test_adam_follows_pytorchs_rule_with_bias_correction():
    # lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, following w0 = 1:
    # step 1: g = 2; m = 0.1 * 2 = 0.2; v = 0.001 * 4 = 0.004
    #         m_hat = 0.2 / (1 - 0.9) = 2; v_hat = 0.004 / (1 - 0.999) = 4
    #         w = 1 - 0.1 * 2 / (sqrt(4) + 1e-8) = 0.9000000005
    # step 2: g = 1.800000001; m = 0.18 + 0.18 = 0.36; v = 0.003996 + 0.00324 = 0.007236
    #         m_hat = 0.36 / 0.19 = 1.894737; v_hat = 0.007236 / 0.001999 = 3.619810
    #         w = 0.9 - 0.1 * 1.894737 / 1.902580 = 0.8004122
    # step 3: g = 1.600824; m = 0.484082; v = 0.009791; m_hat = 1.786282; v_hat = 3.267072
    #         w = 0.8004122 - 0.1 * 1.786282 / 1.807504 = 0.7015863
    # (w1 starts at -2; the full numbers are the ones torch.optim.Adam gives in float64)
    assert_trail(
        run_steps(Adam, 3, lr=0.1),
        [
            [0.9000000005, -1.90000000025],
            [0.8004122286917927, -1.800166486115701],
            [0.7015862729460302, -1.700623392046465],
        ],
    )


def test_adam_first_step_moves_each_number_by_lr():
    # m_hat = g and v_hat = g^2 after one step, so the step is lr * g / |g| = lr * sign(g)
    w = Tensor([3.0, -0.001, 50.0], requires_grad=True)
    (w * Tensor([1.0, -7.0, 0.5])).sum().backward()
    Adam([w], lr=0.01, eps=0.0).step()
    assert w.tolist() == pytest.approx([2.99, 0.009, 49.99], rel=1e-12)


def test_adam_counts_steps_per_parameter_like_pytorch():
    # b gets no gradient in the first step; its first real step then moves it by exactly lr
    a, b = Tensor([1.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    assert b.tolist() == [1.0]
    opt.zero_grad()
    (a * a + b * b).sum().backward()
    opt.step()
    assert a.tolist() == pytest.approx([0.8004122286917927], rel=1e-12)
    assert b.tolist() == pytest.approx([0.9000000005], rel=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.1, momentum=0.5, weight_decay=0.1),
        lambda ps: Adam(ps, weight_decay=0.1),
        AdamW,
    ],
)
def test_parameters_without_a_gradient_are_skipped(make):
    used, unused = Tensor([1.0], requires_grad=True), Tensor([5.0, 6.0], requires_grad=True)
    opt = make([used, unused])
    (used * 3).sum().backward()
    opt.step()
    assert unused.tolist() == [5.0, 6.0] and unused.grad is None
    assert used.tolist() != [1.0]


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1), Adam])
def test_zero_grad_forgets_every_gradient(make):
    layer = Linear(2, 2, rng=0)
    opt = make(layer.parameters())
    layer(Tensor([[1.0, 2.0]])).sum().backward()
    assert all(p.grad is not None for p in layer.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in layer.parameters())


def test_optimizers_update_the_parameters_in_place():
    layer = Linear(2, 1, rng=0)
    weight = layer.weight
    layer(Tensor([[1.0, 2.0]])).sum().backward()
    SGD(layer.parameters(), lr=0.5).step()
    assert layer.weight is weight  # the same tensor, new numbers


# ---------------------------------------------------------------------- bad settings


def w():
    return Tensor([1.0], requires_grad=True)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: SGD([w()], lr=-0.1), "lr must be >= 0"),
        (lambda: Adam([w()], lr=-1e-3), "lr must be >= 0"),
        (lambda: SGD([w()], lr=0.1, momentum=-0.5), "momentum must be >= 0"),
        (lambda: SGD([w()], lr=0.1, weight_decay=-0.1), "weight_decay must be >= 0"),
        (lambda: SGD([w()], lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
        (lambda: AdamW([w()], weight_decay=-0.01), "weight_decay must be >= 0"),
        (lambda: Adam([w()], betas=(1.0, 0.999)), "beta1 must be in"),
        (lambda: Adam([w()], betas=(0.9, -0.1)), "beta2 must be in"),
        (lambda: Adam([w()], betas=(0.9,)), "betas must be a pair"),
        (lambda: Adam([w()], eps=-1e-8), "eps must be >= 0"),
        (lambda: SGD([], lr=0.1), "no parameters"),
        (lambda: Adam(iter([])), "no parameters"),
        (lambda: SGD([Tensor([1.0])], lr=0.1), "does not require grad"),
    ],
)
def test_bad_settings_are_a_value_error_that_names_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGD([w()], lr="0.1"),
        lambda: Adam([[1.0]]),
        lambda: SGD([w()], lr=None),
        lambda: SGD([w()], lr=0.1, momentum=0.9, nesterov="yes"),
        lambda: SGD([w()], 0.1, 0.9, 0.0, 1e-4),  # PyTorch's positional order: refused
    ],
)
def test_settings_of_the_wrong_type_are_a_type_error(make):
    with pytest.raises(TypeError):
        make()


def test_a_single_tensor_may_be_passed_as_the_parameters():
    p = w()
    opt = SGD(p, lr=0.5)
    (p * 2).sum().backward()
    opt.step()
    assert p.tolist() == [0.0]


# ---------------------------------------------------------------------- learning


def test_a_few_hundred_adam_steps_fit_a_tiny_regression():
    # y = 2 x0 - 3 x1 + 0.5, learned by one Linear layer from 8 points
    xs = [[i / 4 - 1, (i * 3 % 8) / 4 - 1] for i in range(8)]
    ys = [[2 * a - 3 * b + 0.5] for a, b in xs]
    x, y = Tensor(xs), Tensor(ys)
    layer = Linear(2, 1, rng=0)
    opt = Adam(layer.parameters(), lr=0.05)

    def loss():
        return ((layer(x) - y) ** 2).mean()

    first = loss().item()
    for _ in range(300):
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert loss().item() < 1e-4 < first
    assert layer.weight.reshape(-1).tolist() == pytest.approx([2.0, -3.0], abs=0.02)
    assert layer.bias.tolist() == pytest.approx([0.5], abs=0.02)
