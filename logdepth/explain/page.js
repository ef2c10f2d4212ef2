// logdepth explain: draws a layer's attention maps and decoded cells when its <details> opens.
(function () {
  "use strict";
  var run = JSON.parse(document.getElementById("run-data").textContent);
  var tokens = run.tokens;
  var MAP = 380;   // largest side of a drawn map, in CSS pixels
  var MARGIN = 78; // room for the token labels

  function tokenLabel(i) { return i + ": " + tokens[i]; }

  // One head: the PNG (row-normalized, see png.py) scaled onto a canvas, labels on both axes.
  function drawHead(figure, head, index) {
    var side = tokens.length;
    var img = new Image();
    img.onload = function () {
      var m = img.width;
      var cell = Math.max(1, Math.min(24, Math.floor(MAP / m)));
      var size = cell * m;
      var ratio = window.devicePixelRatio || 1;
      var canvas = figure.querySelector("canvas");
      canvas.width = (size + MARGIN) * ratio;
      canvas.height = (size + MARGIN) * ratio;
      canvas.style.width = size + MARGIN + "px";
      canvas.style.height = size + MARGIN + "px";
      var ctx = canvas.getContext("2d");
      ctx.scale(ratio, ratio);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(img, MARGIN, MARGIN, size, size);
      ctx.strokeStyle = "#c9ced6";
      ctx.strokeRect(MARGIN - 0.5, MARGIN - 0.5, size + 1, size + 1);
      // Labels: as many tokens as fit 11 px apart.
      var perToken = size / side;
      var stride = Math.max(1, Math.ceil(11 / perToken));
      ctx.fillStyle = "#5d6675";
      ctx.font = "10px ui-monospace, Menlo, monospace";
      ctx.textBaseline = "middle";
      for (var i = 0; i < side; i += stride) {
        var text = tokens[i].length > 10 ? tokens[i].slice(0, 9) + "\u2026" : tokens[i];
        var at = MARGIN + (i + 0.5) * perToken;
        ctx.textAlign = "right";
        ctx.fillText(text, MARGIN - 4, at);
        ctx.save();
        ctx.translate(at, MARGIN - 4);
        ctx.rotate(-Math.PI / 2);
        ctx.textAlign = "left";
        ctx.fillText(text, 0, 0);
        ctx.restore();
      }
      // Pixel values, for the hover read-out: a_ij = p_ij / sum_j p_ij.
      var off = document.createElement("canvas");
      off.width = m; off.height = m;
      var octx = off.getContext("2d");
      octx.drawImage(img, 0, 0);
      var rgba = octx.getImageData(0, 0, m, m).data;
      var level = new Float64Array(m * m);
      for (var k = 0; k < m * m; k++) level[k] = (255 - rgba[4 * k]) / (255 - 8);
      var hover = figure.querySelector(".hover");
      canvas.addEventListener("mousemove", function (e) {
        var box = canvas.getBoundingClientRect();
        var x = e.clientX - box.left - MARGIN, y = e.clientY - box.top - MARGIN;
        if (x < 0 || y < 0 || x >= size || y >= size) { hover.textContent = ""; return; }
        var qi = Math.floor(y / perToken), kj = Math.floor(x / perToken);
        var r = Math.floor(y / cell), c = Math.floor(x / cell), sum = 0, keys = 0;
        for (var j = 0; j < m; j++) { sum += level[r * m + j]; if (level[r * m + j] > 0.5) keys++; }
        var w = sum > 0 ? level[r * m + c] / sum : 0;
        var exact = head.tokens_per_pixel === 1 ? "" : " (pooled)";
        hover.textContent = "query " + tokenLabel(qi) + "  key " + tokenLabel(kj) +
          "  weight " + w.toFixed(4) + exact + "  (" + keys + " keys at the maximum)";
      });
      canvas.addEventListener("mouseleave", function () { hover.textContent = ""; });
      canvas.dataset.drawn = "1";
    };
    img.src = "data:image/png;base64," + head.png;
  }

  function headFigure(head, index) {
    var figure = document.createElement("figure");
    figure.className = "head";
    var caption = document.createElement("figcaption");
    caption.textContent = "head " + index + " (" + (head.causal ? "causal" : "unmasked") + ")" +
      (head.tokens_per_pixel > 1 ? ", " + head.tokens_per_pixel + " tokens a pixel" : "");
    var canvas = document.createElement("canvas");
    canvas.className = "attn";
    canvas.setAttribute("aria-label", "attention map of head " + index);
    var hover = document.createElement("div");
    hover.className = "hover";
    figure.appendChild(caption);
    figure.appendChild(canvas);
    figure.appendChild(hover);
    return figure;
  }

  function valuesTable(values) {
    var names = Object.keys(values);
    if (!names.length) return null;
    var table = document.createElement("table");
    table.className = "vals";
    var head = table.insertRow();
    var corner = document.createElement("th");
    corner.className = "row";
    corner.textContent = "after this layer";
    head.appendChild(corner);
    tokens.forEach(function (t, i) {
      var th = document.createElement("th");
      th.textContent = t;
      th.title = "token " + i;
      head.appendChild(th);
    });
    names.forEach(function (name) {
      var row = table.insertRow();
      var th = document.createElement("th");
      th.className = "row";
      th.textContent = name;
      row.appendChild(th);
      values[name].forEach(function (v) {
        var td = row.insertCell();
        td.textContent = v === null ? "\u2013" : String(v);
      });
    });
    return table;
  }

  function fill(details) {
    if (details.dataset.filled) return;
    details.dataset.filled = "1";
    var layer = run.layers[Number(details.dataset.layer)];
    var grid = details.querySelector(".heads-grid");
    layer.heads.forEach(function (head, k) {
      var figure = headFigure(head, k);
      grid.appendChild(figure);
      drawHead(figure, head, k);
    });
    var table = valuesTable(layer.values);
    if (table) details.querySelector(".values").appendChild(table);
  }

  document.querySelectorAll("details.layer").forEach(function (details) {
    details.addEventListener("toggle", function () { if (details.open) fill(details); });
  });
  function openFromHash() {
    var target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
    if (target && target.matches("details.layer")) {
      target.open = true;
      fill(target);
      target.scrollIntoView();
    }
  }
  window.addEventListener("hashchange", openFromHash);
  openFromHash();
  // ?layer=K opens layer K in place (for screenshots: no scrolling).
  var asked = new URLSearchParams(location.search).get("layer");
  var inPlace = asked === null ? null : document.getElementById("layer-" + asked);
  if (inPlace) { inPlace.open = true; fill(inPlace); }
  document.getElementById("expand-all").addEventListener("click", function () {
    document.querySelectorAll("details.layer").forEach(function (d) { d.open = true; });
  });
  document.getElementById("collapse-all").addEventListener("click", function () {
    document.querySelectorAll("details.layer").forEach(function (d) { d.open = false; });
  });
  document.body.dataset.ready = "1";
  document.body.dataset.readyMs = String(Math.round(performance.now()));
  window.addEventListener("load", function () {
    document.body.dataset.loadMs = String(Math.round(performance.now()));
  });
})();
