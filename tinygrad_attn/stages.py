"""The six stages of attention with every number in between: what the pictures draw.

The explanation teaches one attention layer in six steps:

1. the sentence as a matrix X, one row of numbers per word;
2. Q = X W_q, K = X W_k, V = X W_v: the same words seen through three weight matrices;
3. scores = Q K^T / sqrt(d_k), each head on its own d_head columns of Q and K;
4. weights = softmax(scores), row by row: probabilities that sum to 1;
5. head = weights V: each word's output is a weighted average of the values;
6. MultiHead(X) = Concat(heads) W^O, the input's shape again.

`Stages` computes them once with the Tensor engine and keeps every matrix on the way
(`nn.MultiHeadAttention` computes the same in one call and keeps only the weights; the two
are compared in `layer_difference`). It also takes a loss, runs backward, and keeps the
gradient of the loss with respect to each weight matrix together with the gradients that
reach Q, K, V and the output, so that the chain rule can be drawn as matrix products too:
dL/dW_q = X^T dL/dQ.

The composite figures (viz/composite.py, viz/stage_figures.py) and the explorer page
(viz/explorer.py) only draw what is here. Two sources of numbers:

* `Stages.random(sentence, dim, heads, seed)`: seeded random X and weights, the same numbers
  `tinygrad-attn walkthrough` prints for the same flags;
* `Stages.from_model(model, words, vocab)`: the first attention layer of a trained
  `TinyTransformer`, on a sentence of its vocabulary.
"""

import math
import random

from . import functional as F
from . import nn
from .tensor import Tensor

__all__ = ["Stages", "sentence_words", "MAX_WORDS", "MAX_WORD_LENGTH"]

MAX_WORDS = 16  # the tables and heatmaps stay readable up to here
MAX_WORD_LENGTH = 24  # characters: a longer word would not fit a row label


class Stages:
    """Every matrix of one attention layer on one sentence, by name (see `matrices`).

    >>> s = Stages.random("I play with cats", dim=6, heads=2, seed=0)
    >>> s.shape("X"), s.shape("W_q"), s.shape("scores_1"), s.shape("output")
    ((4, 6), (6, 6), (4, 4), (4, 6))
    >>> [round(sum(row), 6) for row in s.matrices["weights_1"]]   # softmax rows sum to 1
    [1.0, 1.0, 1.0, 1.0]
    """

    def __init__(self, words, x, mha, *, causal, source, input_note, loss, rest=None):
        """`x` is the layer's input (T, d_model) and `mha` the layer. `loss` names the loss:
        "reconstruction" is mean((MultiHead(X) - X)^2); "next-token" is the cross-entropy of
        predicting each next word, for which `rest(attention_output)` must return the
        model's logits (T, vocab) and `targets` the next words' ids."""
        self.words = list(words)
        self.dim, self.heads = mha.d_model, mha.num_heads
        self.d_head = self.dim // self.heads
        self.causal, self.source, self.input_note = causal, source, input_note
        # (query, key) cells where attention should be, framed in the pictures (a task
        # knows them: story.py's "it" and its animal), and a sentence saying so
        self.focus, self.focus_note = [], ""
        self.start_head = 1  # the head the page shows first (the one that looks there)
        self.label_note = ""  # what a renamed label stands for (see `rename`), for captions
        self.dims = [f"d{j}" for j in range(self.dim)]
        # Columns are named after the matrix they belong to (as in the walkthrough), so that
        # in every product the left's columns name the right's rows: X's d0.. are W_q's rows,
        # W_q's q0.. are Q's columns; the heads keep V's names (v0..), the rows of W^O.
        cols = {name: [f"{name}{j}" for j in range(self.dim)] for name in "qkv"}
        self.matrices = {}  # name -> nested lists of floats
        self.row_labels, self.col_labels = {}, {}  # name -> the words or dims along each axis
        T, words, dims = len(self.words), self.words, self.dims
        # (i, j) pairs a word may not look at: the later words, when the layer is causal
        self.masked = [(i, j) for i in range(T) for j in range(T) if causal and j > i]
        keep = self._keep

        keep("X", x, words, dims)
        w_q, w_k, w_v, w_o = mha.w_q, mha.w_k, mha.w_v, mha.w_o
        for name, layer in (("W_q", w_q), ("W_k", w_k), ("W_v", w_v)):
            keep(name, layer.weight, dims, cols[name[-1]])
        keep("W_o", w_o.weight, cols["v"], dims)

        # 2. Q, K, V: three views of the same words
        q, k, v = w_q(x), w_k(x), w_v(x)  # (T, d_model) each
        for name, t in (("Q", q), ("K", k), ("V", v)):
            keep(name, t, words, cols[name.lower()])
        heads = []
        blocked = Tensor([[float((i, j) in self.masked) for j in range(T)] for i in range(T)])
        for h in range(self.heads):
            n = h + 1  # heads are counted from 1, as in the explanation
            picked = list(range(h * self.d_head, (h + 1) * self.d_head))
            head_cols = {name: [cols[name][j] for j in picked] for name in "qkv"}
            q_h, k_h, v_h = (_columns(t, picked) for t in (q, k, v))  # (T, d_head) each
            # 3. scores: row i, column j = how well word i's query matches word j's key
            scores = q_h @ k_h.T  # (T, T)
            scaled = scores / math.sqrt(self.d_head)
            # 4. softmax, row by row; a masked position gets -inf, so exp gives it 0
            weights = scaled.masked_fill(blocked, -math.inf).softmax(-1)
            # 5. one head: each word's output is a weighted average of the values
            out = weights @ v_h  # (T, d_head)
            heads.append(out)
            for name, t, letter in (
                ("Q", q_h, "q"),
                ("K", k_h, "k"),
                ("V", v_h, "v"),
                ("head", out, "v"),
            ):
                keep(f"{name}_{n}", t, words, head_cols[letter])
            keep(f"K_{n}^T", k_h.T, head_cols["k"], words)
            for name, t in (("scores", scores), ("scaled", scaled), ("weights", weights)):
                keep(f"{name}_{n}", t, words, words)
        # 6. the heads side by side, mixed by W^O: back to the input's shape
        concat = Tensor.cat(heads, axis=-1)  # (T, d_model)
        output = w_o(concat)  # (T, d_model)
        keep("concat", concat, words, cols["v"])
        keep("output", output, words, dims)
        self.layer_difference = max(abs(a - b) for a, b in zip(output.data, mha(x).data))

        # the loss, and how it changes with every weight (backward fills every .grad)
        if loss == "reconstruction":
            self.loss_name = "mean((MultiHead(X) - X)^2)"
            loss_value = ((output - x) ** 2).mean()
        else:
            self.loss_name = "next-token cross-entropy"
            logits, targets = rest(output)
            loss_value = F.cross_entropy(logits, targets)
        self.loss_kind = loss
        mha.zero_grad()
        loss_value.backward()
        self.loss = loss_value.item()
        for name, t in (("Q", q), ("K", k), ("V", v), ("output", output)):
            keep(f"dL/d{name}", t.grad, words, self.col_labels[name])
        for name, layer in (("W_q", w_q), ("W_k", w_k), ("W_v", w_v), ("W_o", w_o)):
            keep(f"dL/d{name}", layer.weight.grad, self.row_labels[name], self.col_labels[name])
        # the chain rule as matrix products: dL/dW_q = X^T dL/dQ, dL/dW_o = concat^T dL/dout
        keep("X^T", x.T, dims, words)
        keep("concat^T", concat.T, cols["v"], words)

    def _keep(self, name, t, row_labels, col_labels):
        self.matrices[name] = t.tolist()
        self.row_labels[name], self.col_labels[name] = list(row_labels), list(col_labels)

    # ------------------------------------------------------------------ making one

    @classmethod
    def random(cls, sentence, dim=6, heads=2, seed=0):
        """Seeded random X and weights with two decimals, as `tinygrad-attn walkthrough`
        draws them: the same flags give the same numbers in both."""
        words = sentence_words(sentence)
        _check_sizes(dim, heads)
        rng = random.Random(seed)
        # the same draws in the same order as the walkthrough: X, then the layer's weights
        x = Tensor([[round(rng.uniform(-1, 1), 2) for _ in range(dim)] for _ in words])
        mha = nn.MultiHeadAttention(dim, heads, rng=rng)
        for p in mha.parameters():
            p.data[:] = [round(rng.uniform(-1, 1), 2) for _ in p.data]
        note = "a seeded random number (a trained model learns these: an embedding)"
        return cls(
            words, x, mha, causal=False, source="random", input_note=note, loss="reconstruction"
        )

    @classmethod
    def from_model(cls, model, words, vocab):
        """The first attention layer of a trained `TinyTransformer` on `words` (each in
        `vocab`, a list of the model's words). X is what that layer sees: the words'
        embeddings plus their positions, normalised by the block's LayerNorm."""
        words = sentence_words(" ".join(words))
        if len(words) > model.max_len:
            raise ValueError(f"{len(words)} words; the model reads at most {model.max_len}")
        unknown = [w for w in words if w not in vocab]
        if unknown:
            raise ValueError(f"not in the model's vocabulary: {', '.join(unknown)}")
        ids = [vocab.index(w) for w in words]
        T = len(ids)
        block = model.blocks[0]
        embedded = model.tokens(ids)  # (T, d_model)
        if model.pos is not None:
            embedded = embedded + model.pos(list(range(T)))
        else:
            embedded = embedded + model._sinusoid[:T]
        x = block.norm1(embedded).detach()  # the input of the attention layer

        def rest(attention_output):
            """The model from the attention layer's output on: the logits of every word."""
            h = embedded + attention_output  # the residual connection
            if block.ff is not None:
                h = h + block.ff(block.norm2(h))
            for later in model.blocks[1:]:
                h = later(h)
            logits = model.out(model.norm(h))  # (T, vocab)
            return logits[list(range(T - 1))], ids[1:]  # word t predicts word t + 1

        if T < 2:
            raise ValueError("give at least two words: the loss predicts each next word")
        note = "embedding of the word + embedding of its position, then LayerNorm"
        return cls(
            words,
            x,
            block.attn,
            causal=block.attn.causal,
            source="trained",
            input_note=note,
            loss="next-token",
            rest=rest,
        )

    def rename(self, position, label, note):
        """Write `label` for the word at `position` wherever the pictures name it (its row
        and column labels): for a token whose own spelling says nothing to a reader, such
        as the "." a story model reads first. `note` says what it stands for.

        >>> s = Stages.random(". a cat")
        >>> s.rename(0, "(start)", "the mark where a sentence starts")
        >>> s.words, s.row_labels["scores_1"], s.col_labels["X^T"]
        (['(start)', 'a', 'cat'], ['(start)', 'a', 'cat'], ['(start)', 'a', 'cat'])
        """
        before = list(self.words)
        for labels in (self.row_labels, self.col_labels):
            for name, axis in labels.items():
                if axis == before:  # an axis of words, not of numbers
                    labels[name] = axis[:position] + [label] + axis[position + 1 :]
        self.words[position] = label
        self.label_note = note

    # ------------------------------------------------------------------ reading it

    def shape(self, name):
        """(rows, columns) of the matrix called `name`."""
        rows = self.matrices[name]
        return len(rows), len(rows[0])

    def to_dict(self):
        """Everything as plain JSON-ready data (nan and infinities as None)."""
        return {
            "words": self.words,
            "dim": self.dim,
            "heads": self.heads,
            "d_head": self.d_head,
            "causal": self.causal,
            "source": self.source,
            "masked": [list(p) for p in self.masked],
            "focus": [list(p) for p in self.focus],
            "start_head": self.start_head,
            "loss": _finite(self.loss),
            "loss_name": self.loss_name,
            "input_note": self.input_note,
            "matrices": {
                name: [[_finite(x) for x in row] for row in rows]
                for name, rows in self.matrices.items()
            },
            "row_labels": self.row_labels,
            "col_labels": self.col_labels,
        }


def sentence_words(sentence):
    """The words of a sentence that the pictures can draw, or ValueError saying why not.

    >>> sentence_words("  I play   with cats ")
    ['I', 'play', 'with', 'cats']
    """
    if not isinstance(sentence, str):
        raise TypeError(f"sentence must be a str of words, got {type(sentence).__name__}")
    words = sentence.split()
    if not words:
        raise ValueError("the sentence is empty; give at least one word")
    if len(words) > MAX_WORDS:
        raise ValueError(f"the sentence has {len(words)} words; give at most {MAX_WORDS}")
    long = next((w for w in words if len(w) > MAX_WORD_LENGTH), None)
    if long is not None:
        raise ValueError(
            f"the word {long[:12]!r}... has {len(long)} characters; at most {MAX_WORD_LENGTH} fit "
            f"a label"
        )
    return words


def _check_sizes(dim, heads):
    for name, n in (("dim", dim), ("heads", heads)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{name} must be a positive int, got {n!r}")
    if dim % heads:
        raise ValueError(f"heads must divide dim: {dim} is not divisible by {heads}")


def _columns(t, cols):
    """Columns `cols` of a (T, d) tensor, as a (T, len(cols)) tensor."""
    return t.T[cols].T


def _finite(x):
    return x if math.isfinite(x) else None
