// The statistics page's charts, drawn with Chart.js (served from our own static files) from the page's
// json_script data. Every chart's numbers are also in the table under it. Labels (metadata values) are user data:
// Chart.js draws them on the canvas as text, never as HTML.
(function () {
  "use strict";
  var source = document.getElementById("stats-data");
  if (!source || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var slicesSource = document.getElementById("stats-slices");
  var slices = slicesSource ? JSON.parse(slicesSource.textContent) : null;
  var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var accent = "rgb(40, 100, 200)";
  var warn = "rgb(200, 90, 40)";

  function bars(canvas, labels, counts, options) {
    if (!canvas) return null;
    options = options || {};
    return new Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: [{ label: options.label || "examples", data: counts, backgroundColor: options.color || accent }] },
      options: {
        indexAxis: options.horizontal ? "y" : "x",
        maintainAspectRatio: false,
        animation: reduced ? false : { duration: 300 },
        plugins: { legend: { display: false } },
        scales: {
          x: options.horizontal ? { beginAtZero: true, ticks: { precision: 0 } } : { title: { display: !!options.xTitle, text: options.xTitle || "" } },
          y: options.horizontal ? {} : { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: options.label || "examples" } }
        }
      }
    });
  }

  bars(document.getElementById("chart-shapes"), data.shapes.labels, data.shapes.counts, { horizontal: true });
  bars(document.getElementById("chart-languages"), data.languages.labels, data.languages.counts, { horizontal: true });
  bars(document.getElementById("chart-turns"), data.turns.labels, data.turns.counts, { label: "chats", xTitle: "turns" });
  bars(document.getElementById("chart-duplicates"), data.duplicates.labels, data.duplicates.counts, { label: "clusters", color: warn });
  bars(document.getElementById("chart-artefacts"), data.artefacts.labels, data.artefacts.counts, { horizontal: true, color: warn });
  if (slices) bars(document.getElementById("chart-slices"), slices.labels, slices.counts, { horizontal: true });

  document.querySelectorAll("canvas.chart-metadata").forEach(function (canvas) {
    var entry = data.metadata[Number(canvas.getAttribute("data-index"))];
    if (entry) bars(canvas, entry.labels, entry.counts, { horizontal: true });
  });

  // Length histograms: one chart per field, in the unit chosen (characters, words or estimated tokens).
  var unitSelect = document.getElementById("length-unit");
  var lengthCharts = [];
  var unitNames = { chars: "characters", words: "words", tokens: "tokens (estimated)" };
  document.querySelectorAll("canvas.chart-length").forEach(function (canvas) {
    var field = data.lengths[canvas.getAttribute("data-field")];
    if (!field) return;
    var unit = unitSelect ? unitSelect.value : "chars";
    var chart = bars(canvas, field[unit].labels, field[unit].counts, { xTitle: unitNames[unit] });
    lengthCharts.push({ chart: chart, field: field });
  });
  if (unitSelect) {
    unitSelect.addEventListener("change", function () {
      var unit = unitSelect.value;
      lengthCharts.forEach(function (entry) {
        entry.chart.data.labels = entry.field[unit].labels;
        entry.chart.data.datasets[0].data = entry.field[unit].counts;
        entry.chart.options.scales.x.title.text = unitNames[unit];
        entry.chart.update();
      });
    });
  }
})();
