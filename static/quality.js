// The quality dashboard's charts, drawn with Chart.js (served from our own static files) from the page's
// json_script data. The numbers of every chart are also in the table under it and in its CSV.
(function () {
  "use strict";
  var source = document.getElementById("quality-data");
  if (!source || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var ink = "#1f2328";
  var accent = "rgba(40, 100, 200, 0.28)";
  var accentLine = "rgb(40, 100, 200)";

  function intervalBars(points) {
    return points.map(function (point) { return point.interval ? point.interval : null; });
  }

  function scaleFromMinusOne() {
    return { suggestedMin: 0, max: 1, title: { display: true, text: "Krippendorff's α" } };
  }

  function agreementChart(canvas) {
    var rows = data.agreement;
    new Chart(canvas, {
      data: {
        labels: rows.map(function (row) { return row.question; }),
        datasets: [
          { type: "bar", label: "95% interval", data: intervalBars(rows), backgroundColor: accent, borderColor: accentLine, borderWidth: 1, barPercentage: 0.5 },
          { type: "scatter", label: "α", data: rows.map(function (row) { return row.alpha; }), backgroundColor: ink, pointRadius: 5 }
        ]
      },
      options: { maintainAspectRatio: false, animation: false, scales: { y: scaleFromMinusOne() } }
    });
  }

  function versionsChart(canvas) {
    var versions = [];
    data.versions.forEach(function (question) {
      question.points.forEach(function (point) {
        if (versions.indexOf(point.version) < 0) versions.push(point.version);
      });
    });
    versions.sort(function (a, b) { return a - b; });
    var palette = ["rgb(40, 100, 200)", "rgb(200, 90, 40)", "rgb(40, 150, 90)", "rgb(140, 70, 170)", "rgb(120, 120, 120)"];
    var datasets = [];
    data.versions.forEach(function (question, index) {
      var color = palette[index % palette.length];
      var byVersion = {};
      question.points.forEach(function (point) { byVersion[point.version] = point; });
      var points = versions.map(function (version) { return byVersion[version] || { alpha: null, interval: null }; });
      datasets.push({ type: "bar", label: question.question + " (95% interval)", data: intervalBars(points), backgroundColor: color.replace("rgb", "rgba").replace(")", ", 0.25)"), borderColor: color, borderWidth: 1 });
      datasets.push({ type: "line", label: question.question + " α", data: points.map(function (point) { return point.alpha; }), borderColor: color, backgroundColor: color, spanGaps: true });
    });
    new Chart(canvas, {
      data: { labels: versions.map(function (version) { return "version " + version; }), datasets: datasets },
      options: { maintainAspectRatio: false, animation: false, scales: { y: scaleFromMinusOne() } }
    });
  }

  var charts = { "chart-agreement": agreementChart, "chart-versions": versionsChart };
  Object.keys(charts).forEach(function (id) {
    var canvas = document.getElementById(id);
    if (canvas) charts[id](canvas);
  });
})();
