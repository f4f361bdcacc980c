"""The explorer page in a real browser (headless Chromium): it loads without errors, shows the
six stages, explains a number with the engine's own arithmetic, switches heads, fits a
desktop and a phone screen, and the served page computes a new sentence.

Run with `make test-browser`; `make test` skips these (with the reason) where no browser is
installed.
"""

import json
import os
import re
import threading
import urllib.error
import urllib.request

import pytest
from browser import first_paint_ms, missing, open_browser

from tinygrad_attn.cli import main
from tinygrad_attn.stages import Stages

reason = missing()
if reason and os.environ.get("REQUIRE_BROWSER"):  # make test-browser: missing is a failure
    raise RuntimeError(f"browser tests cannot run: {reason}")
if reason:
    pytest.skip(f"browser tests: {reason}", allow_module_level=True)

SENTENCE = "I play with a cat and it purrs"
NUMBER = re.compile(r"-?\d+\.\d+")

# Every visible element inside its box: HTML elements inside their parent, SVG shapes and
# text inside the SVG that holds them; and no sideways scrolling of the page.
OVERFLOWS = """() => {
    const problems = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth + 1) {
        problems.push(`the page is ${root.scrollWidth}px wide in a ${root.clientWidth}px window`);
    }
    const name = el => el.tagName.toLowerCase() + (el.getAttribute("class") ?
        "." + el.getAttribute("class").split(" ").join(".") : "") +
        (el.textContent && el.children.length === 0 ? ` "${el.textContent.slice(0, 30)}"` : "");
    for (const el of document.querySelectorAll("body *")) {
        if (el.closest("[hidden], script, style, option, title")) continue;
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        const holder = el instanceof SVGElement && el.ownerSVGElement ? el.ownerSVGElement
                     : el.parentElement;
        const b = holder.getBoundingClientRect();
        const t = 1;
        if (r.left < b.left - t || r.right > b.right + t || r.top < b.top - t ||
            r.bottom > b.bottom + t) {
            problems.push(`${name(el)} [${Math.round(r.left)}..${Math.round(r.right)} x ` +
                `${Math.round(r.top)}..${Math.round(r.bottom)}] leaves ${name(holder)} ` +
                `[${Math.round(b.left)}..${Math.round(b.right)} x ${Math.round(b.top)}..` +
                `${Math.round(b.bottom)}]`);
        }
    }
    return problems.slice(0, 20);
}"""


@pytest.fixture(scope="module")
def page_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("explore")
    assert main(["explore", "--sentence", SENTENCE, "--out", str(out)]) == 0
    return out / "index.html"


@pytest.fixture(scope="module")
def browser():
    with open_browser() as context:
        yield context


@pytest.fixture
def open_page(browser, page_path):
    """Open the page (file://) in a new tab; yields (page, console errors)."""
    pages = []

    def opener(url=None, width=1280, height=800):
        page = browser.new_page()
        pages.append(page)
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_viewport_size({"width": width, "height": height})
        page.goto(url or page_path.as_uri())
        return page, errors

    yield opener
    for page in pages:
        page.close()


def visible(page, selector):
    return page.locator(f".variant:not([hidden]) {selector}")


def explanation(page):
    """The text of the box that explains a cell (empty when it is hidden)."""
    box = page.locator("#explain")
    return box.inner_text() if box.is_visible() else ""


def test_page_loads_without_errors_and_paints_fast(open_page):
    page, errors = open_page()
    assert page.title().startswith("Attention, stage by stage")
    assert errors == []
    paint = first_paint_ms(page)
    print(f"first paint from file://: {paint:.0f} ms")
    assert paint is not None and paint < 3000  # a generous bound; the report gives the figure


def test_six_stages_in_the_explanations_order(open_page):
    page, _ = open_page()
    stages = page.locator("section[data-stage]")
    assert [stages.nth(k).get_attribute("data-stage") for k in range(6)] == list("123456")
    assert stages.count() == 6
    titles = [stages.nth(k).locator("h2").inner_text() for k in range(6)]
    assert "matrix" in titles[0] and "Softmax" in titles[3] and "W^O" in titles[5]
    for k in range(6):  # every stage shows one caption and at least one product
        assert stages.nth(k).locator(".variant:not([hidden]) .caption").count() == 1
        assert stages.nth(k).locator(".variant:not([hidden]) .product").count() >= 1


def test_hovering_a_score_shows_its_dot_product_with_the_engines_numbers(open_page):
    page, errors = open_page()
    s = Stages.random(SENTENCE)
    i, j = 6, 4  # "it" looking at "cat"
    cell = visible(page, f'svg[data-m="scores_1"] rect[data-i="{i}"][data-j="{j}"]')
    cell.hover()
    text = explanation(page)
    assert text.startswith("score[it, cat] = q_it \u00b7 k_cat")
    terms, products, total = text.splitlines()[1:4]
    q, k = s.matrices["Q_1"][i], [row[j] for row in s.matrices["K_1^T"]]
    expected = [f"{x:.3f}" for pair in zip(q, k) for x in pair]
    assert NUMBER.findall(terms) == [e.replace("-0.000", "0.000") for e in expected]
    assert NUMBER.findall(products) == [f"{a * b:.3f}" for a, b in zip(q, k)]
    assert NUMBER.findall(total) == [f"{s.matrices['scores_1'][i][j]:.3f}"]
    # the operands used are highlighted: row i of Q_1 and column j of K_1^T
    marked = page.locator("section[data-stage='3'] rect.cell.hl")
    keys = {
        (m.evaluate("e => e.closest('svg').dataset.m"), m.get_attribute("data-i"))
        for m in marked.all()
    }
    assert ("Q_1", str(i)) in keys and len(marked.all()) == 2 * len(q)
    assert errors == []


def test_softmax_weight_and_head_output_explain_themselves(open_page):
    page, _ = open_page()
    s = Stages.random(SENTENCE)
    visible(page, 'svg[data-m="weights_1"] rect[data-i="6"][data-j="4"]').first.hover()
    text = explanation(page)
    row = s.matrices["scaled_1"][6]
    assert f"exp({row[4]:.3f})" in text
    assert text.splitlines()[-1].endswith(f"= {s.matrices['weights_1'][6][4]:.3f}")
    visible(page, 'svg[data-m="head_1"] rect[data-i="0"][data-j="1"]').hover()
    text = explanation(page)
    assert text.startswith("head_1[I, v1] = \u03a3_j weight[I, j] \u00b7 V_1[j, v1]")
    assert text.splitlines()[-1] == f"= {s.matrices['head_1'][0][1]:.3f}"


def test_keyboard_focus_explains_and_arrows_move(open_page):
    page, _ = open_page()
    first = visible(page, 'svg[data-m="output"] rect[data-i="0"][data-j="0"]')
    first.focus()
    assert explanation(page).startswith("MultiHead[I, d0] = Concat[I, :] \u00b7 W^O[:, d0]")
    page.keyboard.press("ArrowRight")
    assert explanation(page).startswith("MultiHead[I, d1]")
    focused = page.evaluate("document.activeElement.getAttribute('data-j')")
    assert focused == "1"


def test_the_head_selector_changes_the_heatmap(open_page):
    page, _ = open_page()

    def fills():
        cells = page.locator(
            "section[data-stage='4'] .variant:not([hidden]) svg[data-m^='weights'] rect.cell"
        )
        return [c.get_attribute("fill") for c in cells.all()]

    before = fills()
    page.select_option("#head", "2")
    after = fills()
    assert len(before) == len(after) == 64 and before != after
    shown = page.locator("section[data-stage='4'] .variant:not([hidden]) svg[data-m='weights_2']")
    assert shown.count() == 1


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_nothing_overflows_its_box(open_page, size):
    page, _ = open_page(width=size[0], height=size[1])
    assert page.evaluate(OVERFLOWS) == []
    page.select_option("#head", "2")
    assert page.evaluate(OVERFLOWS) == []


# Where the explanation box covers the cell it explains or a cell that made it.
COVERS = """() => {
    const box = document.getElementById("explain");
    if (box.hidden) return ["the explanation is hidden"];
    const b = box.getBoundingClientRect();
    const problems = [];
    for (const cell of document.querySelectorAll("rect.cell.at, rect.cell.hl")) {
        const r = cell.getBoundingClientRect();
        if (r.bottom > b.top + 0.5 && r.top < b.bottom - 0.5 && r.right > b.left + 0.5 &&
            r.left < b.right - 0.5) {
            const term = cell.closest("svg").dataset.m;
            problems.push(`${term}[${cell.dataset.i}, ${cell.dataset.j}] ` +
                `(${Math.round(r.top)}..${Math.round(r.bottom)}) under the box ` +
                `(${Math.round(b.top)}..${Math.round(b.bottom)})`);
        }
    }
    return problems;
}"""

# Is the box in the window, whole?
BOX_IN_VIEW = """() => {
    const b = document.getElementById("explain").getBoundingClientRect();
    return b.top >= 0 && b.bottom <= document.documentElement.clientHeight;
}"""

# Has the window room for the box across its whole width, above, between or below the
# cells it must leave free (and under the page's heading)?
ROOM_FOR_BOX = """() => {
    const room = document.documentElement.clientHeight;
    const height = document.getElementById("explain").getBoundingClientRect().height;
    const guarded = [...document.querySelectorAll("rect.cell.at, rect.cell.hl")]
        .map(c => c.getBoundingClientRect()).filter(r => r.bottom > 0 && r.top < room)
        .sort((a, b) => a.top - b.top);
    let edge = Math.max(0, document.getElementById("stages").getBoundingClientRect().top);
    let gap = 0;
    for (const r of guarded) {
        gap = Math.max(gap, r.top - edge);
        edge = Math.max(edge, r.bottom);
    }
    return Math.max(gap, room - edge) >= height + 16;
}"""


def point_at(page, cell, where):
    """Scroll so that `cell` is at the bottom ("bottom") or the top ("top") of the window,
    then move the pointer onto it, as a reader does."""
    cell.evaluate(
        """(c, where) => {
            const r = c.getBoundingClientRect();
            const room = document.documentElement.clientHeight;
            window.scrollBy(0, where === "bottom" ? r.bottom - room + 4 : r.top - 4);
        }""",
        where,
    )
    page.mouse.move(0, 0)  # off the figures first: the move onto the cell is a new one
    box = cell.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert "at" in cell.get_attribute("class").split()  # the cell is the one explained
    page.evaluate(
        "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
    )


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
@pytest.mark.parametrize("view", ["random", "trained"])
def test_the_explanation_never_covers_its_cell_or_the_cells_that_made_it(open_page, size, view):
    page, errors = open_page(width=size[0], height=size[1])
    page.check(f"input[name='view'][value='{view}']")
    results = page.locator(".variant:not([hidden]) svg.term.result")
    in_view = total = 0
    for k in range(results.count()):
        cells = results.nth(k).locator("rect.cell")
        for cell in (cells.first, cells.last):
            for where in ("bottom", "top"):
                point_at(page, cell, where)
                assert page.evaluate(COVERS) == []
                assert page.evaluate(OVERFLOWS) == []  # nor does it leave the page
                seen = page.evaluate(BOX_IN_VIEW)
                # in sight whenever the window has room for it; else under the figure
                assert seen or not page.evaluate(ROOM_FOR_BOX), (cell, where)
                in_view += seen
                total += 1
    print(f"{view} at {size}: the box was in the window for {in_view} of {total} cells")
    if size[0] >= 1280:  # a wide window always has room beside the cells
        assert in_view == total
    assert errors == []


def test_the_explanation_goes_when_the_pointer_leaves_the_figure(open_page):
    page, _ = open_page()
    visible(page, 'svg[data-m="scores_1"] rect[data-i="0"][data-j="0"]').hover()
    assert explanation(page).startswith("score[I, I]")
    page.locator("section[data-stage='3'] h2").hover()
    assert explanation(page) == "" and page.locator("rect.cell.hl").count() == 0
    for away in ("header h1", "body"):  # out of the stages: the heading, the page's margin
        visible(page, 'svg[data-m="scores_1"] rect[data-i="0"][data-j="0"]').hover()
        assert explanation(page).startswith("score[I, I]")
        page.locator(away).hover(position={"x": 2, "y": 2})
        assert explanation(page) == "", away
    visible(page, 'svg[data-m="output"] rect[data-i="0"][data-j="0"]').focus()
    assert explanation(page).startswith("MultiHead[I, d0]")
    page.keyboard.press("Escape")
    assert explanation(page) == ""


def test_the_overflow_check_finds_text_leaving_its_svg_and_a_too_wide_box(open_page):
    page, _ = open_page(width=390, height=844)
    page.evaluate(
        """() => {
            const label = document.querySelector(".variant:not([hidden]) svg .row-labels text");
            label.setAttribute("x", "-40");
            const caption = document.querySelector(".variant:not([hidden]) .caption");
            caption.style.width = "600px";
        }"""
    )
    problems = page.evaluate(OVERFLOWS)
    assert any(p.startswith('text "I"') for p in problems), problems
    assert any(p.startswith("p.caption") for p in problems), problems
    assert any("the page is" in p for p in problems), problems


# ---------------------------------------------------------------------- the served page


@pytest.fixture
def server():
    from tinygrad_attn.commands.explore import DEFAULT_SENTENCE, Explorer
    from tinygrad_attn.viz.explorer import explorer_page
    from tinygrad_attn.viz.explorer_server import make_server, url_of

    class Args:
        dim, heads, seed, load = 6, 2, 0, None

    explorer = Explorer(Args)
    page = explorer_page(explorer.views(DEFAULT_SENTENCE), serve=True)
    httpd = make_server(page, explorer.answer, 0, quiet=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield url_of(httpd)
    httpd.shutdown()
    httpd.server_close()


def test_the_served_page_computes_a_new_sentence(open_page, server):
    page, errors = open_page(server)
    page.fill("#sentence", "the dog barks at night")
    page.click("#ask button")
    page.wait_for_function("document.getElementById('shown-sentence').textContent.includes('dog')")
    labels = page.locator(
        "section[data-stage='1'] .variant:not([hidden]) .row-labels text"
    ).all_text_contents()
    assert labels == ["the", "dog", "barks", "at", "night"]
    expected = Stages.random("the dog barks at night").matrices["scores_1"][1][2]
    visible(page, 'svg[data-m="scores_1"] rect[data-i="1"][data-j="2"]').hover()
    assert explanation(page).splitlines()[-1] == f"= {expected:.3f}"
    assert errors == []


def test_the_served_page_shows_errors_and_keeps_serving(open_page, server):
    page, _ = open_page(server)
    page.fill("#sentence", " ".join(["word"] * 30))
    page.click("#ask button")
    page.wait_for_function("document.getElementById('status').textContent.length > 0")
    status = page.locator("#status")
    page.wait_for_function("!document.getElementById('status').textContent.includes('computing')")
    assert "30 words" in status.inner_text() and "Traceback" not in status.inner_text()
    page.fill("#sentence", "a cat")  # the server still answers
    page.click("#ask button")
    page.wait_for_function("document.getElementById('shown-sentence').textContent === 'a cat'")


def test_the_server_refuses_an_oversized_request(server):
    body = json.dumps({"sentence": "cat " * 5000}).encode()
    request = urllib.request.Request(server + "api/explore", data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 413
    assert "at most" in json.loads(refused.value.read())["error"]


# ---------------------------------------------------------------------- trained weights, replay


def tiny_training(steps=30, every=5):
    """A small causal model trained (Adam, next-token loss) on the sentence itself, with its
    first layer's attention on the sentence recorded every `every` steps: a real, short
    training record."""
    from tinygrad_attn import functional as F
    from tinygrad_attn.nn import TinyTransformer
    from tinygrad_attn.optim import Adam

    words = SENTENCE.split()
    vocab = sorted(set(words))
    ids = [vocab.index(w) for w in words]
    model = TinyTransformer(len(vocab), 8, 1, 1, max_len=len(words), d_hidden=0, rng=0)
    optimizer = Adam(model.parameters(), lr=0.05)
    snapshots, losses = [], []
    for step in range(steps + 1):
        logits = model([ids])  # (1, T, vocab)
        if step % every == 0:
            weights = model.attention_maps()[0].tolist()[0][0]  # batch 0, head 0: (T, T)
            snapshots.append({"step": step, "weights": weights})
        if step == steps:
            break
        loss = F.cross_entropy(logits.reshape(len(ids), len(vocab))[list(range(7))], ids[1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    replay = {"words": words, "snapshots": snapshots, "loss": losses, "caption": "a replay"}
    return model, vocab, replay


@pytest.fixture(scope="module")
def trained_page(tmp_path_factory):
    from tinygrad_attn.viz.explorer import explorer_page

    model, vocab, replay = tiny_training()
    views = {
        "random": Stages.random(SENTENCE),
        "trained": Stages.from_model(model, SENTENCE.split(), vocab),
    }
    path = tmp_path_factory.mktemp("trained") / "index.html"
    path.write_text(explorer_page(views, replay))
    return path, views, replay


def test_the_weights_switch_shows_the_trained_layer(open_page, trained_page):
    path, views, _ = trained_page
    page, errors = open_page(path.as_uri())
    page.check("input[name='view'][value='trained']")
    weights = page.locator("section[data-stage='4'] .variant:not([hidden]) svg[data-m='weights_1']")
    assert weights.count() == 1
    assert page.locator("#head").is_disabled()  # the trained layer has one head
    crossed = weights.locator("rect.cell.masked")
    assert crossed.count() == 28  # causal: the 8 * 7 / 2 later words of each row
    cell = weights.locator("rect[data-i='6'][data-j='4']")
    cell.hover()
    expected = views["trained"].matrices["weights_1"][6][4]
    assert explanation(page).splitlines()[-1].endswith(f"= {expected:.3f}")
    assert "masked" in explanation(page)  # the words after "it" are left out
    weights.locator("rect[data-i='0'][data-j='5']").hover()
    assert "may not look at" in explanation(page)
    assert errors == []


def test_the_replay_slider_changes_the_heatmap_and_marks_the_step(open_page, trained_page):
    from tinygrad_attn.viz.colours import ramp_colour

    path, _, replay = trained_page
    page, errors = open_page(path.as_uri())
    heatmap = page.locator("section.replay svg[data-m='replay'] rect.cell:not(.masked)")

    def shown():
        return [c.get_attribute("fill") for c in heatmap.all()]

    last = shown()
    page.locator("#replay").fill("0")  # the first snapshot: before training
    first = shown()
    assert first != last and page.locator("#replay-step").inner_text() == "0"
    weights = replay["snapshots"][0]["weights"]
    expected = [  # the page colours each weight it shows (2 decimals) as the Python figures do
        ramp_colour("sequential", round(w, 2))
        for i, row in enumerate(weights)
        for w in row[: i + 1]
    ]
    assert first == expected
    marker = page.locator("section.replay line.step-marker")
    x_first = float(marker.get_attribute("x1"))
    page.locator("#replay").fill("3")
    assert page.locator("#replay-step").inner_text() == str(replay["snapshots"][3]["step"])
    assert float(marker.get_attribute("x1")) > x_first  # the marker moved along the loss curve
    assert errors == []


def test_the_shipped_story_model_shows_it_looking_at_cat(open_page):
    page, errors = open_page()
    page.check("input[name='view'][value='trained']")
    trained = page.evaluate(
        """() => JSON.parse(document.getElementById("explorer-data").textContent).views.trained"""
    )
    head = trained["start_head"]  # the page opens the trained weights on the head that looks
    assert page.locator("#head").input_value() == str(head)
    weights = page.locator(
        f"section[data-stage='4'] .variant:not([hidden]) svg[data-m='weights_{head}']"
    )
    assert weights.locator("rect.outline").count() == 1  # the row of "it", the column of "cat"
    row = trained["matrices"][f"weights_{head}"][7]
    assert max(range(len(row)), key=row.__getitem__) == 5
    caption = page.locator("section[data-stage='4'] .variant:not([hidden]) .caption").inner_text()
    assert 'the row of "it" puts' in caption and '"cat"' in caption
    for size in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": size[0], "height": size[1]})
        assert page.evaluate(OVERFLOWS) == []
    assert errors == []
