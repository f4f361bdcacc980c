"""The trained story model that ships with the package, and the record of its training.

The explorer page (`tinygrad-attn explore`) shows attention twice: with random weights, and
with the weights of a model trained on the `story` task (story.py), in which the word after
"it" is decided by the animal several words back. Trained, the row of "it" looks at "cat".

`make docs` trains that model once (`write_shipped`, about twenty seconds) and writes it to
`tinygrad_attn/data/story_model.json`: the weights as `train --save` writes them (so
`generate --load` and `explore --load` read it too), plus a replay of its training: every
ten steps, the attention on the explanation's sentence of the head that learns to look from
"it" to the animal, and the loss at every step. The file is small, tens of KB: the story
task's default model is one layer of width 16.
"""

import json
import os

from .language import BOUNDARY, START, START_NOTE, labelled
from .stages import MAX_WORDS, Stages
from .story import EXPLANATION_SENTENCE
from .tasks import get_task
from .train import Config, load_trained, make_model, run_training, save_trained
from .train_figures import AttentionRecorder, replay_record

__all__ = ["SHIPPED", "AttentionRecorder", "write_shipped", "load_story", "story_view", "replay_of"]

SHIPPED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "story_model.json")
EVERY = 10  # steps between two attention snapshots of the replay
DIGITS = 4  # decimals kept in the replay's attention weights (the page prints two)


def write_shipped(path=SHIPPED, config=None):
    """Train the story model with the default settings, recording its attention on the
    explanation's sentence, and write weights and record to `path`. Returns the Run."""
    config = Config(task="story") if config is None else config
    task = get_task(config.task)
    model = make_model(config)
    example = task.example_of(EXPLANATION_SENTENCE.split())
    steps = list(range(0, config.steps + 1, EVERY)) + [config.steps]
    recorder = AttentionRecorder(model, example, steps)
    run = run_training(config, model=model, on_step=recorder)
    replay = replay_record(run, recorder, DIGITS)
    save_trained(model, config, path, replay)
    return run


def load_story(path=SHIPPED):
    """(model, task, replay or None) from a weights file of the story task. ValueError when
    the file is not one, says why, and what to do."""
    model, task, _ = load_trained(path)
    if task.name != "story":
        raise ValueError(
            f"{path} holds a model of the {task.name!r} task; the explorer draws a story "
            f"model (tinygrad-attn train --task story --save PATH)"
        )
    with open(path, encoding="utf-8") as f:
        replay = json.load(f).get("info", {}).get("replay")
    return model, task, replay


def story_view(model, task, words):
    """The Stages of the model's first attention layer on `words` (after the boundary "."
    the model reads first, labelled START), the row of "it" framed on its animal. Words
    outside the vocabulary: ValueError naming the nearest ones."""
    example = task.example_of(list(words))
    stages = Stages.from_model(model, task.words(example.tokens), list(task.vocab))
    if stages.words[0] == BOUNDARY:
        stages.rename(0, START, START_NOTE)
    stages.focus = list(zip(example.positions, example.keys))
    stages.focus_note = "the word that decides what comes after it"
    if stages.focus:  # show first the head that puts the most weight there
        i, j = stages.focus[0]
        weights = [stages.matrices[f"weights_{h}"][i][j] for h in range(1, stages.heads + 1)]
        stages.start_head = 1 + max(range(stages.heads), key=weights.__getitem__)
    return stages


def replay_of(record):
    """A training record (train --replay) as the explorer page's replay; ValueError for one
    that shows more words than the page draws."""
    if not record:
        return None
    step = record["steps"][-1]
    words = labelled(record["words"])
    if len(words) > MAX_WORDS:  # a story's sentence is shorter: this record was edited
        raise ValueError(
            f"its training record shows {len(words)} words; the page draws at most {MAX_WORDS}"
        )
    return {
        "words": words,
        "snapshots": [
            {"step": s, "weights": w} for s, w in zip(record["steps"], record["weights"])
        ],
        "loss": record["loss"],
        "focus": record["focus"],
        "caption": (
            f'The story model\'s attention on "{" ".join(record["words"][1:])}" while it '
            f"trained, from its random start (step 0) to step {step}: drag the slider. At "
            'first every row is a blur; the loss falls as the row of "it" settles on "cat", '
            f"the one word that says what comes next. {START_NOTE}"
        ),
    }
