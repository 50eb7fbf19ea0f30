// Synkro dashboard: the live step log. Everything else works without this file.
// Loaded with `defer` from this server only (the Content-Security-Policy allows nothing inline).
"use strict";

(function () {
  // `at` as the page shows times: YYYY-MM-DD HH:MM in the page's zone (the profile's or the
  // tenant's, from data-tz).
  function time(at, zone) {
    var d = new Date(at);
    if (isNaN(d.getTime())) return at;
    try {
      return new Intl.DateTimeFormat("sv-SE", {
        timeZone: zone || undefined, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit"
      }).format(d);
    } catch (e) {
      return d.toISOString().slice(0, 16).replace("T", " ");
    }
  }

  // Follows a job's Server-Sent Events: each "log" event adds a line (as text, never as HTML),
  // "job" updates the status, "done" closes the stream and reloads the page so the report list
  // and the job's outcome show. The browser reconnects by itself and sends Last-Event-ID, so
  // the server resumes after the last line it sent.
  function follow(list) {
    var url = list.getAttribute("data-stream");
    if (!url || typeof EventSource === "undefined") return;
    var seen = {};
    list.querySelectorAll("li[data-id]").forEach(function (li) { seen[li.getAttribute("data-id")] = true; });
    var badge = document.querySelector("[data-job-status]");
    var empty = document.querySelector("[data-empty]");
    var source = new EventSource(url);
    source.addEventListener("log", function (message) {
      var data = JSON.parse(message.data);
      var e = data.event;
      if (!e || seen[e.id]) return;
      seen[e.id] = true;
      var li = document.createElement("li");
      li.className = "level-" + String(e.level || "info").replace(/[^a-z]/g, "");
      li.setAttribute("data-id", e.id);
      var t = document.createElement("time");
      t.textContent = time(e.created_at, list.getAttribute("data-tz"));
      li.appendChild(t);
      li.appendChild(document.createTextNode(" " + e.message));
      list.appendChild(li);
      if (empty) { empty.remove(); empty = null; }
    });
    source.addEventListener("job", function (message) {
      var data = JSON.parse(message.data);
      if (badge && data.job) badge.textContent = data.job.current_step || data.job.status;
    });
    source.addEventListener("done", function () {
      source.close();
      list.removeAttribute("data-stream");
      if (badge) badge.textContent = list.getAttribute("data-done-text") || "";
      window.setTimeout(function () { window.location.reload(); }, 800);
    });
  }

  function start() {
    document.querySelectorAll("ol[data-stream]").forEach(follow);
    // After htmx adds an answer, clear the question box for the next one.
    document.body.addEventListener("htmx:after:request", function (event) {
      var form = event.target;
      if (form && form.matches && form.matches("form.ask")) {
        var box = form.querySelector("textarea");
        var ok = event.detail && event.detail.ctx && event.detail.ctx.response && event.detail.ctx.response.status < 400;
        if (box && ok) box.value = "";
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
