/* The upload and status page: everything goes to the JSON API with the access key in the Authorization header.
 * Text from workbooks is only ever put on the page with textContent, never as HTML. */
(function () {
  "use strict";

  var KEY_NAME = "actionplan.accessKey";

  function key() { try { return localStorage.getItem(KEY_NAME) || ""; } catch (e) { return ""; } }
  function setKey(v) {
    try { if (v) { localStorage.setItem(KEY_NAME, v.trim()); } else { localStorage.removeItem(KEY_NAME); } }
    catch (e) { /* storage disabled */ }
  }
  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" }) : "";
  }

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  async function api(path, options) {
    options = options || {};
    options.headers = Object.assign({ "Authorization": key() }, options.headers || {});
    var response;
    try { response = await fetch(path, options); }
    catch (e) { throw new Error("The actionplan service could not be reached. Check your connection."); }
    if (response.status !== 200) {
      var body = await response.json().catch(function () { return {}; });
      var err = new Error(body.detail || ("The service answered " + response.status + "."));
      err.status = response.status;
      throw err;
    }
    return response;
  }

  // -- the access key -----------------------------------------------------------------------------------
  function showWho(you) {
    if (!key()) { $("who").textContent = "Not signed in. Type the access key corporate performance gave you."; return; }
    if (!you) { return; }
    $("who").textContent = you.admin ? "Signed in for corporate performance (every department)."
      : "Signed in for " + you.department + ".";
  }

  // -- the report of one workbook ----------------------------------------------------------------------------
  function renderReport(r) {
    var box = $("report");
    clear(box);
    var ok = r.accepted;
    box.appendChild(el("div", { "class": "outcome " + (ok ? "accepted" : "rejected") }, [
      el("h3", { id: "report-title", tabindex: "-1" }, [r.outcome]),
      el("p", {}, [r.message.indexOf(r.outcome + ". ") === 0 ? r.message.slice(r.outcome.length + 2) : r.message])
    ]));
    var c = r.counts || {};
    box.appendChild(el("dl", { "class": "facts" }, [
      el("dt", {}, ["File"]), el("dd", {}, [r.file || ""]),
      el("dt", {}, ["Department"]), el("dd", {}, [r.department || "not given"]),
      el("dt", {}, ["Period"]), el("dd", {}, [r.period || "not given"]),
      el("dt", {}, ["Read"]), el("dd", {}, [plural(c.actions || 0, "action") + ", " +
        plural(c.objectives || 0, "objective") + ", " + plural(c.kpis || 0, "KPI") +
        (r.layout ? " (layout: " + r.layout + ")" : "")])
    ]));
    var rows = (r.errors || []).map(function (m) { return ["error", m]; })
      .concat((r.warnings || []).map(function (m) { return ["warning", m]; }));
    if (!rows.length) { box.appendChild(el("p", {}, ["No problems found."])); }
    else {
      var body = el("tbody", {}, rows.map(function (pair) {
        var level = pair[0], m = pair[1];
        return el("tr", { "class": level }, [
          el("td", {}, [el("span", { "class": "tag " + level }, [level === "error" ? "Error" : "Warning"])]),
          el("td", {}, [m.sheet || "workbook"]), el("td", {}, [m.cell || ""]),
          el("td", {}, [m.value === null || m.value === undefined ? "" : String(m.value)]), el("td", {}, [m.message])
        ]);
      }));
      box.appendChild(el("table", {}, [
        el("caption", {}, [plural((r.errors || []).length, "error") + " and " + plural((r.warnings || []).length, "warning")]),
        el("thead", {}, [el("tr", {}, ["Type", "Sheet", "Cell", "Value", "Problem"].map(function (h) {
          return el("th", { scope: "col" }, [h]);
        }))]),
        body
      ]));
    }
    $("report-title").focus();
  }

  async function upload(ev) {
    ev.preventDefault();
    var checkOnly = ev.submitter && ev.submitter.value === "check";
    var file = $("file").files[0];
    var box = $("report");
    clear(box);
    if (!file) { box.appendChild(el("p", { "class": "notice" }, ["Choose a workbook first."])); return; }
    var data = new FormData();
    data.append("file", file, file.name);
    var buttons = ev.target.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    box.appendChild(el("p", { "class": "muted" }, [checkOnly ? "Checking…" : "Checking and submitting…"]));
    try {
      var r = await (await api("/api/submissions" + (checkOnly ? "?check_only=true" : ""),
        { method: "POST", body: data })).json();
      renderReport(r);
      loadStatus(r.period);
    } catch (e) {
      clear(box);
      box.appendChild(el("p", { "class": "notice", role: "alert" }, [e.message]));
    } finally {
      buttons.forEach(function (b) { b.disabled = false; });
    }
  }

  // -- status ---------------------------------------------------------------------------------------------------
  var STANDING_LABELS = { "missing": "Missing", "submitted": "Submitted", "rejected": "Rejected",
    "on time": "On time", "late": "Late", "returned": "Returned" };
  async function loadStatus(period) {
    var box = $("status");
    if (!key()) { showWho(); return; }
    try {
      var s = await (await api("/api/status" + (period ? "?period=" + encodeURIComponent(period) : ""))).json();
      showWho(s.you);
      $("period").value = s.period;
      var list = $("periods");
      clear(list);
      (s.periods || []).forEach(function (p) { list.appendChild(el("option", { value: p })); });
      clear(box);
      var missing = s.missing || [];
      var returned = s.returned || [];
      box.appendChild(el("p", {}, [(missing.length
        ? plural(missing.length, "department") + " with no accepted return for " + s.period + ": " +
          missing.join("; ") + "."
        : "Every known department has submitted for " + s.period + ".") +
        (returned.length ? " Returned to " + returned.join("; ") + "." : "") +
        (s.deadline ? " Deadline: " + new Date(s.deadline + "T12:00:00").toLocaleDateString("en-GB",
          { dateStyle: "medium" }) + "." : "")]));
      box.appendChild(el("table", { id: "status-table" }, [
        el("caption", {}, ["Submissions for " + s.period]),
        el("thead", {}, [el("tr", {}, ["Department", "Status", "Last submission", "By", "Outcome", "Warnings", "Note"]
          .map(function (h) { return el("th", { scope: "col" }, [h]); }))]),
        el("tbody", {}, (s.departments || []).map(function (d) {
          var outcome = d.outcome ? (d.outcome === "accepted" ? "Accepted" : "Rejected (" + plural(d.errors, "error") + ")") : "";
          var standing = d.standing || d.status;
          return el("tr", { "class": d.status === "submitted" ? "" : "missing" }, [
            el("th", { scope: "row" }, [d.department]),
            el("td", {}, [el("span", { "class": "tag " + d.status }, [STANDING_LABELS[standing] || standing])]),
            el("td", {}, [when(d.submitted_at)]), el("td", {}, [d.submitted_by || ""]),
            el("td", {}, [outcome]), el("td", { "class": "num" }, [d.warnings === null ? "" : String(d.warnings)]),
            el("td", {}, [[d.note || "", notDue(d)].filter(Boolean).join("; ")])
          ]);
        }))
      ]));
      $("rollup").textContent = "Download the council rollup for " + s.period;
      $("rollup").setAttribute("data-period", s.period);
      // Offer the download only when there is something to download.
      $("rollup").disabled = !s.rollup_published;
      $("rollup-message").textContent = s.rollup_published ? "" :
        "No council rollup has been published for " + s.period + " yet. Corporate performance publishes it " +
        "when the period's returns are consolidated.";
      await showDataDocs(s);
    } catch (e) {
      clear(box);
      box.appendChild(el("p", { "class": "notice", role: "alert" }, [e.message]));
      if (e.status === 401) { $("who").textContent = e.message; }
    }
  }

  // KPIs not due this quarter (an annual or half-yearly measure): said apart from a missing return or no data.
  function notDue(d) {
    var n = d.current && d.current.kpis ? d.current.kpis["not due"] || 0 : 0;
    return n ? plural(n, "KPI") + " not due this quarter" : "";
  }

  // -- Data Docs (admins): the period's Great Expectations validation results ---------------------------------
  async function showDataDocs(s) {
    var box = $("data-docs");
    box.hidden = true;
    if (!s.you || !s.you.admin) { return; }
    var docs = await (await api("/data-docs/sites.json?period=" + encodeURIComponent(s.period))).json();
    if (!docs.period_site) { return; }
    $("data-docs-link").href = "/data-docs/" + encodeURIComponent(docs.period_site) + "/index.html";
    $("data-docs-link").textContent = "Validation results for " + s.period + " (Great Expectations Data Docs)";
    box.hidden = false;
  }

  async function openDataDocs(ev) {
    ev.preventDefault();
    var href = $("data-docs-link").href;
    try {
      await api("/data-docs/session", { method: "POST" });  // the key in a cookie the site's own links carry
      window.location.href = href;
    } catch (e) {
      $("rollup-message").textContent = e.message;
    }
  }

  // -- rollup download ----------------------------------------------------------------------------------------
  async function download(path, fallback) {
    var msg = $("rollup-message");
    var period = $("rollup").getAttribute("data-period") || $("period").value;
    msg.textContent = "Preparing the download…";
    try {
      var response = await api(path + (period ? "?period=" + encodeURIComponent(period) : ""));
      var blob = await response.blob();
      var name = (/filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "") || [])[1] || fallback;
      var a = el("a", { href: URL.createObjectURL(blob), download: name });
      document.body.appendChild(a);
      a.click();
      a.remove();
      msg.textContent = "Downloaded " + name + ".";
    } catch (e) {
      msg.textContent = e.message;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("key-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      setKey($("key").value);
      $("key").value = "";
      loadStatus($("period").value);
    });
    $("forget").addEventListener("click", function () {
      setKey("");
      showWho();
      clear($("status"));
      $("status").appendChild(el("p", { "class": "muted" }, ["Use your access key to see the status."]));
    });
    $("upload-form").addEventListener("submit", upload);
    $("status-form").addEventListener("submit", function (ev) { ev.preventDefault(); loadStatus($("period").value); });
    $("rollup").addEventListener("click", function () { download("/rollup/latest.xlsx", "rollup.xlsx"); });
    $("committee-report").addEventListener("click", function () { download("/report/latest.docx", "committee-report.docx"); });
    $("data-docs-link").addEventListener("click", openDataDocs);
    showWho();
    loadStatus();
  });
})();
