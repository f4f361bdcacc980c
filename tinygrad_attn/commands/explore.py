"""`tinygrad-attn explore`: the explorer page, one HTML file that draws attention stage by
stage from the engine's numbers and shows where each number comes from."""

import os
import pathlib
import webbrowser

from ..cli import UsageError, path_flag
from ..stages import MAX_WORDS, Stages, sentence_words
from ..story import EXPLANATION_SENTENCE as EXPLANATION
from ..story_model import SHIPPED, load_story, replay_of, story_view
from ..viz.explorer import explorer_page, main_html, page_data
from ..viz.svg import write_svg
from .walkthrough import check_writable_folder

HELP = "the explorer page: every stage of attention drawn, each number explained (HTML)"

DESCRIPTION = """Write one self-contained HTML page (no network, no other file; it opens from
file:// in any current browser) that draws the six stages of attention on a sentence, as
matrix products with the engine's numbers: X, Q K V, scores, softmax, one head, Concat W^O;
then the gradient of a loss for every weight matrix. Point at, tap or focus any number of a
result to see the arithmetic that made it. --serve serves the page on 127.0.0.1 instead (no
file is written), with a box to try other sentences."""

DEFAULT_SENTENCE = EXPLANATION  # "I play with a cat and it purrs"
DEFAULT_DIM, DEFAULT_HEADS, MAX_DIM = 6, 2, 16
DEFAULT_PORT = 8000


def add_arguments(parser):
    parser.add_argument(
        "--sentence",
        default=DEFAULT_SENTENCE,
        help=f'the words, at most {MAX_WORDS} (default: "{DEFAULT_SENTENCE}")',
    )
    parser.add_argument(
        "--dim",
        type=int,
        default=DEFAULT_DIM,
        help=f"numbers per word, d_model, for the random weights (default {DEFAULT_DIM}, at "
        f"most {MAX_DIM})",
    )
    parser.add_argument(
        "--heads",
        type=int,
        default=DEFAULT_HEADS,
        help=f"attention heads; must divide --dim (default {DEFAULT_HEADS})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for the random weights (0)")
    parser.add_argument(
        "--load",
        type=path_flag,
        metavar="PATH",
        help="a story model's weights (from train --task story --save PATH) to draw beside "
        "the random ones (default: the model shipped with the package)",
    )
    parser.add_argument(
        "--out",
        type=path_flag,
        default=os.path.join("out", "explore"),
        help="folder for index.html (out/explore)",
    )
    parser.add_argument("--open", action="store_true", help="open the page in your browser")
    parser.add_argument(
        "--serve",
        action="store_true",
        help="serve the page on 127.0.0.1 with a box for new sentences (writes no file)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port for --serve (default {DEFAULT_PORT})",
    )


# ---------------------------------------------------------------------- what the page shows


class Explorer:
    """The flags, checked, and how to turn a sentence into the page's views: the random
    layer always, and the trained story model's (--load, else the one shipped with the
    package) when there is one."""

    def __init__(self, args):
        self.dim, self.heads, self.seed = args.dim, args.heads, args.seed
        if self.dim < 1 or self.dim > MAX_DIM:
            raise UsageError(f"explore: --dim must be 1..{MAX_DIM}, got {self.dim}")
        if self.heads < 1 or self.dim % self.heads:
            raise UsageError(
                f"explore: --heads must divide --dim: {self.dim} is not divisible by {self.heads}"
            )
        self.model = self.task = self.replay = None
        path = args.load or (SHIPPED if os.path.exists(SHIPPED) else None)
        if path is not None:
            try:
                self.model, self.task, record = load_story(path)
                self.replay = replay_of(record)
            except (OSError, ValueError) as error:
                reason = getattr(error, "strerror", None) or str(error)
                if args.load:
                    raise UsageError(f"explore: --load {path}: {reason}") from None
                raise RuntimeError(f"the shipped story model cannot be read: {reason}") from None
            width = self.model.blocks[0].attn.d_model
            if width > MAX_DIM:  # the page would be too large to draw and to read
                raise UsageError(
                    f"explore: --load {path}: the model has {width} numbers per word; the page "
                    f"draws at most {MAX_DIM}"
                )

    def views(self, sentence):
        """{"random": Stages, "trained": Stages} for `sentence` (ValueError for a sentence
        that cannot be drawn). The trained model reads the sentence if it knows its words,
        else the explanation's sentence, and says so."""
        views = {"random": Stages.random(sentence, self.dim, self.heads, self.seed)}
        if self.model is not None:
            words = sentence.split()
            known = all(w in self.task.vocab[2:] for w in words)
            room = min(self.model.max_len, MAX_WORDS) - 1  # it reads the start mark "." first
            fits = known and len(words) <= room
            trained = story_view(self.model, self.task, words if fits else EXPLANATION.split())
            if not fits:
                why = "knows only its own words" if not known else f"reads at most {room} words"
                trained.input_note += f'. The story model {why}, so it reads "{EXPLANATION}" here.'
            views["trained"] = trained
        return views

    def page(self, sentence, serve=False):
        return explorer_page(self.views(sentence), self.replay, serve=serve)

    def answer(self, sentence):
        """What the server sends back for a new sentence."""
        views = self.views(sentence)
        words = " ".join(views["random"].words)
        return {
            "sentence": words,
            "main": main_html(views, self.replay),
            "data": page_data(views, self.replay),
        }


def _check_sentence(sentence):
    try:
        return " ".join(sentence_words(sentence))
    except ValueError as error:
        raise UsageError(f"explore: --sentence: {error}") from None


def run(args):
    sentence = _check_sentence(args.sentence)
    explorer = Explorer(args)
    if args.serve:
        return _serve(explorer, sentence, args)
    check_writable_folder(args.out, "explore")
    page = explorer.page(sentence)
    path = write_svg(page, os.path.join(args.out, "index.html"))  # atomic, folders made
    size = len(page.encode("utf-8")) / 1024
    print(f"The explorer page: {path} ({size:.0f} KB), every stage drawn and each number")
    print(f"explained. Open it in a browser: {pathlib.Path(path).resolve().as_uri()}")
    print('Made by: tinygrad-attn explore (--sentence "..." for your words, --serve to try')
    print("sentences live).")
    if args.open and not webbrowser.open(pathlib.Path(path).resolve().as_uri()):
        print("(--open: no browser could be started here; open the file above yourself)")
    return 0


def _serve(explorer, sentence, args):
    from ..viz.explorer_server import make_server, serve, url_of

    if not 0 < args.port < 65536:
        raise UsageError(f"explore: --port must be 1..65535, got {args.port}")
    page = explorer.page(sentence, serve=True)
    try:
        server = make_server(page, explorer.answer, args.port)
    except OSError as error:
        reason = error.strerror or str(error)
        raise UsageError(
            f"explore: cannot serve on 127.0.0.1:{args.port} ({reason}); try another --port"
        ) from None
    if args.open and not webbrowser.open(url_of(server)):
        print("(--open: no browser could be started here; open the address below yourself)")
    serve(server)
    return 0
