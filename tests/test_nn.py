"""Specification of the layers in `tinygrad_attn.nn`: what each computes, that its gradients
are right (for inputs and parameters), how parameters are named, saved and loaded."""

import json
import math
import re

import pytest

from tinygrad_attn import Tensor, gradcheck, manual_seed
from tinygrad_attn import functional as F
from tinygrad_attn.nn import (
    AttentionHead,
    Embedding,
    FeedForward,
    LayerNorm,
    Linear,
    Module,
    MultiHeadAttention,
    TinyTransformer,
    TransformerBlock,
)


def close(a, b, tol=1e-12):
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y, tol) for x, y in zip(a, b))
    return a == pytest.approx(b, rel=tol, abs=tol)


def inputs(*shape, seed=100):
    return Tensor.randn(*shape, rng=seed, requires_grad=True, label="x")


def assert_layer_gradients_match(layer, x, *extra):
    """gradcheck of layer(x) with respect to x and every parameter (the full Jacobian)."""
    params = layer.parameters()
    result = gradcheck(lambda x, *params: layer(x, *extra), [x, *params])
    assert result.ok, str(result)
    checked = {row["input"].split("[")[0] for row in result.rows}
    assert checked == {"x"} | {name for name, _ in layer.named_parameters()}


def small_model(**options):
    """vocab 5, d_model 4, 2 heads, 1 block, up to 4 words: about 200 parameters."""
    settings = dict(vocab_size=5, d_model=4, num_heads=2, num_layers=1, max_len=4, d_hidden=4)
    settings.update(options)
    settings.setdefault("rng", 0)
    return TinyTransformer(**settings)


# ---------------------------------------------------------------------- Linear


def test_linear_weight_has_the_formula_shape_in_by_out():
    layer = Linear(3, 5, rng=0)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (5,)
    assert Linear(3, 5, bias=False, rng=0).bias is None


def test_linear_computes_x_times_w_plus_b():
    layer = Linear(2, 3, rng=0)
    x = Tensor([[1.0, 2.0], [-1.0, 0.5]])
    w, b = layer.weight.tolist(), layer.bias.tolist()
    expected = [
        [row[0] * w[0][j] + row[1] * w[1][j] + b[j] for j in range(3)] for row in x.tolist()
    ]
    assert close(layer(x).tolist(), expected)
    assert layer(Tensor.ones(2, 4, 2)).shape == (2, 4, 3)  # leading axes pass through


def test_linear_init_is_uniform_within_one_over_sqrt_in_features():
    layer = Linear(16, 32, rng=0)
    bound = 1 / math.sqrt(16)
    numbers = layer.weight.reshape(-1).tolist() + layer.bias.tolist()
    assert all(-bound <= v <= bound for v in numbers)
    assert max(numbers) > 0.9 * bound and min(numbers) < -0.9 * bound  # spread over the range


def test_linear_init_is_reproducible_with_a_seed():
    assert Linear(3, 4, rng=7).state_dict() == Linear(3, 4, rng=7).state_dict()
    assert Linear(3, 4, rng=7).state_dict() != Linear(3, 4, rng=8).state_dict()
    manual_seed(3)
    first = Linear(3, 4).state_dict()
    manual_seed(3)
    assert Linear(3, 4).state_dict() == first


def test_linear_passes_gradcheck():
    assert_layer_gradients_match(Linear(3, 2, rng=0), inputs(2, 3))


def test_a_wrong_input_width_names_the_expected_and_the_given_width():
    with pytest.raises(ValueError, match=r"expected inputs of width 3 .* with width 4"):
        Linear(3, 2, rng=0)(Tensor.ones(2, 4))
    for layer in (LayerNorm(3), MultiHeadAttention(4, 2, rng=0), AttentionHead(4, 2, rng=0)):
        with pytest.raises(ValueError, match=r"width \d .*width 5"):
            layer(Tensor.ones(2, 5))


@pytest.mark.parametrize("sizes", [(0, 2), (2, -1), (2.0, 3)])
def test_linear_sizes_must_be_positive_ints(sizes):
    with pytest.raises(ValueError, match="positive int"):
        Linear(*sizes)


# ---------------------------------------------------------------------- Embedding and LayerNorm


def test_embedding_picks_one_row_per_id():
    emb = Embedding(5, 3, rng=0)
    table = emb.weight.tolist()
    assert emb([4, 0, 4]).tolist() == [table[4], table[0], table[4]]
    assert emb([[1, 2], [3, 4]]).shape == (2, 2, 3)
    assert emb(Tensor([1, 2])).tolist() == [table[1], table[2]]


@pytest.mark.parametrize(
    "ids",
    [[3, 0, 3], [[1, 2], [3, 4]], [[]], [], [1.0, 2.0], [[1, 2.0]], [True, 0], [(1, 2), (0, 3)]],
)
def test_embedding_reads_ids_in_lists_as_it_reads_them_in_a_tensor(ids):
    emb = Embedding(5, 3, rng=0)
    from_lists, from_tensor = emb(ids), emb(Tensor(ids))
    assert from_lists.shape == from_tensor.shape
    assert from_lists.tolist() == from_tensor.tolist()


@pytest.mark.parametrize("ids", [[[1], [2, 3]], [1.5], [[0, 2.5]], ["a"]])
def test_embedding_refuses_ragged_or_fractional_ids_in_lists(ids):
    with pytest.raises((ValueError, TypeError)):
        Embedding(5, 3, rng=0)(ids)


def test_embedding_passes_gradcheck_for_its_table():
    emb = Embedding(4, 3, rng=0)
    result = gradcheck(lambda w: emb([[0, 2], [2, 3]]), [emb.weight])
    assert result.ok, str(result)


def test_embedding_gradient_counts_repeated_ids():
    emb = Embedding(3, 2, rng=0)
    emb([2, 0, 2]).sum().backward()
    assert emb.weight.grad.tolist() == [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]]


def test_embedding_ids_out_of_range_are_an_index_error():
    with pytest.raises(IndexError, match="id 5 is out of range for 5 rows"):
        Embedding(5, 2, rng=0)([1, 5])


def test_layer_norm_starts_as_plain_normalisation():
    x = inputs(3, 4)
    assert LayerNorm(4)(x).tolist() == F.layer_norm(x).tolist()


def test_layer_norm_passes_gradcheck():
    norm = LayerNorm(4)  # away from the start (weight 1, bias 0)
    norm.load_state_dict({"weight": [1.5, -0.5, 2.0, 1.0], "bias": [0.1, 0.2, -0.3, 0.0]})
    assert_layer_gradients_match(norm, inputs(2, 4))


# ---------------------------------------------------------------------- attention


def test_attention_head_passes_gradcheck():
    assert_layer_gradients_match(AttentionHead(3, 2, causal=True, rng=0), inputs(4, 3))


def test_attention_head_keeps_its_weights():
    head = AttentionHead(3, 2, causal=True, rng=0)
    head(inputs(2, 4, 3))
    assert head.attention.shape == (2, 4, 4)
    assert all(close(sum(row), 1.0) for b in head.attention.tolist() for row in b)


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4)])
@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_passes_gradcheck(shape, causal):
    assert_layer_gradients_match(MultiHeadAttention(4, 2, causal=causal, rng=0), inputs(*shape))


def test_multi_head_attention_with_bias_passes_gradcheck():
    assert_layer_gradients_match(MultiHeadAttention(4, 2, bias=True, rng=0), inputs(3, 4))


@pytest.mark.parametrize("shape", [(5, 6), (2, 5, 6)])
@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_is_its_heads_one_by_one_concatenated_then_w_o(shape, causal):
    mha = MultiHeadAttention(d_model=6, num_heads=3, causal=causal, rng=0)
    x = inputs(*shape)
    d_head = 2
    heads, maps = [], []
    for i in range(3):
        head = AttentionHead(d_model=6, d_head=d_head, causal=causal, rng=1)
        start, stop = i * d_head, (i + 1) * d_head  # head i's block of columns
        head.load_state_dict(
            {
                f"{name}.weight": [row[start:stop] for row in getattr(mha, name).weight.tolist()]
                for name in ("w_q", "w_k", "w_v")
            }
        )
        heads.append(head(x))
        maps.append(head.attention)
    expected = mha.w_o(Tensor.cat(heads, axis=-1))
    assert close(mha(x).tolist(), expected.tolist())
    assert mha.attention.shape == shape[:-2] + (3, shape[-2], shape[-2])
    assert close(mha.attention.tolist(), Tensor.stack(maps, axis=-3).tolist())


def test_multi_head_attention_causal_weights_are_zero_above_the_diagonal():
    mha = MultiHeadAttention(4, 2, causal=True, rng=0)
    mha(inputs(2, 3, 4))
    for batch in mha.attention.tolist():
        for head in batch:
            assert [row[i + 1 :] for i, row in enumerate(head)] == [[0.0, 0.0], [0.0], []]


def test_multi_head_attention_takes_a_mask():
    mha = MultiHeadAttention(4, 2, rng=0)
    mha(inputs(3, 4), mask=[[True, False, False], [True, True, False], [True, True, True]])
    causal = MultiHeadAttention(4, 2, causal=True, rng=0)
    causal(inputs(3, 4))
    assert mha.attention.tolist() == causal.attention.tolist()


def test_d_model_not_divisible_by_num_heads_names_both_numbers():
    with pytest.raises(ValueError, match="divisible") as info:
        MultiHeadAttention(6, 4)
    assert "6" in str(info.value) and "4" in str(info.value)


def test_multi_head_attention_needs_2d_or_3d_input():
    with pytest.raises(ValueError, match=re.escape("(1, 2, 3, 4)")):
        MultiHeadAttention(4, 2, rng=0)(Tensor.ones(1, 2, 3, 4))


# ---------------------------------------------------------------------- blocks and the model


def test_feed_forward_passes_gradcheck():
    assert_layer_gradients_match(FeedForward(3, 4, rng=0), inputs(2, 3))


def test_feed_forward_hidden_width_defaults_to_four_times_d_model():
    ff = FeedForward(3, rng=0)
    assert ff.up.weight.shape == (3, 12) and ff.down.weight.shape == (12, 3)


def test_transformer_block_passes_gradcheck():
    assert_layer_gradients_match(TransformerBlock(4, 2, d_hidden=4, rng=0), inputs(3, 4))


def test_transformer_block_without_feed_forward_passes_gradcheck():
    block = TransformerBlock(4, 2, d_hidden=0, rng=0)
    assert block.ff is None
    assert_layer_gradients_match(block, inputs(2, 3, 4))


def test_tiny_transformer_with_cross_entropy_passes_gradcheck():
    model = small_model()
    ids, targets = [[1, 2, 3], [0, 4, 4]], [[2, 3, 0], [4, 4, 1]]
    params = model.parameters()
    result = gradcheck(lambda *params: F.cross_entropy(model(ids), targets), params)
    assert result.ok, str(result)
    assert len(result.rows) == sum(len(p.reshape(-1).tolist()) for p in params)


def test_tiny_transformer_with_sinusoidal_positions_passes_gradcheck():
    model = small_model(positions="sinusoidal")
    assert model.pos is None
    result = gradcheck(lambda *ps: F.cross_entropy(model([3, 1, 2]), [1, 2, 0]), model.parameters())
    assert result.ok, str(result)


def test_tiny_transformer_gives_logits_and_attention_maps():
    model = small_model(num_layers=2)
    assert model([1, 2, 3]).shape == (3, 5)
    assert model([[1, 2, 3], [0, 0, 1]]).shape == (2, 3, 5)
    assert [m.shape for m in model.attention_maps()] == [(2, 2, 3, 3)] * 2


def test_a_causal_model_does_not_look_ahead():
    model = small_model()
    first = model([1, 2, 3]).tolist()
    changed = model([1, 2, 4]).tolist()  # only the last word differs
    assert close(first[:2], changed[:2]) and not close(first[2], changed[2])


def test_a_sequence_longer_than_max_len_is_a_value_error():
    with pytest.raises(ValueError, match="length 5 > max_len 4"):
        small_model()([0, 1, 2, 3, 4])


# ---------------------------------------------------------------------- parameters and names


def test_named_parameters_use_dotted_paths():
    names = [name for name, _ in small_model(num_layers=2).named_parameters()]
    assert names[:2] == ["tokens.weight", "pos.weight"]
    for expected in (
        "blocks.0.attn.w_q.weight",
        "blocks.1.attn.w_o.weight",
        "blocks.0.norm1.bias",
        "blocks.1.ff.down.bias",
        "out.weight",
    ):
        assert expected in names
    assert len(names) == len(set(names))


def test_parameter_labels_equal_their_names():
    for name, p in small_model(num_layers=2).named_parameters():
        assert p.label == name


def test_parameters_are_the_leaves_that_require_grad():
    head = AttentionHead(3, 2, rng=0)
    head(inputs(4, 3))  # .attention is a result, not a parameter
    assert [name for name, _ in head.named_parameters()] == [
        "w_q.weight",
        "w_k.weight",
        "w_v.weight",
    ]
    assert all(p.requires_grad and p.op == "" for p in head.parameters())


def test_a_shared_parameter_is_listed_once():
    class Tied(Module):
        def __init__(self):
            self.a = Linear(2, 2, rng=0)
            self.b = self.a

        def forward(self, x):
            return self.b(self.a(x))

    assert len(Tied().parameters()) == 2


def test_module_zero_grad_forgets_every_gradient():
    model = small_model()
    F.cross_entropy(model([1, 2]), [2, 3]).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_zero_grad_reaches_parameters_added_or_switched_on_after_it_ran():
    layer = Linear(2, 2, rng=0)
    layer.zero_grad()  # lists the parameters once
    layer.extra = Tensor([1.0], requires_grad=True)  # a new attribute
    frozen = Tensor([2.0])
    layer.table = frozen
    layer.zero_grad()
    frozen.requires_grad = True  # switched on later
    holder = Module()
    holder.layers = [layer]
    holder.zero_grad()
    holder.layers.append(Linear(2, 1, rng=1))  # a list changed in place
    for p in [*layer.parameters(), *holder.layers[1].parameters()]:
        p.grad = Tensor.ones(*p.shape)
    layer.zero_grad()
    assert layer.extra.grad is None and frozen.grad is None and layer.weight.grad is None
    holder.layers[0].weight.grad = Tensor.ones(2, 2)
    holder.zero_grad()
    assert all(p.grad is None for p in holder.parameters())


def test_a_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="Empty must define forward"):

        class Empty(Module):
            pass

        Empty()(Tensor([1.0]))


# ---------------------------------------------------------------------- saving and loading


def test_state_dict_is_plain_nested_lists():
    state = small_model().state_dict()
    assert json.loads(json.dumps(state)) == state
    assert state["out.bias"] == small_model().out.bias.tolist()
    assert all(isinstance(v, list) for v in state.values())


def test_save_then_load_gives_identical_outputs(tmp_path):
    path = tmp_path / "model.json"
    model = small_model(rng=0)
    model.save(path)
    other = small_model(rng=1)
    assert other([1, 2, 3]).tolist() != model([1, 2, 3]).tolist()
    assert other.load(path) is other
    assert other([1, 2, 3]).tolist() == model([1, 2, 3]).tolist()
    assert json.loads(path.read_text())["state"] == model.state_dict()


def assert_load_fails_and_changes_nothing(model, path, *messages):
    before = model.state_dict()
    with pytest.raises(ValueError) as info:
        model.load(path)
    for message in messages:
        assert message in str(info.value)
    assert model.state_dict() == before


def test_loading_a_file_that_is_not_json_is_a_value_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are not weights")
    assert_load_fails_and_changes_nothing(small_model(), path, "not a tinygrad_attn weights file")
    path.write_bytes(b"\xff\xfe\x00binary")
    assert_load_fails_and_changes_nothing(small_model(), path, "not a tinygrad_attn weights file")


def test_loading_json_without_our_marker_is_a_value_error(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"state": small_model().state_dict()}))
    assert_load_fails_and_changes_nothing(small_model(), path, "marker", "module.save(path)")
    path.write_text("[1, 2, 3]")
    assert_load_fails_and_changes_nothing(small_model(), path, "marker")


def test_loading_a_state_with_missing_extra_or_misshaped_entries_lists_them_all(tmp_path):
    path = tmp_path / "model.json"
    small_model(rng=1).save(path)
    payload = json.loads(path.read_text())
    del payload["state"]["norm.weight"]
    payload["state"]["blocks.7.attn.w_q.weight"] = [[1.0]]
    payload["state"]["out.bias"] = [0.0, 1.0]
    path.write_text(json.dumps(payload))
    assert_load_fails_and_changes_nothing(
        small_model(rng=0),
        path,
        "missing: norm.weight",
        "unexpected: blocks.7.attn.w_q.weight",
        "out.bias: shape (2,) in the state, (5,) in the model",
    )


def test_load_state_dict_with_non_numbers_changes_nothing():
    model = small_model()
    state = model.state_dict()
    before = model.state_dict()
    state["out.bias"] = ["a"] * 5
    with pytest.raises(ValueError, match="out.bias: not numbers"):
        model.load_state_dict(state)
    assert model.state_dict() == before


def test_load_state_dict_copies_numbers_into_the_same_parameters():
    model, source = small_model(rng=0), small_model(rng=1)
    weight = model.out.weight
    model.load_state_dict(source.state_dict())
    assert model.out.weight is weight  # an optimizer holding it still sees the new numbers
    assert weight.tolist() == source.out.weight.tolist()


def test_loading_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        small_model().load(tmp_path / "nowhere.json")
