"""The names task: real first names shipped with the package, a seeded held-out split, and
the character-bigram baseline the model is compared with."""

import math
import string
from pathlib import Path

import pytest

from tinygrad_attn.names import DATA, DATA_FILES, Names, bigram_loss, load_names
from tinygrad_attn.tasks import get_task

NAMES = get_task("names")
ROOT = Path(__file__).parent.parent


def test_the_census_lists_ship_with_the_package_and_say_where_they_come_from():
    for filename in DATA_FILES:
        assert (Path(DATA) / filename).is_file()
    readme = (Path(DATA) / "README.md").read_text()
    assert "1990" in readme and "Census" in readme and "public domain" in readme
    assert "MIT License" in readme
    pyproject = (ROOT / "pyproject.toml").read_text()  # an installed package finds them too
    shipped = pyproject.split("[tool.setuptools.package-data]", 1)[1].split("\n[", 1)[0]
    assert all(f'"data/{filename}"' in shipped for filename in DATA_FILES)


def test_the_names_are_lower_case_letters_each_once():
    names = load_names()
    assert len(names) == 5163 == len(set(names))
    assert all(set(name) <= set(string.ascii_lowercase) for name in names)
    assert min(map(len, names)) == 2 and max(map(len, names)) == 11
    assert {"emma", "john", "mary"} <= set(names)


def test_a_name_is_predicted_letter_by_letter_and_then_its_end():
    ex = NAMES.example_of(list("anna"))
    assert NAMES.words(ex.tokens) == [".", "a", "n", "n", "a"]
    assert NAMES.words(ex.next) == ["a", "n", "n", "a", "."]
    assert ex.positions == ex.keys == ()  # no one letter decides another
    assert len(NAMES.vocab) == 28  # the padding, the boundary and 26 letters


def test_the_heldout_names_are_a_seeded_split_never_trained_on():
    data = NAMES.data(seed=0, heldout_size=500)
    heldout = {ex.tokens for ex in data.heldout}
    assert len(heldout) == 500 and len(data.training) == 5163 - 500
    assert not heldout & {NAMES.example_of(n).tokens for n in data.training}
    assert not any(data.is_heldout(ex) for ex in data.batch(2000))
    again, once_more = NAMES.data(seed=0, heldout_size=500), NAMES.data(seed=0, heldout_size=500)
    assert again.heldout == data.heldout and again.batch(5) == once_more.batch(5)
    assert NAMES.data(seed=1, heldout_size=500).heldout != data.heldout


def test_a_heldout_set_of_every_name_is_refused():
    with pytest.raises(ValueError, match="leaves no names to train on"):
        NAMES.data(seed=0, heldout_size=5163)


def test_the_bigram_baseline_counts_pairs_with_add_one_smoothing():
    # training: "ab" and "ab": the pairs .a, ab, b. twice each; 27 outcomes
    heldout = [NAMES.example_of(list("ab")).next, NAMES.example_of(list("ba")).next]
    loss = bigram_loss([tuple("ab"), tuple("ab")], heldout, NAMES)
    p_seen = (2 + 1) / (2 + 27)  # .a, ab, b. in "ab"
    p_unseen = 1 / (2 + 27)  # .b and ba were never seen (a. neither): still possible
    expected = -(3 * math.log(p_seen) + 3 * math.log(p_unseen)) / 6
    assert loss == pytest.approx(expected, rel=1e-12)


def test_the_baseline_of_a_run_uses_its_own_training_names():
    data = NAMES.data(seed=0, heldout_size=500)
    baseline = NAMES.baseline_loss(data)
    assert 2.2 < baseline < 2.6  # a letter pair says something: far below log(27) = 3.3
    assert baseline == bigram_loss(data.training, [ex.next for ex in data.heldout], NAMES)


def test_names_is_a_names_task():
    assert isinstance(NAMES, Names) and NAMES.seq_len == 16
