// Draws the dashboard's charts from the page's own data (the json_script "dashboard-data").
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var labels = data.labels_text || {};
  var colours = ["#417690", "#e07a5f", "#3d405b", "#81b29a", "#f2cc8f", "#9b5de5"];

  function draw(canvas, title, chartLabels, datasets) {
    new Chart(canvas.getContext("2d"), {
      type: "bar",
      data: { labels: chartLabels, datasets: datasets },
      options: {
        animation: false,
        responsive: false,
        title: { display: true, text: title },
        legend: { display: datasets.length > 1 },
        scales: { yAxes: [{ ticks: { beginAtZero: true, precision: 0 } }] },
      },
    });
  }

  document.querySelectorAll("canvas[data-series]").forEach(function (canvas, i) {
    var key = canvas.dataset.series;
    draw(canvas, labels[key] || key, data.labels, [
      { label: labels[key] || key, data: data.series[key], backgroundColor: colours[i % colours.length] },
    ]);
  });

  document.querySelectorAll("canvas[data-overview]").forEach(function (canvas) {
    var key = canvas.dataset.overview;
    draw(
      canvas,
      labels[key] || key,
      data.rows.map(function (row) { return row.name || row.appid; }),
      [{ label: labels[key] || key, data: data.rows.map(function (row) { return row.totals[key]; }), backgroundColor: colours[0] }]
    );
  });
})();
