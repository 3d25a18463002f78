/*
 * Run one user step of the add-in (a ribbon button, the task pane) in Node, as Excel would host it.
 *
 *   node harness.js step.json result.json
 *
 * The page (commands.html or taskpane.html) and its scripts are fetched from the live service over HTTP and run
 * unchanged in a fresh window; Office.js from Microsoft's CDN is replaced by officejs.js over the workbook state in
 * step.json. Dialogs the add-in opens are fetched and run the same way, and a "user" presses their OK (or Cancel)
 * button. result.json holds the workbook afterwards, the dialogs shown, the task pane's texts, localStorage and
 * what was written to the console.
 */
"use strict";

const fs = require("fs");
const vm = require("vm");
const { officeFor } = require("./officejs");

const OFFICE_JS = /^https:\/\/appsforoffice\.microsoft\.com\//;

function attrs(text) {
  const out = {};
  for (const m of text.matchAll(/([\w-]+)(?:="([^"]*)")?/g)) { out[m[1]] = m[2] === undefined ? "" : m[2]; }
  return out;
}

/** The elements a page's scripts use, from its HTML: ids and data-path buttons (a very small DOM). */
class Page {
  constructor(html) {
    this.elements = [];
    this.listeners = {};
    for (const m of html.matchAll(/<(\w+)(\s[^>]*)?>/g)) {
      const a = attrs(m[2] || "");
      if (a.id || a["data-path"] !== undefined) { this.elements.push(new Element(m[1].toLowerCase(), a)); }
    }
  }
  document() {
    const page = this;
    return {
      getElementById(id) { return page.elements.find((e) => e.id === id) || null; },
      querySelectorAll(selector) {
        const m = /^(\w+)\[([\w-]+)\]$/.exec(selector);
        if (!m) { throw new Error("harness: selector not imitated: " + selector); }
        const found = page.elements.filter((e) => e.tagName === m[1] && e.attributes[m[2]] !== undefined);
        return Object.assign(found, { forEach: Array.prototype.forEach });
      },
      addEventListener(type, fn) { (page.listeners[type] = page.listeners[type] || []).push(fn); },
      readyState: "complete",
    };
  }
}

class Element {
  constructor(tag, attributes) {
    this.tagName = tag;
    this.attributes = attributes;
    this.id = attributes.id || "";
    this.textContent = "";
    this.value = "";
    this.disabled = attributes.disabled !== undefined;
    this.hidden = attributes.hidden !== undefined;
    this.listeners = {};
  }
  getAttribute(name) { return this.attributes[name] === undefined ? null : this.attributes[name]; }
  setAttribute(name, value) { this.attributes[name] = String(value); }
  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
  focus() {}
  dispatch(type) {
    const ev = { type, target: this, defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    for (const fn of this.listeners[type] || []) { fn.call(this, ev); }
    return ev;
  }
  click() { if (!this.disabled) { this.dispatch("click"); } }
}

/** Work the page's scripts started (fetches, Excel.run batches, timers) that has not finished yet. */
const busy = { count: 0 };
function tracked(promise) {
  busy.count += 1;
  return promise.finally(() => { busy.count -= 1; });
}

/** Wait until the work started since `base` work was under way has finished. */
async function settle(base) {
  const floor = base || 0;
  let quiet = 0;
  while (quiet < 20) {
    await new Promise((r) => setImmediate(r));
    quiet = busy.count <= floor ? quiet + 1 : 0;
    if (busy.count > floor) { await new Promise((r) => setTimeout(r, 5)); }
  }
}

async function main() {
  const [input, output] = process.argv.slice(2);
  const step = JSON.parse(fs.readFileSync(input, "utf8"));
  const state = step.state;
  const storage = step.storage || {};
  const cache = step.cache || {};
  const consoleLines = [];
  const dialogs = [];
  const requests = [];

  async function get(url) {
    if (step.offline) {
      if (!(url in cache)) { return { status: 0, text: "" }; }
      return { status: 200, text: cache[url] };
    }
    const r = await fetch(url);
    const text = await r.text();
    if (r.status === 200) { cache[url] = text; }
    return { status: r.status, text };
  }

  // Timers: the one stand-in for a clock. With fastClock a long wait (a request timeout) passes at once.
  const timers = {
    setTimeout: (fn, ms, ...rest) => setTimeout(fn, step.fastClock && ms >= 5000 ? 10 : ms, ...rest),
    clearTimeout: (t) => clearTimeout(t),
  };

  function windowFor(pageUrl, page, office) {
    const url = new URL(pageUrl);
    const win = {
      location: { href: url.href, origin: url.origin, pathname: url.pathname, search: url.search, protocol: url.protocol },
      document: page.document(),
      localStorage: {
        getItem: (k) => (k in storage ? storage[k] : null),
        setItem: (k, v) => { storage[k] = String(v); },
        removeItem: (k) => { delete storage[k]; },
      },
      console: {
        log: (...a) => consoleLines.push("log: " + a.join(" ")),
        warn: (...a) => consoleLines.push("warn: " + a.join(" ")),
        error: (...a) => consoleLines.push("error: " + a.join(" ")),
      },
      fetch: (target, init) => {
        const absolute = new URL(String(target), url).href;
        requests.push({ url: absolute, method: (init && init.method) || "GET" });
        if (step.offline) { return tracked(Promise.reject(new TypeError("fetch failed"))); }
        // The body is read before the answer is handed over, so "busy" covers the whole exchange.
        return tracked(fetch(absolute, init).then(async (r) => new Response(
          r.status === 204 ? null : await r.arrayBuffer(), { status: r.status, headers: r.headers })));
      },
      URL, URLSearchParams, AbortController, AbortSignal, TextEncoder, TextDecoder,
      setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout,
      close: () => consoleLines.push("window.close() ignored: an Office dialog closes only by its own X or " +
        "the add-in"),
      Office: office.Office,
      Excel: office.Excel,
      OfficeExtension: { Error: Error },
    };
    win.window = win;
    win.self = win;
    win.globalThis = win;
    return vm.createContext(win);
  }

  async function runPage(pageUrl, office) {
    const base = busy.count;
    const r = await get(pageUrl);
    if (r.status !== 200) { return { status: r.status }; }
    const page = new Page(r.text);
    const ctx = windowFor(pageUrl, page, office);
    for (const m of r.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      const src = attrs(m[1]).src;
      if (src && OFFICE_JS.test(src)) { continue; }  // Office.js itself: the imitation is already in place
      let code = m[2];
      let name = pageUrl + " (inline)";
      if (src) {
        name = new URL(src, pageUrl).href;
        const s = await get(name);
        if (s.status !== 200) { return { status: 200, page, ctx, missing: name + " answered " + s.status }; }
        code = s.text;
      }
      vm.runInContext(code, ctx, { filename: name });
    }
    for (const fn of page.listeners.DOMContentLoaded || []) { fn(); }
    await settle(base);
    return { status: 200, page, ctx };
  }

  /** Office for the add-in's own pages: ready once asked, the dialog API, the ribbon's function names. */
  function addinOffice() {
    const xl = officeFor(state, { api: step.api });
    const associated = {};
    const Office = {
      AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
      EventType: { DialogMessageReceived: "dialogMessageReceived", DialogEventReceived: "dialogEventReceived" },
      HostType: { Excel: "Excel" },
      onReady(cb) {
        const info = { host: "Excel", platform: "OfficeOnline" };
        return tracked(Promise.resolve().then(() => { if (cb) { cb(info); } return info; }));
      },
      actions: { associate: (name, fn) => { associated[name] = fn; } },
      context: {
        requirements: {
          isSetSupported: (name, version) => name === "ExcelApi" ? require("./officejs").atLeast(xl.api, version || "1.1")
            : name === "DialogApi" || name === "RibbonApi",
        },
        ui: { displayDialogAsync: (url, options, cb) => { tracked(openDialog(url, options, cb)); } },
      },
    };
    if (step.partitionKey) { Office.context.partitionKey = step.partitionKey; }
    const run = xl.Excel.run;
    xl.Excel.run = (batch) => tracked(run(batch));
    return { Office, Excel: xl.Excel, associated, stats: xl.stats };
  }

  /** Office inside a dialog: Office.context exists only after Office.onReady() (or initialize) has been called. */
  function dialogOffice(deliver) {
    const Office = {
      onReady(cb) {
        return Promise.resolve().then(() => {
          Office.context = { ui: { messageParent: (message) => deliver(String(message)) } };
          if (cb) { cb({ host: "Excel" }); }
        });
      },
    };
    return { Office, Excel: undefined };
  }

  let pageOrigin = null;

  async function openDialog(url, options, cb) {
    const record = { url: String(url) };
    dialogs.push(record);
    const handlers = {};
    const dialog = {
      addEventHandler: (type, fn) => { handlers[type] = fn; },
      close: () => { record.closedBy = record.closedBy || "add-in"; },
      messageChild: () => {},
    };
    let absolute;
    try { absolute = new URL(String(url)); } catch (e) { absolute = null; }
    if (!absolute || absolute.origin !== pageOrigin) {
      record.error = 12004;  // the dialog's domain is not the add-in's
      cb({ status: "failed", error: { code: 12004, message: "The domain of the URL is not trusted." } });
      return;
    }
    cb({ status: "succeeded", value: dialog });
    await new Promise((r) => setImmediate(r));
    let message = null;
    const office = dialogOffice((m) => { message = m; });
    const shown = await runPage(absolute.href, office);
    record.status = shown.status;
    if (shown.status !== 200 || shown.missing) {
      record.missing = shown.missing;
      record.closedBy = "x";
      if (handlers.dialogEventReceived) { handlers.dialogEventReceived({ error: 12006 }); }
      return;
    }
    const text = shown.page.elements.find((e) => e.id === "message");
    record.text = text ? text.textContent : null;
    const button = shown.page.elements.find((e) => e.id === (step.dialogAnswer === "cancel" ? "cancel" : "ok"));
    record.pressed = button ? button.id : null;
    const base = busy.count;
    if (button) { button.click(); }
    await settle(base);
    if (message !== null) {
      record.message = message;
      if (handlers.dialogMessageReceived) { handlers.dialogMessageReceived({ message, origin: absolute.origin }); }
    } else {
      record.closedBy = "x";  // OK did nothing: the user closes the dialog with its X
      if (handlers.dialogEventReceived) { handlers.dialogEventReceived({ error: 12006 }); }
    }
  }

  const out = { dialogs, console: consoleLines, requests };
  const office = addinOffice();
  pageOrigin = new URL(step.page).origin;
  const loaded = await runPage(step.page, office);
  out.pageStatus = loaded.status;
  if (loaded.missing) { out.missing = loaded.missing; }
  if (loaded.status === 200 && !loaded.missing) {
    if (step.command) {
      const fn = office.associated[step.command];
      if (!fn) { throw new Error("harness: the page associated no function " + step.command); }
      let completed = false;
      await tracked(Promise.resolve(fn({ completed: () => { completed = true; } })));
      await settle();
      out.completed = completed;
    }
    for (const act of step.pane || []) {
      const el = (id) => loaded.page.elements.find((e) => e.id === id);
      if (act.type === "saveKey") {
        el("key").value = act.key;
        el("key-form").dispatch("submit");
      } else if (act.type === "forget") {
        el("forget").click();
      } else if (act.type === "click") {
        loaded.page.elements.find((e) => e.attributes["data-path"] === act.path).click();
      }
      await settle();
    }
    out.texts = {};
    for (const e of loaded.page.elements) { if (e.id && e.textContent) { out.texts[e.id] = e.textContent; } }
  }
  out.state = state;
  out.storage = storage;
  out.cache = cache;
  out.stats = office.stats;
  fs.writeFileSync(output, JSON.stringify(out));
}

process.on("unhandledRejection", (e) => {
  process.stderr.write("unhandled rejection in the add-in's code: " + (e && e.stack || e) + "\n");
  process.exitCode = 3;
});

main().catch((e) => { process.stderr.write((e && e.stack) || String(e)); process.exit(2); });
