// promptwork workbench: the only script of the app besides the vendored htmx (no inline code).
"use strict";
(function () {
  // htmx requests carry the page's CSRF token.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content"); }
  });

  // Live progress of running runs over Server-Sent Events.
  function watch(root) {
    root.querySelectorAll("[data-progress-url]").forEach(function (el) {
      if (el.dataset.watching) { return; }
      el.dataset.watching = "1";
      var source = new EventSource(el.dataset.progressUrl);
      source.addEventListener("progress", function (message) {
        var data = JSON.parse(message.data);
        el.textContent = data.done + "/" + data.total;
        var row = el.closest("tr");
        var status = row && row.querySelector(".run-status");
        if (status) {
          status.textContent = data.status;
          status.parentElement.className = "status " + data.status;
        }
        if (data.status !== "running") { source.close(); }
      });
      source.onerror = function () { source.close(); };
    });
  }
  document.addEventListener("DOMContentLoaded", function () { watch(document); });
  document.addEventListener("htmx:afterSwap", function (event) { watch(event.target); });
}());
