"""The walkthrough: attention computed stage by stage, printed, checked and drawn.

It follows the explanation from a sentence to multi-head attention and back through the
gradients:

1. a sentence becomes a matrix X: one row of numbers per word;
2. Q, K and V are X seen through three weight matrices W_q, W_k, W_v;
3. scores = Q K^T: how well each word's query matches each word's key, in this sentence;
4. the scores are divided by sqrt(d_k), so they do not grow with the dimension;
5. softmax turns each row into probabilities that sum to 1: the attention weights;
6. weights @ V: each word's output is a weighted average of the values. That is one head;
7. several heads do the same with their own weights, are concatenated and projected by W^O
   back to the input's shape;
8. a loss, its gradients for W_q, W_k, W_v and W_o, and a gradient check that proves them;
   the single head is also computed on `Value`s, and both engines agree.

`run()` prints every stage and writes one figure per stage. The numbers are seeded, so the
same flags always give the same output.

With a trained model (`Walkthrough(sentence, model=..., task=...)`, `walkthrough --load`),
the numbers are the model's own: X is what its first attention layer reads (each word's
learned vector plus its position's, normalised), and W_q, W_k, W_v, W^O are what training
made of them. On the explanation's sentence, "I play with a cat and it purrs", the row of
"it" then looks at "cat": the word that decides what comes next.
"""

import math
import random

from . import nn
from .autograd import no_grad
from .gradcheck import gradcheck
from .language import START, labelled
from .tensor import Tensor
from .value import Value

__all__ = [
    "DEFAULT_SENTENCE",
    "DEFAULT_DIM",
    "DEFAULT_HEADS",
    "Walkthrough",
    "run",
    "format_matrix",
]

DEFAULT_SENTENCE = "I play with cats"
DEFAULT_DIM, DEFAULT_HEADS = 6, 2  # two heads, each with the seed's 4 words x 3 numbers


def format_matrix(values, row_labels, col_labels, fmt="{:7.3f}", row_sums=False):
    """A matrix as aligned text, rows and columns labelled.

    >>> print(format_matrix([[1.0, 0.5], [0.25, 2.0]], ["I", "cats"], ["d0", "d1"]))
             d0      d1
    I      1.000   0.500
    cats   0.250   2.000
    """
    cells = [[fmt.format(v) for v in row] for row in values]
    if row_sums:
        col_labels = list(col_labels) + ["| sum"]
        cells = [row + ["| " + fmt.format(sum(r)).strip()] for row, r in zip(cells, values)]
    width = max([len(c) for row in cells for c in row] + [len(c) for c in col_labels])
    label_width = max(len(r) for r in row_labels)
    lines = [" " * label_width + " " + " ".join(c.rjust(width) for c in col_labels)]
    for label, row in zip(row_labels, cells):
        lines.append(label.ljust(label_width) + " " + " ".join(c.rjust(width) for c in row))
    return "\n".join(line.rstrip() for line in lines)


class Walkthrough:
    """Every number of the walkthrough, computed once: `stages` in reading order, then the
    gradients and checks. Printing and drawing read from here.

    One multi-head attention layer is followed from its input to its output: every matrix
    printed is computed from the matrices printed before it.
    """

    def __init__(
        self,
        sentence=DEFAULT_SENTENCE,
        dim=DEFAULT_DIM,
        heads=DEFAULT_HEADS,
        seed=0,
        model=None,
        task=None,
    ):
        self.model, self.task = model, task  # a trained TinyTransformer and its task, or None
        if model is not None:
            attn = model.blocks[0].attn  # the first attention layer: its sizes decide
            dim, heads = attn.d_model, attn.num_heads
        _check_arguments(sentence, dim, heads)
        self.words = self.tokens = sentence.split()
        if model is not None:
            self.tokens = _model_words(sentence, model, task)  # what the model reads
            self.words = labelled(self.tokens)  # what the tables and pictures call them
        self.dim, self.heads, self.seed = dim, heads, seed
        self.d_head = dim // heads
        # (query, key) cells where attention should be, when the task knows them: the row
        # of "it" and the column of the animal that decides the next word (story.py)
        self.focus = _focus(self.tokens, task) if model is not None else []
        # Column names say which matrix a column belongs to, so that in every product A @ B
        # the columns of A carry the names of the rows of B: X's columns d0.. are the rows of
        # W_q, whose columns q0.. are Q's columns. A head's output mixes the rows of its
        # columns of V, so it keeps their names (v0..), side by side in Concat, and these are
        # the rows of W^O, whose columns d0.. give the output the input's shape.
        self.dims = [f"d{j}" for j in range(dim)]
        self.columns = {name: [f"{name}{j}" for j in range(dim)] for name in "qkv"}
        self.stages = []  # (name, title, explanation, matrix, row labels, col labels, kind)
        self.drawing = {}  # stage name -> how to draw it: options for matrix_svg / heatmap_svg
        rng = random.Random(seed)
        if model is None:
            self._embed(rng)
            self.mha = nn.MultiHeadAttention(dim, heads, rng=rng)
            _readable_weights(self.mha, rng)
        else:
            self._embed_trained()
            self.mha = model.blocks[0].attn
        self.causal = self.mha.causal  # a trained language model reads causally
        self._projections()
        self._heads()
        self._combine()
        self._gradients()
        self._two_engines()

    def _stage(self, name, title, text, matrix, rows, cols, kind="matrix", **drawing):
        self.stages.append((name, title, text, matrix, rows, cols, kind))
        self.drawing[name] = drawing

    def _head_groups(self, width=None):
        """[("head 1", d_head), ...]: which columns each head works with (none for one head)."""
        if self.heads == 1:
            return None
        return [(f"head {i + 1}", width or self.d_head) for i in range(self.heads)]

    # ------------------------------------------------------------------ the stages

    def _embed_trained(self):
        """X as the trained model's first attention layer reads it."""
        model, T, d = self.model, len(self.words), self.dim
        ids = [self.task.vocab.index(w) for w in self.tokens]
        with no_grad():
            embedded = model.tokens(ids) + model.pos(list(range(T)))  # word + position
            self.X = model.blocks[0].norm1(embedded).detach().named("X")
        boundary = f' "{START}" is the "." that starts every sentence: the model reads it first.'
        self._stage(
            "x",
            f"X: the sentence as the trained model reads it ({_count(T, 'word')} x "
            f"{_count(d, 'number')})",
            "Each word's learned vector plus its position's, normalised (LayerNorm)."
            + (boundary if self.words[0] == START else ""),
            self.X.tolist(),
            self.words,
            self.dims,
        )

    def _embed(self, rng):
        T, d = len(self.words), self.dim
        # Every word gets a vector of numbers. A trained model learns these (an embedding);
        # here they are seeded random numbers, one row per word.
        self.X = Tensor(
            [[round(rng.uniform(-1, 1), 2) for _ in range(d)] for _ in range(T)], label="X"
        )
        self._stage(
            "x",
            f"X: the sentence as a matrix ({_count(T, 'word')} x {_count(d, 'number')})",
            "Each word becomes a row of numbers (its embedding).",
            self.X.tolist(),
            self.words,
            self.dims,
        )

    def _projections(self):
        d, words = self.dim, self.words
        for name, layer, role in (
            ("q", self.mha.w_q, "what am I looking for?"),
            ("k", self.mha.w_k, "where can I find it? (what each word offers)"),
            ("v", self.mha.w_v, "what is the actual content?"),
        ):
            self._stage(
                f"w_{name}",
                f"W_{name} ({d} x {d}): a weight matrix, "
                + (
                    "as training left it"
                    if self.model is not None
                    else "learned in training (random here)"
                ),
                f"{name.upper()} = X W_{name} asks: {role}",
                layer.weight.tolist(),
                self.dims,
                self.columns[name],
                col_groups=self._head_groups(),
                scale="weights",
                y_label="from X's columns",
            )
        self.q, self.k, self.v = (
            layer(self.X) for layer in (self.mha.w_q, self.mha.w_k, self.mha.w_v)
        )
        for name, t in (("q", self.q), ("k", self.k), ("v", self.v)):
            self._stage(
                name,
                f"{name.upper()} = X W_{name}  ({len(words)} x {d})",
                "The same words seen through a different matrix.",
                t.tolist(),
                words,
                self.columns[name],
                col_groups=self._head_groups(),
                scale="qkv",
            )

    def _heads(self):
        """Each head on its own columns of Q, K and V; the first one step by step."""
        h, dh, words = self.heads, self.d_head, self.words
        self.head_outputs = []
        for i in range(h):
            cols = list(range(i * dh, (i + 1) * dh))
            # head i uses columns [i*d_head, (i+1)*d_head) of the projected Q, K and V
            q, k, v = (_columns(t, cols) for t in (self.q, self.k, self.v))
            scores = q @ k.T  # (T, T): row = the word asking, column = the word looked at
            scaled = scores / math.sqrt(dh)
            if self.causal:  # a word may not look at later words: weight 0 after softmax
                later = [[float(j > i) for j in range(len(words))] for i in range(len(words))]
                weights = scaled.masked_fill(Tensor(later), -math.inf).softmax(-1)
            else:
                weights = scaled.softmax(-1)
            out = weights @ v  # (T, d_head)
            self.head_outputs.append(out)
            name = f"head{i + 1}"
            which = f"head {i + 1} of {h}: " if h > 1 else ""
            sub = f"_{i + 1}" if h > 1 else ""  # Q_1, K_1, V_1: the head's columns
            Q, K, V = (f"{letter}{sub}" for letter in "QKV")
            words_axes = {"x_label": "key (attended to)", "y_label": "query (attending)"}
            marks = {}
            if self.causal:
                marks["masked"] = [[j > i for j in range(len(words))] for i in range(len(words))]
            if self.focus:
                marks["outline"] = self.focus
            if i == 0:  # the first head, step by step
                if h > 1:
                    for letter, t in (("q", q), ("k", k), ("v", v)):
                        self._stage(
                            f"{name}_{letter}",
                            f"{which}{letter.upper()}{sub} = columns "
                            f"{cols[0]}..{cols[-1]} of {letter.upper()}  ({len(words)} x {dh})",
                            f"Each head works with its own d_head = {dh} columns: head 1's "
                            f"part of {letter.upper()} is called {letter.upper()}{sub}.",
                            t.tolist(),
                            words,
                            [self.columns[letter][j] for j in cols],
                            scale="qkv",
                        )
                self._stage(
                    f"{name}_scores",
                    f"{which}scores = {Q} {K}^T",
                    "Row i, column j: how well word i's query matches word j's key, in this "
                    "sentence.",
                    scores.tolist(),
                    words,
                    words,
                    scale="scores",
                    **words_axes,
                )
                self._stage(
                    f"{name}_scaled",
                    f"{which}scaled scores = scores / sqrt(d_k) = scores / {math.sqrt(dh):.3f}",
                    "Dividing by sqrt(d_k) keeps the dot products from growing with the dimension.",
                    scaled.tolist(),
                    words,
                    words,
                    scale="scores",
                    **words_axes,
                )
            masking = " A word may not look at later words: their weight is 0." * self.causal
            self._stage(
                f"{name}_weights",
                f"{which}attention weights = softmax(scaled scores), row by row",
                ("Each row is now probabilities: positive, summing to 1." + masking)
                if i == 0
                else f"Head {i + 1} does the same with columns {cols[0]}..{cols[-1]}.",
                weights.tolist(),
                words,
                words,
                kind="attention",
                **marks,
            )
            self._stage(
                name,
                f"{which}head {i + 1} = weights @ {V}  ({len(words)} x {dh})",
                "Each word's output is the weighted average of all the words' values."
                if i == 0
                else "Another perspective on the same sentence.",
                out.tolist(),
                words,
                [self.columns["v"][j] for j in cols],
                scale="heads",
            )

    def _combine(self):
        d, h, words = self.dim, self.heads, self.words
        concat = Tensor.cat(self.head_outputs, axis=-1)  # (T, d)
        if h > 1:
            self._stage(
                "concat",
                f"Concat(head 1 .. head {h})  ({len(words)} x {d})",
                "The heads side by side, each with its own columns of V.",
                concat.tolist(),
                words,
                self.columns["v"],
                col_groups=self._head_groups(),
                scale="heads",
            )
        self._stage(
            "w_o",
            f"W^O ({d} x {d}): the output projection "
            + ("(as training left it)" if self.model is not None else "(random here)"),
            "Mixes what the heads found." if h > 1 else "Mixes the head's numbers.",
            self.mha.w_o.weight.tolist(),
            self.columns["v"],
            self.dims,
            row_groups=self._head_groups(),
            scale="weights",
            y_label="from Concat's columns" if h > 1 else "from the head's columns",
        )
        self.output = concat @ self.mha.w_o.weight
        self.layer_difference = max(
            abs(a - b) for a, b in zip(self.output.data, self.mha(self.X).data)
        )
        self._stage(
            "output",
            f"MultiHead(X) = Concat(heads) W^O  ({len(words)} x {d}, the input's shape)"
            if h > 1
            else f"output = head W^O  ({len(words)} x {d}, the input's shape)",
            "Every word now carries information from the words it attended to.",
            self.output.tolist(),
            words,
            self.dims,
        )

    def _gradients(self):
        # A loss to take gradients of. Training uses a real task (`tinygrad-attn train`);
        # here a simple one: how far each word's output is from its own input.
        def loss_fn(*weights):  # gradcheck nudges the weights in place: no arguments needed
            y = self.mha(self.X)
            return ((y - self.X) ** 2).mean()

        params = [self.mha.w_q.weight, self.mha.w_k.weight, self.mha.w_v.weight]
        params.append(self.mha.w_o.weight)
        self.mha.zero_grad()
        self.loss = loss_fn().named("loss")
        self.loss.backward()
        names = ("W_q", "W_k", "W_v", "W^O")
        self.grads = {name: p.grad.tolist() for name, p in zip(names, params)}
        self.check = gradcheck(loss_fn, params)

    def _two_engines(self):
        """Head 1 again, on Values: one graph node per number."""
        words, dims, dh = self.words, self.dims, self.d_head
        X = _value_matrix(self.X, "X", words, dims)
        W = {}
        for name, layer in (("W_q", self.mha.w_q), ("W_k", self.mha.w_k), ("W_v", self.mha.w_v)):
            first_head = [row[:dh] for row in layer.weight.tolist()]  # its columns 0..d_head-1
            columns = self.columns[name[-1]][:dh]
            W[name] = _value_matrix(Tensor(first_head), name, dims, columns)
        Q, K, V = (_matmul(X, W[name]) for name in ("W_q", "W_k", "W_v"))
        for name, M in (("Q", Q), ("K", K), ("V", V)):
            for word, row in zip(words, M):
                for col, v in zip(self.columns[name.lower()], row):
                    v.label = f"{name}[{word},{col}]"
        scale = 1.0 / math.sqrt(dh)
        out = []
        for i, q_row in enumerate(Q):
            seen = K[: i + 1] if self.causal else K  # causal: only the words so far
            scores = [_dot(q_row, k_row) * scale for k_row in seen]
            top = max(s.data for s in scores)  # a constant: softmax does not change
            e = [(s - top).exp() for s in scores]
            total = _sum(e)
            weights = [x / total for x in e]
            out.append([_sum([w * v_row[j] for w, v_row in zip(weights, V)]) for j in range(dh)])
            # (zip stops at the last word seen: the later values get no weight)
        self.value_output = out
        # The graph to draw: one attention score, q . k / sqrt(d_k), of the first word's
        # query and the last word's key, from their numbers alone: small enough to read.
        # (Drawn from X and the weights instead, this one number is a graph of over a
        # hundred nodes.) Its gradients say: d score / d q = k / sqrt(d_k), and back.
        sub = "_1" if self.heads > 1 else ""
        q = [
            Value(x.data, label=f"Q{sub}[{words[0]},{c}]") for x, c in zip(Q[0], self.columns["q"])
        ]
        k = [
            Value(x.data, label=f"K{sub}[{words[-1]},{c}]")
            for x, c in zip(K[-1], self.columns["k"])
        ]
        self.value_score = _dot(q, k) / math.sqrt(dh)
        self.value_score.label = f"score[{words[0]},{words[-1]}]"
        self.value_score.backward()
        tensor_rows = self.head_outputs[0].tolist()
        self.engine_difference = max(
            abs(v.data - t) for row_v, row_t in zip(out, tensor_rows) for v, t in zip(row_v, row_t)
        )


def _model_words(sentence, model, task):
    """The sentence as the trained model reads it: its words (story) or letters (names),
    after the boundary "." that starts every sequence. ValueError for a word the model does
    not know (naming the nearest ones) or a sentence longer than it reads."""
    from .language import BOUNDARY, LanguageTask

    if isinstance(task, LanguageTask):
        words = task.split_text(sentence)
        task.encode(words)  # an unknown word: ValueError naming the nearest words
        words = [BOUNDARY, *words]
    else:
        words = sentence.split()
        unknown = [w for w in words if w not in task.vocab]
        if unknown:
            raise ValueError(
                f"{', '.join(map(repr, unknown))} not in the {task.name} vocabulary: "
                f"{' '.join(task.vocab)}"
            )
    if len(words) > model.max_len:
        raise ValueError(
            f"the sentence has {len(words)} tokens; the model reads at most {model.max_len}"
        )
    return words


def _focus(words, task):
    """[(row of the query, column of the key)] for the words a task says decide the next one:
    "it" and its animal (the word after "it" need not be there)."""
    decided = getattr(task, "decided", None)
    if decided is None or not words or words[0] != ".":
        return []
    # word i of the sentence sits at position i + 1 and is predicted at position i
    return [(d, k + 1) for d, k in decided([*words[1:], None])]


def _check_arguments(sentence, dim, heads):
    if not isinstance(sentence, str):
        raise TypeError(f"sentence must be a str of words, got {type(sentence).__name__}")
    if not sentence.split():
        raise ValueError("sentence is empty; give at least one word")
    for name, n in (("dim", dim), ("heads", heads)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{name} must be a positive int, got {n!r}")
    if dim % heads:
        raise ValueError(f"heads must divide dim: {dim} is not divisible by {heads}")


def _count(n, noun):
    """ "1 word", "4 words"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _readable_weights(module, rng):
    """Weights with two decimals in [-1, 1]: easy to follow by hand in the printed tables."""
    for p in module.parameters():
        p.data[:] = [round(rng.uniform(-1, 1), 2) for _ in p.data]


def _columns(t, cols):
    """Columns `cols` of a (T, d) tensor, as a (T, len(cols)) tensor."""
    return t.T[cols].T


def _value_matrix(t, name, row_labels, col_labels):
    """A (rows, cols) Tensor as a grid of labelled leaf Values: X[I,d0], W_q[d0,d1], ..."""
    return [
        [Value(x, label=f"{name}[{r},{c}]") for x, c in zip(row, col_labels)]
        for row, r in zip(t.tolist(), row_labels)
    ]


def _sum(values):
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


def _dot(a, b):
    return _sum([x * y for x, y in zip(a, b)])


def _matmul(A, B):
    cols = list(zip(*B))
    return [[_dot(row, col) for col in cols] for row in A]


# ---------------------------------------------------------------------- printing and drawing


def report(w, echo=print):
    """Print every stage of a Walkthrough."""
    echo(
        f'Sentence: "{" ".join(w.words)}"  ({_count(len(w.words), "word")}, d_model = {w.dim}, '
        f"{_count(w.heads, 'head')} of d_head = {w.d_head})"
    )
    for number, (_, title, text, matrix, rows, cols, kind) in enumerate(w.stages, 1):
        echo("")
        echo(f"[{number}] {title}")
        echo(f"    {text}")
        table = format_matrix(matrix, rows, cols, row_sums=(kind == "attention"))
        echo("    " + table.replace("\n", "\n    "))
    for query, key in w.focus:
        shares = ", ".join(
            f"{weights[query][key]:.2f} (head {name[4:-8]})"
            for name, _, _, weights, *_ in w.stages
            if name.endswith("_weights")
        )
        echo("")
        echo(
            f"The row of {w.words[query]!r} puts {shares} of its attention on "
            f"{w.words[key]!r}: the word that decides what comes next."
        )
    echo("")
    echo(
        f"The library's nn.MultiHeadAttention computes the same output in one call "
        f"(largest difference {w.layer_difference:.1e})."
    )
    echo("")
    echo(
        f"Gradients of a simple loss, mean((MultiHead(X) - X)^2) = {w.loss.item():.6f}, "
        "for the weights above:"
    )
    for name, grad in w.grads.items():
        echo(f"\n  d loss / d {name}:")
        echo("    " + format_matrix(grad, w.dims, w.dims, fmt="{:9.5f}").replace("\n", "\n    "))
    echo("")
    echo("Gradient check (backward() against finite differences, every weight):")
    echo("    " + str(w.check).replace("\n", "\n    "))
    echo("")
    echo(
        f"Two engines, one answer: head 1 on Values (one node per number) and on Tensors "
        f"differ by at most {w.engine_difference:.1e}."
    )


def run(
    sentence=DEFAULT_SENTENCE,
    dim=DEFAULT_DIM,
    heads=DEFAULT_HEADS,
    seed=0,
    out="out/walkthrough",
    echo=print,
    model=None,
    task=None,
):
    """Compute, draw and print the walkthrough (with a trained `model` and its `task`, on
    their numbers); returns the paths of the files written.

    The figures are written before anything is printed: a reader who stops the printing
    early (`| head`) still gets every figure."""
    from .walkthrough_figures import write_figures

    w = Walkthrough(sentence, dim, heads, seed, model=model, task=task)
    files = write_figures(w, out)
    report(w, echo)
    echo("")
    echo(f"Figures written to {out}/:")
    for path in files:
        echo(f"  {path}")
    return files
