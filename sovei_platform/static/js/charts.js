// Dashboards: draw every plotly figure of the page from its JSON data block, and watch the
// "updating…" notice. Figures are built on the server (dashboards/figures.py) and passed in
// <script type="application/json"> blocks, which the browser never executes, so the
// Content-Security-Policy (script-src 'self') needs no exception. plotly.js comes from our
// own static files (/static/plotly/plotly.min.js), loaded before this file.
(() => {
  "use strict";

  const CONFIG = {
    responsive: true,
    displaylogo: false,
    // No "Share chart..." (it would send the figure's numbers to a cloud service).
    modeBarButtonsToRemove: [
      "select2d", "lasso2d", "autoScale2d", "toggleSpikelines", "sendChartToCloud",
    ],
    showSendToCloud: false,
    showEditInChartStudio: false,
    toImageButtonOptions: { format: "png", scale: 2 },
  };

  // plotly's toolbar texts in the page's language (sovei_platform/templates/includes/chart_labels.html).
  function withLocale(config) {
    const block = document.getElementById("chart-labels");
    if (!block) {
      return config;
    }
    try {
      const locale = block.dataset.locale || "en";
      const locales = {};
      locales[locale] = { dictionary: JSON.parse(block.textContent) };
      return Object.assign({}, config, { locale: locale, locales: locales });
    } catch (error) {
      return config;
    }
  }

  function draw(element) {
    const block = document.getElementById(element.dataset.figure);
    if (!block || typeof window.Plotly === "undefined") {
      return;
    }
    let figure;
    try {
      figure = JSON.parse(block.textContent);
    } catch (error) {
      return; // the table under the chart still shows the numbers
    }
    const layout = Object.assign({}, figure.layout || {});
    // The page's <h3> is the chart's title; keep the plot itself compact.
    if (element.dataset.keepTitle === undefined) {
      delete layout.title;
      const margin = Object.assign({}, layout.margin || {});
      margin.t = Math.min(margin.t === undefined ? 56 : margin.t, layout.xaxis && layout.xaxis.side === "top" ? 64 : 24);
      if (layout.annotations && layout.annotations.some((a) => a.yref === "paper" && a.y >= 1)) {
        margin.t = Math.max(margin.t, (figure.layout.margin || {}).t || 56);
      }
      layout.margin = margin;
    }
    element.textContent = "";
    window.Plotly.newPlot(element, figure.data || [], layout, withLocale(CONFIG));
    element.classList.add("is-drawn");
  }

  function watchUpdating(notice) {
    const url = notice.dataset.statusUrl;
    if (!url || !window.fetch) {
      return;
    }
    let tries = 0;
    const poll = () => {
      tries += 1;
      window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : null))
        .then((status) => {
          if (status && status.updating === false) {
            notice.textContent = notice.dataset.doneText + " ";
            const link = document.createElement("a");
            link.href = window.location.href;
            link.textContent = notice.dataset.reloadText;
            notice.appendChild(link);
            notice.classList.add("is-done");
          } else if (tries < 60) {
            window.setTimeout(poll, 5000);
          }
        })
        .catch(() => undefined);
    };
    window.setTimeout(poll, 3000);
  }

  function start() {
    document.querySelectorAll("[data-figure]").forEach(draw);
    document.querySelectorAll(".updating[data-status-url]").forEach(watchUpdating);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
