// promptwork workbench: the playground's streamed answers and a background run's live progress.
// Loaded by the playground and job pages only; no inline code anywhere (strict CSP).
"use strict";
(function () {
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // -- playground: one column per model, filled as the pieces arrive --------------------------
  function columnOf(box, event) {
    var found = box.querySelector('section[data-column="' + event.column + '"]');
    if (found) { return found; }
    var section = el("section", "pg-answer streaming");
    section.dataset.column = String(event.column);
    section.dataset.model = event.model;
    section.appendChild(el("h3", "", event.model));
    section.appendChild(el("pre", "pg-text", ""));
    section.appendChild(el("p", "pg-stats dim", "…"));
    box.appendChild(section);
    return section;
  }

  function tokens(n) { return n === null || n === undefined ? "?" : String(n); }

  function show(box, event) {
    var section = columnOf(box, event);
    var text = section.querySelector(".pg-text");
    var stats = section.querySelector(".pg-stats");
    if (event.type === "text") {
      text.appendChild(document.createTextNode(event.text));
    } else if (event.type === "retrying") {
      text.textContent = "";
      stats.textContent = "retrying (" + event.error + ")";
    } else if (event.type === "done") {
      section.classList.remove("streaming");
      text.textContent = event.text;
      if (event.error) {
        section.classList.add("error");
        stats.className = "pg-stats error";
        stats.textContent = event.error;
      } else {
        var cost = event.cost === null ? "cost n/a" : "$" + event.cost.toFixed(4);
        stats.textContent = tokens(event.prompt_tokens) + " + " + tokens(event.completion_tokens) +
          " tokens · " + Math.round(event.latency_ms || 0) + " ms · " + cost +
          (event.cached ? " · cached" : "");
      }
      section.dataset.done = "1";
    }
  }

  // Server-Sent Events read from a POST's streamed body (EventSource only sends GETs).
  function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) { return; }
        buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, "\n");
        var blocks = buffer.split("\n\n");
        buffer = blocks.pop();
        blocks.forEach(function (block) {
          var data = block.split("\n").filter(function (line) {
            return line.indexOf("data:") === 0;
          }).map(function (line) { return line.slice(5).replace(/^ /, ""); }).join("\n");
          if (data) { onEvent(JSON.parse(data)); }
        });
        return pump();
      });
    }
    return pump();
  }

  function runPlayground(form) {
    var box = document.getElementById("answers");
    var button = document.getElementById("run");
    box.textContent = "";
    button.disabled = true;
    box.dataset.state = "running";
    fetch("/playground/stream", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken(),
                 "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form)).toString()
    }).then(function (response) {
      if (!response.ok) {
        return response.text().then(function (text) {
          box.appendChild(el("p", "note pg-error", text));
        });
      }
      return readEvents(response, function (event) { show(box, event); });
    }).catch(function (error) {
      box.appendChild(el("p", "note pg-error", String(error)));
    }).then(function () {
      button.disabled = false;
      box.dataset.state = "done";
    });
  }

  // -- a background run: progress over SSE, its matrix refreshed at most once a second ---------
  function watchJob(node) {
    var source = new EventSource(node.dataset.jobEvents);
    var matrix = document.getElementById("live-matrix");
    var pending = null;
    function refresh() {
      if (matrix && window.htmx && !pending) {
        pending = setTimeout(function () { pending = null; window.htmx.trigger(matrix, "refresh"); }, 1000);
      }
    }
    function set(cls, value) {
      var target = node.querySelector("." + cls);
      if (target && value !== undefined && value !== null) { target.textContent = String(value); }
    }
    source.onmessage = function (message) {
      var data = JSON.parse(message.data);
      set("job-done", data.done); set("job-total", data.total);
      set("job-passed", data.passed); set("job-failed", data.failed); set("job-errors", data.errors);
      if (data.status) {
        set("job-status", data.status);
        node.querySelector(".job-status").className = "job-status status " + data.status;
      }
      if (data.type === "cell") { refresh(); }
      if (data.type === "finished") {
        source.close();
        node.dataset.finished = data.status;
        if (matrix && window.htmx) { window.htmx.trigger(matrix, "refresh"); }
        var cancel = document.getElementById("cancel-job");
        if (cancel) { cancel.disabled = true; }
      }
    };
    source.onerror = function () { source.close(); };
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("playground");
    if (form) {
      form.addEventListener("submit", function (event) {
        if (event.submitter && event.submitter.id === "run") {
          event.preventDefault();
          runPlayground(form);
        }
      });
    }
    document.querySelectorAll("[data-job-events]").forEach(watchJob);
  });
}());
