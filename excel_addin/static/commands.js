/* The ribbon's buttons: Check, Submit, Get council rollup. Submit asks first; the answer is shown in a dialog. */
/* global Office, actionplan */
(function (global) {
  "use strict";

  function command(path, ask) {
    return async function (event) {
      try {
        if (ask && !(await actionplan.dialog(await actionplan.submitQuestion(), true))) { return; }
        await actionplan.dialog(await actionplan.runPython(path) || "Done.");
      } catch (e) {
        await actionplan.dialog(actionplan.messageOf(e));
      } finally {
        if (event && event.completed) { event.completed(); }
      }
    };
  }

  global.checkPlan = command("/xlwings/check", false);
  global.submitPlan = command("/xlwings/submit", true);
  global.getRollup = command("/xlwings/rollup", false);

  Office.onReady(function () {
    if (Office.actions && Office.actions.associate) {
      Office.actions.associate("checkPlan", global.checkPlan);
      Office.actions.associate("submitPlan", global.submitPlan);
      Office.actions.associate("getRollup", global.getRollup);
    }
  });
})(window);
