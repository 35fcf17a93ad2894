(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var C = Charts;

  function chart(name) { return document.querySelector('[data-chart="' + name + '"]'); }

  /* ---------------------------------------------------------------- the solve report */
  var mode = "gwh";
  function drawMix() {
    (DATA.mix || []).concat(DATA.building || []).forEach(function (d) {
      var box = chart("mix-" + d.id);
      if (box) { C.draw(box, function () { C.stackedBars(box, d, mode); }); }
    });
  }
  function drawSolve() {
    drawMix();
    var costBox = chart("costs");
    if (costBox && DATA.costs) {
      C.draw(costBox, function () {
        C.hbars(costBox, DATA.costs.map(function (c, i) {
          return {label: c.label, value: c.value,
                  colour: ["#332288", "#88CCEE", "#44AA99", "#117733", "#DDCC77", "#CC6677"][i % 6],
                  note: C.fmt1.format(c.value) + " (" +
                        (c.share === null ? "–" : C.fmt1.format(100 * c.share) + "%") + ")"};
        }), {axis: "USD million, discounted"});
      });
    }
    var ruleBox = chart("rule-costs");
    if (ruleBox && DATA.rule_costs) {
      C.draw(ruleBox, function () {
        C.hbars(ruleBox, DATA.rule_costs.map(function (r) {
          return {label: r.rule, value: r.cost === null ? 0 : Math.max(0, r.cost),
                  colour: r.cost > 0 ? "#CC6677" : "#BBBBBB",
                  note: r.cost === null ? "not computed" :
                        (r.cost > 0 ? C.fmt2.format(r.cost) : "0 (slack)")};
        }), {axis: "USD million: optimum with the rule minus without it"});
      });
    }
    var frBox = chart("frontier");
    if (frBox && DATA.frontier) {
      C.draw(frBox, function () { C.lines(frBox, DATA.frontier); });
    }
  }

  /* ---------------------------------------------------------------- charts by name */
  var DRAW = {
    columns: function (box, c) { C.columns(box, c); },
    stacked: function (box, c) { C.stackedBars(box, c, c.mode || "gwh"); },
    hbars: function (box, c) { C.hbars(box, c.items, c); },
    lines: function (box, c) { C.lines(box, c); }
  };
  function drawNamed() {
    var charts = DATA.charts || {};
    Object.keys(charts).forEach(function (name) {
      var box = chart(name), spec = charts[name];
      if (!box) { return; }
      C.draw(box, function () {
        if (!DRAW[spec.type]) { throw new Error("unknown chart type " + spec.type); }
        DRAW[spec.type](box, spec);
      });
    });
  }
  function drawAll() {
    drawSolve();
    drawNamed();
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

  /* ---------------------------------------------------------------- tables */
  /* a sortable table: each header's button sorts by its column (numbers by the
     cells' data-sort values), ascending then descending; totals stay last */
  function sortable(table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        Array.prototype.forEach.call(heads, function (o) { o.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", dir);
        var numeric = th.classList.contains("num"), sign = dir === "ascending" ? 1 : -1;
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var keep = rows.filter(function (r) { return r.classList.contains("total"); });
        var keyed = rows.filter(function (r) { return !r.classList.contains("total"); })
          .map(function (r, i) {
            var cell = r.cells[col], raw = cell.getAttribute("data-sort");
            var k = raw === null ? cell.textContent.trim() : raw;
            if (numeric) {
              k = parseFloat(String(k).replace(/,/g, ""));
              if (!isFinite(k)) { k = null; }
            } else {
              k = String(k).toLowerCase();
            }
            return {row: r, key: k, i: i};
          });
        keyed.sort(function (a, b) {
          if (a.key === null || b.key === null) {  // missing numbers last, either way
            return a.key === b.key ? a.i - b.i : (a.key === null ? 1 : -1);
          }
          var d = numeric ? a.key - b.key : a.key.localeCompare(b.key);
          return d !== 0 ? sign * d : a.i - b.i;
        });
        keyed.forEach(function (k) { body.appendChild(k.row); });
        keep.forEach(function (r) { body.appendChild(r); });
      });
    });
  }
  document.querySelectorAll("table[data-sortable]").forEach(sortable);

  /* a filtered table: a text box (every word must appear in the row) and a
     selector of one value of a row's data-app; a line counts what is shown */
  function filterTable(key) {
    var table = document.querySelector('table[data-table="' + key + '"]');
    if (!table) { return; }
    var box = document.querySelector('[data-filter="' + key + '"]');
    var select = document.querySelector('[data-select="' + key + '"]');
    var count = document.querySelector('[data-count="' + key + '"]');
    function apply() {
      var words = box ? box.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
      var app = select ? select.value : "";
      var shown = 0, gwh = 0, cost = 0, rows = table.tBodies[0].rows;
      Array.prototype.forEach.call(rows, function (r) {
        var hay = r.textContent.toLowerCase();
        var ok = words.every(function (w) { return hay.indexOf(w) >= 0; }) &&
                 (!app || r.getAttribute("data-app") === app);
        r.hidden = !ok;
        if (ok) {
          shown += 1;
          gwh += parseFloat(r.getAttribute("data-gwh") || "0");
          cost += parseFloat(r.getAttribute("data-cost") || "0");
        }
      });
      table.setAttribute("data-shown", shown);
      if (count) {
        count.textContent = "Showing " + shown + " of " + rows.length + " rows: " +
          C.gwh(gwh) + " GWh, USD " + C.fmt1.format(cost) + " m.";
      }
    }
    if (box) { box.addEventListener("input", apply); }
    if (select) { select.addEventListener("change", apply); }
    apply();
  }
  document.querySelectorAll("table[data-table]").forEach(function (t) {
    filterTable(t.getAttribute("data-table"));
  });

  document.body.setAttribute("data-report-ready", "true");
})();
