// <dunebugger-updates>: the update panel of the Dunebugger frontend, a drop-in custom element.
//
// Plain ES modules: no build step, no dependency. The page wires it to its socket:
//   element.send = (message) => socket.send(JSON.stringify({...message, connectionId}));
//   socket.onmessage = (event) => element.receive(JSON.parse(event.data));
//   socket.onclose = () => { element.send = null; };   // set it again once reconnected
// Setting `send` to a function (and attaching the element) asks for a check. Text from GitHub (release notes)
// is rendered by the small Markdown subset below into DOM nodes with textContent: never as HTML.
//
// Attributes (and properties): components="remote scheduler" (which rows), readonly (no buttons), lang
// (else the document's), theme="light|dark" (else prefers-color-scheme); the `strings` property overrides
// any text. Events (bubbling, composed, the outcome in `detail`): dunebugger-update-started,
// dunebugger-update-progress, dunebugger-update-finished, dunebugger-check-finished. Styling: the --dbu-*
// custom properties and the parts listed in docs/panel.md.

import { STRINGS, language } from "./dunebugger-updates-strings.js";

export { STRINGS };
export const ORDER = ["remote", "scheduler", "core"]; // remote first: the others may wait for it

const STATUSES = new Set(["updated", "unchanged", "refused", "dry-run", "failed", "rolled-back", "needs-manual",
                          "cancelled"]);
const LOOKS = {
  updated: { icon: "✔", tone: "ok" },
  "dry-run": { icon: "◎", tone: "info" },
  unchanged: { icon: "=", tone: "neutral" },
  refused: { icon: "⊘", tone: "neutral" },
  cancelled: { icon: "⊘", tone: "neutral" },
  "rolled-back": { icon: "↺", tone: "warn" },
  "needs-manual": { icon: "⚠", tone: "danger" },
  failed: { icon: "✖", tone: "bad" },
  unknown: { icon: "?", tone: "warn" },
};
const ACTIONS = new Set(["update", "dry-run", "rollback"]);
const UPDATABLE = new Set(["available", "ready", "window"]);
const MAX_NOTES = 50000; // characters of release notes rendered; the rest is cut
const MAX_TEXT = 500; // characters of any other remote text shown
const POLL_MS = 10000; // after a reconnect with no outcome yet: check this often ...
const POLL_FOR_MS = 180000; // ... for this long
const ECHO_MS = 10000; // the twin of an outcome (broadcast, or the `log` beside it) comes within this long
const QUIET_MS = 600000; // someone else's run with no word for this long is let go (the client's own deadline)
// progress of a component heard this soon after its run ended is that run's late echo, not a new run
const LATE_PROGRESS_MS = 3000;
const TICK_MS = 30000; // "checked 3 minutes ago" is redrawn this often

// ---------------------------------------------------------------------------------------------------------
// Pure parts: no DOM of the page, no socket.

export function text(value, max = MAX_TEXT) {
  if (value === undefined || value === null) return "";
  const s = typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function version(value) {
  const s = text(value, 80);
  return s === "" || s === "unknown" || s === "None" ? null : s;
}

/** One component record of `update_check_result` (documented keys, or the shipped remote's `current_version` ones). */
export function normalize(raw) {
  const r = raw && typeof raw === "object" ? raw : {};
  const last = r.last_result && typeof r.last_result === "object" ? r.last_result : null;
  return {
    current: version(r.current ?? r.current_version),
    latest: version(r.latest ?? r.latest_version),
    updateAvailable: r.update_available === true,
    notes: typeof r.release_notes === "string" ? r.release_notes : "",
    lastChecked: text(r.last_checked, 40),
    releaseUrl: safeHref(r.release_url),
    publishedAt: text(r.published_at, 40),
    error: text(r.error),
    held: r.held === true,
    policy: text(r.policy, 40),
    hasBlockedBy: Object.hasOwn(r, "blocked_by"),
    blockedBy: r.blocked_by,
    previous: version(r.previous),
    lastResult: last && { action: text(last.action, 40), status: text(last.status, 40), message: text(last.message),
                          finishedAt: text(last.finished_at, 40) },
    prepared: preparedOf(r.prepared),
    nextWindow: text(r.next_window, 40),
    failedVersions: Array.isArray(r.failed_versions) ? r.failed_versions.map((v) => text(v, 80)) : [],
  };
}

/** A release prepared ahead (root's record): its version, "" when it names none, null when there is none. */
function preparedOf(p) {
  if (p === undefined || p === null || p === false) return null;
  if (typeof p === "string") return version(p) ?? "";
  return typeof p === "object" ? version(p.version) ?? "" : "";
}

/** What a row says, as a state and the key of its text: the first that holds of a failed check, never
 *  checked, no release, up to date, held, blocked, ready to install, waiting for the window, available. */
export function rowState(name, info, all) {
  if (info.error) return { state: "error", key: "checkFailed", params: { error: info.error } };
  if (!info.lastChecked && !info.updateAvailable && !info.latest) return { state: "unchecked", key: "notChecked" };
  if (!info.latest) return { state: "none", key: "noRelease" };
  if (!info.updateAvailable) return { state: "current", key: "upToDate" };
  if (info.held) {
    return info.policy ? { state: "held", key: "heldPolicy", params: { policy: info.policy } } : { state: "held", key: "held" };
  }
  const blocker = blockedBy(name, info, all);
  if (blocker) return blocker === "remote" ? { state: "blocked", key: "blockedRemote" }
    : { state: "blocked", key: "blocked", params: { by: blocker } };
  if (isPrepared(info)) return { state: "ready", key: "ready" };
  // only an unattended update waits for the window (the check sets it for policy auto): a person may go now
  if (info.nextWindow) return { state: "window", key: "window", params: { when: info.nextWindow } };
  return { state: "available", key: "available" };
}

/** A release prepared ahead is ready to install when it is the latest (or names no version). */
export function isPrepared(info) {
  return info.prepared !== null && (info.prepared === "" || info.prepared === info.latest);
}

/** The latest release already failed on this device and was rolled back: its button reads "Try again". */
export function failedBefore(info) {
  return Boolean(info.latest) && info.failedVersions.includes(info.latest);
}

function blockedBy(name, info, all) {
  if (info.hasBlockedBy) {
    const b = info.blockedBy;
    if (!b) return null;
    if (typeof b === "object") return text(b.component ?? b.rule ?? b.reason ?? "another update", 80);
    return text(b, 80);
  }
  // No `blocked_by` from the remote: the remote-first rule: core and scheduler wait while remote has an update.
  const remote = all.get("remote");
  return name !== "remote" && remote && remote.updateAvailable && !remote.error ? "remote" : null;
}

/** Which buttons a row enables. Every one is off while anything runs or the socket is down; "Roll back" needs
 *  a version to go back to. */
export function allowedActions(state, info, { busy, connected }) {
  if (busy || !connected) return { update: false, dryRun: false, rollback: false };
  return {
    update: UPDATABLE.has(state.state),
    dryRun: UPDATABLE.has(state.state) || ["held", "blocked"].includes(state.state),
    rollback: info.previous !== null,
  };
}

/** The components "Update all" updates, remote first (the others may wait for it). */
export function updateAllQueue(infos) {
  return [...infos.entries()].filter(([, info]) => info.updateAvailable && !info.held && !info.error)
    .map(([name]) => name).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** The kind of a final result: the remote's `status` when it sends one, else read from the message. */
export function classify(body, { action = "update", progressSeen = true } = {}) {
  const message = text(body.message);
  if (typeof body.status === "string" && STATUSES.has(body.status)) return body.status;
  if (/manual intervention required/i.test(message)) return "needs-manual";
  if (/rolled back/i.test(message)) return "rolled-back";
  if (/already up to date|nothing to do/i.test(message)) return "unchanged";
  if (body.success === true) return body.dry_run === true || action === "dry-run" ? "dry-run" : "updated";
  if (/cancel/i.test(message)) return "cancelled";
  return progressSeen ? "failed" : "refused";
}

/** What `dunebugger-update-finished` tells the page: success, failure, rollback or cancel. A rollback that
 *  was asked for and happened is a success; an update answered by a rollback is "rollback". */
export function outcomeOf(kind, action) {
  if (kind === "cancelled") return "cancel";
  if (kind === "rolled-back") return action === "rollback" ? "success" : "rollback";
  return ["updated", "dry-run", "unchanged"].includes(kind) ? "success" : "failure";
}

export function look(kind, { action, dryRun }) {
  if (kind === "rolled-back" && action === "rollback") return { icon: "↺", key: "kind_rolledBackAsked", tone: "info" };
  if (kind === "failed" && (dryRun || action === "dry-run")) return { ...LOOKS.failed, key: "kind_dryRunFailed" };
  return LOOKS[kind] ? { ...LOOKS[kind], key: `kind_${kind}` } : { ...LOOKS.unknown, key: "kind_unknown" };
}

export function humanPhase(phase) {
  return text(phase, 60).replace(/[_-]+/g, " ").trim();
}

function percentOf(value) {
  const n = typeof value === "number" ? value : Number.NaN;
  return Number.isFinite(n) ? Math.max(0, Math.min(100, Math.round(n))) : null;
}

/** Only absolute http(s) URLs become links; anything else (javascript:, data:, relative) is null. */
export function safeHref(url) {
  if (typeof url !== "string") return null;
  try {
    const parsed = new URL(url.trim());
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** `template` with each {name} replaced; a placeholder with no value stays as written. */
export function fill(template, params = {}) {
  return String(template).replace(/\{(\w+)\}/g, (whole, key) => (Object.hasOwn(params, key) ? String(params[key]) : whole));
}

const SPANS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600],
               ["minute", 60], ["second", 1]];

/** "3 hours ago" in the reader's language, from an ISO time ("" when it is not one). */
export function relativeTime(iso, now, locale) {
  const then = Date.parse(iso);
  if (!iso || Number.isNaN(then)) return "";
  const seconds = (then - now) / 1000;
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  const [unit, size] = SPANS.find(([, s]) => Math.abs(seconds) >= s) ?? SPANS[SPANS.length - 1];
  return rtf.format(Math.round(seconds / size), unit);
}

/** An ISO time in the reader's language and zone ("" when it is not one). */
export function formatDate(iso, locale, options) {
  const then = Date.parse(iso);
  return !iso || Number.isNaN(then) ? "" : new Intl.DateTimeFormat(locale, options).format(new Date(then));
}

// ---------------------------------------------------------------------------------------------------------
// Markdown, a small subset, built as DOM nodes: headings, paragraphs, lists, quotes, code, emphasis, links.
// Anything else, raw HTML included, stays literal text.

// `code`, **strong** or __strong__, *em* or _em_ (underscores only at word edges: snake_case stays text),
// [label](url), and bare http(s) URLs.
const INLINE = /(`[^`\n]+`)|(\*\*[^*\n]+\*\*|(?<!\w)__[^_\s](?:[^_\n]*[^_\s])?__(?!\w))|(\*[^*\s][^*\n]*\*|(?<!\w)_[^_\s](?:[^_\n]*[^_\s])?_(?!\w))|(\[[^\]\n]*\]\([^)\s]*\))|(https?:\/\/[^\s<>()"']+)/;

export function renderInline(source, parent, doc) {
  let rest = source;
  while (rest) {
    const m = INLINE.exec(rest);
    if (!m) {
      parent.append(doc.createTextNode(rest));
      return;
    }
    if (m.index > 0) parent.append(doc.createTextNode(rest.slice(0, m.index)));
    const [token] = m;
    if (m[1]) parent.append(el(doc, "code", token.slice(1, -1)));
    else if (m[2]) renderInline(token.slice(2, -2), parent.appendChild(el(doc, "strong")), doc);
    else if (m[3]) renderInline(token.slice(1, -1), parent.appendChild(el(doc, "em")), doc);
    else if (m[4]) link(doc, parent, token.slice(1, token.indexOf("](")), token.slice(token.indexOf("](") + 2, -1));
    else link(doc, parent, token, token);
    rest = rest.slice(m.index + token.length);
  }
}

function link(doc, parent, label, url) {
  const href = safeHref(url);
  if (href === null) {
    parent.append(doc.createTextNode(label || url)); // not a link: only http(s) may be followed
    return;
  }
  const a = el(doc, "a", label || href);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer nofollow";
  parent.append(a);
}

export function renderMarkdown(source, doc = document) {
  const root = el(doc, "div");
  root.className = "md";
  let src = typeof source === "string" ? source : "";
  if (src.length > MAX_NOTES) src = `${src.slice(0, MAX_NOTES)}…`;
  const lines = src.replace(/\r\n?/g, "\n").split("\n");
  let para = null; // lines of the open paragraph
  let list = null; // the open <ul>/<ol>
  const flush = () => {
    if (para) renderInline(para.join(" "), root.appendChild(el(doc, "p")), doc);
    para = null;
  };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i];
    let m;
    if (/^\s*(```|~~~)/.test(line)) {
      flush();
      list = null;
      const fence = line.trim().slice(0, 3);
      const body = [];
      for (i += 1; i < lines.length && !lines[i].trim().startsWith(fence); i += 1) body.push(lines[i]);
      root.appendChild(el(doc, "pre")).append(el(doc, "code", body.join("\n")));
    } else if (!line.trim()) {
      flush();
      list = null;
    } else if ((m = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line))) {
      flush();
      list = null;
      renderInline(m[2], root.appendChild(el(doc, `h${Math.min(6, m[1].length + 3)}`)), doc);
    } else if ((m = /^\s*([-*+]|\d{1,9}[.)])\s+(.*)$/.exec(line))) {
      flush();
      const tag = /\d/.test(m[1]) ? "ol" : "ul";
      if (!list || list.tagName.toLowerCase() !== tag) list = root.appendChild(el(doc, tag));
      renderInline(m[2], list.appendChild(el(doc, "li")), doc);
    } else if ((m = /^\s*>\s?(.*)$/.exec(line))) {
      flush();
      list = null;
      renderInline(m[1], root.appendChild(el(doc, "blockquote")), doc);
    } else if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) {
      flush();
      list = null;
      root.append(el(doc, "hr"));
    } else if (list && /^\s+\S/.test(line)) {
      list.lastElementChild.append(doc.createTextNode(" "));
      renderInline(line.trim(), list.lastElementChild, doc);
    } else {
      list = null;
      (para ??= []).push(line.trim());
    }
  }
  flush();
  return root;
}

function el(doc, tag, content) {
  const node = doc.createElement(tag);
  if (content !== undefined) node.textContent = content;
  return node;
}

// ---------------------------------------------------------------------------------------------------------
// The element.

// Every colour is a custom property: --dbu-<name> set by the page wins; else these, light or dark.
const LIGHT = {
  fg: "#1d1d1f", bg: "#ffffff", muted: "#5f6368", border: "#c9ccd1", "row-border": "#dadce0", surface: "#f1f3f4",
  accent: "#1a56c4", "accent-fg": "#ffffff", danger: "#9b1c1c", focus: "#f29900", "activity-bg": "#eef3fd",
  "info-fg": "#123c8a", "info-bg": "#e8f0fe", "info-border": "#1a56c4",
  "ok-fg": "#0d5224", "ok-bg": "#e6f4ea", "ok-border": "#188038",
  "warn-fg": "#6b3a00", "warn-bg": "#fef3e0", "warn-border": "#e37400",
  "bad-fg": "#8c1816", "bad-bg": "#fce8e6", "bad-border": "#c5221f",
  "neutral-fg": "#3c4043", "neutral-bg": "#f1f3f4", "neutral-border": "#80868b",
  "alarm-fg": "#ffffff", "alarm-bg": "#a50e0e", "code-bg": "#f6f8fa", backdrop: "rgba(0, 0, 0, .45)",
};
const DARK = {
  fg: "#e8eaed", bg: "#1f2023", muted: "#9aa0a6", border: "#4a4d52", "row-border": "#3c4043", surface: "#2d2f33",
  accent: "#8ab4f8", "accent-fg": "#0b1e3f", danger: "#f28b82", focus: "#fdd663", "activity-bg": "#1e2a3d",
  "info-fg": "#c2d7fb", "info-bg": "#1e2a3d", "info-border": "#8ab4f8",
  "ok-fg": "#b7e1c1", "ok-bg": "#16301f", "ok-border": "#5bb974",
  "warn-fg": "#fde293", "warn-bg": "#3a2e10", "warn-border": "#f9ab00",
  "bad-fg": "#f6aea9", "bad-bg": "#3c1b1a", "bad-border": "#ee675c",
  "neutral-fg": "#dadce0", "neutral-bg": "#2d2f33", "neutral-border": "#9aa0a6",
  "alarm-fg": "#ffffff", "alarm-bg": "#b3261e", "code-bg": "#2d2f33", backdrop: "rgba(0, 0, 0, .65)",
};
const palette = (colours) => Object.entries(colours).map(([k, v]) => `--_${k}: var(--dbu-${k}, ${v});`).join(" ");

const STYLE = `
:host { ${palette(LIGHT)} color-scheme: light;
        --_font: var(--dbu-font, 15px/1.45 system-ui, sans-serif); --_space: var(--dbu-space, 10px);
        --_radius: var(--dbu-radius, 10px);
        display: block; box-sizing: border-box; max-width: 100%; color: var(--_fg); font: var(--_font); }
@media (prefers-color-scheme: dark) { :host(:not([theme="light"])) { ${palette(DARK)} color-scheme: dark; } }
:host([theme="dark"]) { ${palette(DARK)} color-scheme: dark; }
:host([hidden]) { display: none; }
*, *::before, *::after { box-sizing: inherit; }
[hidden] { display: none !important; }
section { border: 1px solid var(--_border); border-radius: var(--_radius); padding: var(--_space); background: var(--_bg); }
header { display: flex; flex-wrap: wrap; gap: calc(var(--_space) * .8); align-items: center; }
header h2 { margin: 0 auto 0 0; font-size: 1.2em; }
h3 { margin: 0; font-size: 1.05em; text-transform: capitalize; }
button { font: inherit; min-height: 40px; padding: 6px 14px; border-radius: calc(var(--_radius) * .8);
         border: 1px solid var(--_muted); background: var(--_surface); color: var(--_fg); cursor: pointer; }
button.primary { background: var(--_accent); border-color: var(--_accent); color: var(--_accent-fg); }
button.danger { color: var(--_danger); border-color: var(--_danger); background: var(--_bg); }
button:disabled { opacity: .45; cursor: not-allowed; }
:focus-visible { outline: 3px solid var(--_focus); outline-offset: 2px; }
.line { margin: 6px 0 0; overflow-wrap: anywhere; }
.conn[data-state="lost"] { color: var(--_danger); font-weight: 600; }
.activity { margin: var(--_space) 0 0; padding: 8px var(--_space); border-radius: calc(var(--_radius) * .8);
            background: var(--_activity-bg); }
.activity p { margin: 0; overflow-wrap: anywhere; }
progress { width: 100%; height: 10px; margin-top: 6px; accent-color: var(--_accent); }
ul.rows { list-style: none; margin: var(--_space) 0 0; padding: 0; display: grid; gap: var(--_space); }
li.row { border: 1px solid var(--_row-border); border-radius: calc(var(--_radius) * .8); padding: var(--_space); min-width: 0; }
.top { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: baseline; }
.versions { font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: .9em; border: 1px solid;
         overflow-wrap: anywhere; }
.badge[data-state="available"], .badge[data-state="ready"], .badge[data-state="window"] { color: var(--_info-fg); background: var(--_info-bg); }
.badge[data-state="current"], .badge[data-state="none"], .badge[data-state="unchecked"] { color: var(--_neutral-fg); background: var(--_neutral-bg); }
.badge[data-state="unchecked"] { border-style: dashed; }
.badge[data-state="ready"] { border-width: 2px; font-weight: 600; }
.badge[data-state="held"], .badge[data-state="blocked"] { color: var(--_warn-fg); background: var(--_warn-bg); }
.badge[data-state="error"] { color: var(--_bad-fg); background: var(--_bad-bg); }
.policy, .checked, .meta { color: var(--_muted); font-size: .9em; }
.note { margin: 8px 0 0; color: var(--_warn-fg); overflow-wrap: anywhere; }
.result { margin: 8px 0 0; padding: 6px var(--_space); border-radius: calc(var(--_radius) * .8); border-left: 6px solid;
          overflow-wrap: anywhere; }
.result .label { font-weight: 700; }
.result[data-tone="ok"] { border-color: var(--_ok-border); background: var(--_ok-bg); color: var(--_ok-fg); }
.result[data-tone="info"] { border-color: var(--_info-border); background: var(--_info-bg); color: var(--_info-fg); }
.result[data-tone="neutral"] { border-color: var(--_neutral-border); background: var(--_neutral-bg); color: var(--_neutral-fg); }
.result[data-tone="warn"] { border-color: var(--_warn-border); background: var(--_warn-bg); color: var(--_warn-fg); }
.result[data-tone="bad"] { border-color: var(--_bad-border); background: var(--_bad-bg); color: var(--_bad-fg); }
.result[data-tone="danger"] { border: 3px solid var(--_alarm-bg); background: var(--_alarm-bg); color: var(--_alarm-fg); }
details { margin-top: 8px; }
summary { cursor: pointer; padding: 4px 0; }
a { color: var(--_accent); }
.md { overflow-wrap: anywhere; padding: 4px var(--_space); border-left: 3px solid var(--_row-border); }
.md pre { overflow-x: auto; max-width: 100%; background: var(--_code-bg); padding: 6px; }
.md h4, .md h5, .md h6 { margin: 8px 0 4px; }
.md p, .md ul, .md ol, .md blockquote { margin: 4px 0; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin-top: var(--_space); }
.notice { color: var(--_muted); }
dialog { max-width: min(92vw, 480px); border: 1px solid var(--_border); border-radius: var(--_radius);
         background: var(--_bg); color: var(--_fg); padding: calc(var(--_space) * 1.6); }
dialog::backdrop { background: var(--_backdrop); }
dialog h3 { text-transform: none; }
dialog p { margin: 8px 0 0; }
dialog .actions { justify-content: flex-end; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
`;

export class DunebuggerUpdates extends HTMLElement {
  static observedAttributes = ["lang", "components", "readonly", "strings"];

  #send = null;
  #built = false;
  #components = new Map(); // name -> normalize()d record
  #results = new Map(); // name -> {kind, message, success, action, dryRun}
  #rows = new Map(); // name -> row nodes
  #run = null; // the update, dry run or rollback running now (ours, or one we only hear about)
  #ended = null; // the component and time of the run that ended last
  #queue = []; // what "Update all" has still to update, in order
  #checking = false;
  #checkError = "";
  #notice = null; // [key, params] or a remote's text
  #announcement = null; // [component, result]
  #everConnected = false;
  #poll = null;
  #quiet = null;
  #tick = null;
  #docLang = null; // watches the document's lang
  #strings = {};
  #lastFinished = null; // {component, message, at} of the last outcome recorded
  #confirming = null; // the component whose rollback waits for the person's yes
  #ui = null;

  // -- properties ----------------------------------------------------------------------------------------

  set send(fn) {
    const next = typeof fn === "function" ? fn : null;
    if (next === this.#send) return; // the same callback again (a re-render): not a new connection
    this.#send = next;
    if (this.#send) this.#everConnected = true;
    else {
      this.#checking = false;
      if (this.#run) this.#run.lost = true; // the outcome may arrive after the reconnect, or be read from a check
    }
    if (this.isConnected) {
      if (this.#send) this.check();
      this.#render();
    }
  }

  get send() {
    return this.#send;
  }

  /** Which components get a row (all when unset): an array, or the attribute's space- or comma-separated names. */
  get components() {
    const raw = this.getAttribute("components");
    return raw === null ? null : raw.split(/[\s,]+/).filter(Boolean);
  }

  set components(list) {
    if (list === null || list === undefined) this.removeAttribute("components");
    else this.setAttribute("components", (Array.isArray(list) ? list : String(list).split(/[\s,]+/)).join(" "));
  }

  get readonly() {
    return this.hasAttribute("readonly");
  }

  set readonly(on) {
    this.toggleAttribute("readonly", Boolean(on));
  }

  /** Texts that replace the shipped ones: `{key: "text with {placeholders}"}` (see dunebugger-updates-strings.js). */
  get strings() {
    return { ...this.#strings };
  }

  set strings(value) {
    this.#strings = value && typeof value === "object" ? { ...value } : {};
    this.#render();
  }

  /** The language in use: the element's lang, else the document's; "en" or "it". */
  get language() {
    return language(this.#langTag());
  }

  attributeChangedCallback(name, before, after) {
    if (name === "strings") {
      try {
        this.#strings = after ? JSON.parse(after) : {};
      } catch {
        this.#strings = {};
      }
    }
    if (name === "readonly" && after !== null) this.#queue = [];
    this.#render();
  }

  connectedCallback() {
    this.#build();
    this.#docLang = new MutationObserver(() => this.#render());
    this.#docLang.observe(this.ownerDocument.documentElement, { attributes: true, attributeFilter: ["lang"] });
    this.#tick = setInterval(() => this.#render(), TICK_MS);
    if (this.#send) this.check();
    this.#render();
  }

  disconnectedCallback() {
    clearTimeout(this.#poll);
    clearTimeout(this.#quiet);
    clearInterval(this.#tick);
    this.#docLang?.disconnect();
  }

  // -- actions -------------------------------------------------------------------------------------------

  /** Ask the remote for a check (also done on every connection). */
  check() {
    if (!this.#send) return;
    this.#checking = true;
    this.#checkError = "";
    this.#post({ subject: "updater.check_updates", body: {} });
    this.#render();
  }

  /** Start an update ("update"), a dry run ("dry-run") or a rollback ("rollback") of one component. The page's
   *  own call: the panel's "Roll back" button asks the person first (`requestRollback`). */
  start(component, action) {
    if (this.#run || !this.#send || !ACTIONS.has(action)) return false;
    const info = this.#components.get(component);
    const target = action === "rollback" ? info?.previous ?? null : info?.latest ?? null;
    this.#run = { component, action, phase: "", percent: null, progressSeen: false, legacy: false, lost: false,
                  before: info?.current ?? null, target, since: Date.now(), external: false };
    this.#results.delete(component);
    this.#announcement = null;
    this.#notice = null;
    this.#emit("dunebugger-update-started", { component, action, from: this.#run.before, to: target, external: false });
    const message = action === "rollback"
      ? { subject: "updater.rollback", body: { component } }
      : { subject: "updater.perform_update", body: { component, dry_run: action === "dry-run" } };
    this.#post(message);
    this.#render();
    return true;
  }

  /** Open the confirmation that names both versions; the rollback starts only on its yes. */
  requestRollback(component) {
    const info = this.#components.get(component);
    if (this.readonly || this.#run || !this.#send || !info?.previous) return false;
    this.#confirming = component;
    const ui = this.#ui;
    const params = { name: component, current: info.current ?? this.#t("unknownVersion"), previous: info.previous };
    ui.confirmTitle.textContent = this.#t("confirmTitle", params);
    ui.confirmText.textContent = this.#t("confirmText", params);
    ui.confirmYes.textContent = this.#t("confirmYes", params);
    ui.confirmNo.textContent = this.#t("cancel");
    if (!ui.dialog.open) ui.dialog.showModal();
    ui.confirmNo.focus(); // the safe answer has the focus
    return true;
  }

  /** Update every component with an update, remote first, one after another; stops at the first that fails. */
  updateAll() {
    if (this.readonly || this.#run || !this.#send) return false;
    this.#queue = updateAllQueue(this.#visible());
    return this.#next();
  }

  #next() {
    while (this.#queue.length && !this.#run) {
      const name = this.#queue.shift();
      if (this.#components.get(name)?.updateAvailable) return this.start(name, "update");
    }
    return false;
  }

  /** Each message from the remote, as it arrives; messages for other parts of the frontend are ignored. */
  receive(message) {
    if (!message || typeof message !== "object") return;
    const body = message.body && typeof message.body === "object" ? message.body : {};
    switch (message.subject) {
      case "update_check_result": this.#onCheck(body); break;
      case "update_progress": this.#onProgress(text(body.component, 40) || null, body, false); break;
      case "updater_progress": this.#onProgress(null, body, true); break;
      case "update_result": this.#onResult(body); break;
      case "log": this.#onLog(body); break;
      case "system_info": this.#onSystemInfo(body); break;
      default: return;
    }
    this.#render();
  }

  // -- incoming ------------------------------------------------------------------------------------------

  #onCheck(body) {
    this.#checking = false;
    if (body.error !== undefined && body.components === undefined) this.#checkError = text(body.error);
    const components = body.components && typeof body.components === "object" ? body.components : {};
    for (const [name, raw] of Object.entries(components)) this.#components.set(text(name, 40), normalize(raw));
    this.#checkFinished();
    this.#settleLostRun();
    if (this.#queue.length && !this.#run) this.#next();
  }

  #checkFinished() {
    const components = {};
    for (const [name, info] of this.#components) {
      components[name] = { ...info, failedVersions: [...info.failedVersions], state: rowState(name, info, this.#components).state };
    }
    this.#emit("dunebugger-check-finished", { components, error: this.#checkError || null });
  }

  #onProgress(component, body, legacy) {
    let run = this.#run;
    if (run && component && run.component && run.component !== component) return; // two at once: keep ours
    if (!run && this.#ended?.component === component && Date.now() - this.#ended.at < LATE_PROGRESS_MS) {
      return; // a late echo of the run that just ended (its broadcast may trail its result): no new run
    }
    if (!run) {
      // someone else's run (the timer, a person on the device, another browser): the buttons wait for it too
      run = this.#run = { component, action: "update", phase: "", percent: null, progressSeen: false, legacy,
                          lost: false, before: null, target: null, since: Date.now(), external: true };
      const info = this.#components.get(component);
      run.before = info?.current ?? null;
      this.#emit("dunebugger-update-started", { component, action: "update", from: run.before, to: null, external: true });
    }
    if (run.external) {
      // its end may never reach us (a remote that tells only the asker): do not hold the buttons for ever
      clearTimeout(this.#quiet);
      this.#quiet = setTimeout(() => this.#letGo(run), QUIET_MS);
    }
    run.component ??= component;
    run.progressSeen = true;
    run.legacy = run.legacy || legacy;
    let phase = body.phase;
    if (!phase && typeof body.message === "string") phase = body.message.replace(/^Update in progress:\s*/i, "");
    run.phase = humanPhase(phase);
    run.percent = percentOf(body.percent);
    this.#emit("dunebugger-update-progress", { component: run.component, action: run.action, phase: run.phase,
                                               percent: run.percent, external: run.external });
  }

  #letGo(run) {
    if (this.#run !== run) return;
    this.#run = null;
    this.#notice = ["quiet", { name: run.component ?? "?", minutes: QUIET_MS / 60000 }];
    this.#refresh();
    this.#render();
  }

  /** The remote tells the asker and broadcasts too, and sends a `log` beside `update_result`: the
   *  second word about an outcome already recorded is not a new outcome. */
  #heard(component, message) {
    const last = this.#lastFinished;
    return Boolean(last) && message === last.message && (!component || component === last.component)
      && Date.now() - last.at < QUIET_MS;
  }

  #onResult(body) {
    const component = text(body.component, 40);
    const run = this.#run;
    if (run && this.#echoOfLast(run, component, text(body.message))) return;
    if (run && (!component || !run.component || component === run.component)) {
      this.#finish(run.component ?? component, body, run);
    } else if (this.#heard(component, text(body.message))) {
      return;
    } else if (component) {
      this.#record(component, body, { action: body.dry_run ? "dry-run" : "update", progressSeen: true });
      this.#refresh();
    }
  }

  #onLog(body) {
    const run = this.#run;
    if (!run && this.#heard(null, text(body.message))) return;
    if (run && this.#echoOfLast(run, run.component, text(body.message))) return;
    if (run && this.#logEndsRun(run, body)) {
      this.#finish(run.component, body, run);
    } else if (this.#checking && body.success === false) {
      this.#checking = false;
      this.#checkError = text(body.message);
      this.#checkFinished();
    } else if (body.message !== undefined) {
      this.#notice = text(body.message);
    }
  }

  #logEndsRun(run, body) {
    if (run.legacy) return true; // a remote of the `updater.update` kind ends an update with a `log`
    if (!run.progressSeen && body.success === false) return true; // an error reply: nothing was started
    return Boolean(run.component) && text(body.message).toLowerCase().includes(run.component);
  }

  /** A run that began right after the last outcome (a rollback clicked as the update ends) may meet that
   *  outcome's twin: the same words about the same component for another action are not this run's end. */
  #echoOfLast(run, component, message) {
    const last = this.#lastFinished;
    return Boolean(last) && last.action !== run.action && (!component || component === last.component)
      && message === last.message && Date.now() - last.at < ECHO_MS;
  }

  #onSystemInfo(body) {
    const list = Array.isArray(body.dunebugger_components) ? body.dunebugger_components : [];
    for (const item of list) {
      const name = text(item?.name, 40).replace(/^dunebugger-/, "");
      if (!name || this.#components.has(name)) continue; // the check result knows more
      this.#components.set(name, normalize({ current: item.version }));
    }
  }

  // -- outcomes ------------------------------------------------------------------------------------------

  #finish(component, body, run) {
    clearTimeout(this.#poll);
    clearTimeout(this.#quiet);
    this.#run = null;
    this.#ended = { component, at: Date.now() };
    const refocus = this.#ui.activity === this.shadowRoot.activeElement;
    const result = this.#record(component, body, run);
    if (outcomeOf(result.kind, run.action) !== "success") this.#queue = []; // "Update all" stops at a failure
    this.#render(); // enable the buttons before one of them takes the focus back
    if (refocus) this.#rows.get(component)?.buttons[run.action === "dry-run" ? "dryRun" : run.action]?.focus();
    this.#refresh();
  }

  #record(component, body, run) {
    const kind = body.kind ?? classify(body, run);
    const success = body.success === true;
    const result = { kind, success, message: text(body.message), action: run.action, dryRun: body.dry_run === true };
    if (component) this.#results.set(component, result);
    this.#lastFinished = { component, message: result.message, action: run.action, at: Date.now() };
    this.#announcement = [component, result];
    this.#emit("dunebugger-update-finished", {
      component: component || null, action: run.action, outcome: outcomeOf(kind, run.action), kind, success,
      message: result.message, dryRun: result.dryRun || run.action === "dry-run", from: run.before ?? null,
      to: run.target ?? null, external: Boolean(run.external),
    });
    return result;
  }

  #refresh() {
    if (this.#send && !this.#checking) this.check(); // versions after the change
  }

  /** After a reconnect with our run unfinished: the result may come late, or show in the versions. */
  #settleLostRun() {
    const run = this.#run;
    if (!run || !run.lost || !this.#send) return;
    clearTimeout(this.#poll);
    const info = this.#components.get(run.component);
    if (run.action === "update" && info && run.target && info.current === run.target) {
      this.#finish(run.component, { success: true, kind: "updated",
                                    message: this.#t("seenAfterReconnect", { name: run.component, version: info.current }) }, run);
    } else if (Date.now() - run.since > POLL_FOR_MS) {
      this.#finish(run.component, { success: false, kind: "unknown",
                                    message: this.#t("noOutcome", { name: run.component, version: info?.current ?? "?" }) }, run);
    } else {
      this.#poll = setTimeout(() => this.check(), POLL_MS);
    }
  }

  // -- outgoing ------------------------------------------------------------------------------------------

  #post(message) {
    try {
      this.#send(message);
    } catch (error) {
      this.#notice = ["sendFailed", { subject: message.subject, error: text(error?.message ?? error) }];
      if (message.subject === "updater.check_updates") this.#checking = false;
      else if (this.#run && !this.#run.external) this.#run = null;
    }
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { bubbles: true, composed: true, detail }));
  }

  // -- language ------------------------------------------------------------------------------------------

  #langTag() {
    return this.getAttribute("lang") || this.ownerDocument.documentElement.getAttribute("lang") || "en";
  }

  /** The BCP 47 tag Intl formats with: the page's own ("it-CH") when its language ships, else "en". */
  #locale() {
    const tag = this.#langTag();
    try {
      return language(tag) === tag.toLowerCase().split(/[-_]/)[0] ? Intl.getCanonicalLocales(tag)[0] : "en";
    } catch {
      return language(tag);
    }
  }

  #t(key, params) {
    const override = this.#strings[key];
    const template = typeof override === "string" ? override : STRINGS[this.language][key] ?? STRINGS.en[key] ?? key;
    return fill(template, params);
  }

  // -- DOM -----------------------------------------------------------------------------------------------

  #build() {
    if (this.#built) return;
    this.#built = true;
    const root = this.shadowRoot ?? this.attachShadow({ mode: "open" });
    const doc = this.ownerDocument;
    const style = el(doc, "style", STYLE);
    const section = el(doc, "section");
    section.setAttribute("part", "panel");
    section.setAttribute("aria-labelledby", "title");
    const header = section.appendChild(el(doc, "header"));
    const title = header.appendChild(el(doc, "h2"));
    title.id = "title";
    title.setAttribute("part", "title");
    const updateAll = header.appendChild(el(doc, "button"));
    updateAll.type = "button";
    updateAll.className = "update-all primary";
    updateAll.dataset.action = "update-all";
    updateAll.setAttribute("part", "button update-all-button");
    updateAll.addEventListener("click", () => this.updateAll());
    const checkButton = header.appendChild(el(doc, "button"));
    checkButton.type = "button";
    checkButton.className = "check";
    checkButton.setAttribute("part", "button check-button");
    checkButton.addEventListener("click", () => this.check());
    const conn = section.appendChild(el(doc, "p"));
    conn.className = "line conn";
    conn.setAttribute("part", "status");
    conn.setAttribute("role", "status");
    const activity = section.appendChild(el(doc, "div"));
    activity.className = "activity";
    activity.setAttribute("part", "activity");
    activity.setAttribute("role", "status");
    activity.setAttribute("aria-live", "polite");
    activity.tabIndex = -1; // takes the focus from a button that gets disabled when a run starts
    const activityText = activity.appendChild(el(doc, "p"));
    activityText.className = "activity-text";
    const busyText = activity.appendChild(el(doc, "p"));
    busyText.className = "busy-text";
    const progress = activity.appendChild(el(doc, "progress"));
    progress.max = 100;
    progress.setAttribute("part", "progress");
    const notice = section.appendChild(el(doc, "p"));
    notice.className = "line notice";
    notice.setAttribute("part", "notice");
    const rows = section.appendChild(el(doc, "ul"));
    rows.className = "rows";
    rows.setAttribute("part", "rows");
    const dialog = this.#buildDialog(doc);
    root.replaceChildren(style, section, dialog.node);
    this.#ui = { title, updateAll, checkButton, conn, activity, activityText, busyText, progress, notice, rows,
                 dialog: dialog.node, ...dialog.parts };
  }

  #buildDialog(doc) {
    const node = el(doc, "dialog");
    node.setAttribute("part", "dialog");
    node.setAttribute("aria-labelledby", "confirm-title");
    node.setAttribute("aria-describedby", "confirm-text");
    const confirmTitle = node.appendChild(el(doc, "h3"));
    confirmTitle.id = "confirm-title";
    const confirmText = node.appendChild(el(doc, "p"));
    confirmText.id = "confirm-text";
    const actions = node.appendChild(el(doc, "div"));
    actions.className = "actions";
    const confirmNo = actions.appendChild(el(doc, "button"));
    confirmNo.type = "button";
    confirmNo.className = "cancel";
    confirmNo.setAttribute("part", "button cancel-button");
    const confirmYes = actions.appendChild(el(doc, "button"));
    confirmYes.type = "button";
    confirmYes.className = "confirm danger";
    confirmYes.setAttribute("part", "button confirm-button");
    confirmNo.addEventListener("click", () => node.close("cancel"));
    confirmYes.addEventListener("click", () => node.close("confirm"));
    node.addEventListener("close", () => {
      const component = this.#confirming;
      this.#confirming = null;
      if (node.returnValue === "confirm" && component && this.start(component, "rollback")) this.#ui.activity.focus();
      else this.#rows.get(component)?.buttons.rollback.focus();
      node.returnValue = "";
    });
    return { node, parts: { confirmTitle, confirmText, confirmYes, confirmNo } };
  }

  #row(name) {
    let row = this.#rows.get(name);
    if (row) return row;
    const doc = this.ownerDocument;
    const li = el(doc, "li");
    li.className = "row";
    li.dataset.component = name;
    li.setAttribute("part", "row");
    const headingId = `row-${name.replace(/[^a-z0-9_-]/gi, "_")}`;
    li.setAttribute("aria-labelledby", headingId);
    const top = li.appendChild(el(doc, "div"));
    top.className = "top";
    const heading = top.appendChild(el(doc, "h3", name));
    heading.id = headingId;
    const versions = top.appendChild(el(doc, "span"));
    versions.className = "versions";
    versions.setAttribute("part", "versions");
    versions.setAttribute("aria-hidden", "true"); // read out as the words in `spoken`, not as an arrow
    const spoken = top.appendChild(el(doc, "span"));
    spoken.className = "sr";
    const badge = top.appendChild(el(doc, "span"));
    badge.className = "badge";
    badge.setAttribute("part", "badge");
    const policy = top.appendChild(el(doc, "span"));
    policy.className = "policy";
    const checked = top.appendChild(el(doc, "span"));
    checked.className = "checked";
    checked.setAttribute("part", "checked");
    const note = li.appendChild(el(doc, "p"));
    note.className = "note";
    note.setAttribute("part", "note");
    const result = li.appendChild(el(doc, "p"));
    result.className = "result";
    result.setAttribute("part", "result");
    const notes = li.appendChild(el(doc, "details"));
    notes.className = "notes";
    notes.setAttribute("part", "notes");
    const summary = notes.appendChild(el(doc, "summary"));
    const actions = li.appendChild(el(doc, "div"));
    actions.className = "actions";
    actions.setAttribute("role", "group");
    const button = (action, cls) => {
      const b = actions.appendChild(el(doc, "button"));
      b.type = "button";
      b.dataset.action = action;
      b.setAttribute("part", `button ${action}-button`);
      if (cls) b.className = cls;
      b.addEventListener("click", () => {
        if (action === "rollback") {
          this.requestRollback(name);
          return;
        }
        const moveFocus = this.shadowRoot.activeElement === b;
        if (this.start(name, action) && moveFocus) this.#ui.activity.focus();
      });
      return b;
    };
    const buttons = { update: button("update", "primary"), dryRun: button("dry-run"), rollback: button("rollback", "danger") };
    row = { li, versions, spoken, badge, policy, checked, note, result, notes, summary, actions, buttons, notesKey: null };
    this.#rows.set(name, row);
    return row;
  }

  /** The components that get a row: the `components` attribute's, else all. */
  #visible() {
    const only = this.components;
    const names = [...this.#components.keys()].filter((name) => !only || only.includes(name));
    return new Map(names.map((name) => [name, this.#components.get(name)]));
  }

  #render() {
    if (!this.#built) return;
    const ui = this.#ui;
    const connected = Boolean(this.#send);
    const run = this.#run;
    const readonly = this.readonly;
    ui.title.textContent = this.#t("title");
    ui.rows.setAttribute("aria-label", this.#t("components"));
    ui.checkButton.hidden = readonly;
    ui.checkButton.disabled = !connected || this.#checking;
    ui.checkButton.textContent = this.#checking ? this.#t("checkingButton") : this.#t("check");
    const visible = this.#visible();
    const queue = updateAllQueue(visible);
    ui.updateAll.hidden = readonly || queue.length < 2;
    ui.updateAll.disabled = !connected || Boolean(run);
    ui.updateAll.textContent = this.#t("updateAll", { count: this.#number(queue.length) });
    ui.updateAll.setAttribute("aria-label", this.#t("updateAllLabel", { count: this.#number(queue.length) }));
    ui.conn.dataset.state = connected ? "up" : "lost";
    ui.conn.textContent = !connected ? this.#t(this.#everConnected ? "lost" : "connecting")
      : this.#checkError ? this.#t("checkFailed", { error: this.#checkError }) : this.#checking ? this.#t("checking") : "";
    const notice = Array.isArray(this.#notice) ? this.#t(...this.#notice) : this.#notice ?? "";
    ui.notice.textContent = notice;
    ui.notice.hidden = !notice;
    this.#renderActivity(run, connected);
    const names = [...visible.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    const items = names.map((name) => this.#renderRow(name, connected, readonly).li);
    // Re-parenting would drop the keyboard focus: touch the list only when its order changes.
    if (items.some((item, i) => ui.rows.children[i] !== item) || ui.rows.children.length !== items.length) {
      ui.rows.replaceChildren(...items);
    }
    if (ui.dialog.open && (readonly || run || !connected)) ui.dialog.close("cancel");
    if (!ui.dialog.open) {
      ui.confirmNo.textContent = this.#t("cancel");
      ui.confirmYes.textContent = this.#t("rollback");
    }
  }

  #number(n) {
    return new Intl.NumberFormat(this.#locale()).format(n);
  }

  #renderActivity(run, connected) {
    const ui = this.#ui;
    if (run) {
      const who = run.component ?? this.#t("aComponent");
      let line = this.#t(`doing_${run.action}`, { name: who });
      if (run.phase) line += `: ${run.phase}`;
      if (run.percent !== null) {
        line += ` — ${new Intl.NumberFormat(this.#locale(), { style: "percent" }).format(run.percent / 100)}`;
      }
      if (run.lost) line += this.#t(connected ? "waitingOutcome" : "lostReconnecting");
      const noun = this.#t(`noun_${run.action}`);
      ui.activityText.textContent = line;
      ui.busyText.textContent = this.readonly ? "" : this.#t("busy", { name: who, noun });
      ui.progress.hidden = false;
      ui.progress.setAttribute("aria-label", this.#t("progressOf", { name: who, noun }));
      if (run.percent === null) ui.progress.removeAttribute("value");
      else ui.progress.value = run.percent;
    } else {
      ui.activityText.textContent = this.#announcement ? this.#announce(...this.#announcement) : "";
      ui.busyText.textContent = "";
      ui.progress.hidden = true;
    }
    ui.activity.hidden = !run && !this.#announcement;
  }

  #announce(component, result) {
    const label = this.#t(look(result.kind, result).key);
    return this.#t("announcement", { name: component ?? this.#t("anUpdate"), label, message: result.message }).trim();
  }

  #renderRow(name, connected, readonly) {
    const row = this.#row(name);
    const info = this.#components.get(name);
    const locale = this.#locale();
    const state = rowState(name, info, this.#components);
    const current = info.current ?? this.#t("unknownVersion");
    const newer = info.latest && info.latest !== info.current;
    row.versions.textContent = newer ? `${current} → ${info.latest}` : current;
    row.spoken.textContent = newer ? this.#t("installedLatest", { current, latest: info.latest })
      : this.#t("installed", { current });
    const params = { ...state.params };
    if (state.key === "window") {
      params.when = formatDate(info.nextWindow, locale, { dateStyle: "medium", timeStyle: "short" }) || info.nextWindow;
    }
    row.badge.textContent = this.#t(state.key, params);
    row.badge.dataset.state = state.state;
    row.policy.textContent = info.policy ? this.#t("policy", { policy: info.policy }) : "";
    const ago = relativeTime(info.lastChecked, Date.now(), locale);
    row.checked.textContent = ago ? this.#t("checkedAgo", { when: ago }) : "";
    row.checked.title = formatDate(info.lastChecked, locale, { dateStyle: "medium", timeStyle: "medium" });
    const again = failedBefore(info) && UPDATABLE.has(state.state);
    row.note.textContent = again ? this.#t("failedBefore", { version: info.latest }) : "";
    row.note.hidden = !again;
    this.#renderResult(row, this.#results.get(name));
    this.#renderNotes(row, info, locale);
    row.actions.hidden = readonly;
    row.actions.setAttribute("aria-label", this.#t("actionsFor", { name }));
    const allowed = allowedActions(state, info, { busy: Boolean(this.#run), connected });
    const { update, dryRun, rollback } = row.buttons;
    const version = info.latest ?? "?";
    update.disabled = readonly || !allowed.update;
    update.textContent = this.#t(again ? "tryAgain" : "update");
    update.setAttribute("aria-label", this.#t(again ? "tryAgainTo" : "updateTo", { name, version }));
    dryRun.disabled = readonly || !allowed.dryRun;
    dryRun.textContent = this.#t("dryRun");
    dryRun.setAttribute("aria-label", this.#t("dryRunTo", { name, version }));
    rollback.hidden = info.previous === null; // nothing to go back to: no button at all
    rollback.disabled = readonly || !allowed.rollback;
    rollback.textContent = this.#t("rollback");
    rollback.setAttribute("aria-label", this.#t("rollbackTo", { name, version: info.previous ?? "?" }));
    return row;
  }

  #renderResult(row, result) {
    row.result.hidden = !result;
    if (!result) return;
    const { icon, key, tone } = look(result.kind, result);
    row.result.dataset.kind = result.kind;
    row.result.dataset.tone = tone;
    const doc = this.ownerDocument;
    const mark = el(doc, "span", `${icon} `);
    mark.setAttribute("aria-hidden", "true");
    const label = el(doc, "span", this.#t(key));
    label.className = "label";
    row.result.replaceChildren(mark, label, doc.createTextNode(result.message ? ` — ${result.message}` : ""));
  }

  #renderNotes(row, info, locale) {
    const source = info.notes;
    row.notes.hidden = !source && !info.releaseUrl;
    const key = [source, info.releaseUrl, info.latest, info.publishedAt, locale, this.language,
                 JSON.stringify(this.#strings)].join("\u0000");
    if (row.notesKey === key) return; // unchanged: keep the nodes (and whether the notes are open)
    row.notesKey = key;
    const doc = this.ownerDocument;
    row.summary.textContent = info.latest ? this.#t("notesOf", { version: info.latest }) : this.#t("notes");
    const body = renderMarkdown(source, doc);
    const meta = [];
    const published = formatDate(info.publishedAt, locale, { dateStyle: "long" });
    if (published) meta.push(doc.createTextNode(`${this.#t("published", { date: published })} `));
    if (info.releaseUrl) {
      const a = el(doc, "a", this.#t("onGithub"));
      a.href = info.releaseUrl;
      a.target = "_blank";
      a.rel = "noopener noreferrer nofollow";
      meta.push(a);
    }
    const footer = el(doc, "p");
    footer.className = "meta";
    footer.append(...meta);
    row.notes.replaceChildren(row.summary, body, footer);
  }
}

function rank(name) {
  const i = ORDER.indexOf(name);
  return i === -1 ? ORDER.length : i;
}

if (!customElements.get("dunebugger-updates")) customElements.define("dunebugger-updates", DunebuggerUpdates);
