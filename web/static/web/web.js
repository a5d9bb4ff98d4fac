// The workspace's behaviour: charts from JSON data blocks, htmx form errors, nothing inline (CSP).
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  var locale = lang === "zh-hans" ? "zh-CN" : lang;
  document.documentElement.classList.add("kam-js");

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

  function drawCharts(root) {
    if (typeof Chart === "undefined") { return; }
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.animation = false;
    var words = labels();
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var build = builders[canvas.dataset.chart];
      var data = readJson(canvas.dataset.source);
      if (!build || !data || Chart.getChart(canvas)) { return; }
      new Chart(canvas, build(data, words));
      canvas.dataset.drawn = "true";
    });
  }

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.body.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
})();
