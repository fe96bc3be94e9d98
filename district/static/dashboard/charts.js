/* Charts drawn with the project's own copy of ECharts (static/vendor/echarts.min.js); data comes from a JSON
   block inside each .chart element, rendered by the server. */
(function () {
  "use strict";
  var PALETTE = ["#0b5394", "#e69138", "#6aa84f", "#cc0000"];

  function data(el) {
    var block = el.querySelector('script[type="application/json"]');
    try { return block ? JSON.parse(block.textContent) : null; } catch (e) { return null; }
  }
  function num(s) { return s === null || s === undefined || s === "" ? null : Number(s); }
  /* An axis fitted to the data (issue 17 item 6): bars that all sit near 100 % get an axis from a little below
     the lowest of them, so the gaps show; the floor is a multiple of 5 and never below 0. */
  function fittedMin(values) {
    var present = values.filter(function (v) { return v !== null && v !== undefined; });
    if (!present.length) { return 0; }
    var low = Math.min.apply(null, present);
    return Math.max(0, Math.floor((low - 5) / 5) * 5);
  }

  var builders = {
    completeness: function (d, el) {
      var tilt = d.townships.length > 6 || el.clientWidth < 60 * d.townships.length + 80;  /* a phone: labels slant */
      return {
        color: PALETTE, tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null ? "—" : v + "%"; } },
        legend: { top: 0 }, grid: { left: 40, right: 10, top: 36, bottom: 30, containLabel: true },
        xAxis: { type: "category", data: d.townships, axisLabel: { interval: 0, rotate: tilt ? 30 : 0 } },
        yAxis: { type: "value", min: fittedMin(d.completeness.concat(d.timeliness)), max: 100, axisLabel: { formatter: "{value}%" } },
        series: [
          { name: d.labels.completeness, type: "bar", data: d.completeness, barMaxWidth: 28 },
          { name: d.labels.timeliness, type: "bar", data: d.timeliness, barMaxWidth: 28 }
        ]
      };
    },
    indicators: function (d, el) {
      /* 不适用 rows are absent (not drawn as 0); each bar is named by its indicator, not its code */
      var rows = d.rows.filter(function (r) { return r.applicable; });
      var names = rows.map(function (r) { return (d.lang === "en" ? r.name_en : r.name_zh) || r.code; });
      el.style.height = Math.max(220, rows.length * 22 + 60) + "px";
      return {
        color: PALETTE, tooltip: { trigger: "axis", axisPointer: { type: "shadow" } }, legend: { top: 0 },
        grid: { left: 10, right: 16, top: 36, bottom: 10, containLabel: true },
        yAxis: { type: "category", data: names, inverse: true, axisLabel: { interval: 0, width: 160, overflow: "truncate" } },
        xAxis: { type: "value" },
        series: [
          { name: d.labels.available, type: "bar", data: rows.map(function (r) { return num(r.available); }), barGap: "-100%", itemStyle: { color: "#dde6ef" }, barMaxWidth: 26 },
          { name: d.labels.earned, type: "bar", data: rows.map(function (r) { return num(r.earned); }), barMaxWidth: 26 }
        ]
      };
    },
    fund: function (d) {
      return {
        color: PALETTE, tooltip: { trigger: "axis" }, legend: { top: 0 },
        grid: { left: 50, right: 50, top: 36, bottom: 24, containLabel: true },
        xAxis: { type: "category", data: d.months },
        /* the balance (结余) on its own right-hand axis, fitted to its own range, so its changes show */
        yAxis: [
          { type: "value", name: d.labels.flows || "" },
          { type: "value", name: d.labels.closing, scale: true, splitLine: { show: false } }
        ],
        series: [
          { name: d.labels.received, type: "bar", data: d.received.map(num), barMaxWidth: 24 },
          { name: d.labels.spend, type: "bar", data: d.spend.map(num), barMaxWidth: 24 },
          { name: d.labels.closing, type: "line", yAxisIndex: 1, data: d.closing.map(num) }
        ]
      };
    }
  };

  /* what the browser tests read: the builders are the charts' whole logic (data in, ECharts option out) */
  window.houqinCharts = { builders: builders, fittedMin: fittedMin };

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.echarts) { return; }
    document.querySelectorAll(".chart[data-chart]").forEach(function (el) {
      var d = data(el);
      var build = builders[el.getAttribute("data-chart")];
      if (!d || !build) { el.classList.add("empty-chart"); return; }
      var option = build(d, el);
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(option);
      /* a resize rebuilds the option too: label slant and the rows' height follow the new width */
      window.addEventListener("resize", function () { chart.setOption(build(d, el), true); chart.resize(); });
      el.setAttribute("data-rendered", "1");
    });
  });
})();
