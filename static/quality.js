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

  var palette = ["rgb(40, 100, 200)", "rgb(200, 90, 40)", "rgb(40, 150, 90)", "rgb(140, 70, 170)", "rgb(120, 120, 120)",
    "rgb(200, 160, 30)", "rgb(30, 160, 170)", "rgb(190, 60, 120)"];

  function soft(color) { return color.replace("rgb", "rgba").replace(")", ", 0.25)"); }

  function alphaAxis() {
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
      options: { maintainAspectRatio: false, animation: false, scales: { y: alphaAxis() } }
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
    var datasets = [];
    data.versions.forEach(function (question, index) {
      var color = palette[index % palette.length];
      var byVersion = {};
      question.points.forEach(function (point) { byVersion[point.version] = point; });
      var points = versions.map(function (version) { return byVersion[version] || { alpha: null, interval: null }; });
      datasets.push({ type: "bar", label: question.question + " (95% interval)", data: intervalBars(points), backgroundColor: soft(color), borderColor: color, borderWidth: 1 });
      datasets.push({ type: "line", label: question.question + " α", data: points.map(function (point) { return point.alpha; }), borderColor: color, backgroundColor: color, spanGaps: true });
    });
    new Chart(canvas, {
      data: { labels: versions.map(function (version) { return "version " + version; }), datasets: datasets },
      options: { maintainAspectRatio: false, animation: false, scales: { y: alphaAxis() } }
    });
  }

  function offsetsChart(canvas) {
    var rows = data.offsets;
    new Chart(canvas, {
      data: {
        labels: rows.map(function (row) { return row.annotator; }),
        datasets: [
          { type: "bar", label: "95% interval", data: intervalBars(rows), backgroundColor: accent, borderColor: accentLine, borderWidth: 1, barPercentage: 0.5 },
          { type: "scatter", label: "offset", data: rows.map(function (row) { return row.offset; }), backgroundColor: ink, pointRadius: 5 }
        ]
      },
      options: { maintainAspectRatio: false, animation: false, scales: { y: { title: { display: true, text: "offset from the others (scale points)" } } } }
    });
  }

  function distributionsChart(canvas) {
    var rows = data.distributions;
    var answers = [];
    rows.forEach(function (row) {
      Object.keys(row.shares).forEach(function (answer) { if (answers.indexOf(answer) < 0) answers.push(answer); });
    });
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: rows.map(function (row) { return row.annotator; }),
        datasets: answers.map(function (answer, index) {
          var color = palette[index % palette.length];
          return { label: answer, data: rows.map(function (row) { return row.shares[answer] || 0; }), backgroundColor: color };
        })
      },
      options: { maintainAspectRatio: false, animation: false, indexAxis: "y", scales: { x: { stacked: true, max: 1 }, y: { stacked: true } } }
    });
  }

  function fatigueChart(canvas) {
    new Chart(canvas, {
      type: "line",
      data: {
        datasets: data.fatigue.map(function (entry, index) {
          var color = palette[index % palette.length];
          return {
            label: entry.annotator,
            data: entry.curve.map(function (point) { return { x: point[0] + 1, y: point[1] }; }),
            borderColor: color, backgroundColor: color
          };
        })
      },
      options: {
        maintainAspectRatio: false, animation: false,
        scales: {
          x: { type: "linear", title: { display: true, text: "position in the session (labels)" } },
          y: { min: 0, max: 1, title: { display: true, text: "share agreeing with the others' majority" } }
        }
      }
    });
  }

  function positionsChart(canvas) {
    var rows = data.positions;
    new Chart(canvas, {
      data: {
        labels: rows.map(function (row) { return row.annotator; }),
        datasets: [
          { type: "bar", label: "share choosing the left response", data: rows.map(function (row) { return row.left_share; }), backgroundColor: accent, borderColor: accentLine, borderWidth: 1 },
          { type: "line", label: "no bias (0.5)", data: rows.map(function () { return 0.5; }), borderColor: ink, borderDash: [4, 4], pointRadius: 0 }
        ]
      },
      options: { maintainAspectRatio: false, animation: false, scales: { y: { min: 0, max: 1 } } }
    });
  }

  var charts = {
    "chart-agreement": agreementChart,
    "chart-versions": versionsChart,
    "chart-offsets": offsetsChart,
    "chart-distributions": distributionsChart,
    "chart-fatigue": fatigueChart,
    "chart-positions": positionsChart
  };
  Object.keys(charts).forEach(function (id) {
    var canvas = document.getElementById(id);
    if (canvas) charts[id](canvas);
  });
})();
