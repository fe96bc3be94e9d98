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

  /* A PDF job as the API describes it (a job the hub could not even enqueue, shown at once). */
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

  /* PDF jobs: POST the API; once accepted, say so with a link to the download centre (下载中心), where the job's
     progress and files are; the button is free again at once (a county batch takes minutes). The message is
     the page's own <template id="job-submitted"> (base.html), so it is in the page's language. */
  function submitted(box, job) {
    var tpl = document.getElementById("job-submitted");
    box.textContent = "";
    if (tpl && tpl.content) {
      box.appendChild(tpl.content.cloneNode(true));
    } else {
      renderJob(box, job);
    }
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
            button.disabled = false;
            if (r.body.state === "failed") { renderJob(box, r.body); return; }
            submitted(box, r.body);
          })
          .catch(function (e) { box.textContent = t("job_failed", "The PDF job failed:") + " " + e.message; button.disabled = false; });
      });
    });
  }

  /* 下载中心: while a job is unfinished, read the page again every few seconds and put its job rows in place
     (the page says how often in data-refresh, empty once every job is finished). */
  function initDownloads() {
    var holder = document.getElementById("download-jobs");
    if (!holder || !window.DOMParser) { return; }
    function schedule() {
      var seconds = parseInt(holder.getAttribute("data-refresh") || "", 10);
      if (seconds > 0) { window.setTimeout(refresh, seconds * 1000); }
    }
    function refresh() {
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (resp) {
          if (!resp.ok) { throw new Error(String(resp.status)); }
          return resp.text();
        })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("download-jobs");
          if (!fresh) { return; }
          holder.innerHTML = fresh.innerHTML;  // our own server-rendered, escaped page
          holder.setAttribute("data-refresh", fresh.getAttribute("data-refresh") || "");
          schedule();
        })
        .catch(function () { window.setTimeout(refresh, 30000); });  // signed out or offline: try again later
    }
    schedule();
  }

  document.addEventListener("DOMContentLoaded", function () {
    initExplain();
    initPdfJobs();
    initDownloads();
  });
})();
