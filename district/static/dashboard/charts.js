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

  var builders = {
    completeness: function (d) {
      return {
        color: PALETTE, tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null ? "—" : v + "%"; } },
        legend: { top: 0 }, grid: { left: 40, right: 10, top: 36, bottom: 30, containLabel: true },
        xAxis: { type: "category", data: d.townships, axisLabel: { interval: 0, rotate: d.townships.length > 6 ? 30 : 0 } },
        yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
        series: [
          { name: d.labels.completeness, type: "bar", data: d.completeness, barMaxWidth: 28 },
          { name: d.labels.timeliness, type: "bar", data: d.timeliness, barMaxWidth: 28 }
        ]
      };
    },
    indicators: function (d) {
      var rows = d.rows.filter(function (r) { return r.applicable; });
      var names = rows.map(function (r) { return r.code; });
      return {
        color: PALETTE, tooltip: { trigger: "axis" }, legend: { top: 0 },
        grid: { left: 30, right: 10, top: 36, bottom: 24, containLabel: true },
        xAxis: { type: "category", data: names, axisLabel: { interval: 0 } },
        yAxis: { type: "value" },
        series: [
          { name: d.labels.available, type: "bar", data: rows.map(function (r) { return num(r.available); }), barGap: "-100%", itemStyle: { color: "#dde6ef" }, barMaxWidth: 26 },
          { name: d.labels.earned, type: "bar", data: rows.map(function (r) { return num(r.earned); }), barMaxWidth: 26 }
        ]
      };
    },
    fund: function (d) {
      return {
        color: PALETTE, tooltip: { trigger: "axis" }, legend: { top: 0 },
        grid: { left: 50, right: 10, top: 36, bottom: 24, containLabel: true },
        xAxis: { type: "category", data: d.months },
        yAxis: { type: "value" },
        series: [
          { name: d.labels.received, type: "bar", data: d.received.map(num), barMaxWidth: 24 },
          { name: d.labels.spend, type: "bar", data: d.spend.map(num), barMaxWidth: 24 },
          { name: d.labels.closing, type: "line", data: d.closing.map(num) }
        ]
      };
    }
  };

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.echarts) { return; }
    document.querySelectorAll(".chart[data-chart]").forEach(function (el) {
      var d = data(el);
      var build = builders[el.getAttribute("data-chart")];
      if (!d || !build) { el.classList.add("empty-chart"); return; }
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(build(d));
      window.addEventListener("resize", function () { chart.resize(); });
      el.setAttribute("data-rendered", "1");
    });
  });
})();
