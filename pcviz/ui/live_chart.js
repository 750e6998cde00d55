// A Plotly chart that is drawn once and then updated in place (Plotly.react) each time the
// server sends a new figure: no new chart per update, so a live figure never blinks.
const PLOTLY_URL = "pcviz/plotly.min.js";  // the route app.py adds

function loadPlotly() {
  if (!window.__pcvizPlotly) {
    window.__pcvizPlotly = new Promise((resolve, reject) => {
      if (window.Plotly) return resolve(window.Plotly);
      const script = document.createElement("script");
      // Served by the dashboard itself (app.py), so that a machine offline still draws.
      script.src = new URL("/" + PLOTLY_URL, window.location.origin).href;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => { window.__pcvizPlotly = null; reject(new Error("plotly.js")); };
      document.head.appendChild(script);
    });
  }
  return window.__pcvizPlotly;
}

export default function (component) {
  const { data, parentElement } = component;
  if (!data) {  // preload_plotly: load the library, draw nothing
    loadPlotly().catch(() => {});
    return;
  }
  let chart = parentElement.querySelector(".pcviz-live-chart");
  if (!chart) {
    chart = document.createElement("div");
    chart.className = "pcviz-live-chart";
    parentElement.appendChild(chart);
  }
  if (chart.__pcvizDrawn === data) return;  // the same message again: nothing changed
  const { figure, config } = typeof data === "string" ? JSON.parse(data) : data;
  chart.style.minHeight = (figure.layout && figure.layout.height ? figure.layout.height : 400) + "px";
  chart.__pcvizLatest = figure;
  loadPlotly().then((Plotly) => {
    if (chart.__pcvizLatest !== figure) return;  // a newer figure came while loading
    Plotly.react(chart, figure.data, figure.layout, { responsive: true, ...config });
    chart.__pcvizDrawn = data;
  });
}
