"""Training by next-token prediction: padded batches that change nothing, held-out scores,
weights that carry their task, and a replay of attention while it is learned."""

import json

import pytest

from tinygrad_attn import Tensor, no_grad
from tinygrad_attn.cli import main
from tinygrad_attn.language import pad_batch
from tinygrad_attn.module import Module
from tinygrad_attn.tasks import get_task
from tinygrad_attn.train import (
    Config,
    evaluate,
    load_trained,
    loss_and_logits,
    make_model,
    read_training_info,
    results,
    run_training,
    save_trained,
)
from tinygrad_attn.train_figures import AttentionRecorder, replay_record, training_figures

STORY, NAMES = get_task("story"), get_task("names")


def sentences(*texts):
    return [STORY.example_of(text.split()) for text in texts]


SHORT_AND_LONG = sentences(
    "I play with a cat and it purrs",
    "children walk with the young dog then my small lion at home every day and it roars",
    "we talk to our duck today and it quacks",
)


# ---------------------------------------------------------------------- padding


def test_a_batch_is_padded_to_its_longest_sentence_and_the_padding_masked():
    tokens, mask = pad_batch(SHORT_AND_LONG)
    T = max(len(ex.tokens) for ex in SHORT_AND_LONG)
    assert all(len(row) == T for row in tokens)
    assert tokens[0][len(SHORT_AND_LONG[0].tokens) :] == [STORY.pad_id] * (T - 9)
    assert mask.shape == (3, 1, 1, T)
    assert mask.tolist()[0][0][0] == [1.0] * 9 + [0.0] * (T - 9)
    assert pad_batch(SHORT_AND_LONG[:1])[1] is None  # nothing to pad


@pytest.mark.parametrize("task", ["story", "names"])
def test_a_padded_batch_gives_the_loss_and_gradients_of_its_sentences_one_by_one(task):
    model = make_model(Config(task=task, seed=3))
    examples = (
        SHORT_AND_LONG
        if task == "story"
        else [NAMES.example_of(list(name)) for name in ("al", "christopher", "emma")]
    )
    loss, _, _ = loss_and_logits(model, examples)
    loss.backward()
    batched = [p.grad.tolist() for p in model.parameters()]
    model.zero_grad()
    # one by one: each sentence's mean loss, weighted by its number of tokens
    total = sum(len(ex.next) for ex in examples)
    one_by_one = 0.0
    for ex in examples:
        alone, _, _ = loss_and_logits(model, [ex])
        (alone * (len(ex.next) / total)).backward()
        one_by_one += alone.item() * len(ex.next) / total
    assert loss.item() == pytest.approx(one_by_one, abs=1e-12)
    for grad, p in zip(batched, model.parameters()):
        assert Tensor(grad).data == pytest.approx(p.grad.data, abs=1e-12)


def test_the_padding_gets_no_attention_and_no_gradient():
    model = make_model(Config(task="story"))
    loss, _, _ = loss_and_logits(model, SHORT_AND_LONG)
    loss.backward()
    weights = model.attention_maps()[0]  # (B, heads, T, T)
    B, heads, T, _ = weights.shape
    short = len(SHORT_AND_LONG[0].tokens)
    w = weights.tolist()
    assert all(
        w[0][h][i][j] == 0.0 for h in range(heads) for i in range(T) for j in range(short, T)
    )
    pad_row = model.tokens.weight.grad.tolist()[STORY.pad_id]
    assert pad_row == [0.0] * len(pad_row)  # the padding's vector never learns
    assert all(x == x for x in loss.data)  # no nan


def test_what_the_padding_vector_holds_changes_nothing():
    model = make_model(Config(task="story"))
    with no_grad():
        before = loss_and_logits(model, SHORT_AND_LONG)[0].item()
        row = model.tokens.weight.data
        d = model.tokens.dim
        row[STORY.pad_id * d : (STORY.pad_id + 1) * d] = [1e6] * d
        after = loss_and_logits(model, SHORT_AND_LONG)[0].item()
    assert after == pytest.approx(before, abs=1e-12)


# ---------------------------------------------------------------------- scores


def test_story_task_accuracy_counts_only_the_decided_words():
    model = make_model(Config(task="story"))
    score = evaluate(model, SHORT_AND_LONG)
    assert score.task_accuracy in (0.0, 1 / 3, 2 / 3, 1.0)  # three decided words
    assert 0.0 <= score.attention_accuracy <= 1.0
    assert len(score.per_head) == Config(task="story").num_heads


def test_names_have_no_attention_score_but_a_baseline():
    run = run_training(Config(task="names", steps=2, heldout_size=20))
    numbers = results(run)
    assert numbers["attention_accuracy"] is None and run.after.per_head == {}
    assert numbers["heldout_loss"] == run.after.loss
    assert numbers["baseline_loss"] == pytest.approx(NAMES.baseline_loss(run.data))
    assert None in run.history.attention_accuracy
    assert "accuracy.svg" in training_figures(run)  # the task accuracy alone
    json.dumps(numbers, allow_nan=False)


def test_a_story_run_is_the_same_for_the_same_seed_and_differs_for_another():
    config = Config(task="story", steps=3, batch_size=4, heldout_size=10, seed=5)
    a, b = run_training(config), run_training(config)
    assert a.history == b.history and a.after == b.after
    assert a.model.state_dict() == b.model.state_dict()
    c = run_training(Config(task="story", steps=3, batch_size=4, heldout_size=10, seed=6))
    assert c.history.loss != a.history.loss


def test_the_story_run_draws_the_explanation_sentence():
    run = run_training(Config(task="story", steps=1, batch_size=2, heldout_size=5))
    assert STORY.words(run.shown.tokens) == ". I play with a cat and it purrs".split()
    svg = training_figures(run)["attention_after.svg"]
    assert "the word that decides the next one" in svg


# ---------------------------------------------------------------------- weights and replay


def test_saved_weights_carry_their_task_vocabulary_and_sizes(tmp_path):
    config = Config(task="names", steps=0)
    model = make_model(config)
    path = save_trained(model, config, tmp_path / "names.json")
    task, saved = read_training_info(path)
    assert task is NAMES and saved == config
    loaded, task, _ = load_trained(path)
    assert loaded.state_dict() == model.state_dict()
    assert json.loads((tmp_path / "names.json").read_text())["info"]["vocab"] == list(NAMES.vocab)


def test_weights_without_their_task_are_refused_with_what_to_do(tmp_path):
    path = make_model(Config(task="story")).save(tmp_path / "old.json")  # no info
    with pytest.raises(ValueError, match="does not say which task"):
        read_training_info(path)
    payload = json.loads((tmp_path / "old.json").read_text())
    payload["info"] = {"task": "story", "vocab": ["_", "."], "config": {"task": "story"}}
    (tmp_path / "other.json").write_text(json.dumps(payload))
    with pytest.raises(ValueError, match="another story vocabulary"):
        read_training_info(tmp_path / "other.json")
    assert isinstance(make_model(Config(task="story")).load(path), Module)  # still loads


def test_the_replay_keeps_the_attention_of_the_sentence_at_the_chosen_steps():
    config = Config(task="story", steps=4, batch_size=2, heldout_size=5)
    model = make_model(config)
    recorder = AttentionRecorder(
        model, STORY.example_of("I play with a cat and it purrs".split()), [0, 2, 4]
    )
    run = run_training(config, model=model, on_step=recorder)
    record = replay_record(run, recorder)
    assert record["steps"] == [0, 2, 4] and len(record["loss"]) == 4
    assert record["loss"][0] == round(run.history.loss[0], 4)
    assert record["words"][-3:] == ["and", "it", "purrs"] and record["focus"] == [[7, 5]]
    layer, head = record["layer"], record["head"]
    assert (layer, head) == run.after.best_head
    middle = record["weights"][1]
    kept = recorder.snapshots[1]["attention"][layer][head]
    assert middle == [[round(w, 4) for w in row] for row in kept]
    assert len(middle) == 9 and all(abs(sum(r) - 1) < 1e-3 for r in middle)
    assert record["weights"][0] != record["weights"][2]
    assert record["attention_accuracy"] == run.after.attention_accuracy
    json.dumps(record, allow_nan=False)


# ---------------------------------------------------------------------- the command


def test_train_story_json_reports_the_language_numbers(capsys, tmp_path):
    out = tmp_path / "out"
    status = main(
        [
            "train",
            "--task",
            "story",
            "--steps",
            "2",
            "--out",
            str(out),
            "--json",
            "--replay",
            "0,1,2",
        ]
    )
    assert status == 0
    lines = capsys.readouterr().out.strip().splitlines()
    numbers = json.loads(lines[-1])
    assert numbers["steps"] == 2 and numbers["baseline_loss"] is None
    assert numbers["heldout_loss"] == numbers["final_loss"] > 0
    assert 0.0 <= numbers["attention_accuracy"] <= 1.0
    assert any('"I play with a cat and it purrs"' in line for line in lines)
    replay = json.loads((out / "weights.json").read_text())["info"]["replay"]
    assert replay["steps"] == [0, 1, 2] and len(replay["weights"]) == 3
    task, config = read_training_info(out / "weights.json")
    assert task is STORY and config.steps == 2


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--replay", "0,x"], "--replay takes step numbers"),
        (["--replay", "0,9"], "--replay steps must be between 0 and --steps (2)"),
    ],
)
def test_bad_replay_steps_are_usage_errors(capsys, tmp_path, flags, message):
    out = tmp_path / "out"
    assert main(["train", "--task", "story", "--steps", "2", "--out", str(out), *flags]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_loading_weights_of_another_task_says_which_task_they_are(capsys, tmp_path):
    config = Config(task="names")
    path = save_trained(make_model(config), config, tmp_path / "names.json")
    out = tmp_path / "out"
    status = main(
        ["train", "--task", "story", "--load", str(path), "--steps", "0", "--out", str(out)]
    )
    assert status == 2
    assert "trained on --task names, not story; give --task names" in capsys.readouterr().err
    assert not out.exists()
