// The explorer page's behaviour: plain JavaScript that every current browser runs, no
// libraries. The figures are drawn by Python (composite.py); this script only
//   * unpacks each figure's cells when it is first shown (explorer_cells.js),
//   * shows the drawing of the weights and head the reader picks,
//   * answers "where does this number come from?" for any cell, with the page's own numbers,
//   * replays attention during training (a slider recolours one heatmap),
//   * sends a new sentence to the local server, when the page is served.
(function () {
  "use strict";

  var DIGITS = 3; // the explanations print numbers with this many decimals
  var data = null;
  var state = { view: null, head: 1 };

  function all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  // the figures' cells and colours (explorer_cells.js, which the page holds before this)
  var unpack = ExplorerCells.unpack;
  var rebuild = ExplorerCells.rebuild;
  var rampColour = ExplorerCells.rampColour;
  var twoDecimals = ExplorerCells.twoDecimals;
  var ink = ExplorerCells.ink;

  // ------------------------------------------------------------------ numbers as text

  function fmt(x) {
    if (x === null || x === undefined) return "-inf";
    if (x !== 0 && Math.abs(x) < 0.0005) return x.toExponential(2); // would print as 0.000
    var text = x.toFixed(DIGITS);
    return /^-0\.0*$/.test(text) ? text.slice(1) : text; // never "-0.000"
  }

  function paren(x) {
    var text = fmt(x);
    return text.charAt(0) === "-" ? "(" + text + ")" : text;
  }

  function fill(template, rowLabel, colLabel) {
    return template.split("{r}").join(rowLabel).split("{c}").join(colLabel);
  }

  // ------------------------------------------------------------------ which drawing shows

  function showVariants() {
    all(".variant").forEach(function (el) {
      var head = el.getAttribute("data-head");
      var shown = el.getAttribute("data-view") === state.view &&
        (head === null || Number(head) === state.head);
      el.hidden = !shown;
      if (shown) all("svg.term", el).forEach(unpack); // a drawing's cells when first shown
    });
    hideExplanation();
    setUpFocus();
  }

  function setHeadOptions() {
    var select = document.getElementById("head");
    var heads = data.views[state.view].heads;
    state.head = Math.min(state.head, heads);
    select.textContent = "";
    for (var h = 1; h <= heads; h++) {
      var option = document.createElement("option");
      option.value = String(h);
      option.textContent = h + " of " + heads;
      option.selected = h === state.head;
      select.appendChild(option);
    }
    select.disabled = heads < 2;
  }

  // Keyboard: one Tab stop per result matrix, the arrow keys move inside it.
  function setUpFocus() {
    all("svg.term.result").forEach(function (term) {
      all("rect.cell", term).forEach(function (cell, k) {
        cell.setAttribute("tabindex", k === 0 ? "0" : "-1");
      });
    });
  }

  // ------------------------------------------------------------------ explanations

  function clearMarks() {
    all("rect.cell.hl, rect.cell.at").forEach(function (cell) {
      cell.classList.remove("hl");
      cell.classList.remove("at");
    });
  }

  function mark(product, key, axis, index) {
    var selector = 'svg.term[data-m="' + key + '"] rect.cell[data-' + axis + '="' + index + '"]';
    all(selector, product).forEach(function (cell) { cell.classList.add("hl"); });
  }

  function markCell(product, key, i, j) {
    var selector = 'svg.term[data-m="' + key + '"] rect.cell[data-i="' + i + '"][data-j="' +
      j + '"]';
    all(selector, product).forEach(function (cell) { cell.classList.add("hl"); });
  }

  function isMasked(view, i, j) {
    return view.masked.some(function (p) { return p[0] === i && p[1] === j; });
  }

  // The lines that explain cell (i, j) of matrix `key`, and the operand cells it used.
  function explanation(view, key, i, j, product, crossed) {
    var recipe = view.recipes[key];
    var M = view.matrices;
    var rows = view.row_labels[key];
    var cols = view.col_labels[key];
    var value = M[key][i][j];
    var head = fill(recipe.label, rows[i], cols[j]);
    var lines = [];
    var k;
    if (crossed && recipe.kind !== "softmax") {
      lines.push("masked: " + rows[i] + " may not look at " + cols[j] +
        ", a later word, so this score is replaced by -inf before softmax");
      return { head: head, lines: lines };
    }
    switch (recipe.kind) {
      case "dot": {
        var left = M[recipe.left];
        var right = M[recipe.right];
        var terms = [];
        var products = [];
        for (k = 0; k < right.length; k++) {
          terms.push(paren(left[i][k]) + " \u00d7 " + paren(right[k][j]));
          products.push(paren(left[i][k] * right[k][j]));
        }
        lines.push("= " + terms.join(" + "));
        if (terms.length > 1) lines.push("= " + products.join(" + "));
        lines.push("= " + fmt(value));
        mark(product, recipe.left, "i", i);
        mark(product, recipe.right, "j", j);
        break;
      }
      case "scale": {
        var score = M[recipe.source][i][j];
        lines.push("= " + paren(score) + " / " + recipe.by + " = " + paren(score) + " / " +
          recipe.divisor.toFixed(DIGITS) + " = " + fmt(value));
        markCell(product, recipe.source, i, j);
        break;
      }
      case "softmax": {
        if (isMasked(view, i, j)) {
          lines.push("= 0: " + rows[i] + " may not look at " + cols[j] + ", a later word. " +
            "Its score is -inf, and exp(-inf) = 0.");
          break;
        }
        var s = M[recipe.source][i];
        var keep = [];
        for (k = 0; k < s.length; k++) if (!isMasked(view, i, k)) keep.push(k);
        var exps = keep.map(function (c) { return Math.exp(s[c]); });
        var total = exps.reduce(function (a, b) { return a + b; }, 0);
        if (keep.length < s.length) {
          lines.push("(the words after " + rows[i] + " are masked: exp(-inf) = 0 leaves them out)");
        }
        lines.push("= exp(" + fmt(s[j]) + ") / (" +
          keep.map(function (c) { return "exp(" + fmt(s[c]) + ")"; }).join(" + ") + ")");
        lines.push("= " + fmt(Math.exp(s[j])) + " / (" + exps.map(fmt).join(" + ") + ")");
        lines.push("= " + fmt(Math.exp(s[j])) + " / " + fmt(total) + " = " + fmt(value));
        mark(product, recipe.source, "i", i);
        break;
      }
      case "columns": {
        var from = cols[j] !== undefined ? cols[j] : "d" + (recipe.offset + j);
        lines.push("= " + recipe.source + "[" + rows[i] + ", " + from + "] = " + fmt(value) +
          ": " + recipe.note);
        break;
      }
      case "transpose":
        lines.push("= " + recipe.source.replace("concat", "Concat") + "[" + cols[j] + ", " +
          rows[i] + "] = " + fmt(value) + ": " + recipe.note);
        break;
      case "concat": {
        var h = Math.floor(j / recipe.d_head) + 1;
        lines.push("= head_" + h + "[" + rows[i] + ", " + cols[j] + "] = " + fmt(value) +
          ": the heads' outputs side by side, head " + h + " in these columns");
        break;
      }
      case "reconstruction": {
        var y = M[recipe.output][i][j];
        var x = M[recipe.input][i][j];
        var n = M[recipe.input].length * M[recipe.input][0].length;
        lines.push("= 2 \u00d7 (MultiHead[" + rows[i] + ", " + cols[j] + "] - X[" + rows[i] +
          ", " + cols[j] + "]) / " + n);
        lines.push("= 2 \u00d7 (" + fmt(y) + " - " + paren(x) + ") / " + n + " = " + fmt(value));
        lines.push("(the derivative of the mean of the " + n + " squared differences)");
        break;
      }
      default: // input, weight, gradient: a number with its story
        lines.push("= " + fmt(value) + ": " + fill(recipe.note, rows[i], cols[j]));
    }
    return { head: head, lines: lines };
  }

  function explain(cell) {
    var term = cell.closest("svg.term");
    var variant = cell.closest("[data-view]");
    var product = cell.closest(".product");
    if (!term || !variant || !data) return;
    var view = data.views[variant.getAttribute("data-view")];
    var key = term.getAttribute("data-m");
    if (!view || !view.recipes[key]) return;
    var i = Number(cell.getAttribute("data-i"));
    var j = Number(cell.getAttribute("data-j"));
    clearMarks();
    var text = explanation(view, key, i, j, product, cell.classList.contains("masked"));
    cell.classList.add("at");
    var box = document.getElementById("explain");
    box.textContent = "";
    var strong = document.createElement("b");
    strong.textContent = text.head;
    box.appendChild(strong);
    box.appendChild(document.createTextNode("\n" + text.lines.join("\n")));
    box.hidden = false;
    explained = cell;
    placeExplanation();
  }

  function hideExplanation() {
    explained = null;
    document.getElementById("explain").hidden = true;
    clearMarks();
  }

  // The box floats over the page, never over the cell it explains nor the cells that made
  // it. It is at most WIDE px wide, so that on a wide screen it can stand beside those
  // cells. Where it goes, the first free place of: under the figure when that is in sight,
  // the bottom or the top of the window, just below or above one of those cells; each on
  // the left, then on the right. When none is free (a figure taller than the window), it
  // goes under the figure, a scroll away.
  var GAP = 8; // px between the box and what it avoids
  var WIDE = 560; // px
  var explained = null; // the cell explained now
  var byPointer = false; // explained because the pointer is on it (not the keyboard's focus)

  function placeExplanation() {
    var box = document.getElementById("explain");
    var cell = explained;
    if (!cell || box.hidden) return;
    if (!document.body.contains(cell) || cell.closest("[hidden]")) {
      hideExplanation();
      return;
    }
    var frame = cell.closest("section").getBoundingClientRect();
    var width = Math.min(frame.width, WIDE);
    box.style.width = width + "px";
    var height = box.offsetHeight;
    var room = document.documentElement.clientHeight;
    var guarded = [cell].concat(all("rect.cell.hl")).map(function (c) {
      return c.getBoundingClientRect();
    });
    var below = cell.closest(".product").getBoundingClientRect().bottom + GAP;
    var first = Math.max(GAP, document.getElementById("stages").getBoundingClientRect().top);
    var tops = [below, room - height - GAP, first]; // never over the page's heading
    guarded.forEach(function (r) { tops.push(r.bottom + GAP, r.top - GAP - height); });
    var spots = [];
    tops.forEach(function (top) {
      spots.push([frame.left, top], [frame.right - width, top]);
    });
    var free = spots.filter(function (spot) {
      var left = spot[0], top = spot[1];
      return top >= first && top + height <= room && guarded.every(function (r) {
        return r.bottom <= top || r.top >= top + height ||
          r.right <= left || r.left >= left + width;
      });
    });
    var spot = free.length ? free[0] : [frame.left, below];
    box.style.left = spot[0] + window.pageXOffset + "px";
    box.style.top = spot[1] + window.pageYOffset + "px";
  }

  var placing = false;
  function placeSoon() { // once per frame while the page scrolls or resizes
    if (placing || !explained) return;
    placing = true;
    window.requestAnimationFrame(function () {
      placing = false;
      placeExplanation();
    });
  }

  function onCell(event) {
    var cell = event.target;
    var pointer = event.type === "mouseover";
    if (cell && cell.classList && cell.classList.contains("cell") && cell.closest(".variant")) {
      explain(cell);
      byPointer = pointer;
    } else if (pointer && byPointer && explained && !(cell.closest && cell.closest(".product"))) {
      hideExplanation(); // the pointer left the figure (a cell in focus keeps its box)
    }
  }

  function onKey(event) {
    var cell = event.target;
    if (event.key === "Escape") hideExplanation();
    if (!cell.classList || !cell.classList.contains("cell")) return;
    var moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    var move = moves[event.key];
    if (!move) return;
    var term = cell.closest("svg.term");
    var i = Number(cell.getAttribute("data-i")) + move[0];
    var j = Number(cell.getAttribute("data-j")) + move[1];
    var next = term.querySelector('rect.cell[data-i="' + i + '"][data-j="' + j + '"]');
    if (!next) return;
    event.preventDefault();
    cell.setAttribute("tabindex", "-1");
    next.setAttribute("tabindex", "0");
    next.focus();
  }

  // ------------------------------------------------------------------ training replay

  function setUpReplay() {
    var slider = document.getElementById("replay");
    if (!slider || !data.replay) return;
    var term = document.querySelector('svg.term[data-m="replay"]');
    var cells = all("rect.cell", term).filter(function (c) { return !c.classList.contains("masked"); });
    var texts = all("g.values text", term);
    var output = document.getElementById("replay-step");
    var chart = document.querySelector(".replay .chart svg");
    var line = chart ? chart.querySelector("polyline") : null;
    var marker = null;
    if (line) {
      marker = document.createElementNS("http://www.w3.org/2000/svg", "line");
      marker.setAttribute("class", "step-marker");
      marker.setAttribute("stroke", "#e66101");
      marker.setAttribute("stroke-width", "2");
      line.parentNode.appendChild(marker);
    }
    var points = line ? line.getAttribute("points").trim().split(/\s+/).map(function (p) {
      return p.split(",").map(Number);
    }) : [];
    var ys = points.map(function (p) { return p[1]; });
    var top = Math.min.apply(null, ys.concat([Infinity]));
    var bottom = Math.max.apply(null, ys.concat([-Infinity]));
    function show() {
      var k = Number(slider.value);
      var weights = data.replay.weights[k];
      var step = data.replay.steps[k];
      cells.forEach(function (cell, n) {
        var i = Number(cell.getAttribute("data-i"));
        var j = Number(cell.getAttribute("data-j"));
        var colour = rampColour(data.ramps.sequential, weights[i][j]);
        cell.setAttribute("fill", colour);
        texts[n].textContent = twoDecimals(weights[i][j]);
        texts[n].setAttribute("fill", ink(colour));
      });
      output.textContent = String(step);
      if (marker && points.length) {
        var at = Math.round((step - 1) / (data.replay.loss_every || 1)); // its point
        var p = points[Math.max(0, Math.min(points.length - 1, at))];
        marker.setAttribute("x1", p[0]);
        marker.setAttribute("x2", p[0]);
        marker.setAttribute("y1", top - 8);
        marker.setAttribute("y2", bottom + 8);
      }
    }
    slider.addEventListener("input", show);
    show();
  }

  // ------------------------------------------------------------------ a new sentence

  function setUpAsk() {
    var form = document.getElementById("ask");
    if (!form) return;
    var status = document.getElementById("status");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var sentence = document.getElementById("sentence").value;
      status.className = "";
      status.textContent = "computing\u2026";
      fetch("api/explore", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sentence: sentence })
      }).then(function (response) {
        return response.json().catch(function () {
          return { ok: false, error: "the server answered " + response.status };
        });
      }).then(function (answer) {
        if (!answer.ok) throw new Error(answer.error);
        document.getElementById("stages").innerHTML = answer.main;
        data = answer.data;
        document.getElementById("shown-sentence").textContent = answer.sentence;
        status.textContent = "";
        start();
      }).catch(function (error) {
        status.className = "error";
        status.textContent = error && error.message ? error.message :
          "the server did not answer; is tinygrad-attn explore --serve still running?";
      });
    });
  }

  // ------------------------------------------------------------------ start

  function start() {
    if (!data.views[state.view]) state.view = Object.keys(data.views)[0];
    Object.keys(data.views).forEach(function (name) { rebuild(data.views[name]); });
    all("svg.term").forEach(function (term) { // the figures that are always shown
      if (!term.closest(".variant")) unpack(term);
    });
    setHeadOptions();
    showVariants();
    setUpReplay();
  }

  function init() {
    data = JSON.parse(document.getElementById("explorer-data").textContent);
    var checked = document.querySelector('input[name="view"]:checked');
    state.view = checked ? checked.value : Object.keys(data.views)[0];
    all('input[name="view"]').forEach(function (radio) {
      radio.addEventListener("change", function () {
        state.view = radio.value;
        state.head = data.views[state.view].start_head || 1;
        setHeadOptions();
        showVariants();
      });
    });
    document.getElementById("head").addEventListener("change", function (event) {
      state.head = Number(event.target.value);
      showVariants();
    });
    var main = document.getElementById("stages");
    // the whole page hears the pointer: leaving the figures for the heading or the margin
    // takes the box away too, and so does leaving the window
    document.addEventListener("mouseover", onCell);
    document.addEventListener("mouseout", function (event) {
      if (!event.relatedTarget && byPointer) hideExplanation();
    });
    main.addEventListener("focusin", onCell);
    main.addEventListener("click", function (event) {
      onCell(event);
      if (event.target.classList && event.target.classList.contains("cell")) {
        var cell = event.target;
        if (cell.getAttribute("tabindex") !== null) cell.focus();
      }
    });
    main.addEventListener("keydown", onKey);
    main.addEventListener("focusout", function (event) {
      var next = event.relatedTarget;
      if (!(next && next.classList && next.classList.contains("cell"))) hideExplanation();
    });
    window.addEventListener("scroll", placeSoon);
    window.addEventListener("resize", placeSoon);
    setUpAsk();
    start();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
