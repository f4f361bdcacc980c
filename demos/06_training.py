"""Watching attention being learned.

What you will see: a toy task where we know in advance which earlier word every answer has
to look at ("recall": a sentence names a color, an animal, a fruit and a number; then comes
one word of each kind again, and at each of them the model must say the sentence's word of
the same kind). Then the attention of an untrained one-layer transformer on a held-out
example: a blur, because W^Q and W^K are random. Then 200 steps of Adam, with the loss and
both accuracies as it learns, and the same attention after training: every answering word now
puts its weight on the sentence's word of its own kind, and the scores q . k show why: W^Q
and W^K have learned the kind of each word. Last, the same for "reverse", where the words
are found by their positions instead, and the pattern is an anti-diagonal.

Tables: rows are the query words (the word doing the looking), columns the key words (the
words looked at); "." is a weight below 0.005. The upper right is empty: a word may not look
at later words (the causal mask).

Run it:  .venv/bin/python demos/06_training.py       (`make demo` makes .venv)
    or:  python demos/06_training.py    after `. .venv/bin/activate`
"""

# %% The task: for every answer, we know where it has to look
import math

from tinygrad_attn import no_grad
from tinygrad_attn.tasks import Data, get_task
from tinygrad_attn.train import Config, attention_of, make_model, run_training
from tinygrad_attn.train_figures import format_attention

task = get_task("recall")
print(f"task {task.name}: {task.summary}\n")
config = Config(task="recall")  # 1 layer, 1 head, d_model 16, attention only, Adam
data = Data(task, seed=config.seed, heldout_size=config.heldout_size)
example = data.heldout[0]  # a sequence the model never trains on: we follow it throughout
words = task.words(example.tokens)
print("  " + " ".join(words))
for position, target, key in zip(example.positions, example.targets, example.keys):
    print(
        f"  at {words[position]!r:7} say {task.vocab[target]!r:7} "
        f"-> attention should be on position {key} ({words[key]!r})"
    )


# %% Before training: W^Q and W^K are random, so the scores q . k mean nothing
model = make_model(config)
print(f"\nattention before training ({task.hint}):")
print(format_attention(attention_of(model, example)[0][0], words))


# %% Training: the gradient reaches W^Q and W^K through the softmax
def report(step, history):
    if step % 25 == 0:
        print(
            f"  step {step:3}: loss {history.loss[-1]:.4f}, task accuracy "
            f"{history.task_accuracy[-1]:.2f}, attention accuracy "
            f"{history.attention_accuracy[-1]:.2f}"
        )


print(f"\ntraining for {config.steps} steps (numbers on each training batch):")
run = run_training(config, model=model, on_step=report)


# %% After training: each answering word looks at the word of its kind
print("\nattention after training:")
print(format_attention(run.attention_after[0][0], words))
for name, score in (("before", run.before), ("after", run.after)):
    print(
        f"{name:>6} training, on {len(data.heldout)} held-out sequences: task accuracy "
        f"{score.task_accuracy:.3f}, attention accuracy {score.attention_accuracy:.3f}"
    )
print(f"({run.seconds:.1f} s)")


# %% What W^Q and W^K learned: the kind of a word
# Put a key word at position 1 (in the sentence) and a query word at position 5 (after it),
# compute q = x W^Q and k = x W^K with the trained weights, exactly as the model does, and
# average the score q . k / sqrt(d_head) over the words of each kind. (Before attention, a
# position's q and k depend only on its own word and position: the zeros do not matter.)
d_head = model.blocks[0].attn.d_head
vocab = range(len(task.vocab))
pairs = [(query, key) for query in vocab for key in vocab]
tokens = [[0, key, 0, 0, 0, query, 0, 0] for query, key in pairs]
with no_grad():
    x = model.tokens(tokens) + model.pos(list(range(task.seq_len)))  # (B, T, d_model)
    h = model.blocks[0].norm1(x)
    q, k = model.blocks[0].attn.w_q(h), model.blocks[0].attn.w_k(h)  # (B, T, d_model) each
kinds = list(task.kinds)
by_kind = {}
for b, (query, key) in enumerate(pairs):
    q_row = q[b][5].tolist()  # the query word's q, at position 5
    k_row = k[b][1].tolist()  # the key word's k, at position 1
    score = sum(qi * ki for qi, ki in zip(q_row, k_row)) / math.sqrt(d_head)
    by_kind.setdefault((task.kind(query), task.kind(key)), []).append(score)
print("\nmean score q . k / sqrt(d_head): rows = the query's kind, columns = the key's kind")
print(" " * 8 + "".join(kind.rjust(8) for kind in kinds))
for row, kind in enumerate(kinds):
    means = [sum(by_kind[row, col]) / len(by_kind[row, col]) for col in range(len(kinds))]
    print(kind.ljust(8) + "".join(f"{m:8.1f}" for m in means))
print("(large on the diagonal: a query matches the keys of its own kind)")


# %% Another task: "reverse" finds its words by position, not by content
reverse = run_training(Config(task="reverse", steps=100))
shown = reverse.data.heldout[0]
print(f"\ntask reverse: {get_task('reverse').summary}; attention after 100 steps:")
print(format_attention(reverse.attention_after[0][0], get_task("reverse").words(shown.tokens)))
print(
    f"held-out task accuracy {reverse.after.task_accuracy:.3f}, attention accuracy "
    f"{reverse.after.attention_accuracy:.3f}"
)
