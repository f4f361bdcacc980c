"""Multi-head attention: several heads, side by side, concatenated and projected by W^O.

What you will see: a 4-word sentence with d_model = 4 and 2 heads of d_head = 2. Each head
uses its own columns of Q, K and V and produces its own attention pattern; the heads are
concatenated back to 4 numbers per word and mixed by W^O, giving an output of the input's
shape. The library's `nn.MultiHeadAttention` is checked against the heads computed one by
one with `nn.AttentionHead`.

Run it:  .venv/bin/python demos/04_multi_head.py       (`make demo` makes .venv)
    or:  python demos/04_multi_head.py    after `. .venv/bin/activate`
"""

# %% The layer: w_q, w_k, w_v and w_o are all (d_model, d_model)
from tinygrad_attn import Tensor, nn
from tinygrad_attn.walkthrough import format_matrix

words = ["I", "play", "with", "cats"]
d_model, num_heads = 4, 2
X = Tensor.randn(len(words), d_model, rng=0)  # (4, 4)
mha = nn.MultiHeadAttention(d_model, num_heads, rng=1)
d_head = mha.d_head  # 2
y = mha(X)  # (4, 4): the input's shape
print(f"X {X.shape} -> MultiHeadAttention -> {y.shape};  attention {mha.attention.shape}")

# %% Each head has its own attention pattern
for i in range(num_heads):
    print(f"\nhead {i + 1}: columns {i * d_head}..{(i + 1) * d_head - 1} of Q, K, V")
    print(format_matrix(mha.attention[i].tolist(), words, words, row_sums=True))

# %% The same layer, one head at a time: head_i = Attention(X W_i^Q, X W_i^K, X W_i^V)
heads = []
for i in range(num_heads):
    head = nn.AttentionHead(d_model, d_head)
    cols = list(range(i * d_head, (i + 1) * d_head))
    for name in ("w_q", "w_k", "w_v"):
        # head i's weight is the column block [i*d_head, (i+1)*d_head) of the big one
        big = getattr(mha, name).weight
        getattr(head, name).weight.data[:] = big.T[cols].T.data
    heads.append(head(X))  # (4, d_head)
concat = Tensor.cat(heads, axis=-1)  # Concat(head_1, head_2): (4, 4)
y_by_hand = concat @ mha.w_o.weight  # ... W^O
difference = max(abs(a - b) for a, b in zip(y.data, y_by_hand.data))
print(f"\nMultiHeadAttention == Concat(head_1, head_2) W^O: largest difference {difference:.1e}")

# %% With causal=True every head only looks back
causal = nn.MultiHeadAttention(d_model, num_heads, causal=True, rng=1)
causal(X)
print("\ncausal head 1 (zero above the diagonal):")
print(format_matrix(causal.attention[0].tolist(), words, words, row_sums=True))
