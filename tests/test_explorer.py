"""The explorer without a browser: its numbers, its composite figures, the page file, the
command and the local server. (The page's behaviour in a browser: test_explorer_browser.py;
its size at the largest flags: test_explorer_size.py.)"""

import http.client
import json
import math
import re
import socket
import threading
import xml.etree.ElementTree as ET

import pytest
from figure_checks import SVG, assert_nothing_overlaps, elements, inside, rect_corners

from tinygrad_attn.cli import main
from tinygrad_attn.stages import MAX_WORDS, Stages
from tinygrad_attn.viz.composite import Term, figure_svg, term_size, term_svg
from tinygrad_attn.viz.explorer import explorer_page, page_data
from tinygrad_attn.viz.explorer_server import MAX_BODY, make_server
from tinygrad_attn.viz.stage_figures import gradient_figures, stage_figures
from tinygrad_attn.walkthrough import Walkthrough

SENTENCE = "I play with a cat and it purrs"


def matmul(a, b):
    return [[sum(x * y for x, y in zip(row, col)) for col in zip(*b)] for row in a]


def close(a, b, tol=1e-12):
    return all(abs(x - y) <= tol for ra, rb in zip(a, b) for x, y in zip(ra, rb))


# ---------------------------------------------------------------------- the numbers


def test_random_stages_are_the_walkthroughs_numbers():
    s, w = Stages.random("I play with cats", 6, 2, seed=3), Walkthrough("I play with cats", 6, 2, 3)
    assert s.matrices["X"] == w.X.tolist()
    assert s.matrices["W_q"] == w.mha.w_q.weight.tolist()
    assert close(s.matrices["output"], w.output.tolist())
    assert close(s.matrices["head_2"], w.head_outputs[1].tolist())
    for name, grad in w.grads.items():  # the same loss, the same gradients
        assert close(s.matrices["dL/d" + name.replace("^O", "_o")], grad)
    assert s.loss == pytest.approx(w.loss.item(), abs=1e-15)


def test_every_stage_follows_from_the_ones_before():
    s = Stages.random(SENTENCE, dim=6, heads=3, seed=1)
    m = s.matrices
    assert close(m["Q"], matmul(m["X"], m["W_q"]))
    for h in (1, 2, 3):
        cols = slice((h - 1) * 2, h * 2)
        assert close(m[f"K_{h}"], [row[cols] for row in m["K"]])
        assert close(m[f"scores_{h}"], matmul(m[f"Q_{h}"], m[f"K_{h}^T"]))
        assert close(m[f"scaled_{h}"], [[x / math.sqrt(2) for x in r] for r in m[f"scores_{h}"]])
        for scaled, weights in zip(m[f"scaled_{h}"], m[f"weights_{h}"]):
            e = [math.exp(x) for x in scaled]
            assert close([weights], [[x / sum(e) for x in e]])
        assert close(m[f"head_{h}"], matmul(m[f"weights_{h}"], m[f"V_{h}"]))
    assert close(m["output"], matmul(m["concat"], m["W_o"]))
    assert s.layer_difference < 1e-12  # nn.MultiHeadAttention agrees


def test_the_drawn_chain_rule_gives_the_engines_gradients():
    m = Stages.random(SENTENCE).matrices
    for n, left, right in (
        ("q", "X^T", "dL/dQ"),
        ("v", "X^T", "dL/dV"),
        ("o", "concat^T", "dL/doutput"),
    ):
        assert close(matmul(m[left], m[right]), m[f"dL/dW_{n}"], tol=1e-12)


def test_stages_refuse_what_cannot_be_drawn():
    with pytest.raises(ValueError, match="empty"):
        Stages.random("   ")
    with pytest.raises(ValueError, match=f"at most {MAX_WORDS}"):
        Stages.random("a " * (MAX_WORDS + 1))
    with pytest.raises(ValueError, match="divisible"):
        Stages.random("a cat", dim=6, heads=4)


def test_stages_as_data_are_strict_json():
    data = Stages.random(SENTENCE).to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["matrices"]["X"] == data["matrices"]["X"]
    assert data["row_labels"]["scores_1"] == SENTENCE.split()


# ---------------------------------------------------------------------- composite figures


def flattened(svg):
    """A term's SVG with the font size and anchor its texts inherit from their group written
    on each, the numbers of the cells with class "value", the labels with their group's
    class, as the shared figure checks read them."""
    root = ET.fromstring(svg)
    for group in elements(root, "g"):
        for text in group.iter(SVG + "text"):
            for name in ("font-size", "text-anchor"):
                if text.get(name) is None and group.get(name) is not None:
                    text.set(name, group.get(name))
            text.set("class", "value" if group.get("class") == "values" else group.get("class"))
    for text in elements(root, "text"):
        text.set("text-anchor", text.get("text-anchor") or "start")
    return ET.tostring(root, encoding="unicode")


def all_terms(stages):
    figures = stage_figures(stages, 1) + [gradient_figures(stages)]
    return [p for f in figures for product in f.products for p in product if isinstance(p, Term)]


@pytest.mark.parametrize(
    "sentence, dim, heads",
    [
        (SENTENCE, 6, 2),
        ("I play with cats", 3, 1),
        ("a b", 16, 4),
        ("Wonderfully long words", 4, 2),
    ],
)
def test_no_text_of_a_term_touches_another_or_leaves_it(sentence, dim, heads):
    for term in all_terms(Stages.random(sentence, dim, heads)):
        assert_nothing_overlaps(flattened(term_svg(term)))


def test_a_composite_places_terms_side_by_side_without_overlap():
    s = Stages.random(SENTENCE)
    for figure in stage_figures(s, 2) + [gradient_figures(s)]:
        root = ET.fromstring(figure_svg(figure))
        width, height = float(root.get("width")), float(root.get("height"))
        view = [(0, 0), (width, 0), (width, height), (0, height)]
        boxes = [
            rect_corners(e)
            for e in root.findall(SVG + "svg")  # the terms, nested
        ]
        assert len(boxes) == sum(isinstance(p, Term) for pr in figure.products for p in pr)
        for k, box in enumerate(boxes):
            assert inside(box, view)
            for other in boxes[k + 1 :]:
                (l1, t1), _, (r1, b1), _ = box
                (l2, t2), _, (r2, b2), _ = other
                assert r1 <= l2 + 0.1 or r2 <= l1 + 0.1 or b1 <= t2 + 0.1 or b2 <= t1 + 0.1


def test_term_cells_carry_their_place_and_masked_cells_no_number():
    t = Term("w", "weights", [[1.0, 0.0], [0.25, 0.75]], ["a", "b"], ["a", "b"], masked=((0, 1),))
    root = ET.fromstring(term_svg(t))
    cells = elements(root, "rect")  # row by row: the page numbers them from data-cols
    assert root.get("data-cols") == "2" and len(cells) == 4
    assert [c.get("class") for c in cells] == ["cell", "cell masked", "cell", "cell"]
    x, y, size = (int(cells[0].get(a)) for a in ("x", "y", "width"))
    assert [(int(c.get("x")), int(c.get("y"))) for c in cells] == [
        (x, y),
        (x + size, y),
        (x, y + size),
        (x + size, y + size),
    ]
    values = [e.text for g in elements(root, "g", "values") for e in g]
    assert values == ["1.00", "0.25", "0.75"]
    w, h, middle = term_size(t)
    assert root.get("width") == str(math.ceil(w)) and 0 < middle < h


def test_weights_use_the_attention_scale_and_gradients_three_decimals():
    s = Stages.random(SENTENCE)
    fourth = stage_figures(s)[3].products[0][-1]
    assert fourth.cmap == "sequential" and fourth.key == "weights_1"
    grads = gradient_figures(s).products[0][-1]
    assert grads.fmt == "{:.3f}" and ">" + f"{s.matrices['dL/dW_q'][0][0]:.3f}" in term_svg(grads)


def test_stage_figures_are_deterministic_and_check_the_head():
    s = Stages.random(SENTENCE)
    assert [figure_svg(f) for f in stage_figures(s)] == [figure_svg(f) for f in stage_figures(s)]
    with pytest.raises(ValueError, match="head must be 1..2"):
        stage_figures(s, head=3)


# ---------------------------------------------------------------------- the page


def test_the_page_is_one_self_contained_file():
    page = explorer_page({"random": Stages.random(SENTENCE)})
    assert page.startswith("<!DOCTYPE html>")
    for outside in re.findall(r"""(?:src|href)\s*=\s*["']?([^"' >]*)""", page):
        assert outside.startswith("data:"), outside
    for url in re.findall(r"https?://[^\s\"'<>)]+", page):
        assert url == "http://www.w3.org/2000/svg", url  # the SVG namespace names, never loads
    assert "@import" not in page and "url(" not in page
    assert [int(n) for n in re.findall(r'<section data-stage="(\d)"', page)] == [1, 2, 3, 4, 5, 6]


def test_the_pages_data_holds_the_engines_numbers():
    s = Stages.random(SENTENCE)
    page = explorer_page({"random": s})
    blob = re.search(
        r'<script type="application/json" id="explorer-data">(.*?)</script>', page, re.S
    )
    data = json.loads(blob.group(1))
    matrices = data["views"]["random"]["matrices"]
    for name, engine in s.matrices.items():  # 8 significant digits; the page shows 3 decimals
        if name in matrices:
            shown = [x for row in matrices[name] for x in row]
            exact = [x for row in engine for x in row]
            assert all(abs(a - b) <= 5e-8 * abs(b) for a, b in zip(shown, exact, strict=True))
    # a head's columns, a matrix on its side and the heads side by side are made by the page
    assert set(s.matrices) - set(matrices) == {
        "Q_1", "K_1", "V_1", "K_1^T", "Q_2", "K_2", "V_2", "K_2^T", "X^T", "concat^T", "concat"
    }  # fmt: skip
    view = data["views"]["random"]  # an axis of words says "words" (the page expands it)
    assert view["row_labels"]["scores_1"] == view["col_labels"]["scores_1"] == "words"
    assert view["words"] == s.words and view["col_labels"]["W_q"] == s.col_labels["W_q"]
    recipes = data["views"]["random"]["recipes"]
    assert recipes["scores_1"] == {
        "kind": "dot",
        "left": "Q_1",
        "right": "K_1^T",
        "label": "score[{r}, {c}] = q_{r} \u00b7 k_{c}",
    }
    for name in data["views"]["random"]["matrices"]:  # every matrix drawn can explain itself
        assert name in recipes


def test_words_from_the_reader_cannot_break_out_of_the_page():
    page = explorer_page({"random": Stages.random("</script><b>hi</b> <!--<script> a&b")})
    assert "</script><b>" not in page and "<b>hi</b>" not in page
    # the data holds no "<" at all, so neither "</" nor "<!--" changes how it is read
    data = page.split('id="explorer-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data
    assert json.loads(data)["views"]["random"]["words"] == [
        "</script><b>hi</b>", "<!--<script>", "a&b"
    ]  # fmt: skip


# ---------------------------------------------------------------------- the command


def test_explore_writes_index_html(tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["explore", "--out", str(out), "--dim", "4", "--heads", "1"]) == 0
    page = (out / "index.html").read_text()
    assert page.count("<section data-stage=") == 6
    assert "index.html" in capsys.readouterr().out


def test_explore_open_opens_the_written_page(tmp_path, monkeypatch, capsys):
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    assert main(["explore", "--out", str(tmp_path), "--open"]) == 0
    assert opened == [(tmp_path / "index.html").as_uri()]
    assert "no browser" not in capsys.readouterr().out
    monkeypatch.setattr("webbrowser.open", lambda url: False)  # none to start (no display)
    assert main(["explore", "--out", str(tmp_path), "--open"]) == 0
    assert "no browser could be started" in capsys.readouterr().out


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--sentence", "   "], "empty"),
        (["--sentence", "a " + "b" * 25], "at most 24"),
        (["--sentence", "w " * (MAX_WORDS + 1)], f"at most {MAX_WORDS}"),
        (["--heads", "4"], "not divisible"),
        (["--dim", "0"], "--dim must be"),
        (["--dim", "64", "--heads", "1"], "--dim must be"),
        (["--serve", "--port", "70000"], "--port must be"),
    ],
)
def test_explore_bad_input_is_one_line_exit_2_nothing_written(tmp_path, capsys, flags, message):
    out = tmp_path / "site"
    assert main(["explore", "--out", str(out), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_explore_refuses_an_out_that_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["explore", "--out", str(blocker / "site")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_explore_serve_on_a_port_in_use_is_exit_2(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["explore", "--serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------------- the server


@pytest.fixture
def server():
    def compute(sentence):
        if sentence == "crash":
            raise RuntimeError("something inside broke\nsecond line")
        s = Stages.random(sentence)
        return {
            "sentence": sentence,
            "main": "<section></section>",
            "data": page_data({"random": s}),
        }

    httpd = make_server("<!DOCTYPE html><p>page</p>", compute, 0, quiet=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def ask(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    status, text = response.status, response.read().decode()
    conn.close()
    return status, text


def post(port, payload):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return ask(port, "POST", "/api/explore", body, {"Content-Type": "application/json"})


def test_the_server_serves_only_the_page_and_the_endpoint(server):
    assert ask(server, "GET", "/") == (200, "<!DOCTYPE html><p>page</p>")
    assert ask(server, "GET", "/index.html")[0] == 200
    for path in ("/etc/passwd", "/../index.html", "/api/explore", "/favicon.ico"):
        assert ask(server, "GET", path)[0] == 404
    assert ask(server, "POST", "/", b"{}", {"Content-Length": "2"})[0] == 404


def test_the_server_computes_a_sentence(server):
    status, text = post(server, {"sentence": "the dog barks"})
    answer = json.loads(text)
    assert status == 200 and answer["ok"] and answer["sentence"] == "the dog barks"
    assert answer["data"]["views"]["random"]["words"] == ["the", "dog", "barks"]


def test_the_server_answers_bad_requests_in_one_line_and_keeps_serving(server):
    for payload, status, words in (
        ({"sentence": ""}, 400, "empty"),
        ({"sentence": "w " * 40}, 400, "40 words"),
        ({"text": "a"}, 400, "send JSON"),
        (b"not json", 400, "send JSON"),
        (b"\xff\xfe", 400, "send JSON"),
        ({"sentence": "crash"}, 500, "RuntimeError: something inside broke"),
    ):
        code, text = post(server, payload)
        answer = json.loads(text)
        assert code == status and not answer["ok"] and words in answer["error"]
        assert "\n" not in answer["error"] and "Traceback" not in answer["error"]
    assert post(server, {"sentence": "still here"})[0] == 200


def test_the_server_refuses_an_oversized_body_unread(server):
    code, text = post(server, {"sentence": "cat " * MAX_BODY})
    assert code == 413 and "at most" in json.loads(text)["error"]
    assert post(server, {"sentence": "still here"})[0] == 200


def test_the_server_answers_only_to_its_own_name(server):
    assert ask(server, "GET", "/", headers={"Host": "attacker.example:80"})[0] == 403
    assert ask(server, "GET", "/", headers={"Host": f"localhost:{server}"})[0] == 200


# ---------------------------------------------------------------------- a trained model's layer


def small_model(layers=1, d_hidden=0):
    from tinygrad_attn.nn import TinyTransformer

    return TinyTransformer(
        vocab_size=6, d_model=4, num_heads=2, num_layers=layers, max_len=6, d_hidden=d_hidden, rng=0
    )


VOCAB = ["I", "play", "with", "a", "cat", "purrs"]


@pytest.mark.parametrize("layers, d_hidden", [(1, 0), (2, 8)])
def test_a_models_first_layer_is_drawn_with_its_own_numbers(layers, d_hidden):
    from tinygrad_attn import functional as F

    model = small_model(layers, d_hidden)
    words = ["I", "play", "with", "a", "cat"]
    s = Stages.from_model(model, words, VOCAB)
    ids = [VOCAB.index(w) for w in words]
    logits = model([ids])  # (1, T, vocab): the model's own forward
    weights = model.attention_maps()[0].tolist()[0]  # (heads, T, T) of the first layer
    assert close(s.matrices["weights_1"], weights[0]) and close(s.matrices["weights_2"], weights[1])
    assert s.masked == [(i, j) for i in range(5) for j in range(5) if j > i]  # causal
    assert all(s.matrices["weights_1"][i][j] == 0.0 for i, j in s.masked)
    # the loss is the model's next-token cross-entropy, and its gradients are the engine's
    model.zero_grad()
    loss = F.cross_entropy(logits.reshape(5, 6)[[0, 1, 2, 3]], ids[1:])
    loss.backward()
    assert s.loss == pytest.approx(loss.item(), abs=1e-12)
    attn = model.blocks[0].attn
    for name, layer in (("W_q", attn.w_q), ("W_k", attn.w_k), ("W_o", attn.w_o)):
        assert close(s.matrices[f"dL/d{name}"], layer.weight.grad.tolist(), tol=1e-12)


def test_a_models_words_must_be_in_its_vocabulary():
    with pytest.raises(ValueError, match="not in the model's vocabulary: dog"):
        Stages.from_model(small_model(), ["a", "dog"], VOCAB)
    with pytest.raises(ValueError, match="at least two words"):
        Stages.from_model(small_model(), ["cat"], VOCAB)
    with pytest.raises(ValueError, match="at most 6"):
        Stages.from_model(small_model(), ["a"] * 7, VOCAB)


# ---------------------------------------------------------------------- the shipped story model


def test_the_shipped_story_model_comes_with_its_training_record():
    from tinygrad_attn.story_model import load_story

    model, task, record = load_story()
    assert task.name == "story" and record["words"][:3] == [".", "I", "play"]
    assert record["steps"][0] == 0 and len(record["weights"]) == len(record["steps"])
    assert len(record["loss"]) == record["steps"][-1]  # one loss per training step
    first, last = record["weights"][0], record["weights"][-1]
    (it, cat) = record["focus"][0]
    assert last[it][cat] > first[it][cat]  # training moved the row of "it" onto "cat"


def test_the_trained_model_looks_from_it_to_cat():
    from tinygrad_attn.story_model import load_story, story_view

    model, task, _ = load_story()
    s = story_view(model, task, SENTENCE.split())
    assert s.focus == [(7, 5)] and s.causal
    row = s.matrices[f"weights_{s.start_head}"][7]  # the head the page shows first
    assert max(range(len(row)), key=row.__getitem__) == 5  # "it" puts most weight on "cat"
    assert 'the row of "it" puts' in stage_figures(s, s.start_head)[3].caption


def test_the_start_mark_is_named_in_words_and_explained():
    from tinygrad_attn.story_model import START, load_story, replay_of, story_view

    model, task, record = load_story()
    s = story_view(model, task, SENTENCE.split())
    assert s.words == [START, *SENTENCE.split()] and START == "(start)"
    for labels in (s.row_labels, s.col_labels):  # every axis of words says "(start)", not "."
        assert all(axis[0] == START for axis in labels.values() if len(axis) == 9)
        assert not any("." in axis for axis in labels.values())
    first, fourth = stage_figures(s, s.start_head)[0], stage_figures(s, s.start_head)[3]
    for caption in (first.caption, fourth.caption):
        assert f'"{START}" is the "." that the model reads before the first word' in caption
    replay = replay_of(record)
    assert replay["words"][0] == START and START in replay["caption"]
    random_words = stage_figures(Stages.random(SENTENCE))[0]
    assert "(start)" not in random_words.caption  # the random layer reads no start mark


def test_explore_draws_random_and_trained_weights_and_the_replay(tmp_path, capsys):
    assert main(["explore", "--out", str(tmp_path)]) == 0
    page = (tmp_path / "index.html").read_text()
    assert page.count('type="radio" name="view"') == 2 and 'data-view="trained"' in page
    assert '<section class="replay">' in page
    assert len(page.encode()) < 2_000_000


def test_explore_with_words_the_story_model_does_not_know(tmp_path):
    assert main(["explore", "--out", str(tmp_path), "--sentence", "the robot computes"]) == 0
    page = (tmp_path / "index.html").read_text()
    assert "The story model knows only its own words" in page


def test_explore_load_of_another_model_is_one_line_exit_2_nothing_written(tmp_path, capsys):
    from tinygrad_attn.train import Config, make_model, save_trained

    lag = save_trained(make_model(Config(task="lag")), Config(task="lag"), tmp_path / "lag.json")
    notes = tmp_path / "notes.txt"
    notes.write_text("not weights")
    for path, words in ((lag, "'lag' task"), (notes, "not a tinygrad_attn weights file")):
        out = tmp_path / "site"
        assert main(["explore", "--load", str(path), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1
        assert not out.exists()
    assert main(["explore", "--load", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err


def test_a_sentence_longer_than_the_story_model_reads_leaves_it_on_its_own(tmp_path):
    known = "I play with a cat then a dog at home every day and it barks today".split()
    assert len(known) == MAX_WORDS  # one more than the story model reads after its start
    assert main(["explore", "--out", str(tmp_path), "--sentence", " ".join(known)]) == 0
    page = (tmp_path / "index.html").read_text()
    assert f"The story model reads at most {MAX_WORDS - 1} words" in page
