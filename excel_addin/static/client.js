/*
 * actionplan's Office.js client: the part of xlwings' runPython the add-in needs.
 *
 * xlwings 0.37 ships clients for Office Scripts (xlwings.ts) and Google Sheets (xlwings.js) only, so this builds
 * the same workbook JSON with Office.js (client, version, book, names, sheets[{name, values, pictures, tables}],
 * dates as ISO strings like xlwings.ts) and applies the actions the actionplan service answers with. As in
 * xlwings' own clients every sheet is sent, in workbook order, so the service's sheet positions are the
 * workbook's; the council sheets go with empty values (the service rewrites them and never reads them).
 *
 * The access key is kept in this add-in's localStorage (under Office's partition key where there is one):
 * Office's roamingSettings exist only in Outlook, and document settings would travel inside the workbook to
 * whoever it is emailed to.
 *
 * The department's own cell fills are never changed: the report's red and amber on the plan's sheets are
 * conditional formats the add-in adds and takes off again (their rule is MARK_RULE), which show over the
 * cell's own fill and leave it as it was.
 */
/* global Office, Excel */
(function (global) {
  "use strict";

  var XLWINGS_VERSION = "0.37.8";
  var KEY_NAME = "actionplan.accessKey";
  var REPORT_SHEET = "submission report";
  // Sheets the service writes: sent with empty values, except the report (its table lists the cells it marked).
  var COUNCIL_SHEETS = ["council summary", "council exceptions", "our actions", "council actions"];
  var EXCEL_API = "1.12";  // numberFormatCategories; getCellProperties and autoFilter are 1.9
  // Office rejects one request or answer over ~5 MB (Excel on the web): values go in blocks of this many cells,
  // cell properties (a small object per cell) in smaller ones.
  var CELLS_PER_SYNC = 20000;
  var STYLE_CELLS_PER_SYNC = 5000;
  var TIMEOUT_MS = 180000;  // a check of a very large workbook takes a while; a silent service must not hang Excel
  var STATUS_TIMEOUT_MS = 20000;
  var MARK_RULE = '="actionplan"="actionplan"';  // always true: identifies the add-in's own marks
  var KNOWN = ["addSheet", "sheetClear", "setValues", "setRangeColor", "setFontProperty", "setColumnWidth",
    "setNumberFormat", "activateSheet", "alert"];

  /** Something the user can act on went wrong: its message is shown as it is. */
  function Problem(message) {
    var e = new Error(message);
    e.name = "ActionplanProblem";
    return e;
  }

  function baseUrl() {
    // The add-in's pages live in <service>/static/, so the service is one level up from this page, whatever
    // path a reverse proxy puts it under (ACTIONPLAN_PUBLIC_URL=https://host/actionplan).
    return new URL("..", global.location.href).href.replace(/\/$/, "");
  }

  function storageName() {
    var partition = global.Office && Office.context && Office.context.partitionKey;
    return partition ? partition + KEY_NAME : KEY_NAME;
  }

  function accessKey() {
    try { return global.localStorage.getItem(storageName()) || ""; } catch (e) { return ""; }
  }

  function setAccessKey(value) {
    try {
      if (value && value.trim()) { global.localStorage.setItem(storageName(), value.trim()); }
      else { global.localStorage.removeItem(storageName()); }
    } catch (e) { /* storage disabled: the key lasts for this session only */ }
  }

  /** Throw a plain message when this Excel is too old for the add-in (Excel 2016 and 2019 are). */
  function checkExcel() {
    var req = global.Office && Office.context && Office.context.requirements;
    if (!req || !req.isSetSupported("ExcelApi", EXCEL_API)) {
      throw Problem("This version of Excel is too old for the actionplan add-in. It needs Excel for Microsoft " +
        "365, Excel 2021 or later, or Excel on the web (Excel JavaScript API " + EXCEL_API + "). Ask IT to " +
        "update Office, or upload the workbook on the actionplan web page instead.");
    }
  }

  function isoDate(serial) {
    // Excel serial day numbers count from 30 Dec 1899 (25569 days before 1 Jan 1970), as in xlwings.ts.
    return new Date(Math.round((serial - 25569) * 86400 * 1000)).toISOString();
  }

  function isOurs(name) {
    var n = name.toLowerCase();
    return n === REPORT_SHEET || COUNCIL_SHEETS.indexOf(n) >= 0;
  }

  function blockRows(columns, cells) { return Math.max(1, Math.floor(cells / Math.max(1, columns))); }

  /** One sheet's values from A1 to the end of its used range, read in row blocks (each block one sync). */
  async function sheetValues(context, ws, rows, cols) {
    var out = [];
    var step = blockRows(cols, CELLS_PER_SYNC);
    for (var first = 0; first < rows; first += step) {
      var n = Math.min(step, rows - first);
      var r = ws.getRangeByIndexes(first, 0, n, cols);
      r.load("values,numberFormatCategories");
      await context.sync();
      for (var i = 0; i < n; i++) {
        var cats = r.numberFormatCategories[i];
        out.push(r.values[i].map(function (v, c) {
          return (cats[c] === "Date" || cats[c] === "Time") && typeof v === "number" ? isoDate(v) : v;
        }));
      }
    }
    return out;
  }

  /** The fills (other than none/white) and bold cells of a sheet's used range, as [row, column(, colour)]. */
  async function sheetStyles(context, ws, rows, cols) {
    var fills = [];
    var bold = [];
    var step = blockRows(cols, STYLE_CELLS_PER_SYNC);
    for (var first = 0; first < rows; first += step) {
      var n = Math.min(step, rows - first);
      var props = ws.getRangeByIndexes(first, 0, n, cols).getCellProperties({
        format: { fill: { color: true }, font: { bold: true } }
      });
      await context.sync();
      props.value.forEach(function (row, i) {
        row.forEach(function (cell, c) {
          var colour = cell.format && cell.format.fill && cell.format.fill.color;
          if (colour && colour.toUpperCase() !== "#FFFFFF") { fills.push([first + i, c, colour.toUpperCase()]); }
          if (cell.format && cell.format.font && cell.format.font.bold) { bold.push([first + i, c]); }
        });
      });
    }
    return { fills: fills, bold: bold };
  }

  /** The workbook as xlwings JSON; with styles, also the fills and bold cells of those (plan) sheets. */
  async function bookPayload(styles) {
    checkExcel();
    return Excel.run(async function (context) {
      var wb = context.workbook;
      var sheets = wb.worksheets;
      sheets.load("items/name");
      var active = wb.worksheets.getActiveWorksheet();
      active.load("position");
      wb.load("name");
      await context.sync();
      var used = sheets.items.map(function (ws) {
        if (COUNCIL_SHEETS.indexOf(ws.name.toLowerCase()) >= 0) { return null; }
        var u = ws.getUsedRangeOrNullObject(true);
        u.load("rowIndex,columnIndex,rowCount,columnCount");
        return u;
      });
      await context.sync();
      var out = [];
      for (var i = 0; i < sheets.items.length; i++) {
        var ws = sheets.items[i];
        var u = used[i];
        var sheet = { name: ws.name, values: [[]], pictures: [], tables: [] };
        if (u && !u.isNullObject) {
          var rows = u.rowIndex + u.rowCount;
          var cols = u.columnIndex + u.columnCount;
          sheet.values = await sheetValues(context, ws, rows, cols);
          if (styles && styles.indexOf(ws.name) >= 0 && !isOurs(ws.name)) {
            var st = await sheetStyles(context, ws, rows, cols);
            sheet.fills = st.fills;
            sheet.bold = st.bold;
          }
        }
        out.push(sheet);
      }
      return {
        client: "Office.js",
        version: XLWINGS_VERSION,
        book: { name: wb.name || "workbook.xlsx", active_sheet_index: active.position, selection: null },
        names: [],
        sheets: out
      };
    });
  }

  function rangeOf(sheet, a, firstRow, rows) {
    return sheet.getRangeByIndexes(a.start_row + (firstRow || 0), a.start_column,
      rows || a.row_count, a.column_count);
  }

  function filled(rows, cols, value) {
    var out = [];
    for (var r = 0; r < rows; r++) {
      var row = [];
      for (var c = 0; c < cols; c++) { row.push(value); }
      out.push(row);
    }
    return out;
  }

  function unknownActions(actions) {
    return actions.filter(function (a) { return KNOWN.indexOf(a.func) < 0; }).map(function (a) { return a.func; });
  }

  /** Refuse, before changing anything, to write into a protected sheet (Excel's own error names no sheet). */
  async function refuseProtected(context, sheets, actions) {
    var touched = [];
    actions.forEach(function (a) {
      var ws = a.sheet_position === null || a.func === "activateSheet" ? null : sheets.items[a.sheet_position];
      if (ws && touched.indexOf(ws) < 0) { touched.push(ws); }
    });
    touched.forEach(function (ws) { ws.protection.load("protected"); });
    await context.sync();
    var locked = touched.filter(function (ws) { return ws.protection.protected; });
    if (locked.length) {
      var names = locked.map(function (ws) { return "'" + ws.name + "'"; }).join(" and ");
      throw Problem("The sheet " + names + " is protected, so actionplan cannot write its report there: nothing " +
        "was changed. Unprotect it (Review > Unprotect Sheet), then try again.");
    }
  }

  /** Take the add-in's own marks (conditional formats with MARK_RULE) off the given sheets. */
  async function removeMarks(context, targets) {
    var all = targets.map(function (ws) {
      var cfs = ws.getRange().conditionalFormats;
      cfs.load("items/type");
      return cfs;
    });
    await context.sync();
    var custom = [];
    all.forEach(function (cfs) {
      cfs.items.forEach(function (cf) {
        if (cf.type === "Custom") { cf.load("custom/rule/formula"); custom.push(cf); }
      });
    });
    if (!custom.length) { return; }
    await context.sync();
    custom.forEach(function (cf) {
      if (cf.custom.rule.formula === MARK_RULE) { cf.delete(); }
    });
  }

  function mark(range, colour) {
    var cf = range.conditionalFormats.add(Excel.ConditionalFormatType.custom);
    cf.custom.rule.formula = MARK_RULE;
    cf.custom.format.fill.color = colour;
  }

  /** The report sheet's finishing: each message's cell a link to it, headings frozen, a filter, wrapped text. */
  function finishReport(sheet, values) {
    var top = -1;
    for (var r = 0; r < values.length; r++) {
      if (values[r] && String(values[r][0]) === "Sheet" && String(values[r][1]) === "Cell") { top = r; break; }
    }
    if (top < 0) { return; }
    var last = values.length - 1;
    while (last > top && !values[last].some(function (v) { return v !== ""; })) { last--; }
    sheet.freezePanes.freezeRows(top + 1);
    sheet.autoFilter.apply(sheet.getRangeByIndexes(top, 0, last - top + 1, 4));
    sheet.getRangeByIndexes(top, 2, last - top + 1, 2).format.wrapText = true;
    for (var i = top + 1; i <= last; i++) {
      var name = String(values[i][0]).replace(/^'/, "");
      var cell = String(values[i][1]).replace(/^'/, "");
      if (name && /^[A-Z]{1,3}[0-9]{1,7}$/.test(cell)) {
        sheet.getRangeByIndexes(i, 1, 1, 1).hyperlink = {
          documentReference: "'" + name.replace(/'/g, "''") + "'!" + cell,
          textToDisplay: cell,
          screenTip: "Go to " + name + "!" + cell
        };
      }
    }
  }

  async function applyActions(actions) {
    var unknown = unknownActions(actions);
    if (unknown.length) {
      throw Problem("The actionplan service answered with something this add-in cannot do (" + unknown.join(", ") +
        "), so nothing was changed. Close and reopen the actionplan pane to load the current add-in, then try again.");
    }
    var alertText = null;
    await Excel.run(async function (context) {
      var wb = context.workbook;
      var sheets = wb.worksheets;
      sheets.load("items/name");
      await context.sync();
      await refuseProtected(context, sheets, actions);
      // Sheets the service does not write are the department's: their colours become marks, not fills.
      var planSheets = sheets.items.filter(function (ws) { return !isOurs(ws.name); });
      // A new report replaces the last one's marks, even when its sheet (which lists them) has been deleted.
      var marksPlan = actions.some(function (a) {
        if (a.func === "addSheet") { return String(a.args[1]).toLowerCase() === REPORT_SHEET; }
        var ws = a.sheet_position !== null ? sheets.items[a.sheet_position] : null;
        if (!ws) { return false; }  // a sheet the answer adds comes later in it: not there yet
        if (a.func === "setRangeColor") { return !isOurs(ws.name); }
        return a.func === "sheetClear" && ws.name.toLowerCase() === REPORT_SHEET;
      });
      if (marksPlan) { await removeMarks(context, planSheets); }
      var report = null;
      var reportValues = [];
      for (var i = 0; i < actions.length; i++) {
        var a = actions[i];
        var sheet = a.sheet_position === null ? null : sheets.items[a.sheet_position];
        var plan = sheet !== null && !isOurs(sheet.name);
        switch (a.func) {
          case "addSheet": {
            var added = wb.worksheets.add(a.args[1]);
            added.position = a.args[0];
            await context.sync();
            sheets = wb.worksheets;
            sheets.load("items/name");
            await context.sync();
            break;
          }
          case "sheetClear":
            sheet.getRange().clear();
            break;
          case "setValues": {
            var step = blockRows(a.column_count, CELLS_PER_SYNC);
            for (var first = 0; first < a.values.length; first += step) {
              var part = a.values.slice(first, first + step);
              rangeOf(sheet, a, first, part.length).values = part;
              if (a.values.length > step) { await context.sync(); }
            }
            if (sheet.name.toLowerCase() === REPORT_SHEET) {
              report = sheet;
              a.values.forEach(function (row, r) { reportValues[a.start_row + r] = row; });
            }
            break;
          }
          case "setRangeColor":
            if (plan) { if (a.args[0]) { mark(rangeOf(sheet, a), a.args[0]); } }
            else if (a.args[0]) { rangeOf(sheet, a).format.fill.color = a.args[0]; }
            else { rangeOf(sheet, a).format.fill.clear(); }
            break;
          case "setFontProperty":
            rangeOf(sheet, a).format.font[a.args[0]] = a.args[1];
            break;
          case "setColumnWidth":
            // The service gives widths in characters (as xlwings' column_width); Office.js wants points.
            rangeOf(sheet, a).format.columnWidth = a.args[0] * 5.6;
            break;
          case "setNumberFormat": {
            var rows = blockRows(a.column_count, CELLS_PER_SYNC);
            for (var f = 0; f < a.row_count; f += rows) {
              var n = Math.min(rows, a.row_count - f);
              rangeOf(sheet, a, f, n).numberFormat = filled(n, a.column_count, a.args[0]);
              if (a.row_count > rows) { await context.sync(); }
            }
            break;
          }
          case "activateSheet":
            sheets.items[a.args[0]].activate();
            break;
          case "alert":
            alertText = a.args[0];
            break;
        }
      }
      if (report) {
        for (var k = 0; k < reportValues.length; k++) { reportValues[k] = reportValues[k] || []; }
        finishReport(report, reportValues);
      }
      await context.sync();
    });
    return alertText;
  }

  async function signInToken() {
    // Microsoft 365 sign-in (Office SSO) where the council set it up in Entra ID and the manifest; null otherwise,
    // and then the pasted access key is the way in, as for councils without Entra ID.
    if (!global.Office || !Office.auth || typeof Office.auth.getAccessToken !== "function") { return null; }
    try {
      return await Office.auth.getAccessToken({ allowSignInPrompt: true, allowConsentPrompt: true });
    } catch (e) {
      return null;
    }
  }

  /** The Authorization header: the pasted access key, else a Microsoft 365 sign-in token, else "". */
  async function credential() {
    var key = accessKey();
    if (key) { return key; }
    var token = await signInToken();
    return token ? "Bearer " + token : "";
  }

  async function request(path, init, timeoutMs) {
    var abort = new AbortController();
    var timer = setTimeout(function () { abort.abort(); }, timeoutMs);
    try {
      return await global.fetch(baseUrl() + path, Object.assign({ signal: abort.signal }, init));
    } catch (e) {
      if (abort.signal.aborted) {
        throw Problem("The actionplan service did not answer within " + Math.round(timeoutMs / 1000) + " seconds. " +
          "Try again in a few minutes; if it keeps happening, tell corporate performance.");
      }
      throw Problem("The actionplan service could not be reached. Check your network connection and try again.");
    } finally {
      clearTimeout(timer);
    }
  }

  async function answerOf(response) {
    var body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (response.status !== 200) {
      throw Problem((body && body.detail) || ("The actionplan service answered " + response.status + "."));
    }
    return body;
  }

  async function callService(path, payload) {
    var key = await credential();
    if (!key) {
      throw Problem("Type your department's access key in the actionplan pane first " +
        "(ribbon: actionplan > Access key and status).");
    }
    var response = await request(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": key },
      body: JSON.stringify(payload)
    }, TIMEOUT_MS);
    var body = await answerOf(response);
    if (!body || !Array.isArray(body.actions)) {
      throw Problem("The actionplan service's answer could not be read, so nothing was changed. Try again.");
    }
    return body;
  }

  /** Send the open workbook to an xlwings endpoint and apply the answer; returns the alert text. */
  async function runPython(path) {
    var answer = await callService(path, await bookPayload(null));
    var ask = answer.actions.length === 1 && answer.actions[0].func === "sendCellStyles" ? answer.actions[0] : null;
    if (ask) {
      // The plan's layout reads cell colours or bold headings: send them too, for those sheets only.
      answer = await callService(path, await bookPayload(ask.args[0] || []));
    }
    return applyActions(answer.actions);
  }

  /** Department and period as the workbook's Plan sheet names them (label in column A, value in B). */
  async function planFacts() {
    checkExcel();
    return Excel.run(async function (context) {
      var plan = context.workbook.worksheets.getItemOrNullObject("Plan");
      await context.sync();
      var facts = {};
      if (plan.isNullObject) { return facts; }
      var r = plan.getRange("A1:B30");
      r.load("values");
      await context.sync();
      r.values.forEach(function (row) {
        var label = String(row[0]).trim().toLowerCase();
        if ((label === "department" || label === "period") && !facts[label] && String(row[1]).trim()) {
          facts[label] = String(row[1]).trim();
        }
      });
      return facts;
    });
  }

  /** The question asked before Submit: "Submit Finance's plan for 2024/25 Q2?". */
  async function submitQuestion() {
    var facts = await planFacts();
    var department = facts.department;
    try {
      var you = (await status()).you || {};
      department = you.department || department;  // a department key submits for its own department only
    } catch (e) { /* the submit itself will say what is wrong */ }
    var whose = department ? department + "'s plan" : "this plan";
    return "Submit " + whose + (facts.period ? " for " + facts.period : "") + "?";
  }

  async function status(period) {
    var q = period ? "?period=" + encodeURIComponent(period) : "";
    var response = await request("/api/status" + q, { headers: { "Authorization": await credential() } },
      STATUS_TIMEOUT_MS);
    var body = await response.json().catch(function () { return {}; });
    if (response.status !== 200) { throw Problem(body.detail || "Status unavailable."); }
    return body;
  }

  /** Show a message in Office's dialog; with ask, OK and Cancel buttons and true when OK was pressed. */
  function dialog(message, ask) {
    var url = baseUrl() + "/static/alert.html?" + (ask ? "ask=1&" : "") + "message=" + encodeURIComponent(message);
    return new Promise(function (resolve) {
      Office.context.ui.displayDialogAsync(url, { height: 30, width: 35, displayInIframe: true }, function (result) {
        if (result.status !== Office.AsyncResultStatus.Succeeded) { resolve(false); return; }
        var box = result.value;
        box.addEventHandler(Office.EventType.DialogMessageReceived, function (arg) {
          box.close();
          resolve("message" in arg && arg.message === "ok");
        });
        box.addEventHandler(Office.EventType.DialogEventReceived, function () { resolve(false); });  // its own X
      });
    });
  }

  /** The words to show for an error: ours as they are, Excel's own with what to do next. */
  function messageOf(e) {
    if (e && e.name === "ActionplanProblem") { return e.message; }
    if (e && e.code) {
      return "Excel stopped with an error (" + e.code + ": " + e.message + "). Try again; if it happens again, " +
        "tell corporate performance.";
    }
    return "Something went wrong in the actionplan add-in (" + ((e && e.message) || String(e)) + "). Try again; " +
      "if it happens again, tell corporate performance.";
  }

  global.actionplan = {
    messageOf: messageOf, accessKey: accessKey, setAccessKey: setAccessKey, credential: credential,
    bookPayload: bookPayload, applyActions: applyActions,
    runPython: runPython, status: status, baseUrl: baseUrl, submitQuestion: submitQuestion, dialog: dialog,
    checkExcel: checkExcel
  };
})(window);
