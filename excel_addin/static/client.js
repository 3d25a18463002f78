/*
 * actionplan's Office.js client: the part of xlwings' runPython the add-in needs.
 *
 * xlwings 0.37 ships clients for Office Scripts (xlwings.ts) and Google Sheets (xlwings.js) only, so this builds
 * the same workbook JSON with Office.js (client, version, book, names, sheets[{name, values, pictures, tables}],
 * dates as ISO strings like xlwings.ts) and applies the actions the actionplan service answers with.
 * The access key is kept in this add-in's localStorage: Office's roamingSettings exist only in Outlook, and
 * document settings would travel inside the workbook to whoever it is emailed to.
 */
/* global Office, Excel */
(function (global) {
  "use strict";

  var XLWINGS_VERSION = "0.37.8";
  var KEY_NAME = "actionplan.accessKey";
  // Sheets the service writes: the report is sent back (its list says which cells to un-colour), the others not.
  var COUNCIL_SHEETS = ["council summary", "council exceptions", "our actions", "council actions"];
  var ROWS_PER_SYNC = 2000; // keeps each request to Excel well under Office's ~5 MB limit

  function baseUrl() {
    return global.location.origin;
  }

  function accessKey() {
    try { return global.localStorage.getItem(KEY_NAME) || ""; } catch (e) { return ""; }
  }

  function setAccessKey(value) {
    try {
      if (value) { global.localStorage.setItem(KEY_NAME, value.trim()); }
      else { global.localStorage.removeItem(KEY_NAME); }
    } catch (e) { /* storage disabled: the key lasts for this session only */ }
  }

  function isoDate(serial) {
    // Excel serial day numbers count from 30 Dec 1899 (25569 days before 1 Jan 1970), as in xlwings.ts.
    return new Date(Math.round((serial - 25569) * 86400 * 1000)).toISOString();
  }

  async function bookPayload() {
    return Excel.run(async function (context) {
      var wb = context.workbook;
      var sheets = wb.worksheets;
      sheets.load("items/name,items/position");
      var active = wb.worksheets.getActiveWorksheet();
      active.load("position");
      wb.load("name");
      await context.sync();
      var kept = sheets.items.filter(function (ws) {
        return COUNCIL_SHEETS.indexOf(ws.name.toLowerCase()) < 0;
      });
      var used = kept.map(function (ws) {
        var u = ws.getUsedRangeOrNullObject(true);
        u.load("rowIndex,columnIndex,rowCount,columnCount");
        return u;
      });
      await context.sync();
      var ranges = kept.map(function (ws, i) {
        var u = used[i];
        if (u.isNullObject) { return null; }
        var r = ws.getRangeByIndexes(0, 0, u.rowIndex + u.rowCount, u.columnIndex + u.columnCount);
        r.load("values,numberFormatCategories");
        return r;
      });
      await context.sync();
      var out = kept.map(function (ws, i) {
        var r = ranges[i];
        var values = [[]];
        if (r) {
          values = r.values.map(function (row, ri) {
            return row.map(function (v, ci) {
              var cat = r.numberFormatCategories[ri][ci];
              return (cat === "Date" || cat === "Time") && typeof v === "number" ? isoDate(v) : v;
            });
          });
        }
        return { name: ws.name, values: values, pictures: [], tables: [] };
      });
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

  async function applyActions(actions) {
    var alertText = null;
    await Excel.run(async function (context) {
      var wb = context.workbook;
      var sheets = wb.worksheets;
      sheets.load("items/name");
      await context.sync();
      for (var i = 0; i < actions.length; i++) {
        var a = actions[i];
        var sheet = a.sheet_position === null ? null : sheets.items[a.sheet_position];
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
          case "setValues":
            for (var first = 0; first < a.values.length; first += ROWS_PER_SYNC) {
              var part = a.values.slice(first, first + ROWS_PER_SYNC);
              rangeOf(sheet, a, first, part.length).values = part;
              if (a.values.length > ROWS_PER_SYNC) { await context.sync(); }
            }
            break;
          case "setRangeColor":
            if (a.args[0]) { rangeOf(sheet, a).format.fill.color = a.args[0]; }
            else { rangeOf(sheet, a).format.fill.clear(); }
            break;
          case "setFontProperty":
            rangeOf(sheet, a).format.font[a.args[0]] = a.args[1];
            break;
          case "setColumnWidth":
            // The service gives widths in characters (as xlwings' column_width); Office.js wants points.
            rangeOf(sheet, a).format.columnWidth = a.args[0] * 5.6;
            break;
          case "setNumberFormat":
            for (var f = 0; f < a.row_count; f += ROWS_PER_SYNC) {
              var n = Math.min(ROWS_PER_SYNC, a.row_count - f);
              rangeOf(sheet, a, f, n).numberFormat = filled(n, a.column_count, a.args[0]);
            }
            break;
          case "activateSheet":
            sheets.items[a.args[0]].activate();
            break;
          case "alert":
            alertText = a.args[0];
            break;
          default:
            if (global.console) { global.console.warn("actionplan: action not supported here: " + a.func); }
        }
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

  async function callService(path, payload) {
    var key = await credential();
    if (!key) {
      throw new Error("Type your department's access key in the actionplan pane first " +
        "(ribbon: actionplan > Access key and status).");
    }
    var response;
    try {
      response = await global.fetch(baseUrl() + path, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Authorization": key },
        body: JSON.stringify(payload)
      });
    } catch (e) {
      throw new Error("The actionplan service could not be reached. Check your network connection and try again.");
    }
    var body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (response.status !== 200) {
      throw new Error((body && body.detail) || ("The actionplan service answered " + response.status + "."));
    }
    return body;
  }

  /** Send the open workbook to an xlwings endpoint and apply the answer; returns the alert text. */
  async function runPython(path) {
    var payload = await bookPayload();
    var answer = await callService(path, payload);
    return applyActions(answer.actions || []);
  }

  async function status(period) {
    var q = period ? "?period=" + encodeURIComponent(period) : "";
    var response = await global.fetch(baseUrl() + "/api/status" + q,
      { headers: { "Authorization": await credential() } });
    var body = await response.json().catch(function () { return {}; });
    if (response.status !== 200) { throw new Error(body.detail || "Status unavailable."); }
    return body;
  }

  global.actionplan = {
    accessKey: accessKey, setAccessKey: setAccessKey, credential: credential, bookPayload: bookPayload,
    applyActions: applyActions,
    runPython: runPython, status: status, baseUrl: baseUrl
  };
})(window);
