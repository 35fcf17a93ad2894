/* The charts of the reports, drawn as SVG. Every text goes in through the DOM
   (textContent), never parsed as markup. Numbers come from the page's JSON blob,
   already computed (and labels already written out) in Python; report.js picks
   what to draw. */
var Charts = (function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var fmt0 = new Intl.NumberFormat("en-US", {maximumFractionDigits: 0});
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
  /* a number in a chart's unit: "%" (a fraction), "GWh", "USD m" or plain */
  function value(v, unit) {
    if (v === null || v === undefined || !isFinite(v)) { return "–"; }
    if (unit === "%") { return fmt1.format(100 * v) + "%"; }
    if (unit === "GWh") { return fmt2.format(v) + " GWh"; }
    if (unit === "USD m") { return "USD " + fmt1.format(v) + " m"; }
    return fmt2.format(v);
  }
  /* a volume as format.gwh writes it: two decimals at most, whole GWh from 1,000 */
  function gwh(v) { return Math.abs(v) >= 1000 ? fmt0.format(v) : fmt2.format(v); }
  function tick(v, unit) {
    if (unit === "hhi") { return fmt0.format(10000 * v); }  /* an HHI cap, in points */
    if (unit === "%") {
      var p = 100 * v;
      return (Math.abs(p - Math.round(p)) < 1e-6 ? fmt0.format(p) : fmt1.format(p)) + "%";
    }
    return fmt2.format(v);
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
  function textColour(hex) {
    var r = parseInt(hex.substr(1, 2), 16), g = parseInt(hex.substr(3, 2), 16),
        b = parseInt(hex.substr(5, 2), 16);
    return (0.299 * r + 0.587 * g + 0.114 * b) > 150 ? "#1d2433" : "#ffffff";
  }
  /* items: {name, colour, line: "solid"|"dashed"|"dotted" (a line, not a swatch)} */
  function legend(box, items) {
    var ul = document.createElement("ul");
    ul.className = "legend";
    items.forEach(function (it) {
      var li = document.createElement("li");
      var sw = document.createElement("span");
      sw.className = it.line ? "swatch line " + it.line : "swatch";
      sw.style[it.line ? "borderTopColor" : "background"] = it.colour;
      li.appendChild(sw);
      li.appendChild(document.createTextNode(it.name));
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }
  function clear(box) { while (box.firstChild) { box.removeChild(box.firstChild); } }
  function width(box) { return Math.max(300, Math.round(box.clientWidth || 560)); }
  /* the widest of some labels, in the page's font at this size */
  function widest(box, labels, size) {
    var probe = el("svg", {width: 10, height: 10}, box), w = 0;
    labels.forEach(function (s) {
      var t = text(probe, 0, 0, s, {"font-size": size});
      w = Math.max(w, Math.ceil(t.getComputedTextLength()));
    });
    box.removeChild(probe);
    return w;
  }
  var DASH = {solid: undefined, dashed: "6 4", dotted: "2 3"};

  /* Stacked bars, one per category (d.periods): d.series [{name, colour, values}];
     mode "share" draws each bar as 100%. */
  function stackedBars(box, d, mode) {
    clear(box);
    var W = width(box), H = 290, m = {l: 58, r: 8, t: 20, b: 44};
    var iw = W - m.l - m.r, ih = H - m.t - m.b, n = d.periods.length;
    var totals = d.periods.map(function (_, i) {
      return d.series.reduce(function (s, se) { return s + se.values[i]; }, 0);
    });
    var share = mode === "share";
    var unit = d.unit || "GWh";
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
    text(svg, 14, m.t + ih / 2, share ? (d.share_label || "Share of GWh bought") :
         (d.y_label || "GWh bought"),
         {"class": "axis-label", "text-anchor": "middle",
          transform: "rotate(-90 14 " + (m.t + ih / 2) + ")"});
    text(svg, m.l + iw / 2, H - 6, d.x_label || "Period",
         {"class": "axis-label", "text-anchor": "middle"});
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
        hover(r, s.name + ", " + p + ": " + (unit === "%" ? value(v, unit) :
              fmt2.format(v) + " " + unit) + " (" + fmt1.format(100 * v / totals[i]) + "%)");
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

  /* Horizontal bars, one per item {label, value, colour, note}; values may be
     negative (drawn left of zero). */
  function hbars(box, items, opts) {
    clear(box);
    var W = width(box), row = 34, m = {l: 60, r: 130, t: 8, b: 38};
    m.l = Math.min(Math.max(m.l, widest(box, items.map(function (it) { return it.label; }), 13)
                            + 18), Math.round(W * 0.45));
    var H = m.t + m.b + row * items.length, iw = W - m.l - m.r;
    var vals = items.map(function (it) { return it.value || 0; });
    var lo = Math.min.apply(null, vals.concat([0])), hi = Math.max.apply(null, vals.concat([0]));
    var ticks = lo < 0 ? niceRange(lo, hi, 4) : niceTicks(hi, 4);
    var x0 = ticks[0], x1 = ticks[ticks.length - 1] || 1;
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, "aria-hidden": "true"}, box);
    var x = function (v) { return m.l + iw * (v - x0) / (x1 - x0); };
    var g = el("g", {"class": "axis"}, svg);
    ticks.forEach(function (t) {
      el("line", {x1: x(t), x2: x(t), y1: m.t, y2: H - m.b, "class": "grid-line"}, g);
      text(g, x(t), H - m.b + 15, fmt2.format(t), {"text-anchor": "middle", "class": "tick"});
    });
    text(svg, m.l + iw / 2, H - 4, opts.axis, {"class": "axis-label", "text-anchor": "middle"});
    var nbars = 0;
    items.forEach(function (it, i) {
      var yy = m.t + row * i + 6, v = it.value || 0;
      text(svg, m.l - 8, yy + 15, it.label, {"text-anchor": "end", "font-size": 13});
      var left = Math.min(x(0), x(v)), w = Math.abs(x(v) - x(0));
      var bar = el("rect", {x: left, y: yy, width: Math.max(it.value ? 1.5 : 0, w),
                            height: row - 12, fill: it.colour || "#332288", "class": "hbar",
                            "data-label": it.label}, svg);
      hover(bar, it.label + ": " + it.note);
      text(svg, x(Math.max(v, 0)) + 6, yy + 15, it.note, {"font-size": 12, "class": "axis-label"});
      nbars += 1;
    });
    el("line", {x1: x(0), x2: x(0), y1: m.t, y2: H - m.b, stroke: "#8a93a3"}, svg);
    box.setAttribute("data-bars", nbars);
  }

  /* Lines of points [x, y] (null: no plan, a gap); fr.markers [{x, label}] are
     vertical lines; each series' steps [xa, ya, xb, yb, label] are written at
     the middle of their segment. */
  function lines(box, fr) {
    clear(box);
    var W = width(box), H = 320, m = {l: 84, r: 20, t: 22, b: 48};
    var iw = W - m.l - m.r, ih = H - m.t - m.b, xs = [], ys = [];
    var markers = fr.markers || [];
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
    markers.forEach(function (mk) { xs.push(mk.x); });
    var xt = niceRange(Math.min.apply(null, xs), Math.max.apply(null, xs), 6);
    var yt = niceRange(Math.min.apply(null, ys), Math.max.apply(null, ys), 5);
    var x0 = xt[0], x1 = xt[xt.length - 1], y0 = yt[0], y1 = yt[yt.length - 1];
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, "aria-hidden": "true"}, box);
    var X = function (v) { return m.l + iw * (v - x0) / (x1 - x0); };
    var Y = function (v) { return m.t + ih - ih * (v - y0) / (y1 - y0); };
    var xunit = fr.x_unit !== undefined ? fr.x_unit : (fr.x_share ? "%" : "");
    var g = el("g", {"class": "axis"}, svg);
    yt.forEach(function (v) {
      el("line", {x1: m.l, x2: m.l + iw, y1: Y(v), y2: Y(v), "class": "grid-line"}, g);
      text(g, m.l - 6, Y(v) + 4, fmt2.format(v), {"text-anchor": "end", "class": "tick"});
    });
    xt.forEach(function (v) {
      el("line", {x1: X(v), x2: X(v), y1: m.t, y2: m.t + ih, "class": "grid-line"}, g);
      text(g, X(v), m.t + ih + 16, tick(v, xunit), {"text-anchor": "middle", "class": "tick"});
    });
    el("line", {x1: m.l, x2: m.l + iw, y1: m.t + ih, y2: m.t + ih}, g);
    text(svg, 14, m.t + ih / 2, fr.y_label || "Total cost, USD million",
         {"class": "axis-label", "text-anchor": "middle",
          transform: "rotate(-90 14 " + (m.t + ih / 2) + ")"});
    text(svg, m.l + iw / 2, H - 6, fr.x_label, {"class": "axis-label", "text-anchor": "middle"});
    markers.forEach(function (mk) {
      var line = el("line", {x1: X(mk.x), x2: X(mk.x), y1: m.t, y2: m.t + ih, "class": "marker",
                             stroke: "#882255", "stroke-width": 1.6,
                             "stroke-dasharray": "5 4"}, svg);
      hover(line, mk.label);
      var right = X(mk.x) > m.l + iw * 0.7;
      text(svg, X(mk.x) + (right ? -4 : 4), m.t - 6, mk.label,
           {"text-anchor": right ? "end" : "start", "font-size": 11.5,
            style: "fill:#882255", "class": "marker-label"});
    });
    var npts = 0, nsteps = 0, total = 0;
    fr.series.forEach(function (s) { total += (s.steps || []).length; });
    fr.series.forEach(function (s) {
      var dpath = "", pen = false;
      s.points.forEach(function (p) {
        if (p[0] === null || p[1] === null) { pen = false; return; }
        dpath += (pen ? "L" : "M") + X(p[0]).toFixed(2) + "," + Y(p[1]).toFixed(2);
        pen = true;
      });
      el("path", {d: dpath, fill: "none", stroke: s.colour, "stroke-width": 2.2}, svg);
      (s.steps || []).forEach(function (st) {
        var seg = el("line", {x1: X(st[0]), y1: Y(st[1]), x2: X(st[2]), y2: Y(st[3]),
                              stroke: "transparent", "stroke-width": 12, "class": "step"}, svg);
        hover(seg, s.name + ": " + tick(st[0], xunit) + " → " + tick(st[2], xunit) + ": " +
              st[4] + " USD m");
        if (total <= 16) {  /* beside the segment's middle, above the line */
          var falling = (st[3] - st[1]) * (st[2] - st[0]) < 0;
          text(svg, (X(st[0]) + X(st[2])) / 2 + (falling ? 5 : -5),
               (Y(st[1]) + Y(st[3])) / 2 - 6, st[4],
               {"text-anchor": falling ? "start" : "end", "font-size": 10.5,
                "class": "step-label", style: "fill:" + s.colour});
        }
        nsteps += 1;
      });
      s.points.forEach(function (p) {
        if (p[0] === null || p[1] === null) { return; }
        var c = el("circle", {cx: X(p[0]), cy: Y(p[1]), r: 4, fill: s.colour,
                              "class": "point"}, svg);
        hover(c, s.name + ": limit " + tick(p[0], xunit) + ", USD " + fmt1.format(p[1]) + " m");
        npts += 1;
      });
    });
    legend(box, fr.series);
    box.setAttribute("data-points", npts);
    box.setAttribute("data-steps", nsteps);
  }

  /* Vertical bars per category: c.series [{name, colour, values, labels?}],
     stacked or side by side; c.lines [{name, value, colour, dash}] are
     horizontal reference lines; c.marked [bool per category] colours the
     first series' bar with c.mark.colour; c.fit starts the axis near the
     smallest value (said in the chart) instead of at zero. */
  function columns(box, c) {
    clear(box);
    var W = width(box), H = c.height || 300, m = {l: 70, r: 12, t: 24, b: 40};
    var n = c.categories.length, ns = c.series.length, unit = c.unit || "";
    var lw = widest(box, c.categories.map(String), 11.5);
    var slot0 = (W - m.l - m.r) / Math.max(n, 1), rotate = lw > slot0 - 8;
    if (rotate) { m.b = Math.min(170, Math.round(lw * 0.66) + 30); }
    var ih = (H - m.t - m.b > 150) ? H - m.t - m.b : 150;
    H = m.t + m.b + ih;
    var iw = W - m.l - m.r, slot = iw / Math.max(n, 1);
    var vals = [], lines = c.lines || [];
    c.categories.forEach(function (_, i) {
      if (c.stacked) {
        var pos = 0, neg = 0;
        c.series.forEach(function (s) {
          var v = s.values[i] || 0;
          if (v > 0) { pos += v; } else { neg += v; }
        });
        vals.push(pos, neg);
      } else {
        c.series.forEach(function (s) { if (s.values[i] !== null) { vals.push(s.values[i]); } });
      }
    });
    lines.forEach(function (l) { if (l.value !== null) { vals.push(l.value); } });
    var lo = Math.min.apply(null, vals.concat([0])), hi = Math.max.apply(null, vals.concat([0]));
    var fitted = false;
    if (c.fit && !c.stacked && vals.length) {
      var vmin = Math.min.apply(null, vals), vmax = Math.max.apply(null, vals);
      if (vmin > 0 && vmin > 0.35 * vmax) {
        var pad = Math.max((vmax - vmin) * 0.25, vmax * 0.005);
        lo = vmin - pad; hi = vmax; fitted = true;
      }
    }
    var yt = niceRange(lo, hi, 5), y0 = yt[0], y1 = yt[yt.length - 1];
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, "aria-hidden": "true"}, box);
    var Y = function (v) { return m.t + ih - ih * (v - y0) / (y1 - y0); };
    var g = el("g", {"class": "axis"}, svg);
    yt.forEach(function (v) {
      el("line", {x1: m.l, x2: m.l + iw, y1: Y(v), y2: Y(v), "class": "grid-line"}, g);
      text(g, m.l - 6, Y(v) + 4, tick(v, unit), {"text-anchor": "end", "class": "tick"});
    });
    var base = fitted ? y0 : 0;
    el("line", {x1: m.l, x2: m.l + iw, y1: Y(base), y2: Y(base)}, g);
    text(svg, 14, m.t + ih / 2, c.y_label || "",
         {"class": "axis-label", "text-anchor": "middle",
          transform: "rotate(-90 14 " + (m.t + ih / 2) + ")"});
    if (fitted) {
      text(svg, m.l + 4, m.t - 8, "axis starts at " + tick(y0, unit) + ", not at zero",
           {"class": "axis-label", "font-size": 11});
    }
    var bw = Math.min(64, slot * 0.7), nbars = 0;
    var few = n * (c.stacked ? 1 : ns) <= 16;
    c.categories.forEach(function (cat, i) {
      var x = m.l + slot * i + (slot - bw) / 2, up = 0, down = 0;
      var group = el("g", {"class": "col-group", "data-category": cat}, svg);
      c.series.forEach(function (s, k) {
        var v = s.values[i];
        if (v === null || v === undefined) { return; }
        var fill = (k === 0 && c.marked && c.marked[i] && c.mark) ? c.mark.colour : s.colour;
        var a, b, bx = x, w = bw;
        if (c.stacked) {
          if (v >= 0) { a = up; b = up + v; up = b; } else { a = down; b = down + v; down = b; }
        } else {
          a = base; b = v; w = bw / ns; bx = x + w * k;
        }
        var top = Math.min(Y(a), Y(b)), h = Math.abs(Y(a) - Y(b));
        var r = el("rect", {x: bx + 0.5, y: top, width: Math.max(1, w - 1), height: h,
                            fill: fill, "class": "col", "data-series": s.name}, group);
        var label = s.labels ? s.labels[i] : value(v, unit);
        hover(r, cat + ", " + s.name + ": " + label + (c.notes && c.notes[i] ?
              " (" + c.notes[i] + ")" : ""));
        if (few && !c.stacked && s.labels) {
          text(group, bx + w / 2, top - 4, s.labels[i],
               {"text-anchor": "middle", "font-size": 10.5, "class": "axis-label value-label"});
        }
        nbars += 1;
      });
      var lx = x + bw / 2, ly = Y(base) + 15;
      if (rotate) {
        text(svg, lx + 4, Y(base) + 12, String(cat), {"text-anchor": "end", "class": "tick",
             transform: "rotate(-40 " + (lx + 4) + " " + (Y(base) + 12) + ")"});
      } else {
        text(svg, lx, ly, String(cat), {"text-anchor": "middle", "class": "tick"});
      }
    });
    lines.forEach(function (l) {
      if (l.value === null) { return; }
      var line = el("line", {x1: m.l, x2: m.l + iw, y1: Y(l.value), y2: Y(l.value),
                             stroke: l.colour, "stroke-width": 2,
                             "stroke-dasharray": DASH[l.dash || "solid"],
                             "class": "ref-line", "data-line": l.name}, svg);
      hover(line, l.name + ": " + value(l.value, unit));
    });
    var items = c.series.map(function (s) { return {name: s.name, colour: s.colour}; });
    if (c.mark && c.marked && c.marked.some(Boolean)) {
      items.push({name: c.mark.name, colour: c.mark.colour});
    }
    lines.forEach(function (l) {
      if (l.value !== null) { items.push({name: l.name, colour: l.colour, line: l.dash || "solid"}); }
    });
    legend(box, items);
    box.setAttribute("data-bars", nbars);
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

  return {fmt1: fmt1, fmt2: fmt2, gwh: gwh, value: value, stackedBars: stackedBars, hbars: hbars,
          lines: lines, columns: columns, draw: draw};
})();
