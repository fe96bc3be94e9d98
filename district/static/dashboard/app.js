/* Houqin dashboard behaviour: progressive enhancement only; every page works without script. */
(function () {
  "use strict";

  function messages() {
    var el = document.getElementById("ui-messages");
    try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
  }
  var MSG = messages();
  function t(key, fallback) { return MSG[key] || fallback; }
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  /* Ranking: a score opens its explanation (the indicator rows) in a row below. */
  function initExplain() {
    var table = document.getElementById("ranking-table");
    if (!table) { return; }
    table.addEventListener("click", function (ev) {
      var link = ev.target.closest("a.score[data-explain]");
      if (!link) { return; }
      ev.preventDefault();
      var row = link.closest("tr");
      var next = row.nextElementSibling;
      if (next && next.classList.contains("explain-row")) {
        next.remove();
        link.setAttribute("aria-expanded", "false");
        return;
      }
      var cols = row.children.length;
      var holder = document.createElement("tr");
      holder.className = "explain-row";
      var cell = document.createElement("td");
      cell.colSpan = cols;
      cell.textContent = t("loading", "…");
      holder.appendChild(cell);
      row.parentNode.insertBefore(holder, row.nextSibling);
      link.setAttribute("aria-expanded", "true");
      fetch(link.getAttribute("data-explain"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (resp) {
          if (!resp.ok) { throw new Error(String(resp.status)); }
          return resp.text();
        })
        .then(function (html) { cell.innerHTML = html; })  // our own server-rendered, escaped fragment
        .catch(function () { cell.textContent = t("explain_failed", "The explanation could not be loaded."); });
    });
  }

  /* PDF jobs: POST the API, then poll the job until its files are ready. */
  function describe(job) {
    var state = job.state || job.status || "";
    var done = job.done, total = job.total, progress = job.progress;
    if (progress === undefined && typeof done === "number" && typeof total === "number" && total > 0) {
      progress = done / total;
    }
    if (typeof progress === "number" && progress > 1) { progress = progress / 100; }
    return { state: state, progress: progress, files: job.files || [] };
  }

  function renderJob(box, job) {
    var d = describe(job);
    box.textContent = "";
    var line = document.createElement("div");
    var label = t("state_" + d.state, d.state);
    line.textContent = t("job", "Job") + " " + (job.job_id || job.id || "") + ": " + label;
    box.appendChild(line);
    if (typeof d.progress === "number" && d.state !== "done" && d.state !== "failed") {
      var bar = document.createElement("progress");
      bar.max = 1; bar.value = d.progress;
      box.appendChild(bar);
    }
    if (d.files.length) {
      var list = document.createElement("ul");
      d.files.forEach(function (f) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = typeof f === "string" ? f : (f.url || f.href);
        a.textContent = typeof f === "string" ? f.split("/").pop() : (f.name || f.filename || a.href);
        a.setAttribute("download", "");
        a.className = "pdf-file";
        li.appendChild(a);
        list.appendChild(li);
      });
      box.appendChild(list);
    }
    if (job.error) {
      var err = document.createElement("div");
      err.className = "late";
      err.textContent = typeof job.error === "string" ? job.error : (job.error.message || "");
      box.appendChild(err);
    }
    return d.state;
  }

  function poll(url, box, button) {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (resp) { return resp.json().then(function (body) { return { ok: resp.ok, body: body }; }); })
      .then(function (r) {
        if (!r.ok) { throw new Error((r.body.error && r.body.error.message) || "error"); }
        var state = renderJob(box, r.body);
        if (state === "done" || state === "failed" || state === "succeeded" || state === "error") {
          button.disabled = false;
        } else {
          window.setTimeout(function () { poll(url, box, button); }, 1500);
        }
      })
      .catch(function (e) { box.textContent = t("job_failed", "The PDF job failed:") + " " + e.message; button.disabled = false; });
  }

  function initPdfJobs() {
    document.querySelectorAll("button.pdf-job").forEach(function (button) {
      button.addEventListener("click", function () {
        var box = button.parentNode.querySelector(".job-status");
        button.disabled = true;
        box.textContent = t("job_starting", "Starting…");
        fetch(button.getAttribute("data-url"), {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf() },
          body: button.getAttribute("data-body") || "{}"
        })
          .then(function (resp) { return resp.json().then(function (body) { return { status: resp.status, body: body }; }); })
          .then(function (r) {
            if (r.status !== 202 && r.status !== 200 && r.status !== 201) {
              throw new Error((r.body.error && r.body.error.message) || String(r.status));
            }
            var id = r.body.job_id || r.body.id;
            var url = r.body.url || r.body.location || ("/api/v1/jobs/" + encodeURIComponent(id));
            renderJob(box, r.body);
            poll(url, box, button);
          })
          .catch(function (e) { box.textContent = t("job_failed", "The PDF job failed:") + " " + e.message; button.disabled = false; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initExplain();
    initPdfJobs();
  });
})();
