"""The figures and numbers of page 10, "Predicting the next token" (run by make_figures.py).

Two real training runs with the defaults of `tinygrad-attn train`: the story language and
the names. From them: the attention on the explanation's sentence before and after
training, the loss curve, the next-word probabilities after "I play with a cat and it", a
name written letter by letter, one distribution at three temperatures, and
next_numbers.json, every number the page quotes (tests/test_docs.py checks the page against
it). (The same story model, trained once more by story_model.py, ships with the package.)
"""

import json
import math
import os

from tinygrad_attn.generate import next_token_probabilities, sample
from tinygrad_attn.tasks import get_task
from tinygrad_attn.train import Config, make_model, results, run_training
from tinygrad_attn.train_figures import training_figures
from tinygrad_attn.viz import write_svg
from tinygrad_attn.viz.generation import probability_bars_svg

FIGURES = [
    "next_attention_before.svg",
    "next_attention_after.svg",
    "next_loss.svg",
    "next_probabilities.svg",
    "names_writing.svg",
    "names_temperature.svg",
]
NUMBERS = "next_numbers.json"
FILES = [*FIGURES, NUMBERS]
PROMPT = "I play with a cat and it"


def next_token_figures(folder):
    """Train, draw, measure: returns the paths written."""
    written, numbers = [], {}
    story, names = get_task("story"), get_task("names")

    run = run_training(Config(task="story"))
    figures = training_figures(run)
    for name in ("attention_before", "attention_after", "loss"):
        written.append(write_svg(figures[f"{name}.svg"], os.path.join(folder, f"next_{name}.svg")))
    numbers["story"] = results(run) | {"seconds": None}  # depends on the machine
    numbers["story_before"] = {
        "task_accuracy": run.before.task_accuracy,
        "attention_accuracy": run.before.attention_accuracy,
        "loss": run.before.loss,
    }
    numbers["story_parameters"] = sum(len(p.data) for p in run.model.parameters())
    numbers["story_vocab"] = len(story.vocab) - 1  # every token but the padding
    layer, head = run.after.best_head
    words = story.words(run.shown.tokens)
    numbers["it_on_cat"] = run.attention_after[layer][head][words.index("it")][words.index("cat")]
    numbers["best_head"] = head + 1

    # The worked example: the trained model, after "I play with a cat and it"
    prompt = [story.boundary_id, *story.encode(PROMPT.split())]
    numbers["worked"] = worked_example(run.model, story, prompt, "purrs")
    untrained = make_model(Config(task="story"))
    numbers["worked_untrained"] = worked_example(untrained, story, prompt, "purrs")
    probs = next_token_probabilities(run.model, story, prompt)
    top = sorted(range(len(probs)), key=lambda i: -probs[i])[:6]
    bars = [(story.vocab[i] if i != story.boundary_id else "(end)", probs[i]) for i in top]
    svg = probability_bars_svg(
        [(f"after '{PROMPT}'", bars, "purrs")],
        title="story: the model's next-word probabilities",
        subtitle=f"softmax over all {numbers['story_vocab']} tokens; the six likeliest shown",
    )
    written.append(write_svg(svg, os.path.join(folder, "next_probabilities.svg")))

    run = run_training(Config(task="names"))
    numbers["names"] = results(run) | {"seconds": None}
    numbers["names_training"] = len(run.data.training)
    numbers["names_heldout"] = len(run.data.heldout)
    invented = sample(run.model, names, num=50, seed=0)
    texts = [names.join(names.words(s.written)) for s in invented]
    training = {names.join(n) for n in run.data.training}
    numbers["names_samples"] = texts[:12]
    numbers["names_new"] = sum(t not in training for t in texts)
    numbers["names_lengths"] = [min(map(len, texts)), max(map(len, texts))]
    cooler = [  # 50 names with each of five seeds, at temperature 0.8
        [
            names.join(names.words(s.written))
            for s in sample(run.model, names, num=50, temperature=0.8, seed=seed)
        ]
        for seed in range(5)
    ]
    lengths = [len(t) for batch in cooler for t in batch]
    numbers["names_cooler"] = {
        "new": [sum(t not in training for t in batch) for batch in cooler],
        "lengths": [min(lengths), max(lengths)],
    }
    first = invented[0]
    steps = [
        (
            f"after '{names.join(names.words(step.context))}'",
            [(names.vocab[i] if i != names.boundary_id else "(end)", p) for i, p in step.top],
            names.vocab[step.chosen] if step.chosen != names.boundary_id else "(end)",
        )
        for step in first.steps
    ]
    svg = probability_bars_svg(
        steps,
        title=f"names: writing '{texts[0]}', one letter at a time",
        subtitle="temperature 1, seed 0; orange: the letter drawn",
    )
    written.append(write_svg(svg, os.path.join(folder, "names_writing.svg")))
    panels = []
    for t in (0.5, 1.0, 2.0):
        p = next_token_probabilities(run.model, names, [names.boundary_id], temperature=t)
        order = sorted(range(len(p)), key=lambda i: -p[i])[:6]
        panels.append((f"temperature {t:g}", [(names.vocab[i], p[i]) for i in order], None))
    numbers["first_letter"] = {str(t): panels[k][1][0] for k, t in enumerate((0.5, 1.0, 2.0))}
    svg = probability_bars_svg(
        panels,
        title="names: the first letter's probabilities at three temperatures",
        subtitle="the same logits divided by the temperature before softmax",
    )
    written.append(write_svg(svg, os.path.join(folder, "names_temperature.svg")))

    path = os.path.join(folder, NUMBERS)
    with open(path, "w") as f:
        f.write(json.dumps(numbers, indent=1) + "\n")
    return written + [path]


def worked_example(model, task, prompt, target):
    """The logits of the top words, the sum of e^logit over the whole vocabulary, and the
    target's probability and loss, rounded as the page prints them."""
    from tinygrad_attn import no_grad

    with no_grad():
        logits = model([prompt]).tolist()[0][-1]
    ids = [i for i in range(len(logits)) if i != task.pad_id]
    top = sorted(ids, key=lambda i: -logits[i])[:3]
    t = task.vocab.index(target)
    if t not in top:
        top = top[:2] + [t]
    rounded = {i: round(logits[i], 2) for i in ids}  # the page's numbers, two decimals
    exps = {i: math.exp(rounded[i]) for i in ids}
    total = sum(exps.values())
    rest = total - sum(exps[i] for i in top)
    p = exps[t] / total
    return {
        "top": [[task.vocab[i], rounded[i], round(exps[i], 2)] for i in top],
        "others": len(ids) - len(top),
        "others_sum": round(rest, 2),
        "total": round(total, 2),
        "probability": round(p, 3),
        "loss": round(-math.log(p), 3),
    }
