"""Attention step by step: softmax(Q K^T / sqrt(d_k)) V, one line of code per idea.

What you will see: a 4-word sentence turned into a matrix X; Q, K and V computed from X with
three weight matrices; the scores Q K^T; the scaling by sqrt(d_k); the softmax that makes each
row sum to 1; the weighted average of the values. Then the same result from the library's
`scaled_dot_product_attention` and from `nn.AttentionHead`, and what a causal mask changes.

Run it:  .venv/bin/python demos/03_attention_step_by_step.py       (`make demo` makes .venv)
    or:  python demos/03_attention_step_by_step.py    after `. .venv/bin/activate`
"""

# %% A sentence becomes a matrix: one row of numbers per word
import math

from tinygrad_attn import Tensor, manual_seed, nn
from tinygrad_attn import functional as F
from tinygrad_attn.walkthrough import format_matrix

words = ["I", "play", "with", "cats"]
d = 3  # numbers per word (d_model); one head, so d_k = d
manual_seed(0)
X = Tensor.randn(len(words), d)  # (4, 3): in a trained model, learned embeddings
dims = [f"d{j}" for j in range(d)]


def show(title, t, rows, cols, **options):
    print(f"\n{title}  {t.shape}")
    print(format_matrix(t.tolist(), rows, cols, **options))


show("X", X, words, dims)

# %% Q, K and V: the same words through three weight matrices
head = nn.AttentionHead(d_model=d, d_head=d, rng=1)
W_q, W_k, W_v = head.w_q.weight, head.w_k.weight, head.w_v.weight  # (3, 3) each
show("W_q (random: training would learn it)", W_q, dims, dims)
show("W_k", W_k, dims, dims)
show("W_v", W_v, dims, dims)
Q = X @ W_q  # what am I looking for?
K = X @ W_k  # where can I find it? (what each word offers)
V = X @ W_v  # what is the actual content?
show("Q = X W_q", Q, words, dims)
show("K = X W_k", K, words, dims)
show("V = X W_v", V, words, dims)

# %% Scores: how well each query matches each key, in this sentence
scores = Q @ K.T  # (4, 4): row = the word asking, column = the word being looked at
show("scores = Q K^T", scores, words, words)

# %% Scaling: divide by sqrt(d_k) so the scores do not grow with the dimension
scaled = scores / math.sqrt(d)
show(f"scaled = scores / sqrt({d})", scaled, words, words)

# %% Softmax: each row becomes probabilities that sum to 1
weights = scaled.softmax(axis=-1)
show("weights = softmax(scaled)", weights, words, words, row_sums=True)

# %% The output: each word's new vector is a weighted average of the values
out = weights @ V
show("out = weights @ V", out, words, dims)

# %% The same, from the library: the formula as one function, and as a layer
out_f, weights_f = F.scaled_dot_product_attention(Q, K, V)
out_layer = head(X)
same = max(
    max(abs(a - b) for a, b in zip(out.data, out_f.data)),
    max(abs(a - b) for a, b in zip(out.data, out_layer.data)),
)
print(f"\nby hand, F.scaled_dot_product_attention and nn.AttentionHead agree: {same:.1e}")

# %% A causal mask: a word may only look at itself and the words before it
out_c, weights_c = F.scaled_dot_product_attention(Q, K, V, causal=True)
show("causal weights (zero above the diagonal)", weights_c, words, words, row_sums=True)
