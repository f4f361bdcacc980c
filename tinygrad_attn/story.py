"""`story`: a tiny English-like language whose grammar is written here, in a few lines.

Every sentence is someone doing something with an animal (or two), maybe somewhere, maybe
sometime; and then the animal makes its sound:

    I play with a cat and it purrs
    children walk with the young dog in town every day and it barks
    we talk to my small duck then a lion outside and it roars

Almost every next word follows from the word just before it: "with" after "play", "it"
after "and", an animal or an adjective after "a" (no word plays two parts). The word after
"it" does not: it is decided by the last animal named, two to six words back, with other
words between. Nothing near "it" says which animal it was, and the animal stands at a
different place in every sentence, so the only way to say "purrs" is to look back at "cat":
attention. Half of the sentences name another animal first ("a duck then a lion"): a
distractor, whose sound would be wrong, so a model that looks at every animal, or at the
first one, is caught out. Every sentence records the deciding position (`decided`), so the
attention of "it" is scored like the toy tasks' (tasks.py).

Held out are *combinations*, not only sentences: each run picks, for every animal, one
subject or one place that it never appears with in training (seeded). The held-out
sentences all contain such an unseen pairing ("children ... sheep", "duck ... in town"): a
model that learned "look at the animal" gets them right; one that learned a shortcut
through the other words does not.
"""

from .language import LanguageTask, Split

__all__ = ["Story", "EXPLANATION_SENTENCE", "SUBJECTS", "VERBS", "ANIMALS", "PLACES"]

SUBJECTS = ("I", "we", "you", "they", "children", "friends")
VERBS = ("play with", "walk with", "sit with", "run with", "talk to")
DETERMINERS = ("a", "the", "my", "our")
ADJECTIVES = ("small", "big", "happy", "young")  # none or one
ANIMALS = {  # the animal decides the sound
    "cat": "purrs",
    "dog": "barks",
    "cow": "moos",
    "duck": "quacks",
    "bird": "sings",
    "frog": "croaks",
    "sheep": "bleats",
    "lion": "roars",
}
PLACES = ("at home", "at school", "in town", "outside", "upstairs")  # or none
TIMES = ("today", "every day", "all day", "sometimes")  # or none

# The explanation's sentence: the row of "it" should end up on "cat".
EXPLANATION_SENTENCE = "I play with a cat and it purrs"


def _words(phrases):
    """Every word of some phrases, each once, in order of first appearance."""
    seen = {}
    for phrase in phrases:
        for word in phrase.split():
            seen.setdefault(word, None)
    return list(seen)


class Story(LanguageTask):
    """Sentences about animals; the word after "it" is decided by the last animal before it.

    >>> import random
    >>> story = Story()
    >>> " ".join(story.sentence(random.Random(1)))
    'we talk to a bird then our young dog and it barks'
    >>> story.decided("I play with a cat and it purrs".split())   # "purrs" (7) <- "cat" (4)
    [(7, 4)]
    >>> story.decided("I play with a cat and a dog and it barks".split())   # the last one
    [(10, 7)]
    """

    name = "story"
    summary = "sentences about animals: after 'it' comes the sound of the animal named last"
    hint = "the row of 'it' should look at the last animal"
    tokens_are = "words"
    defaults = {
        "steps": 250,
        "batch_size": 16,
        "lr": 0.02,
        "lr_decay": True,
        "d_model": 16,
        "num_heads": 4,
        "num_layers": 1,
        "d_hidden": 0,
        "embedding_std": 0.1,
        "heldout_size": 200,
    }

    def __init__(self):
        phrases = [*SUBJECTS, *VERBS, *DETERMINERS, *ADJECTIVES, *PLACES, *TIMES]
        words = _words([*phrases, *ANIMALS, "then", "and it", *ANIMALS.values()])
        # subject, verb, [det adj animal and] det adj animal, place, time, "and it", sound
        longest = 1 + 2 + 4 + 3 + 2 + 2 + 2 + 1
        super().__init__(words, seq_len=1 + longest)

    def sentence(self, rng, subject=None, animal=None, place=None):
        """One sentence, as a tuple of words; the parts not given are drawn with `rng`.
        `animal` is the one "it" means: the last one named (half of the sentences name
        another animal before it: "a cat and a dog and it barks")."""
        subject = rng.choice(SUBJECTS) if subject is None else subject
        verb = rng.choice(VERBS)
        animal = rng.choice(list(ANIMALS)) if animal is None else animal
        animals = [self._noun(rng, animal)]
        if rng.random() < 0.5:
            other = rng.choice([a for a in ANIMALS if a != animal])
            animals = [self._noun(rng, other), "then", self._noun(rng, animal)]
        place = (rng.choice(PLACES) if rng.random() < 0.5 else "") if place is None else place
        time = rng.choice(TIMES) if rng.random() < 0.5 else ""
        parts = (subject, verb, *animals, place, time, "and it", ANIMALS[animal])
        return tuple(" ".join(parts).split())

    def _noun(self, rng, animal):
        """ "a cat", "the small dog": a determiner, maybe an adjective, the animal."""
        adjective = rng.choice(ADJECTIVES) if rng.random() < 0.5 else ""
        return " ".join(filter(None, (rng.choice(DETERMINERS), adjective, animal)))

    def decided(self, words):
        """The sound (the word after "it") is decided by the nearest animal before "it"."""
        decided, animal = [], None
        for i, word in enumerate(words):
            if word == ".":
                animal = None  # a new sentence
            elif word in ANIMALS:
                animal = i
            elif word == "it" and animal is not None and i + 1 < len(words):
                decided.append((i + 1, animal))
        return decided

    def pairings(self, words):
        """Every (subject, animal) and (animal, place) pair of a sentence: what the held-out
        combinations are made of."""
        text = f" {' '.join(words)} "
        place = next((p for p in PLACES if f" {p} " in text), "")
        animals = [w for w in words if w in ANIMALS]
        return {(words[0], a) for a in animals} | {(a, place) for a in animals if place}

    def split(self, rng, heldout_size):
        """Every animal gets one partner it never meets in training: half of the animals a
        place, the other half a subject, each partner a different word (so no word is kept
        away from more than one animal, and none says much about which animal comes). The
        held-out sentences each contain one of these pairings; training never does."""
        animals, places, subjects = list(ANIMALS), list(PLACES), list(SUBJECTS)
        for parts in (animals, places, subjects):
            rng.shuffle(parts)
        half = len(animals) // 2
        unseen = dict(zip(animals[:half], places)) | dict(zip(animals[half:], subjects))

        pairs = {(u, a) if u in SUBJECTS else (a, u) for a, u in unseen.items()}

        def heldout_pairing(words):
            return bool(self.pairings(words) & pairs)

        def heldout_sentence(rng):
            animal = rng.choice(list(ANIMALS))
            if unseen[animal] in PLACES:
                return self.sentence(rng, animal=animal, place=unseen[animal])
            return self.sentence(rng, subject=unseen[animal], animal=animal)

        heldout, seen, repeats = [], set(), 0
        while len(heldout) < heldout_size:
            words = heldout_sentence(rng)
            if words in seen:
                repeats += 1
                if repeats == 1000:  # (there are about 20,000 held-out sentences)
                    raise ValueError(
                        f"could not find {heldout_size} different held-out story sentences; "
                        f"ask for fewer"
                    )
                continue
            repeats = 0
            seen.add(words)
            heldout.append(words)

        def draw(rng):
            while True:
                words = self.sentence(rng)
                if not heldout_pairing(words):
                    return words

        return Split(heldout=heldout, draw=draw, is_heldout=heldout_pairing, unseen=unseen)
