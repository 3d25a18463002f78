/*
 * A strict imitation of the parts of Excel's Office.js object model the add-in uses, for running its client in Node.
 *
 * Strict where Excel is: a property read before load() + sync() throws PropertyNotLoaded; a 2-D array must match
 * its range; a second sheet of the same name throws ItemAlreadyExists; a write to a protected sheet throws
 * AccessDenied; one sync whose request or response is over ~5 MB throws RequestPayloadSizeLimitExceeded (Excel on
 * the web's limit); an API newer than the host's ExcelApi version throws ApiNotFound. Writes are queued and
 * applied in order at sync(), as Excel applies a batch.
 *
 * The workbook lives in a plain JSON "state" ({name, active, sheets: [{id, name, values, fills, bold, ...}]}) so a
 * test can build it, run one command, and read what the command left.
 */
"use strict";

const PAYLOAD_LIMIT = 5 * 1024 * 1024;
const MAX_ROWS = 1048576;
const MAX_COLS = 16384;

class OfficeError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "RichApi.Error";
    this.code = code;
  }
}

const MESSAGES = {
  PropertyNotLoaded: (p) => `The property '${p}' is not available. Before reading the property's value, call the ` +
    "load method on the containing object and call \"context.sync()\" on the associated request context.",
  ItemAlreadyExists: () => "A resource with the same name or identifier already exists.",
  InvalidArgument: () => "The argument is invalid or missing or has an incorrect format.",
  AccessDenied: () => "The cell or chart you're trying to change is on a protected sheet. To make a change, " +
    "unprotect the sheet. You might be requested to enter a password.",
  RequestPayloadSizeLimitExceeded: () => "The request payload size has exceeded the limit. Please refer to the " +
    "documentation: \"https://docs.microsoft.com/office/dev/add-ins/concepts/resource-limits-and-performance-optimization#excel-add-ins\".",
  ApiNotFound: (what) => `The API you are trying to use could not be found (${what}). It may be available in a ` +
    "newer version of Excel.",
  ItemNotFound: () => "The requested resource doesn't exist.",
  InvalidObjectPath: () => "The object path isn't working for what you're trying to do. If you're using the object " +
    "across multiple \"context.sync\" calls and outside the sequential execution of a \".run\" batch, please use " +
    "the \"context.trackedObjects.add()\" and \"context.trackedObjects.remove()\" methods to manage the object's " +
    "lifetime.",
};

function fail(code, arg) { throw new OfficeError(code, MESSAGES[code](arg)); }

// The ExcelApi version each member arrived in (Microsoft's requirement-set pages).
const SINCE = {
  getUsedRangeOrNullObject: "1.4", getRangeByIndexes: "1.4", numberFormatCategories: "1.12",
  getCellProperties: "1.9", hyperlink: "1.7", freezePanes: "1.7", autoFilter: "1.9", protection: "1.2",
  "workbook.name": "1.7", conditionalFormats: "1.6", columnWidth: "1.2", getItemOrNullObject: "1.4",
};

function atLeast(version, wanted) {
  const a = String(version).split(".").map(Number);
  const b = String(wanted).split(".").map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] || 0) !== (b[i] || 0)) { return (a[i] || 0) > (b[i] || 0); }
  }
  return true;
}

function key(r, c) { return r + "," + c; }

function categoryOf(format) {
  if (!format || format === "General") { return "General"; }
  if (/^@$/.test(format)) { return "Text"; }
  if (/%/.test(format)) { return "Percentage"; }
  if (/[dy]/i.test(format.replace(/"[^"]*"/g, ""))) { return "Date"; }
  if (/h|s/i.test(format.replace(/"[^"]*"/g, ""))) { return "Time"; }
  return "Number";
}

/** A sheet's cell value at 0-based (r, c): "" when empty. */
function cellValue(sheet, r, c) {
  const row = sheet.values[r];
  const v = row ? row[c] : undefined;
  return v === undefined || v === null ? "" : v;
}

function setCell(sheet, r, c, v) {
  // Excel keeps a leading apostrophe as the "text" prefix, not as part of the value.
  if (typeof v === "string" && v.startsWith("'")) { v = v.slice(1); }
  while (sheet.values.length <= r) { sheet.values.push([]); }
  const row = sheet.values[r];
  while (row.length <= c) { row.push(""); }
  row[c] = v;
}

function usedBox(sheet, valuesOnly) {
  let top = Infinity, left = Infinity, bottom = -1, right = -1;
  const grow = (r, c) => {
    top = Math.min(top, r); left = Math.min(left, c); bottom = Math.max(bottom, r); right = Math.max(right, c);
  };
  sheet.values.forEach((row, r) => row.forEach((v, c) => { if (v !== "" && v !== null && v !== undefined) { grow(r, c); } }));
  if (!valuesOnly) {
    for (const map of [sheet.fills, sheet.bold, sheet.formats]) {
      Object.keys(map).forEach((k) => { const [r, c] = k.split(",").map(Number); grow(r, c); });
    }
  }
  return bottom < 0 ? null : { row: top, col: left, rows: bottom - top + 1, cols: right - left + 1 };
}

function a1(r, c) {
  let s = "";
  for (let n = c + 1; n > 0; n = Math.floor((n - 1) / 26)) { s = String.fromCharCode(65 + ((n - 1) % 26)) + s; }
  return s + (r + 1);
}

function parseA1(text) {
  const m = /^\$?([A-Z]{1,3})\$?(\d+)$/i.exec(text);
  if (!m) { return null; }
  let col = 0;
  for (const ch of m[1].toUpperCase()) { col = col * 26 + ch.charCodeAt(0) - 64; }
  return { row: Number(m[2]) - 1, col: col - 1 };
}

/** The loaded-properties mechanics shared by every proxy. */
class ClientObject {
  constructor(ctx) {
    this._ctx = ctx;
    this._loaded = new Set();
    this._data = {};
  }
  _read(name) {
    this._ctx._alive();
    if (!this._loaded.has(name)) { fail("PropertyNotLoaded", name); }
    return this._data[name];
  }
  _queue(fn) { this._ctx._alive(); this._ctx._ops.push(fn); }
  _need(member) {
    if (!atLeast(this._ctx._api, SINCE[member])) { fail("ApiNotFound", member + ", ExcelApi " + SINCE[member]); }
  }
  load(spec) {
    const names = typeof spec === "string" ? spec.split(",").map((s) => s.trim()).filter(Boolean)
      : Array.isArray(spec) ? spec : Object.keys(spec || {});
    this._queue(() => this._load(names));
    return this;
  }
}

class Workbook extends ClientObject {
  constructor(ctx) {
    super(ctx);
    this.worksheets = new WorksheetCollection(ctx);
  }
  get name() { return this._read("name"); }
  _load(names) {
    for (const n of names) {
      if (n !== "name") { fail("InvalidArgument"); }
      this._need("workbook.name");
      this._data.name = this._ctx._state.name;
      this._loaded.add("name");
    }
  }
}

class WorksheetCollection extends ClientObject {
  get items() { return this._read("items"); }
  _load(names) {
    const state = this._ctx._state;
    const props = names.map((n) => n.replace(/^items\//, ""));
    this._data.items = state.sheets.map((s) => {
      const ws = new Worksheet(this._ctx, () => s);
      ws._load(props);
      return ws;
    });
    this._loaded.add("items");
  }
  add(name) {
    let created = null;
    const ws = new Worksheet(this._ctx, () => created || fail("InvalidObjectPath"));
    this._queue(() => {
      const state = this._ctx._state;
      const wanted = name || ("Sheet" + (state.sheets.length + 1));
      if (state.sheets.some((s) => s.name.toLowerCase() === String(wanted).toLowerCase())) {
        fail("ItemAlreadyExists");
      }
      created = emptySheet(state, String(wanted));
      state.sheets.push(created);
    });
    return ws;
  }
  getActiveWorksheet() {
    let active = null;
    return new Worksheet(this._ctx, () => {
      const state = this._ctx._state;
      active = active || state.sheets.find((s) => s.id === state.active) || state.sheets[0];
      return active;
    });
  }
  getItemOrNullObject(name) {
    const ws = new Worksheet(this._ctx, () => this._ctx._state.sheets.find(
      (s) => s.name.toLowerCase() === String(name).toLowerCase()) || null);
    ws._nullable = true;
    this._queue(() => { ws._need("getItemOrNullObject"); ws._found = ws._resolve(); });
    return ws;
  }
  getItem(name) {
    return new Worksheet(this._ctx, () => this._ctx._state.sheets.find(
      (s) => s.name.toLowerCase() === String(name).toLowerCase()) || fail("ItemNotFound"));
  }
}

function emptySheet(state, name) {
  state.nextId = (state.nextId || state.sheets.length + 1) + 1;
  return { id: "s" + state.nextId, name, values: [], formats: {}, fills: {}, bold: {}, fontSize: {}, links: {},
    wrap: {}, columnWidths: {}, protected: false, frozenRows: 0, autoFilter: null, marks: [] };
}

class Worksheet extends ClientObject {
  constructor(ctx, resolve) {
    super(ctx);
    this._resolve = resolve;
    this.protection = new Protection(ctx, this);
    this.freezePanes = new FreezePanes(ctx, this);
    this.autoFilter = new AutoFilter(ctx, this);
  }
  get isNullObject() {
    if (!this._nullable) { return false; }
    if (this._found === undefined) { fail("PropertyNotLoaded", "isNullObject"); }
    return this._found === null;
  }
  get name() { return this._read("name"); }
  set name(v) { this._queue(() => { this._resolve().name = String(v); }); }
  get position() { return this._read("position"); }
  set position(v) {
    this._queue(() => {
      const state = this._ctx._state;
      const sheet = this._resolve();
      const at = Math.max(0, Math.min(Number(v), state.sheets.length - 1));
      state.sheets.splice(state.sheets.indexOf(sheet), 1);
      state.sheets.splice(at, 0, sheet);
    });
  }
  _load(names) {
    const sheet = this._resolve();
    for (const n of names) {
      if (n === "name") { this._data.name = sheet.name; }
      else if (n === "position") { this._data.position = this._ctx._state.sheets.indexOf(sheet); }
      else if (n === "id") { this._data.id = sheet.id; }
      else { fail("InvalidArgument"); }
      this._loaded.add(n);
    }
  }
  activate() { this._queue(() => { this._ctx._state.active = this._resolve().id; }); }
  delete() {
    this._queue(() => {
      const state = this._ctx._state;
      state.sheets.splice(state.sheets.indexOf(this._resolve()), 1);
    });
  }
  getRange(address) {
    return new Range(this._ctx, this, () => {
      if (!address) { return { row: 0, col: 0, rows: MAX_ROWS, cols: MAX_COLS }; }
      const [from, to] = String(address).split(":").map(parseA1);
      if (!from) { fail("InvalidArgument"); }
      const end = to || from;
      return { row: from.row, col: from.col, rows: end.row - from.row + 1, cols: end.col - from.col + 1 };
    });
  }
  getRangeByIndexes(row, col, rows, cols) {
    return new Range(this._ctx, this, () => {
      this._need("getRangeByIndexes");
      if (!(rows >= 1 && cols >= 1 && row >= 0 && col >= 0 && row + rows <= MAX_ROWS && col + cols <= MAX_COLS)) {
        fail("InvalidArgument");
      }
      return { row, col, rows, cols };
    });
  }
  getUsedRangeOrNullObject(valuesOnly) {
    return new Range(this._ctx, this, () => {
      this._need("getUsedRangeOrNullObject");
      return usedBox(this._resolve(), !!valuesOnly);
    }, true);
  }
}

class Protection extends ClientObject {
  constructor(ctx, ws) { super(ctx); this._ws = ws; }
  get protected() { return this._read("protected"); }
  _load(names) {
    this._need("protection");
    for (const n of names) {
      if (n !== "protected") { fail("InvalidArgument"); }
      this._data.protected = !!this._ws._resolve().protected;
      this._loaded.add(n);
    }
  }
}

class FreezePanes extends ClientObject {
  constructor(ctx, ws) { super(ctx); this._ws = ws; }
  freezeRows(count) {
    this._queue(() => { this._need("freezePanes"); this._ws._resolve().frozenRows = count; });
  }
}

class AutoFilter extends ClientObject {
  constructor(ctx, ws) { super(ctx); this._ws = ws; }
  apply(range) {
    this._queue(() => {
      this._need("autoFilter");
      const box = range._box();
      this._ws._resolve().autoFilter = a1(box.row, box.col) + ":" + a1(box.row + box.rows - 1, box.col + box.cols - 1);
    });
  }
  remove() { this._queue(() => { this._need("autoFilter"); this._ws._resolve().autoFilter = null; }); }
}

class ClientResult {
  constructor(ctx) { this._ctx = ctx; this._ready = false; this._value = undefined; }
  get value() {
    if (!this._ready) { fail("PropertyNotLoaded", "value"); }
    return this._value;
  }
}

class Range extends ClientObject {
  constructor(ctx, ws, boxOf, orNull) {
    super(ctx);
    this._ws = ws;
    this._boxOf = boxOf;
    this._orNull = !!orNull;
    this._boxCache = undefined;
    this.format = new RangeFormat(ctx, this);
    this.conditionalFormats = new ConditionalFormats(ctx, this);
    // Resolving the address is part of the batch: an *OrNullObject range knows it is null after the next sync.
    this._queue(() => { this._box(); });
  }
  _box() {
    if (this._boxCache === undefined) { this._boxCache = this._boxOf(); }
    if (this._boxCache === null && !this._orNull) { fail("ItemNotFound"); }
    return this._boxCache;
  }
  get isNullObject() {
    if (this._boxCache === undefined) { fail("PropertyNotLoaded", "isNullObject"); }
    return this._boxCache === null;
  }
  _sheet() { return this._ws._resolve(); }
  _writable() {
    if (this._sheet().protected) { fail("AccessDenied"); }
  }
  _cells(fn) {
    const b = this._box();
    const sheet = this._sheet();
    // A whole-sheet range: only the cells that can hold anything.
    const rowEnd = b.rows >= MAX_ROWS ? Math.max(sheet.values.length, 1) : b.row + b.rows;
    const colEnd = b.cols >= MAX_COLS ? Math.max(1, ...sheet.values.map((r) => r.length)) : b.col + b.cols;
    for (let r = b.row; r < rowEnd; r++) {
      for (let c = b.col; c < colEnd; c++) { fn(r, c, r - b.row, c - b.col); }
    }
  }
  _grid(value, name) {
    const b = this._box();
    if (!Array.isArray(value)) { return (r, c) => value; }  // one value for every cell, as Excel allows
    if (value.length !== b.rows || value.some((row) => !Array.isArray(row) || row.length !== b.cols)) {
      throw new OfficeError("InvalidArgument", "The number of rows or columns in the input array doesn't match " +
        `the size or dimensions of the range (${name}: ${b.rows} x ${b.cols} range).`);
    }
    return (r, c) => value[r][c];
  }
  _load(names) {
    const b = this._box();
    if (b === null) { return; }
    const sheet = this._sheet();
    for (const n of names) {
      if (n === "values" || n === "numberFormat" || n === "numberFormatCategories" || n === "text") {
        if (n === "numberFormatCategories") { this._need("numberFormatCategories"); }
        if (b.rows >= MAX_ROWS) { fail("InvalidArgument"); }
        const grid = [];
        for (let r = 0; r < b.rows; r++) {
          const row = [];
          for (let c = 0; c < b.cols; c++) {
            const v = cellValue(sheet, b.row + r, b.col + c);
            const f = sheet.formats[key(b.row + r, b.col + c)] || "General";
            row.push(n === "values" ? v : n === "numberFormat" ? f : n === "text" ? String(v) : categoryOf(f));
          }
          grid.push(row);
        }
        this._ctx._answer(grid);
        this._data[n] = grid;
      } else if (n === "rowIndex") { this._data[n] = b.row; }
      else if (n === "columnIndex") { this._data[n] = b.col; }
      else if (n === "rowCount") { this._data[n] = b.rows; }
      else if (n === "columnCount") { this._data[n] = b.cols; }
      else if (n === "address") {
        this._data[n] = `${sheet.name}!${a1(b.row, b.col)}:${a1(b.row + b.rows - 1, b.col + b.cols - 1)}`;
      } else { fail("InvalidArgument"); }
      this._loaded.add(n);
    }
  }
  get values() { return this._read("values"); }
  set values(v) {
    this._queue(() => {
      this._writable();
      const at = this._grid(v, "values");
      this._ctx._request(v);
      const sheet = this._sheet();
      this._cells((r, c, i, j) => setCell(sheet, r, c, at(i, j)));
    });
  }
  get numberFormat() { return this._read("numberFormat"); }
  set numberFormat(v) {
    this._queue(() => {
      this._writable();
      const at = this._grid(v, "numberFormat");
      this._ctx._request(v);
      const sheet = this._sheet();
      this._cells((r, c, i, j) => { sheet.formats[key(r, c)] = at(i, j); });
    });
  }
  get numberFormatCategories() { return this._read("numberFormatCategories"); }
  get rowIndex() { return this._read("rowIndex"); }
  get columnIndex() { return this._read("columnIndex"); }
  get rowCount() { return this._read("rowCount"); }
  get columnCount() { return this._read("columnCount"); }
  get address() { return this._read("address"); }
  set hyperlink(v) {
    this._queue(() => {
      this._need("hyperlink");
      this._writable();
      const sheet = this._sheet();
      this._cells((r, c) => {
        if (v && v.documentReference) { sheet.links[key(r, c)] = String(v.documentReference); }
        else { delete sheet.links[key(r, c)]; }
        if (v && v.textToDisplay !== undefined) { setCell(sheet, r, c, v.textToDisplay); }
      });
    });
  }
  clear(applyTo) {
    this._queue(() => {
      this._writable();
      const sheet = this._sheet();
      const b = this._box();
      const inside = (k) => {
        const [r, c] = k.split(",").map(Number);
        return r >= b.row && r < b.row + b.rows && c >= b.col && c < b.col + b.cols;
      };
      const what = applyTo || "All";
      if (what === "All" || what === "Contents") {
        sheet.values.forEach((row, r) => row.forEach((_, c) => { if (inside(key(r, c))) { row[c] = ""; } }));
        while (sheet.values.length && sheet.values[sheet.values.length - 1].every((v) => v === "")) {
          sheet.values.pop();
        }
      }
      if (what === "All" || what === "Formats") {
        for (const map of [sheet.formats, sheet.fills, sheet.bold, sheet.fontSize, sheet.wrap]) {
          Object.keys(map).filter(inside).forEach((k) => { delete map[k]; });
        }
      }
      if (what === "All" || what === "Hyperlinks") {
        Object.keys(sheet.links).filter(inside).forEach((k) => { delete sheet.links[k]; });
      }
    });
  }
  getCellProperties(spec) {
    const result = new ClientResult(this._ctx);
    this._queue(() => {
      this._need("getCellProperties");
      const b = this._box();
      if (b.rows >= MAX_ROWS) { fail("InvalidArgument"); }
      const sheet = this._sheet();
      const wantFill = !!(spec.format && spec.format.fill && spec.format.fill.color);
      const wantBold = !!(spec.format && spec.format.font && spec.format.font.bold);
      const grid = [];
      for (let r = 0; r < b.rows; r++) {
        const row = [];
        for (let c = 0; c < b.cols; c++) {
          const k = key(b.row + r, b.col + c);
          const format = {};
          // Excel reports an unfilled cell as white.
          if (wantFill) { format.fill = { color: sheet.fills[k] || "#FFFFFF" }; }
          if (wantBold) { format.font = { bold: !!sheet.bold[k] }; }
          const cell = { format };
          if (spec.address) { cell.address = `${sheet.name}!${a1(b.row + r, b.col + c)}`; }
          row.push(cell);
        }
        grid.push(row);
      }
      this._ctx._answer(grid);
      result._value = grid;
      result._ready = true;
    });
    return result;
  }
}

class RangeFormat extends ClientObject {
  constructor(ctx, range) {
    super(ctx);
    this._range = range;
    this.fill = new RangeFill(ctx, range);
    this.font = new RangeFont(ctx, range);
  }
  set columnWidth(v) {
    this._queue(() => {
      this._need("columnWidth");
      this._range._writable();
      const b = this._range._box();
      for (let c = b.col; c < b.col + b.cols; c++) { this._range._sheet().columnWidths[c] = v; }
    });
  }
  set wrapText(v) {
    this._queue(() => {
      this._range._writable();
      const sheet = this._range._sheet();
      this._range._cells((r, c) => { if (v) { sheet.wrap[key(r, c)] = true; } else { delete sheet.wrap[key(r, c)]; } });
    });
  }
  set verticalAlignment(v) { this._queue(() => { this._range._writable(); }); }
  autofitColumns() { this._queue(() => { this._range._writable(); }); }
}

class RangeFill extends ClientObject {
  constructor(ctx, range) { super(ctx); this._range = range; }
  set color(v) {
    this._queue(() => {
      this._range._writable();
      const sheet = this._range._sheet();
      this._range._cells((r, c) => { sheet.fills[key(r, c)] = String(v).toUpperCase(); });
    });
  }
  clear() {
    this._queue(() => {
      this._range._writable();
      const sheet = this._range._sheet();
      this._range._cells((r, c) => { delete sheet.fills[key(r, c)]; });
    });
  }
}

class RangeFont extends ClientObject {
  constructor(ctx, range) { super(ctx); this._range = range; }
  _set(map, v, keep) {
    this._queue(() => {
      this._range._writable();
      const sheet = this._range._sheet();
      this._range._cells((r, c) => { if (keep(v)) { sheet[map][key(r, c)] = v; } else { delete sheet[map][key(r, c)]; } });
    });
  }
  set bold(v) { this._set("bold", !!v, (x) => x); }
  set size(v) { this._set("fontSize", v, (x) => x !== 11); }
  set italic(v) { this._set("italic", !!v, () => false); }
  set color(v) { this._set("fontColor", v, () => false); }
}

/** Conditional formats: a custom rule's fill shows over the cell without changing the cell's own fill. */
class ConditionalFormats extends ClientObject {
  constructor(ctx, range) { super(ctx); this._range = range; }
  get items() { return this._read("items"); }
  add(type) {
    const cf = new ConditionalFormat(this._ctx, this._range, null);
    this._queue(() => {
      this._need("conditionalFormats");
      this._range._writable();
      if (type !== "Custom") { fail("InvalidArgument"); }
      const b = this._range._box();
      const mark = { range: a1(b.row, b.col) + ":" + a1(b.row + b.rows - 1, b.col + b.cols - 1), formula: "", color: null };
      this._range._sheet().marks.push(mark);
      cf._mark = mark;
    });
    return cf;
  }
  _load(names) {
    this._need("conditionalFormats");
    const b = this._range._box();
    const sheet = this._range._sheet();
    this._data.items = sheet.marks.filter((m) => {
      const [from, to] = m.range.split(":").map(parseA1);
      return !(to.row < b.row || from.row >= b.row + b.rows || to.col < b.col || from.col >= b.col + b.cols);
    }).map((m) => {
      const cf = new ConditionalFormat(this._ctx, this._range, m);
      cf._load(names.map((n) => n.replace(/^items\//, "")));
      return cf;
    });
    this._loaded.add("items");
  }
}

class ConditionalFormat extends ClientObject {
  constructor(ctx, range, mark) {
    super(ctx);
    this._range = range;
    this._mark = mark;
    const self = this;
    this.custom = {
      rule: {
        get formula() { return self._read("custom/rule/formula"); },
        set formula(v) { self._queue(() => { self._mark.formula = String(v); }); },
      },
      format: { fill: { set color(v) { self._queue(() => { self._mark.color = String(v).toUpperCase(); }); } } },
    };
  }
  get type() { return this._read("type"); }
  _load(names) {
    for (const n of names) {
      if (n === "type") { this._data.type = "Custom"; }
      else if (n === "custom/rule/formula") { this._data[n] = this._mark.formula; }
      else { fail("InvalidArgument"); }
      this._loaded.add(n);
    }
  }
  delete() {
    this._queue(() => {
      this._range._writable();
      const marks = this._range._sheet().marks;
      const i = marks.indexOf(this._mark);
      if (i >= 0) { marks.splice(i, 1); }
    });
  }
}

class RequestContext {
  constructor(state, api) {
    this._state = state;
    this._api = api;
    this._ops = [];
    this._done = false;
    this._answerBytes = 0;
    this._requestBytes = 0;
    this.workbook = new Workbook(this);
    this.syncs = 0;
  }
  _alive() { if (this._done) { fail("InvalidObjectPath"); } }
  _answer(grid) {
    this._answerBytes += JSON.stringify(grid).length;
    if (this._answerBytes > PAYLOAD_LIMIT) { fail("RequestPayloadSizeLimitExceeded"); }
  }
  _request(value) {
    this._requestBytes += JSON.stringify(value).length;
    if (this._requestBytes > PAYLOAD_LIMIT) { fail("RequestPayloadSizeLimitExceeded"); }
  }
  async sync() {
    this._alive();
    const ops = this._ops;
    this._ops = [];
    this._answerBytes = 0;
    this._requestBytes = 0;
    this.syncs += 1;
    await Promise.resolve();
    for (const op of ops) { op(); }  // an OfficeError stops the batch here, as Excel stops at the failing command
  }
}

/** Excel and Office globals over one workbook state; `api` is the host's ExcelApi version. */
function officeFor(state, options) {
  const api = options.api || "1.12";
  const stats = { runs: 0, syncs: 0 };
  const Excel = {
    run: async function (batch) {
      const ctx = new RequestContext(state, api);
      stats.runs += 1;
      try {
        const out = await batch(ctx);
        await ctx.sync();
        return out;
      } finally {
        stats.syncs += ctx.syncs;
        ctx._done = true;
      }
    },
    ConditionalFormatType: { custom: "Custom" },
    ClearApplyTo: { all: "All", formats: "Formats", contents: "Contents", hyperlinks: "Hyperlinks" },
  };
  return { Excel, stats, api };
}

module.exports = { officeFor, OfficeError, emptySheet, atLeast, a1 };
