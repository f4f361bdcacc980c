"""Sampling: probabilities over the vocabulary, temperature, top-k, seeds, and never the
padding token; `tinygrad-attn generate` and its bad inputs; walkthrough --load."""

import json
import math
from pathlib import Path

import pytest

from tinygrad_attn.cli import main
from tinygrad_attn.generate import next_token_probabilities, sample
from tinygrad_attn.story_model import SHIPPED
from tinygrad_attn.tasks import get_task
from tinygrad_attn.train import Config, load_trained, make_model, save_trained

STORY, NAMES = get_task("story"), get_task("names")
# the story model that ships with the package (trained by make docs with the defaults)
TRAINED = Path(SHIPPED)
PROMPT = "I play with a cat and it"


@pytest.fixture(scope="module")
def names_model():
    return make_model(Config(task="names", seed=1))  # untrained: every letter is possible


def entropy(p):
    return -sum(x * math.log(x) for x in p if x > 0)


# ---------------------------------------------------------------------- probabilities


def test_the_probabilities_cover_the_vocabulary_and_never_the_padding(names_model):
    p = next_token_probabilities(names_model, NAMES, [NAMES.boundary_id, 5])
    assert len(p) == len(NAMES.vocab) and sum(p) == pytest.approx(1.0)
    assert p[NAMES.pad_id] == 0.0 and all(x > 0 for i, x in enumerate(p) if i != NAMES.pad_id)


def test_temperature_zero_is_the_most_likely_token_and_higher_is_flatter(names_model):
    tokens = [NAMES.boundary_id]
    p1 = next_token_probabilities(names_model, NAMES, tokens, temperature=1.0)
    p0 = next_token_probabilities(names_model, NAMES, tokens, temperature=0)
    best = max(range(len(p1)), key=p1.__getitem__)
    assert p0[best] == 1.0 and sum(p0) == 1.0
    cold = next_token_probabilities(names_model, NAMES, tokens, temperature=0.5)
    hot = next_token_probabilities(names_model, NAMES, tokens, temperature=2.0)
    assert entropy(cold) < entropy(p1) < entropy(hot)
    assert max(cold) > max(p1) > max(hot)


def test_top_k_keeps_the_k_likeliest_and_shares_their_probability(names_model):
    tokens = [NAMES.boundary_id]
    p = next_token_probabilities(names_model, NAMES, tokens)
    k3 = next_token_probabilities(names_model, NAMES, tokens, top_k=3)
    kept = [i for i, x in enumerate(k3) if x > 0]
    assert len(kept) == 3 and sum(k3) == pytest.approx(1.0)
    assert sorted(kept) == sorted(sorted(range(len(p)), key=lambda i: -p[i])[:3])
    assert k3[kept[0]] / k3[kept[1]] == pytest.approx(p[kept[0]] / p[kept[1]])
    assert next_token_probabilities(
        names_model, NAMES, tokens, top_k=1
    ) == next_token_probabilities(names_model, NAMES, tokens, temperature=0)


@pytest.mark.parametrize(
    "options, error",
    [
        ({"temperature": -0.1}, "temperature must be a finite number >= 0"),
        ({"temperature": float("nan")}, "temperature must be a finite number >= 0"),
        ({"top_k": 0}, "top_k must be a whole number >= 1"),
    ],
)
def test_bad_sampling_options_are_refused(names_model, options, error):
    with pytest.raises(ValueError, match=error):
        next_token_probabilities(names_model, NAMES, [1], **options)


# ---------------------------------------------------------------------- sampling


def test_the_same_seed_writes_the_same_samples_and_another_seed_others(names_model):
    def texts(seed):
        return [s.written for s in sample(names_model, NAMES, num=5, seed=seed)]

    assert texts(3) == texts(3) and texts(3) != texts(4)


def test_sampling_never_writes_the_padding_and_stops_at_the_end_or_the_context(names_model):
    samples = sample(names_model, NAMES, num=40, temperature=5.0, seed=0)  # wild
    for s in samples:
        assert NAMES.pad_id not in s.written and NAMES.boundary_id not in s.written
        assert len(s.written) <= names_model.max_len - 1
        assert s.finished == (s.steps[-1].chosen == NAMES.boundary_id)
        assert s.finished or len(s.written) == names_model.max_len - 1
        for step in s.steps:
            assert all(i != NAMES.pad_id for i, _ in step.top)


def test_a_prompt_longer_than_the_context_is_refused(names_model):
    with pytest.raises(ValueError, match="reads at most 15"):
        sample(names_model, NAMES, list("a" * 16))


def test_the_trained_story_model_completes_the_explanation_sentence_with_purrs():
    model, task, config = load_trained(TRAINED)
    assert task is STORY and config == Config(task="story")
    for temperature in (0, 1.0):
        (s,) = sample(model, STORY, PROMPT.split(), temperature=temperature)
        assert STORY.words(s.written) == ["purrs"] and s.finished
    p = next_token_probabilities(model, STORY, [1, *STORY.encode(PROMPT.split())])
    assert p[STORY.vocab.index("purrs")] > 0.9
    (dog,) = sample(model, STORY, "we play with a dog and it".split(), temperature=0)
    assert STORY.words(dog.written) == ["barks"]


def test_the_shipped_story_weights_are_small_enough_for_a_web_page():
    assert TRAINED.stat().st_size < 200_000
    info = json.loads(TRAINED.read_text())["info"]
    assert info["task"] == "story" and info["vocab"] == list(STORY.vocab)
    assert info["config"] == json.loads(json.dumps(vars(Config(task="story"))))  # the defaults


# ---------------------------------------------------------------------- the command


def run_cli(capsys, *argv):
    status = main(["generate", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_generate_completes_the_sentence_one_sample_per_line(capsys, tmp_path):
    status, out, err = run_cli(capsys, "--load", str(TRAINED), "--prompt", PROMPT)
    assert status == 0 and out == f"{PROMPT} purrs\n" and not err
    status, out, _ = run_cli(capsys, "--load", str(TRAINED), "--num", "3", "--seed", "2")
    lines = out.splitlines()
    assert status == 0 and len(lines) == 3
    assert all(line.split()[-3:-1] == ["and", "it"] for line in lines)
    assert run_cli(capsys, "--load", str(TRAINED), "--num", "3", "--seed", "2")[1] == out


def test_show_probs_prints_each_step_and_draws_the_bars(capsys, tmp_path):
    svg = tmp_path / "deep" / "p.svg"
    status, out, _ = run_cli(
        capsys, "--load", str(TRAINED), "--prompt", PROMPT, "--show-probs", "--probs-out", str(svg)
    )
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == f"{PROMPT} purrs"
    assert lines[1].startswith("   1. after 'it'") and "purrs 0.9" in lines[1] and "*" in lines[1]
    assert lines[2].startswith("   2. after 'purrs'") and "(end)" in lines[2]
    text = svg.read_text()
    assert text.startswith("<svg") and ">purrs</text>" in text


def test_attention_draws_every_head_on_the_sample(capsys, tmp_path):
    svg = tmp_path / "a.svg"
    status, out, _ = run_cli(
        capsys, "--load", str(TRAINED), "--prompt", PROMPT, "--attention", str(svg)
    )
    assert status == 0
    text = svg.read_text()
    assert text.count("<svg") == 1 + Config(task="story").num_heads
    assert "layer 1, head 4" in text and ">purrs</text>" in text


def bad_files(tmp_path):
    recall = Config(task="recall")
    files = {
        "toy": save_trained(make_model(recall), recall, tmp_path / "recall.json"),
        "old": make_model(Config(task="story")).save(tmp_path / "old.json"),
        "broken": tmp_path / "broken.json",
        "other size": tmp_path / "size.json",
    }
    files["broken"].write_text("{not json")
    payload = json.loads(Path(TRAINED).read_text())
    payload["info"]["config"]["d_model"] = 8  # the weights are 16 wide
    files["other size"].write_text(json.dumps(payload))
    return files


@pytest.mark.parametrize(
    "flags, message",
    [
        ([], "--load PATH is required"),
        (["--prompt", "I play with a kat"], "'kat' is not in the story vocabulary; nearest:"),
        (["--prompt", " ".join(["I"] * 18)], "more than the model's context of 17"),
        (["--temperature", "-1"], "--temperature must be a number >= 0"),
        (["--temperature", "nan"], "--temperature must be a number >= 0"),
        (["--top-k", "0"], "--top-k must be at least 1"),
        (["--num", "0"], "--num must be at least 1"),
        (["--attention", "picture.png"], "give a file name ending in .svg"),
    ],
)
def test_bad_flags_are_one_line_exit_2_and_write_nothing(capsys, tmp_path, flags, message):
    out_svg, probs = tmp_path / "att.svg", tmp_path / "probs" / "p.svg"
    load = ["--load", str(TRAINED)] if flags else []
    extra = [] if "--attention" in flags else ["--attention", str(out_svg)]
    status, out, err = run_cli(
        capsys, *load, *flags, *extra, "--show-probs", "--probs-out", str(probs)
    )
    assert status == 2 and not out
    assert len(err.strip().splitlines()) == 1 and message in err
    assert not out_svg.exists() and not probs.exists()


@pytest.mark.parametrize(
    "which, message",
    [
        ("toy", "holds a model of the recall task"),
        ("old", "does not say which task"),
        ("broken", "is not a tinygrad_attn weights file"),
        ("other size", "does not fit"),
    ],
)
def test_weights_generate_cannot_use_are_one_line_exit_2(capsys, tmp_path, which, message):
    path = bad_files(tmp_path)[which]
    status, out, err = run_cli(capsys, "--load", str(path))
    assert status == 2 and not out
    assert len(err.strip().splitlines()) == 1 and message in err


# ---------------------------------------------------------------------- walkthrough --load


def test_walkthrough_with_trained_weights_shows_it_looking_at_cat(capsys, tmp_path):
    status = main(["walkthrough", "--load", str(TRAINED), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0
    assert out.startswith('Sentence: "(start) I play with a cat and it purrs"')
    line = next(x for x in out.splitlines() if x.startswith("The row of 'it' puts"))
    assert "on 'cat'" in line
    shares = [float(part.split()[0]) for part in line.split("puts ")[1].split(", ")]
    assert max(shares) > 0.9
    heatmap = (tmp_path / "13_head1_weights.svg").read_text()
    assert "where the attention should be" in heatmap  # the it/cat cell is framed
    # the boundary read first is named "(start)" in the tables and pictures, and explained
    assert ">(start)</text>" in heatmap and ">.</text>" not in heatmap
    assert '"(start)" is the "." that starts every sentence' in out


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--dim", "6"], "--dim and --heads come from the weights"),
        (["--sentence", "I play with a kat"], "nearest:"),
    ],
)
def test_walkthrough_load_refuses_what_does_not_fit(capsys, tmp_path, flags, message):
    status = main(["walkthrough", "--load", str(TRAINED), "--out", str(tmp_path / "w"), *flags])
    assert status == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "w").exists()
