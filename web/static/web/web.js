// The workspace's behaviour: charts from JSON data blocks, htmx form errors, nothing inline (CSP).
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  var locale = lang === "zh-hans" ? "zh-CN" : lang;
  document.documentElement.classList.add("kam-js");
  // htmx carries "style" over from an element it replaces to the one with the same id; Chart.js
  // sizes canvases through their style, and copying it back is an inline style the CSP refuses.
  if (window.htmx) { window.htmx.config.attributesToSettle = ["class", "width", "height"]; }

  // Forms answer 422 (invalid) or 409 (stale version) with the re-rendered form: let htmx swap it in.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 409 || status === 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  var compact = new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 });
  var whole = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  var oneDecimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  var dateFormat = new Intl.DateTimeFormat(locale, { year: "numeric", month: "short" });
  var dayFormat = new Intl.DateTimeFormat(locale, { year: "numeric", month: "short", day: "numeric" });
  var DAY = 86400000;
  var palette = { primary: "#1d4ed8", accent: "#c2410c", green: "#15803d", grey: "#6b7280", red: "#b91c1c", amber: "#b45309" };
  var statusColours = { active: palette.green, draft: palette.grey, expired: palette.amber, renewed: palette.primary, terminated: palette.red };

  function labels() { return readJson("chart-labels") || {}; }
  function epoch(iso) { var p = iso.split("-"); return Date.UTC(+p[0], +p[1] - 1, +p[2]); }

  // A vertical "today" line on the renewal timeline.
  var todayLine = {
    id: "kamToday",
    afterDatasetsDraw: function (chart, args, options) {
      if (options.at === undefined) { return; }
      var x = chart.scales.x.getPixelForValue(options.at);
      var area = chart.chartArea;
      if (x < area.left || x > area.right) { return; }
      var ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = palette.red;
      ctx.setLineDash([4, 4]);
      ctx.beginPath(); ctx.moveTo(x, area.top); ctx.lineTo(x, area.bottom); ctx.stroke();
      ctx.fillStyle = palette.red;
      ctx.fillText(options.label || "", x + 4, area.top + 10);
      ctx.restore();
    }
  };

  var builders = {
    revenue: function (data, words) {
      return {
        type: "bar",
        data: { labels: data.years, datasets: [{ label: words.revenue, data: data.revenue, backgroundColor: palette.primary, borderRadius: 3 }] },
        options: {
          plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (c) { return whole.format(c.parsed.y) + " " + data.currency; } } } },
          scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return compact.format(v); } } } }
        }
      };
    },
    payment: function (data, words) {
      return {
        type: "line",
        data: {
          labels: data.years,
          datasets: [
            { label: words.daysToPay, data: data.daysToPay, borderColor: palette.primary, backgroundColor: palette.primary, tension: 0.25, spanGaps: true },
            { label: words.daysLate, data: data.daysLate, borderColor: palette.accent, backgroundColor: palette.accent, tension: 0.25, spanGaps: true }
          ]
        },
        options: {
          plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + oneDecimal.format(c.parsed.y) + " " + (words.days || ""); } } } },
          scales: { y: { beginAtZero: true } }
        }
      };
    },
    aging: function (data, words) {
      var names = (words.buckets || {});
      return {
        type: "bar",
        data: {
          labels: data.buckets.map(function (b) { return names[b] || b; }),
          datasets: [{ label: words.amount, data: data.amounts, borderRadius: 3,
            backgroundColor: [palette.green, palette.amber, palette.accent, palette.red, "#7f1d1d"] }]
        },
        options: {
          plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (c) { return whole.format(c.parsed.y) + " " + data.currency; } } } },
          scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return compact.format(v); } } } }
        }
      };
    },
    timeline: function (data, words) {
      var items = data.items;
      // Floating bars: the axis must span the contracts (a linear axis would otherwise start at 1970).
      var starts = items.map(function (i) { return epoch(i.start); });
      var ends = items.map(function (i) { return epoch(i.end) + DAY; });
      var low = Math.min.apply(null, starts.concat([epoch(data.today)]));
      var high = Math.max.apply(null, ends.concat([epoch(data.today)]));
      var pad = (high - low) * 0.03;
      return {
        type: "bar",
        data: {
          labels: items.map(function (i) { return i.label; }),
          datasets: [{
            label: words.annualValue,
            data: items.map(function (i) { return [epoch(i.start), epoch(i.end) + DAY]; }),
            backgroundColor: items.map(function (i) { return statusColours[i.status] || palette.grey; }),
            borderRadius: 3, borderSkipped: false, barPercentage: 0.7
          }]
        },
        options: {
          indexAxis: "y",
          plugins: {
            legend: { display: false },
            kamToday: { at: epoch(data.today), label: words.today },
            tooltip: { callbacks: { label: function (c) {
              var i = items[c.dataIndex];
              return [i.statusLabel, dayFormat.format(epoch(i.start)) + " – " + dayFormat.format(epoch(i.end)), whole.format(i.value) + " " + i.currency];
            } } }
          },
          scales: { x: { type: "linear", min: low - pad, max: high + pad, ticks: { maxTicksLimit: 8, callback: function (v) { return dateFormat.format(new Date(v)); } } } }
        },
        plugins: [todayLine]
      };
    }
  };

  // A bar per factor: the points it contributes and the points it loses (DOMAIN.md §1.7); the three
  // factors holding the score down are drawn darker.
  builders.factors = function (data, words) {
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: words.contribution, data: data.contribution, backgroundColor: palette.primary, stack: "points" },
          { label: words.lost, data: data.lost, stack: "points",
            backgroundColor: data.top.map(function (top) { return top ? palette.red : "#fca5a5"; }) }
        ]
      },
      options: {
        indexAxis: "y",
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + oneDecimal.format(c.parsed.x); } } }
        },
        scales: {
          x: { stacked: true, beginAtZero: true },
          y: { stacked: true, ticks: { autoSkip: false, callback: function (v) {
            var label = this.getLabelForValue(v);
            return label.length > 38 ? label.slice(0, 36) + "…" : label;
          } } }
        }
      }
    };
  };

  // The health score over the last year, with the yellow and green edges as dashed lines.
  builders.healthTrend = function (data, words) {
    var edge = function (value, colour, label) {
      return { label: label, data: data.dates.map(function () { return value; }), borderColor: colour,
        borderDash: [4, 4], borderWidth: 1, pointRadius: 0, fill: false };
    };
    var dots = data.dates.length < 40 ? 3 : 0;  // a short history is a few points, not a line
    var sets = [{ label: words.healthShown, data: data.shown, borderColor: palette.primary, backgroundColor: palette.primary,
      pointRadius: dots, tension: 0.2, spanGaps: true }];
    if (data.shown.join() !== data.computed.join()) {
      sets.push({ label: words.healthComputed, data: data.computed, borderColor: palette.grey, pointRadius: dots, spanGaps: true });
    }
    if (data.yellow !== null) { sets.push(edge(data.yellow, palette.amber, words.yellowFrom)); }
    if (data.green !== null) { sets.push(edge(data.green, palette.green, words.greenFrom)); }
    return {
      type: "line",
      data: { labels: data.dates.map(function (d) { return dayFormat.format(epoch(d)); }), datasets: sets },
      options: {
        plugins: { legend: { display: false } },
        scales: { y: { min: 0, max: 100 }, x: { ticks: { maxTicksLimit: 6 } } }
      }
    };
  };

  // The executive dashboard: a sparkline per KPI tile and four charts of the published snapshot.
  function periodAxis(data) { return { ticks: { maxTicksLimit: 6, autoSkip: true } }; }
  builders.spark = function (data) {
    return {
      type: "line",
      data: { labels: data.map(function (_, i) { return i; }), datasets: [{ data: data, borderColor: palette.primary, borderWidth: 1.5,
        pointRadius: 0, tension: 0.25, spanGaps: true, fill: false }] },
      options: { plugins: { legend: { display: false }, tooltip: { enabled: false } }, events: [],
        scales: { x: { display: false }, y: { display: false } } }
    };
  };
  builders.dashTiers = function (data, words) {
    return {
      type: "doughnut",
      data: { labels: data.tiers.labels, datasets: [{ data: data.tiers.shares,
        backgroundColor: ["#5b21b6", "#1d4ed8", "#0f766e", "#6b7280"] }] },
      options: { plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: function (c) {
        return c.label + ": " + oneDecimal.format(c.parsed) + "%"; } } } } }
    };
  };
  builders.dashConcentration = function (data, words) {
    return {
      type: "line",
      data: { labels: data.labels, datasets: [
        { label: words.top5, data: data.concentration.top5, borderColor: palette.primary, backgroundColor: palette.primary, yAxisID: "y", spanGaps: true, tension: 0.2 },
        { label: words.hhi, data: data.concentration.hhi, borderColor: palette.accent, backgroundColor: palette.accent, yAxisID: "y1", spanGaps: true, tension: 0.2 }
      ] },
      options: { plugins: { legend: { position: "bottom" } }, scales: { x: periodAxis(data),
        y: { beginAtZero: true, ticks: { callback: function (v) { return v + "%"; } } },
        y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } } }
    };
  };
  builders.dashSatisfaction = function (data, words) {
    return {
      type: "line",
      data: { labels: data.labels, datasets: [
        { label: words.nps, data: data.satisfaction.nps, borderColor: palette.primary, backgroundColor: palette.primary, yAxisID: "y", spanGaps: true, tension: 0.2 },
        { label: words.csat, data: data.satisfaction.csat, borderColor: palette.green, backgroundColor: palette.green, yAxisID: "y1", spanGaps: true, tension: 0.2 },
        { label: words.ces_easy, data: data.satisfaction.ces_easy, borderColor: palette.amber, backgroundColor: palette.amber, yAxisID: "y1", spanGaps: true, tension: 0.2 }
      ] },
      options: { plugins: { legend: { position: "bottom" } }, scales: { x: periodAxis(data),
        y: { suggestedMin: -100, suggestedMax: 100 },
        y1: { min: 0, max: 100, position: "right", grid: { drawOnChartArea: false }, ticks: { callback: function (v) { return v + "%"; } } } } }
    };
  };
  builders.dashSla = function (data, words) {
    return {
      type: "bar",
      data: { labels: data.labels, datasets: [{ label: words.sla, data: data.service.sla, backgroundColor: palette.primary, borderRadius: 3 }] },
      options: { plugins: { legend: { display: false } }, scales: { x: periodAxis(data),
        y: { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } } } }
    };
  };

  function drawCharts(root) {
    if (typeof Chart === "undefined") { return; }
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.animation = false;
    var words = labels();
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var build = builders[canvas.dataset.chart];
      var data = readJson(canvas.dataset.source);
      if (data && canvas.dataset.key) { data = data[canvas.dataset.key]; }
      if (!build || !data || Chart.getChart(canvas)) { return; }
      new Chart(canvas, build(data, words));
      canvas.dataset.drawn = "true";
    });
  }

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.body.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
})();
