// A version's page: the examples kept and removed by each rule as a bar chart, drawn with Chart.js (served from
// our own static files) from the page's json_script data. The table beside it has the same numbers.
(function () {
  "use strict";
  var source = document.getElementById("version-chart");
  var canvas = document.getElementById("chart-removed");
  if (!source || !canvas || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var kept = "rgb(26, 127, 55)";
  var removed = "rgb(180, 35, 24)";
  var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [{
        label: "examples",
        data: data.counts,
        backgroundColor: data.labels.map(function (_, index) { return index === 0 ? kept : removed; })
      }]
    },
    options: {
      indexAxis: "y",
      maintainAspectRatio: false,
      animation: reduced ? false : { duration: 300 },
      plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "examples" } } }
    }
  });
})();
