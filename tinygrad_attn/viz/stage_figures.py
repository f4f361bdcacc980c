"""The six stages of the explanation as composite figures: which matrices each shows.

1. X, the sentence as a matrix;
2. X x W_q = Q, X x W_k = K, X x W_v = V;
3. Q_h x K_h^T = scores, / sqrt(d_k) = scaled scores (head h);
4. softmax(scaled scores) = weights, row by row;
5. weights x V_h = head_h;
6. Concat(heads) x W^O = MultiHead(X);

and the gradient view, each weight's gradient as the product that computes it:
dL/dW_q = X^T dL/dQ. Every figure has a title and a caption in plain words, written from
the numbers (the head's d_k, the framed weight of "it" on "cat", the loss). composite.py
draws them; the page (explorer.py), the docs and the walkthrough show them.
"""

import math

from .composite import Figure, Term

__all__ = ["STAGE_TITLES", "stage_figures", "gradient_figures", "file_name"]

STAGE_TITLES = {
    1: "The sentence as a matrix",
    2: "Q, K and V: the words seen three ways",
    3: "Scores: Q K^T / sqrt(d_k)",
    4: "Softmax, row by row",
    5: "Weights times V: one head",
    6: "Concat(heads) W^O: back to the input's shape",
}


FILE_NAMES = {
    1: "stage1_sentence",
    2: "stage2_qkv",
    3: "stage3_scores",
    4: "stage4_softmax",
    5: "stage5_head",
    6: "stage6_output",
    "gradients": "stage_gradients",
}


def file_name(figure):
    """The name a stage's figure is saved under: "stage3_scores.svg", ..."""
    return FILE_NAMES[figure.stage] + ".svg"


GRADIENT_FORMAT = "{:.3f}"  # gradients are small: one more decimal
TINY_FORMAT = "{:.1e}"  # ... and when even that shows only zeros, powers of ten


def _gradient_format(values):
    """Three decimals, or powers of ten when the largest number would print as 0.00x.

    >>> _gradient_format([[0.5, -0.02]]), _gradient_format([[3e-5, 0.0]])
    ('{:.3f}', '{:.1e}')
    """
    largest = max((abs(x) for row in values for x in row if x is not None), default=0.0)
    return GRADIENT_FORMAT if largest >= 0.01 or largest == 0.0 else TINY_FORMAT


# ---------------------------------------------------------------------- the six stages


def _term_maker(stages):
    def term(key, name, result=False, **options):
        m = stages.matrices[key]
        if options.get("fmt") == GRADIENT_FORMAT:
            options["fmt"] = _gradient_format(m)
        rows, cols = stages.row_labels[key], stages.col_labels[key]
        return Term(key, name, m, rows, cols, result, **options)

    return term


def stage_figures(stages, head=1):
    """The six stages of the explanation for one head (counted from 1), as Figures.

    >>> from tinygrad_attn.stages import Stages
    >>> [f.stage for f in stage_figures(Stages.random("I play with cats"), head=2)]
    [1, 2, 3, 4, 5, 6]
    """
    s, h = stages, head
    if not 1 <= h <= s.heads:
        raise ValueError(f"head must be 1..{s.heads}, got {head!r}")
    term = _term_maker(s)
    T, d, dh, H = len(s.words), s.dim, s.d_head, s.heads
    trained = s.source == "trained"
    learned = "learned in training" if trained else "random here"
    masked = tuple(tuple(p) for p in s.masked)
    title = {n: f"{n}. {text}" for n, text in STAGE_TITLES.items()}
    if H > 1:
        for n in (3, 4, 5):
            title[n] += f" (head {h} of {H})"

    x_note = (
        "These are the numbers the trained model's attention reads: each word's embedding "
        "plus its position's, normalised (LayerNorm)."
        if trained
        else "Here they are seeded random numbers; a trained model learns them (an embedding)."
    )
    labels = f" {s.label_note}" if s.label_note else ""  # what a renamed label stands for
    figures = [
        Figure(
            1,
            title[1],
            f"Each word becomes a row of {d} numbers, so the {T} words make a {T} \u00d7 {d} "
            f"matrix X. {x_note}{labels}",
            [[term("X", "X", result=True)]],
        ),
        Figure(
            2,
            title[2],
            f"Three weight matrices ({learned}) turn the same rows into three new ones: a "
            "query (what am I looking for?), a key (what do I offer?) and a value (what do I "
            "pass on?). Each number of Q is one row of X times one column of W_q.",
            [
                [term("X", "X"), "\u00d7", term(f"W_{n}", f"W_{n}"), "=", term(N, N, True)]
                for n, N in (("q", "Q"), ("k", "K"), ("v", "V"))
            ],
        ),
    ]
    head_part = f"Head {h} takes its own {dh} columns of Q and K. " if H > 1 else ""
    figures.append(
        Figure(
            3,
            title[3],
            f"{head_part}Row i, column j of the scores is word i's query times word j's key: "
            f"how well they match. Dividing by sqrt(d_k) = sqrt({dh}) = {math.sqrt(dh):.3f} "
            "keeps the scores from growing with the number of columns.",
            [
                [
                    term(f"Q_{h}", f"Q_{h}"),
                    "\u00d7",
                    term(f"K_{h}^T", f"K_{h}^T"),
                    "=",
                    term(f"scores_{h}", "scores", True),
                    f"\u00f7 \u221a{dh} =",
                    term(f"scaled_{h}", "scaled scores", True),
                ]
            ],
        )
    )
    mask_note = (
        " A word may not look at the words after it: those cells are crossed out and get weight 0."
        if masked
        else ""
    )
    focus = tuple(tuple(p) for p in s.focus)
    weights = term(f"weights_{h}", "weights", True, cmap="sequential", masked=masked, outline=focus)
    figures.append(
        Figure(
            4,
            title[4],
            "Softmax makes each row probabilities: e to the power of each score, divided by "
            "the row's total. Every weight is positive and each row sums to 1: row i says how "
            f"much word i looks at each word.{mask_note}"
            + (f" Framed: {_focus_text(s, h)}" if focus else "")
            + labels,
            [["softmax", term(f"scaled_{h}", "scaled scores", masked=masked), "=", weights]],
        )
    )
    figures.append(
        Figure(
            5,
            title[5],
            f"Each word's output is a weighted average of the values: row i of the weights "
            f"times V_{h}. A word that puts most of its weight on one word mostly takes that "
            "word's value.",
            [
                [
                    term(
                        f"weights_{h}", "weights", cmap="sequential", masked=masked, outline=focus
                    ),
                    "\u00d7",
                    term(f"V_{h}", f"V_{h}"),
                    "=",
                    term(f"head_{h}", f"head_{h}", True),
                ]
            ],
        )
    )
    groups = tuple((f"head {n}", dh) for n in range(1, H + 1)) if H > 1 else ()
    heads = f"The {H} heads' outputs side by side" if H > 1 else "The head's output"
    figures.append(
        Figure(
            6,
            title[6],
            f"{heads} ({T} \u00d7 {d}), times W^O ({learned}): back to {T} \u00d7 {d}, the "
            "input's shape. Every word now carries something from the words it attended to.",
            [
                [
                    term("concat", "Concat(heads)" if H > 1 else "head_1", col_groups=groups),
                    "\u00d7",
                    term("W_o", "W^O"),
                    "=",
                    term("output", "MultiHead(X)", True),
                ]
            ],
        )
    )
    return figures


def _focus_text(stages, head):
    """ "the row of "it" puts 0.93 of its weight on "cat"" for each framed cell."""
    words, weights = stages.words, stages.matrices[f"weights_{head}"]
    parts = [
        f'the row of "{words[i]}" puts {weights[i][j]:.2f} of its weight on "{words[j]}"'
        for i, j in stages.focus
    ]
    note = f" ({stages.focus_note})" if stages.focus_note else ""
    return "; ".join(parts) + note + "."


def gradient_figures(stages):
    """The gradient of the loss for each weight matrix, drawn as the product that computes
    it: dL/dW_q = X^T dL/dQ (and so on), in one Figure.

    >>> from tinygrad_attn.stages import Stages
    >>> f = gradient_figures(Stages.random("I play with cats"))
    >>> [p[-1].key for p in f.products]
    ['dL/dW_q', 'dL/dW_k', 'dL/dW_v', 'dL/dW_o']
    """
    s = stages
    term = _term_maker(s)
    if s.loss_kind == "reconstruction":
        what = (
            f"The loss here is {s.loss_name} = {s.loss:.4f}: how far each word's output is "
            "from its own input. These weights were never trained and there is no next word "
            "to predict, so this simple loss stands in for a real one."
        )
    else:
        what = (
            f"The loss is the model's {s.loss_name} on this sentence = {s.loss:.4f} nats per "
            "word: how surprised it is by each next word."
        )
    products = [
        [
            term("X^T", "X^T"),
            "\u00d7",
            term(f"dL/d{N}", f"dL/d{N}", fmt=GRADIENT_FORMAT),
            "=",
            term(f"dL/dW_{n}", f"dL/dW_{n}", True, fmt=GRADIENT_FORMAT),
        ]
        for n, N in (("q", "Q"), ("k", "K"), ("v", "V"))
    ]
    products.append(
        [
            term("concat^T", "Concat^T"),
            "\u00d7",
            term("dL/doutput", "dL/dMultiHead", fmt=GRADIENT_FORMAT),
            "=",
            term("dL/dW_o", "dL/dW^O", True, fmt=GRADIENT_FORMAT),
        ]
    )
    return Figure(
        "gradients",
        "Gradients: how the loss changes with every weight",
        f"{what} Backpropagation gives dL/dQ, dL/dK, dL/dV and dL/dMultiHead; each weight's "
        "gradient is then a matrix product like stage 2's: dL/dW_q = X^T dL/dQ. Red: a "
        "larger weight would raise the loss; training moves each weight a little the "
        "other way.",
        products,
    )
