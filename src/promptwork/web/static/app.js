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
        var row = el.closest("tr, .live");
        var status = row && row.querySelector(".run-status");
        if (status) {
          status.textContent = data.status;
          status.parentElement.className = "status " + data.status;
        }
        if (data.status !== "running") {
          source.close();
          // The matrix page of a run that just finished: show its results.
          if (el.dataset.reloadWhenDone) { window.location.reload(); }
        }
      });
      source.onerror = function () { source.close(); };
    });
  }
  document.addEventListener("DOMContentLoaded", function () { watch(document); });
  document.addEventListener("htmx:afterSwap", function (event) { watch(event.target); });
}());

// The rating queue (/runs/{id}/rate): keys rate the cell shown, each rating a POST with the
// page's CSRF token; j/k move (the position is in the URL). See promptwork/web/ratings.py.
(function () {
  function token() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function say(text, bad) {
    var el = document.getElementById("rating-message");
    if (el) { el.textContent = text; el.className = "rating-message" + (bad ? " bad" : ""); }
  }
  function post(url, fields) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: new URLSearchParams(fields),
      headers: {"X-CSRF-Token": token(), "Accept": "application/json"}
    }).then(function (response) {
      return response.json().catch(function () { return {error: "HTTP " + response.status}; })
        .then(function (data) {
          if (!response.ok || data.error) { throw new Error(data.error || "HTTP " + response.status); }
          return data;
        });
    });
  }
  function rate(queue, form, verdict, onward) {
    say("saving…", false);
    post(form.getAttribute("action"), {
      verdict: verdict, score: form.elements.score.value, comment: form.elements.comment.value
    }).then(function () {
      window.location.assign(onward ? queue.dataset.onward : window.location.href);
    }).catch(function (error) { say(error.message, true); });
  }
  function typing(el) {
    if (!el || !el.tagName) { return false; }
    var tag = el.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable ||
      (tag === "INPUT" && el.type !== "radio" && el.type !== "checkbox");
  }
  document.addEventListener("keydown", function (event) {
    var queue = document.getElementById("queue");
    var form = document.getElementById("rating-form");
    if (!queue || !form) { return; }
    var mine = form.dataset.verdict;
    if (typing(event.target)) {
      if (event.target.name === "comment" && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        event.target.blur();
        if (mine) { rate(queue, form, mine, false); } else { say("comment kept: press p or f to rate with it", false); }
      } else if (event.key === "Escape") {
        event.target.blur();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var key = event.key;
    if (key === "j" || key === "k") {
      var target = key === "j" ? queue.dataset.next : queue.dataset.prev;
      if (target) { window.location.assign(target); } else { say(key === "j" ? "last cell" : "first cell", false); }
    } else if (key === "p" || key === "f") {
      rate(queue, form, key === "p" ? "pass" : "fail", true);
    } else if (/^[0-9]$/.test(key)) {
      form.elements.score.value = (Number(key) / 10).toFixed(1);
      if (mine) { rate(queue, form, mine, false); } else { say("score " + form.elements.score.value + ": press p or f to rate with it", false); }
    } else if (key === "c") {
      form.elements.comment.focus();
    } else if (key === "u") {
      if (!mine) { say("you have not rated this cell", false); } else {
        post(form.dataset.withdraw, {}).then(function () { window.location.assign(window.location.href); })
          .catch(function (error) { say(error.message, true); });
      }
    } else {
      return;
    }
    event.preventDefault();
  });
}());
