// The explorer page's figures, made whole from what the file carries: plain JavaScript that
// every current browser runs, no libraries; explorer.js uses it. Python draws every figure
// (composite.py) but packs each matrix's cells into two attributes, and leaves out of the
// page's data the matrices that are others rearranged, to keep the file small. Here
//   * the packed cells become the SVG elements Python writes for the static figures,
//   * the matrices left out are made again from the ones they rearrange,
//   * a number gets the colour and the text the Python figures give it.
var ExplorerCells = (function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var DARK_INK = "#222222";

  function svgElement(tag, attrs) {
    var el = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (name) { el.setAttribute(name, String(attrs[name])); });
    return el;
  }

  // A matrix's cells come packed (composite.py, _packed_cells): its <g class="cells"> holds
  // data-grid="x0 y0 cell dy" and every cell's colour, row by row ("!" before a masked
  // cell's), its <g class="values"> the numbers of the unmasked cells ("~" for none). Here
  // they become the <rect> and <text> elements Python writes for the static figures, each
  // cell with its row and column (data-i, data-j).
  function unpack(term) {
    var cells = term.querySelector("g.cells[data-fills]");
    var values = term.querySelector("g.values[data-texts]");
    if (!cells || !values) return; // unpacked already
    var grid = cells.getAttribute("data-grid").split(" ").map(Number);
    var x0 = grid[0], y0 = grid[1], size = grid[2], dy = grid[3];
    var cols = Number(term.getAttribute("data-cols"));
    var texts = values.getAttribute("data-texts").split(" ");
    var rects = document.createDocumentFragment();
    var numbers = document.createDocumentFragment();
    var next = 0;
    cells.getAttribute("data-fills").split(" ").forEach(function (token, k) {
      var i = Math.floor(k / cols), j = k % cols;
      var masked = token.charAt(0) === "!";
      var fill = "#" + (masked ? token.slice(1) : token);
      var x = x0 + j * size, y = y0 + i * size;
      rects.appendChild(svgElement("rect", {
        x: x, y: y, width: size, height: size, fill: fill,
        "class": masked ? "cell masked" : "cell", "data-i": i, "data-j": j
      }));
      if (masked) return; // crossed out, no number
      var text = svgElement("text", { x: x + size / 2, y: y + size / 2 + dy });
      if (ink(fill) !== DARK_INK) text.setAttribute("fill", ink(fill));
      text.textContent = texts[next] === "~" ? "" : texts[next];
      next++;
      numbers.appendChild(text);
    });
    cells.removeAttribute("data-fills");
    values.removeAttribute("data-texts");
    cells.appendChild(rects);
    values.appendChild(numbers);
  }

  // The page's data leaves out the matrices that are others' numbers rearranged (a head's
  // columns, a matrix turned on its side, the heads side by side): they are made again here.
  // An axis labelled by the sentence's words is written "words" (explorer.py): it gets them.
  function rebuild(view) {
    [view.row_labels, view.col_labels].forEach(function (axes) {
      Object.keys(axes).forEach(function (key) {
        if (axes[key] === "words") axes[key] = view.words;
      });
    });
    var M = view.matrices;
    function make(key) {
      var recipe = view.recipes[key];
      if (M[key] || !recipe) return M[key];
      if (recipe.kind === "columns") {
        M[key] = make(recipe.source).map(function (row) {
          return row.slice(recipe.offset, recipe.offset + view.d_head);
        });
      } else if (recipe.kind === "transpose") {
        var m = make(recipe.source);
        M[key] = m[0].map(function (_, j) { return m.map(function (row) { return row[j]; }); });
      } else if (recipe.kind === "concat") {
        var heads = [];
        for (var h = 1; h <= view.heads; h++) heads.push(make("head_" + h));
        M[key] = heads[0].map(function (_, i) {
          return [].concat.apply([], heads.map(function (head) { return head[i]; }));
        });
      }
      return M[key];
    }
    Object.keys(view.recipes).forEach(make);
  }

  // ------------------------------------------------------------------ colours and text

  // The colour of a number on a ramp, exactly as the Python figures compute it (Python's
  // round() rounds halves to even).
  function roundHalfEven(x) {
    var r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  }

  function rampColour(stops, t) {
    t = Math.min(1, Math.max(0, t));
    for (var k = 0; k + 1 < stops.length; k++) {
      var t0 = stops[k][0], t1 = stops[k + 1][0];
      if (t <= t1) {
        var f = (t - t0) / (t1 - t0);
        return "#" + [0, 1, 2].map(function (c) {
          var a = stops[k][1][c], b = stops[k + 1][1][c];
          var hex = roundHalfEven(a + (b - a) * f).toString(16);
          return hex.length < 2 ? "0" + hex : hex;
        }).join("");
      }
    }
    return null;
  }

  // A number with two decimals as Python prints it: an exact half goes to the even digit.
  function twoDecimals(x) {
    var scaled = x * 100;
    if (Math.abs(scaled % 1) === 0.5) {
      var down = Math.floor(scaled);
      return ((down % 2 === 0 ? down : down + 1) / 100).toFixed(2);
    }
    return x.toFixed(2);
  }

  function ink(colour) {
    var r = parseInt(colour.slice(1, 3), 16);
    var g = parseInt(colour.slice(3, 5), 16);
    var b = parseInt(colour.slice(5, 7), 16);
    return 299 * r + 587 * g + 114 * b >= 140000 ? "#222222" : "#ffffff";
  }

  return {
    unpack: unpack,
    rebuild: rebuild,
    rampColour: rampColour,
    twoDecimals: twoDecimals,
    ink: ink
  };
})();
