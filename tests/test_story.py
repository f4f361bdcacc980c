"""The story language: a grammar in the package, one decided word per sentence, and a
held-out split of combinations the training never sees."""

import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_attn.story import ANIMALS, EXPLANATION_SENTENCE, PLACES, SUBJECTS, Story
from tinygrad_attn.tasks import get_task

STORY = get_task("story")


def test_story_is_a_task_of_a_few_dozen_words():
    assert isinstance(STORY, Story)
    words = STORY.vocab[2:]  # after the padding and the boundary
    assert 30 <= len(words) <= 80 and len(set(words)) == len(words)
    assert STORY.vocab[:2] == ("_", ".")


def test_the_explanation_sentence_is_in_the_language():
    rng = random.Random(0)
    made = {" ".join(STORY.sentence(rng)) for _ in range(20_000)}
    assert EXPLANATION_SENTENCE in made
    assert "I play with a dog and it barks" in made


@given(seed=st.integers(0, 2**32))
def test_the_word_after_it_is_the_sound_of_the_last_animal(seed):
    words = STORY.sentence(random.Random(seed))
    assert words[-3:-1] == ("and", "it") and words[-1] in ANIMALS.values()
    (decided, key), *others = STORY.decided(words)
    assert not others  # one decided word per sentence
    animals = [i for i, w in enumerate(words) if w in ANIMALS]
    assert key == animals[-1] and decided == len(words) - 1
    assert words[decided] == ANIMALS[words[key]]


@given(seed=st.integers(0, 2**32))
def test_the_deciding_word_is_several_words_back_with_words_between(seed):
    words = STORY.sentence(random.Random(seed))
    ((decided, key),) = STORY.decided(words)
    query = decided - 1  # the sound is predicted at "it"
    assert 2 <= query - key <= 6


def test_neither_position_nor_distance_gives_the_animal_away():
    rng = random.Random(1)
    places, distances = Counter(), Counter()
    for _ in range(2000):
        words = STORY.sentence(rng)
        ((decided, key),) = STORY.decided(words)
        places[key] += 1
        distances[decided - 1 - key] += 1
    assert len(places) >= 4 and max(places.values()) < 0.5 * 2000
    assert len(distances) >= 4 and max(distances.values()) < 0.5 * 2000


def test_half_of_the_sentences_name_a_distractor_animal_first():
    rng = random.Random(2)
    two = sum(len([w for w in STORY.sentence(rng) if w in ANIMALS]) == 2 for _ in range(2000))
    assert 800 < two < 1200


def test_examples_predict_the_next_token_at_every_position():
    ex = STORY.example_of(EXPLANATION_SENTENCE.split())
    assert ex.tokens[0] == STORY.boundary_id and ex.next[-1] == STORY.boundary_id
    assert ex.next[:-1] == ex.tokens[1:]
    assert STORY.words([ex.tokens[ex.positions[0]], ex.tokens[ex.keys[0]]]) == ["it", "cat"]
    assert STORY.words(ex.targets) == ["purrs"]
    assert len(ex.tokens) <= STORY.seq_len


def test_every_animal_meets_one_partner_only_in_the_heldout_set():
    data = STORY.data(seed=0, heldout_size=50)
    unseen = data.split.unseen
    assert set(unseen) == set(ANIMALS)
    partners = list(unseen.values())
    assert len(set(partners)) == len(partners)  # no word kept from two animals
    assert {p for p in partners if p in PLACES} and {p for p in partners if p in SUBJECTS}


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_heldout_combinations_never_appear_in_training(seed):
    data = STORY.data(seed=seed, heldout_size=200)
    rule = data.split.is_heldout
    assert all(rule(tuple(STORY.words(ex.next[:-1]))) for ex in data.heldout)
    training = data.batch(3000)
    assert not any(rule(tuple(STORY.words(ex.next[:-1]))) for ex in training)
    assert not any(data.is_heldout(ex) for ex in training)
    assert len({ex.tokens for ex in data.heldout}) == 200  # each held-out sentence once


def test_the_same_seed_gives_the_same_split_and_batches():
    a, b = STORY.data(seed=3, heldout_size=20), STORY.data(seed=3, heldout_size=20)
    assert a.heldout == b.heldout and a.split.unseen == b.split.unseen
    assert a.batch(10) == b.batch(10)
    c = STORY.data(seed=4, heldout_size=20)
    assert c.heldout != a.heldout


def test_a_heldout_set_too_big_to_evaluate_is_refused_in_a_sentence():
    with pytest.raises(ValueError, match="at most 50,000"):
        STORY.data(seed=0, heldout_size=10**6)


def test_a_word_outside_the_vocabulary_names_the_nearest_ones():
    with pytest.raises(ValueError, match="'kat' is not in the story vocabulary; nearest: .*cat"):
        STORY.encode(["I", "play", "with", "a", "kat"])
    with pytest.raises(ValueError, match="not in the story vocabulary"):
        STORY.encode(["_"])  # the padding is no word
