/* The task pane: keep the access key, show the department's last submission, run Check / Submit / Rollup. */
/* global Office, actionplan */
(function () {
  "use strict";

  function text(id, value) { document.getElementById(id).textContent = value; }

  /** The Check / Submit / Rollup buttons. */
  function pathButtons() {
    return /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll("button[data-path]"));
  }

  function keyInput() { return /** @type {HTMLInputElement} */ (document.getElementById("key")); }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" }) : "–";
  }

  async function refresh() {
    if (!(await actionplan.credential())) { text("who", "Not signed in: type your access key below."); return; }
    try {
      var s = await actionplan.status();
      var you = s.you || {};
      text("who", you.admin ? "Signed in for corporate performance (all departments)."
        : "Signed in for " + you.department + ".");
      text("mine-department", you.department || "All (admin key)");
      text("mine-period", s.period);
      var row = (s.departments || []).filter(function (d) { return d.department === you.department; })[0];
      if (row && row.returned) {
        // Corporate performance sent the plan back: say why, so the department can correct it and submit again.
        text("mine-last", when(row.submitted_at) + (row.submitted_by ? " by " + row.submitted_by : ""));
        text("mine-outcome", "Returned by corporate performance: " + row.returned.comment +
          " Correct the workbook and click Submit again.");
      } else if (row && row.submitted_at) {
        text("mine-last", when(row.submitted_at) + (row.submitted_by ? " by " + row.submitted_by : ""));
        text("mine-outcome", row.outcome === "accepted"
          ? "Accepted" + (row.warnings ? " with " + row.warnings + " warning" + (row.warnings === 1 ? "" : "s") : "")
            + (row.standing === "late" ? " (late: " + row.note + ")" : "")
          : "Rejected: " + row.errors + " error" + (row.errors === 1 ? "" : "s"));
      } else {
        text("mine-last", you.department ? "Nothing submitted for " + s.period + " yet" : "–");
        text("mine-outcome", "–");
      }
    } catch (e) {
      text("who", e.message);
    }
  }

  async function run(path, button) {
    var buttons = pathButtons();
    buttons.forEach(function (b) { b.disabled = true; });
    try {
      if (path === "/xlwings/submit" && !(await actionplan.dialog(await actionplan.submitQuestion(), true))) {
        text("result", "Nothing was submitted.");
        return;
      }
      text("result", "Working…");
      text("result", (await actionplan.runPython(path)) || "Done.");
      refresh();
    } catch (e) {
      text("result", actionplan.messageOf(e));
    } finally {
      buttons.forEach(function (b) { b.disabled = false; });
      button.focus();
    }
  }

  function start() {
    try {
      actionplan.checkExcel();
    } catch (e) {
      text("who", e.message);
      pathButtons().forEach(function (b) { b.disabled = true; });
      return;
    }
    keyInput().value = "";
    document.getElementById("key-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      actionplan.setAccessKey(keyInput().value);
      keyInput().value = "";
      refresh();
    });
    document.getElementById("forget").addEventListener("click", function () {
      actionplan.setAccessKey("");
      refresh();
    });
    pathButtons().forEach(function (b) {
      b.addEventListener("click", function () { run(b.getAttribute("data-path"), b); });
    });
    refresh();
  }

  if (window.Office && Office.onReady) { Office.onReady(start); } else { document.addEventListener("DOMContentLoaded", start); }
})();
