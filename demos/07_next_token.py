"""Predicting the next token: a tiny language model whose attention means something, and
one that invents names.

What you will see: sentences of a small language made by the code ("I play with a cat and
it purrs"), where the word after "it" is decided by the animal several words back. An
untrained model's logits after "I play with a cat and it", turned into probabilities by
softmax, and its loss at that word worked out by hand: how surprised it is by "purrs". A
padded batch giving exactly the loss of its sentences one by one. Then 250 steps of
training on every position of every sentence, the same numbers again (now it is hardly
surprised), and the row of "it" looking at "cat". Then the model writes: it completes the
sentence, and writes new ones. Last, a model of first names, compared with counting letter
pairs, which invents names at three temperatures.

Run it:  .venv/bin/python demos/07_next_token.py     (`make demo` makes .venv)
    or:  python demos/07_next_token.py    after `. .venv/bin/activate`
"""

# %% The story language: the word after "it" is decided by the animal
import math
import random

from tinygrad_attn import no_grad
from tinygrad_attn.generate import sample
from tinygrad_attn.tasks import get_task
from tinygrad_attn.train import Config, attention_of, loss_and_logits, make_model, run_training

story = get_task("story")
rng = random.Random(1)
for _ in range(4):
    print("  " + " ".join(story.sentence(rng)))
example = story.example_of("I play with a cat and it purrs".split())
words = story.words(example.tokens)
print(f"\n{len(story.vocab) - 2} words. The model reads: {' '.join(words)}")
print(f"and at each position says the next: {' '.join(story.words(example.next))}")
(position,), (key,) = example.positions, example.keys
print(f"At {words[position]!r} (position {position}) the next word is decided by {words[key]!r}")
print(f"(position {key}): attention should go there.")


# %% Logits, softmax and the loss, by hand, for an untrained model
def by_hand(model, title):
    """The logits after 'I play with a cat and it', softmax, and -ln p(purrs)."""
    with no_grad():
        logits = model([list(example.tokens)]).tolist()[0][position]  # the row of "it"
    scores = {story.vocab[i]: x for i, x in enumerate(logits) if i != story.pad_id}
    total = sum(math.exp(x) for x in scores.values())
    print(f"\n{title}: the three highest logits after 'I play with a cat and it'")
    for word in sorted(scores, key=scores.get, reverse=True)[:3]:
        print(f"  {word:8} logit {scores[word]:6.2f}   e^logit {math.exp(scores[word]):10.2f}")
    p = math.exp(scores["purrs"]) / total
    print(f"  all {len(scores)} tokens: e^logit adds up to {total:.2f}")
    print(f"  p(purrs) = e^{scores['purrs']:.2f} / {total:.2f} = {p:.3f}")
    print(
        f"  loss = -ln(p) = {-math.log(p):.3f}   (knowing nothing: ln {len(scores)} = "
        f"{math.log(len(scores)):.2f})"
    )


config = Config(task="story")  # 1 layer, 4 heads, d_model 16, attention only
model = make_model(config)
by_hand(model, "untrained")


# %% A padded batch: the padding changes nothing
batch = [
    story.example_of(s.split())
    for s in (
        "I play with a cat and it purrs",
        "children walk with the young dog then my lion at home every day and it roars",
    )
]
together, _, _ = loss_and_logits(model, batch)
tokens = sum(len(ex.next) for ex in batch)
alone = sum(loss_and_logits(model, [ex])[0].item() * len(ex.next) / tokens for ex in batch)
print(f"\nthe two sentences padded into one batch: loss {together.item():.12f}")
print(f"one by one, weighted by their length:     loss {alone:.12f}")


# %% Training: next-token prediction at every position
def report(step, history):
    if step % 50 == 0:
        print(
            f"  step {step}: loss {history.loss[-1]:.3f}, word after 'it' right "
            f"{history.task_accuracy[-1]:.0%}, attention on the animal "
            f"{history.attention_accuracy[-1]:.0%}"
        )


print(f"\ntraining {config.steps} steps on batches of {config.batch_size} sentences:")
run = run_training(config, model=model, on_step=report)
for name, score in (("before", run.before), ("after", run.after)):
    print(
        f"{name} training, {len(run.data.heldout)} held-out sentences: loss "
        f"{score.loss:.3f} per token, word after 'it' {score.task_accuracy:.0%}, "
        f"attention {score.attention_accuracy:.1%}"
    )
by_hand(model, "trained")
layer, head = run.after.best_head
row = attention_of(model, example)[layer][head][position]
print(
    f"\nthe row of 'it' in head {head + 1}: "
    + "  ".join(f"{w} {x:.2f}" for w, x in zip(words, row))
)


# %% The model writes
(done,) = sample(model, story, "I play with a cat and it".split(), temperature=0)
print("\nI play with a cat and it ->", " ".join(story.words(done.written)))
for s in sample(model, story, num=4, seed=3):
    print("  " + " ".join(story.words(s.written)))


# %% Names: letter by letter, against counting letter pairs
names = get_task("names")
short = Config(task="names", steps=150)  # `tinygrad-attn train --task names` takes 300
print(f"\ntraining the names model for {short.steps} steps of {short.batch_size} names:")
named = run_training(short)
print(
    f"held-out loss {named.after.loss:.3f} per letter; counting letter pairs (bigrams): "
    f"{named.baseline_loss:.3f}"
)
training = {"".join(n) for n in named.data.training}
for temperature in (0.5, 1.0, 2.0):
    written = [
        "".join(names.words(s.written))
        for s in sample(named.model, names, num=8, temperature=temperature, seed=0)
    ]
    new = sum(w not in training for w in written)
    print(f"  temperature {temperature}: {' '.join(written)}  ({new} of 8 new)")
