/* The ribbon's buttons: Check, Submit, Get council rollup. The answer is shown in a small dialog. */
/* global Office, actionplan */
(function (global) {
  "use strict";

  function show(message) {
    var url = actionplan.baseUrl() + "/static/alert.html?message=" + encodeURIComponent(message);
    return new Promise(function (resolve) {
      Office.context.ui.displayDialogAsync(url, { height: 30, width: 35, displayInIframe: true }, function (result) {
        if (result.status !== Office.AsyncResultStatus.Succeeded) { resolve(); return; }
        var dialog = result.value;
        var done = function () { dialog.close(); resolve(); };
        dialog.addEventHandler(Office.EventType.DialogMessageReceived, done);
        dialog.addEventHandler(Office.EventType.DialogEventReceived, resolve);  // closed with its own X
      });
    });
  }

  function command(path) {
    return async function (event) {
      try {
        await show(await actionplan.runPython(path) || "Done.");
      } catch (e) {
        await show(e.message || String(e));
      } finally {
        if (event && event.completed) { event.completed(); }
      }
    };
  }

  global.checkPlan = command("/xlwings/check");
  global.submitPlan = command("/xlwings/submit");
  global.getRollup = command("/xlwings/rollup");

  Office.onReady(function () {
    if (Office.actions && Office.actions.associate) {
      Office.actions.associate("checkPlan", global.checkPlan);
      Office.actions.associate("submitPlan", global.submitPlan);
      Office.actions.associate("getRollup", global.getRollup);
    }
  });
})(window);
