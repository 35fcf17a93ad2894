(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var fmt1 = new Intl.NumberFormat("en-US", {maximumFractionDigits: 1, minimumFractionDigits: 1});
  var fmt2 = new Intl.NumberFormat("en-US", {maximumFractionDigits: 2});
  var tip = document.createElement("div");
  tip.className = "tip";
  document.body.appendChild(tip);

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { if (attrs[k] !== undefined) e.setAttribute(k, attrs[k]); }
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, attrs) {
    var a = attrs || {};
    a.x = x; a.y = y;
    var t = el("text", a, parent);
    t.textContent = s;
    return t;
  }
  function hover(node, label) {
    var t = document.createElementNS(NS, "title");
    t.textContent = label;
    node.appendChild(t);
    node.addEventListener("mousemove", function (ev) {
      tip.textContent = label; tip.style.display = "block";
      tip.style.left = (ev.clientX + 14) + "px"; tip.style.top = (ev.clientY + 10) + "px";
    });
    node.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  }
  function niceTicks(max, count) {
    if (!(max > 0)) { return [0, 1]; }
    var raw = max / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 2.5, 5, 10], step = mag;
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * mag >= raw) { step = steps[i] * mag; break; }
    }
    var ticks = [];
    for (var v = 0; v <= max + step * 1e-9; v += step) { ticks.push(v); }
    if (ticks[ticks.length - 1] < max - step * 1e-9) { ticks.push(ticks[ticks.length - 1] + step); }
    return ticks;
  }
  function textColour(hex) {
    var r = parseInt(hex.substr(1, 2), 16), g = parseInt(hex.substr(3, 2), 16),
        b = parseInt(hex.substr(5, 2), 16);
    return (0.299 * r + 0.587 * g + 0.114 * b) > 150 ? "#1d2433" : "#ffffff";
  }
  function legend(box, items) {
    var ul = document.createElement("ul");
    ul.className = "legend";
    items.forEach(function (it) {
      var li = document.createElement("li");
      var sw = document.createElement("span");
      sw.className = "swatch"; sw.style.background = it.colour;
      li.appendChild(sw);
      li.appendChild(document.createTextNode(it.name));
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }
  function clear(box) { while (box.firstChild) { box.removeChild(box.firstChild); } }
  function width(box) { return Math.max(300, Math.round(box.clientWidth || 560)); }

  function stackedBars(box, d, mode) {
    clear(box);
    var W = width(box), H = 290, m = {l: 58, r: 8, t: 20, b: 44};
    var iw = W - m.l - m.r, ih = H - m.t - m.b, n = d.periods.length;
    var totals = d.periods.map(function (_, i) {
      return d.series.reduce(function (s, se) { return s + se.values[i]; }, 0);
    });
    var share = mode === "share";
    var ymax = share ? 1 : Math.max.apply(null, totals.concat([0]));
    var ticks = share ? [0, 0.25, 0.5, 0.75, 1] : niceTicks(ymax, 5);
    var top = ticks[ticks.length - 1] || 1;
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, "aria-hidden": "true"}, box);
    var y = function (v) { return m.t + ih - ih * v / top; };
    var g = el("g", {"class": "axis"}, svg);
    ticks.forEach(function (t) {
      el("line", {x1: m.l, x2: m.l + iw, y1: y(t), y2: y(t), "class": "grid-line"}, g);
      text(g, m.l - 6, y(t) + 4, share ? Math.round(t * 100) + "%" : fmt2.format(t),
           {"text-anchor": "end", "class": "tick"});
    });
    el("line", {x1: m.l, x2: m.l + iw, y1: y(0), y2: y(0)}, g);
    text(svg, 14, m.t + ih / 2, share ? "Share of GWh bought" : "GWh bought",
         {"class": "axis-label", "text-anchor": "middle",
          transform: "rotate(-90 14 " + (m.t + ih / 2) + ")"});
    text(svg, m.l + iw / 2, H - 6, "Period", {"class": "axis-label", "text-anchor": "middle"});
    var slot = iw / Math.max(n, 1), bw = Math.min(70, slot * 0.64);
    var bars = 0, segs = 0;
    d.periods.forEach(function (p, i) {
      var x = m.l + slot * i + (slot - bw) / 2, acc = 0;
      var bar = el("g", {"class": "bar", "data-period": p}, svg);
      bars += 1;
      d.series.forEach(function (s) {
        var v = s.values[i];
        if (!(v > 0)) { return; }
        var val = share ? v / totals[i] : v;
        var y0 = y(acc), y1 = y(acc + val);
        var r = el("rect", {x: x, y: y1, width: bw, height: Math.max(0, y0 - y1),
                            fill: s.colour, "class": "seg", "data-group": s.name}, bar);
        hover(r, s.name + ", " + p + ": " + fmt2.format(v) + " GWh (" +
              fmt1.format(100 * v / totals[i]) + "%)");
        if (y0 - y1 >= 15 && bw >= 30) {
          text(bar, x + bw / 2, (y0 + y1) / 2 + 4, Math.round(100 * v / totals[i]) + "%",
               {"text-anchor": "middle", "font-size": 10.5, "pointer-events": "none",
                style: "fill:" + textColour(s.colour)});
        }
        acc += val; segs += 1;
      });
      text(svg, x + bw / 2, y(0) + 16, String(p), {"text-anchor": "middle", "class": "tick"});
      if (!share) {
        text(svg, x + bw / 2, y(acc) - 5, fmt2.format(totals[i]),
             {"text-anchor": "middle", "font-size": 11, "class": "axis-label"});
      }
    });
    legend(box, d.series);
    box.setAttribute("data-bars", bars);
    box.setAttribute("data-segments", segs);
  }

  function hbars(box, items, opts) {
    clear(box);
    var W = width(box), row = 34, m = {l: 60, r: 130, t: 8, b: 38};
    // the left margin fits the longest label, measured in the page's own font
    var probe = el("svg", {width: 10, height: 10}, box);
    items.forEach(function (it) {
      var t = text(probe, 0, 0, it.label, {"font-size": 13});
      m.l = Math.max(m.l, Math.ceil(t.getComputedTextLength()) + 18);
    });
    box.removeChild(probe);
    m.l = Math.min(m.l, Math.round(W * 0.45));
    var H = m.t + m.b + row * items.length, iw = W - m.l - m.r;
    var vals = items.map(function (it) { return it.value || 0; });
    var ticks = niceTicks(Math.max.apply(null, vals.concat([0])), 4);
    var top = ticks[ticks.length - 1] || 1;
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, "aria-hidden": "true"}, box);
    var x = function (v) { return m.l + iw * v / top; };
    var g = el("g", {"class": "axis"}, svg);
    ticks.forEach(function (t) {
      el("line", {x1: x(t), x2: x(t), y1: m.t, y2: H - m.b, "class": "grid-line"}, g);
      text(g, x(t), H - m.b + 15, fmt2.format(t), {"text-anchor": "middle", "class": "tick"});
    });
    text(svg, m.l + iw / 2, H - 4, opts.axis, {"class": "axis-label", "text-anchor": "middle"});
    var nbars = 0;
    items.forEach(function (it, i) {
      var yy = m.t + row * i + 6, v = it.value;
      text(svg, m.l - 8, yy + 15, it.label, {"text-anchor": "end", "font-size": 13});
      var bar = el("rect", {x: m.l, y: yy, width: Math.max(v > 0 ? 1.5 : 0, x(v || 0) - m.l),
                            height: row - 12, fill: it.colour || "#332288", "class": "hbar",
                            "data-label": it.label}, svg);
      hover(bar, it.label + ": " + it.note);
      text(svg, x(v || 0) + 6, yy + 15, it.note, {"font-size": 12, "class": "axis-label"});
      nbars += 1;
    });
    el("line", {x1: m.l, x2: m.l, y1: m.t, y2: H - m.b, stroke: "#8a93a3"}, svg);
    box.setAttribute("data-bars", nbars);
  }

  function niceRange(lo, hi, count) {
    if (!(hi > lo)) { hi = lo + (Math.abs(lo) || 1); }
    var raw = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 2.5, 5, 10], step = mag * 10;
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * mag >= raw) { step = steps[i] * mag; break; }
    }
    var ticks = [], start = Math.floor(lo / step + 1e-9) * step;
    for (var v = start; v <= hi + step * (1 - 1e-9); v += step) {
      ticks.push(Math.round(v / step) * step);
      if (v >= hi - step * 1e-9) { break; }
    }
    return ticks;
  }

  function lines(box, fr) {
    clear(box);
    var W = width(box), H = 320, m = {l: 84, r: 20, t: 16, b: 48};
    var iw = W - m.l - m.r, ih = H - m.t - m.b, xs = [], ys = [];
    fr.series.forEach(function (s) {
      s.points.forEach(function (p) {
        if (p[0] !== null) { xs.push(p[0]); }
        if (p[1] !== null) { ys.push(p[1]); }
      });
    });
    if (!ys.length) {
      var empty = el("svg", {viewBox: "0 0 " + W + " 60", "aria-hidden": "true"}, box);
      text(empty, 10, 34, "No limit in the sweep has a plan.", {"class": "axis-label"});
      box.setAttribute("data-points", 0);
      return;
    }
    var xt = niceRange(Math.min.apply(null, xs), Math.max.apply(null, xs), 6);
    var yt = niceRange(Math.min.apply(null, ys), Math.max.apply(null, ys), 5);
    var x0 = xt[0], x1 = xt[xt.length - 1], y0 = yt[0], y1 = yt[yt.length - 1];
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, "aria-hidden": "true"}, box);
    var X = function (v) { return m.l + iw * (v - x0) / (x1 - x0); };
    var Y = function (v) { return m.t + ih - ih * (v - y0) / (y1 - y0); };
    var xfmt = function (v) { return fr.x_share ? Math.round(100 * v) + "%" : fmt2.format(v); };
    var g = el("g", {"class": "axis"}, svg);
    yt.forEach(function (v) {
      el("line", {x1: m.l, x2: m.l + iw, y1: Y(v), y2: Y(v), "class": "grid-line"}, g);
      text(g, m.l - 6, Y(v) + 4, fmt2.format(v), {"text-anchor": "end", "class": "tick"});
    });
    xt.forEach(function (v) {
      el("line", {x1: X(v), x2: X(v), y1: m.t, y2: m.t + ih, "class": "grid-line"}, g);
      text(g, X(v), m.t + ih + 16, xfmt(v), {"text-anchor": "middle", "class": "tick"});
    });
    el("line", {x1: m.l, x2: m.l + iw, y1: m.t + ih, y2: m.t + ih}, g);
    text(svg, 14, m.t + ih / 2, "Total cost, USD million",
         {"class": "axis-label", "text-anchor": "middle",
          transform: "rotate(-90 14 " + (m.t + ih / 2) + ")"});
    text(svg, m.l + iw / 2, H - 6, fr.x_label, {"class": "axis-label", "text-anchor": "middle"});
    var npts = 0;
    fr.series.forEach(function (s) {
      var dpath = "", pen = false;
      s.points.forEach(function (p) {
        if (p[0] === null || p[1] === null) { pen = false; return; }
        dpath += (pen ? "L" : "M") + X(p[0]).toFixed(2) + "," + Y(p[1]).toFixed(2);
        pen = true;
      });
      el("path", {d: dpath, fill: "none", stroke: s.colour, "stroke-width": 2.2}, svg);
      s.points.forEach(function (p) {
        if (p[0] === null || p[1] === null) { return; }
        var c = el("circle", {cx: X(p[0]), cy: Y(p[1]), r: 4, fill: s.colour,
                              "class": "point"}, svg);
        hover(c, s.name + ": limit " + xfmt(p[0]) + ", USD " + fmt1.format(p[1]) + " m");
        npts += 1;
      });
    });
    legend(box, fr.series);
    box.setAttribute("data-points", npts);
  }

  function draw(box, fn) {
    try {
      fn();
      box.setAttribute("data-rendered", "true");
    } catch (e) {
      box.setAttribute("data-rendered", "error");
      console.error("chart " + box.getAttribute("data-chart") + " failed: " + e);
    }
  }
  function chart(name) { return document.querySelector('[data-chart="' + name + '"]'); }

  var mode = "gwh";
  function drawMix() {
    DATA.mix.forEach(function (d) {
      var box = chart("mix-" + d.id);
      if (box) { draw(box, function () { stackedBars(box, d, mode); }); }
    });
  }
  function drawAll() {
    drawMix();
    var costBox = chart("costs");
    if (costBox) {
      draw(costBox, function () {
        hbars(costBox, DATA.costs.map(function (c, i) {
          return {label: c.label, value: c.value,
                  colour: ["#332288", "#88CCEE", "#44AA99", "#117733", "#DDCC77", "#CC6677"][i % 6],
                  note: fmt1.format(c.value) + " (" +
                        (c.share === null ? "–" : fmt1.format(100 * c.share) + "%") + ")"};
        }), {axis: "USD million, discounted"});
      });
    }
    var ruleBox = chart("rule-costs");
    if (ruleBox) {
      draw(ruleBox, function () {
        hbars(ruleBox, DATA.rule_costs.map(function (r) {
          return {label: r.rule, value: r.cost === null ? 0 : Math.max(0, r.cost),
                  colour: r.cost > 0 ? "#CC6677" : "#BBBBBB",
                  note: r.cost === null ? "not computed" :
                        (r.cost > 0 ? fmt2.format(r.cost) : "0 (slack)")};
        }), {axis: "USD million: optimum with the rule minus without it"});
      });
    }
    var frBox = chart("frontier");
    if (frBox && DATA.frontier) {
      draw(frBox, function () { lines(frBox, DATA.frontier); });
    }
  }
  drawAll();
  document.querySelectorAll(".toggle button").forEach(function (b) {
    b.addEventListener("click", function () {
      mode = b.getAttribute("data-mode");
      document.querySelectorAll(".toggle button").forEach(function (o) {
        o.setAttribute("aria-pressed", String(o === b));
      });
      drawMix();
    });
  });
  var lastWidth = window.innerWidth, pending = null;
  window.addEventListener("resize", function () {
    if (window.innerWidth === lastWidth) { return; }
    lastWidth = window.innerWidth;
    clearTimeout(pending);
    pending = setTimeout(drawAll, 150);
  });
  document.body.setAttribute("data-report-ready", "true");
})();
