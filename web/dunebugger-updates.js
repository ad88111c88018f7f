// <dunebugger-updates>: the update panel of the Dunebugger frontend.
//
// A plain ES module: no build step, no dependency. The page wires it to its socket:
//   element.send = (message) => socket.send(JSON.stringify({...message, connectionId}));
//   socket.onmessage = (event) => element.receive(JSON.parse(event.data));
//   socket.onclose = () => { element.send = null; };   // set it again once reconnected
// Setting `send` to a function (and attaching the element) asks for a check. Text from GitHub (release notes)
// is rendered by the small Markdown subset below into DOM nodes with textContent: never as HTML.

export const ORDER = ["remote", "scheduler", "core"]; // remote first: the others may wait for it

const STATUSES = new Set(["updated", "unchanged", "refused", "dry-run", "failed", "rolled-back", "needs-manual",
                          "cancelled"]);
const LOOKS = {
  updated: { icon: "✔", label: "Updated", tone: "ok" },
  "dry-run": { icon: "◎", label: "Dry run passed", tone: "info" },
  unchanged: { icon: "=", label: "Nothing to do", tone: "neutral" },
  refused: { icon: "⊘", label: "Not started", tone: "neutral" },
  cancelled: { icon: "⊘", label: "Cancelled", tone: "neutral" },
  "rolled-back": { icon: "↺", label: "Failed, rolled back", tone: "warn" },
  "needs-manual": { icon: "⚠", label: "Manual intervention required", tone: "danger" },
  failed: { icon: "✖", label: "Failed", tone: "bad" },
  unknown: { icon: "?", label: "Outcome unknown", tone: "warn" },
};
const VERBS = { update: "Updating", "dry-run": "Dry run of", rollback: "Rolling back" };
const NOUNS = { update: "update", "dry-run": "dry run", rollback: "rollback" };
const MAX_NOTES = 50000; // characters of release notes rendered; the rest is cut
const MAX_TEXT = 500; // characters of any other remote text shown
const POLL_MS = 10000; // after a reconnect with no outcome yet: check this often ...
const POLL_FOR_MS = 180000; // ... for this long
const QUIET_MS = 600000; // someone else's run with no word for this long is let go (the client's own deadline)

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
  };
}

/** What a row says: up to date, available, held, blocked by the remote-first rule, or a failed check. */
export function rowState(name, info, all) {
  if (info.error) return { state: "error", label: `Check failed: ${info.error}` };
  if (!info.updateAvailable) return { state: "current", label: "Up to date" };
  if (info.held) return { state: "held", label: info.policy ? `Held (policy: ${info.policy})` : "Held" };
  const blocker = blockedBy(name, info, all);
  if (blocker) return { state: "blocked", label: blocker === "remote" ? "Update remote first" : `Blocked: ${blocker}` };
  return { state: "available", label: "Update available" };
}

function blockedBy(name, info, all) {
  if (info.hasBlockedBy) {
    const b = info.blockedBy;
    if (!b) return null;
    if (typeof b === "object") return text(b.component ?? b.rule ?? b.reason ?? "another update", 80);
    return text(b, 80);
  }
  // No `blocked_by` from the remote: the shipped remote's rule, core and scheduler wait while remote has an update.
  const remote = all.get("remote");
  return name !== "remote" && remote && remote.updateAvailable && !remote.error ? "remote" : null;
}

/** Which buttons a row enables. Every one is off while anything runs or the socket is down. */
export function allowedActions(state, info, { busy, connected }) {
  if (busy || !connected) return { update: false, dryRun: false, rollback: false };
  return {
    update: state.state === "available",
    dryRun: ["available", "held", "blocked"].includes(state.state),
    rollback: info.current !== null,
  };
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

export function look(kind, { success, action, dryRun }) {
  if (kind === "rolled-back" && success) return { icon: "↺", label: "Rolled back", tone: "info" };
  if (kind === "failed" && (dryRun || action === "dry-run")) return { ...LOOKS.failed, label: "Dry run failed" };
  return LOOKS[kind] ?? LOOKS.unknown;
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

const STYLE = `
:host { display: block; box-sizing: border-box; max-width: 100%; color: #1d1d1f; font: 15px/1.45 system-ui, sans-serif; }
*, *::before, *::after { box-sizing: inherit; }
section { border: 1px solid #c9ccd1; border-radius: 10px; padding: 12px; background: #fff; }
header { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; justify-content: space-between; }
h2 { margin: 0; font-size: 1.2em; }
h3 { margin: 0; font-size: 1.05em; text-transform: capitalize; }
button { font: inherit; min-height: 40px; padding: 6px 14px; border-radius: 8px; border: 1px solid #5f6368;
         background: #f1f3f4; color: #1d1d1f; cursor: pointer; }
button.primary { background: #1a56c4; border-color: #1a56c4; color: #fff; }
button.danger { color: #9b1c1c; border-color: #9b1c1c; background: #fff; }
button:disabled { opacity: .45; cursor: not-allowed; }
:focus-visible { outline: 3px solid #f29900; outline-offset: 2px; }
.line { margin: 6px 0 0; overflow-wrap: anywhere; }
.conn[data-state="lost"] { color: #9b1c1c; font-weight: 600; }
.activity { margin: 10px 0 0; padding: 8px 10px; border-radius: 8px; background: #eef3fd; }
.activity[hidden] { display: none; }
.activity p { margin: 0; overflow-wrap: anywhere; }
progress { width: 100%; height: 10px; margin-top: 6px; }
ul.rows { list-style: none; margin: 10px 0 0; padding: 0; display: grid; gap: 10px; }
li.row { border: 1px solid #dadce0; border-radius: 8px; padding: 10px; min-width: 0; }
.top { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: baseline; }
.versions { font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: .9em; border: 1px solid; }
.badge[data-state="available"] { color: #0b57d0; background: #e8f0fe; }
.badge[data-state="current"] { color: #3c4043; background: #f1f3f4; }
.badge[data-state="held"], .badge[data-state="blocked"] { color: #8a4b00; background: #fef3e0; }
.badge[data-state="error"] { color: #9b1c1c; background: #fce8e6; }
.policy { color: #5f6368; font-size: .9em; }
.result { margin: 8px 0 0; padding: 6px 10px; border-radius: 8px; border-left: 6px solid; overflow-wrap: anywhere; }
.result[hidden] { display: none; }
.result .label { font-weight: 700; }
.result[data-tone="ok"] { border-color: #188038; background: #e6f4ea; color: #0d5224; }
.result[data-tone="info"] { border-color: #1a56c4; background: #e8f0fe; color: #123c8a; }
.result[data-tone="neutral"] { border-color: #80868b; background: #f1f3f4; color: #3c4043; }
.result[data-tone="warn"] { border-color: #e37400; background: #fef3e0; color: #6b3a00; }
.result[data-tone="bad"] { border-color: #c5221f; background: #fce8e6; color: #8c1816; }
.result[data-tone="danger"] { border: 3px solid #a50e0e; background: #a50e0e; color: #fff; }
details { margin-top: 8px; }
summary { cursor: pointer; padding: 4px 0; }
.md { overflow-wrap: anywhere; padding: 4px 10px; border-left: 3px solid #dadce0; }
.md pre { overflow-x: auto; max-width: 100%; background: #f6f8fa; padding: 6px; }
.md h4, .md h5, .md h6 { margin: 8px 0 4px; }
.md p, .md ul, .md ol, .md blockquote { margin: 4px 0; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 10px; }
.notice { color: #5f6368; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
`;

export class DunebuggerUpdates extends HTMLElement {
  #send = null;
  #built = false;
  #components = new Map(); // name -> normalize()d record
  #results = new Map(); // name -> {kind, message, success, action, dryRun}
  #rows = new Map(); // name -> row nodes
  #run = null; // the update, dry run or rollback running now (ours, or one we only hear about)
  #checking = false;
  #checkError = "";
  #notice = "";
  #announcement = "";
  #everConnected = false;
  #poll = null;
  #quiet = null;
  #ui = null;

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

  connectedCallback() {
    this.#build();
    if (this.#send) this.check();
    this.#render();
  }

  disconnectedCallback() {
    clearTimeout(this.#poll);
    clearTimeout(this.#quiet);
  }

  /** Ask the remote for a check (also done on every connection). */
  check() {
    if (!this.#send) return;
    this.#checking = true;
    this.#checkError = "";
    this.#post({ subject: "updater.check_updates", body: {} });
    this.#render();
  }

  /** Start an update ("update"), a dry run ("dry-run") or a rollback ("rollback") of one component. */
  start(component, action) {
    if (this.#run || !this.#send || !VERBS[action]) return false;
    const info = this.#components.get(component);
    this.#run = { component, action, phase: "", percent: null, progressSeen: false, legacy: false, lost: false,
                  before: info?.current ?? null, target: info?.latest ?? null, since: Date.now(), external: false };
    this.#results.delete(component);
    this.#announcement = "";
    this.#notice = "";
    const message = action === "rollback"
      ? { subject: "updater.rollback", body: { component } }
      : { subject: "updater.perform_update", body: { component, dry_run: action === "dry-run" } };
    this.#post(message);
    this.#render();
    return true;
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
    this.#settleLostRun();
  }

  #onProgress(component, body, legacy) {
    let run = this.#run;
    if (run && component && run.component && run.component !== component) return; // two at once: keep ours
    if (!run) {
      // someone else's run (the timer, a person on the device, another browser): the buttons wait for it too
      run = this.#run = { component, action: "update", phase: "", percent: null, progressSeen: false, legacy,
                          lost: false, before: null, target: null, since: Date.now(), external: true };
    }
    if (run.external) {
      // we may never hear its end (the shipped remote tells the asker only): do not hold the buttons for ever
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
  }

  #letGo(run) {
    if (this.#run !== run) return;
    this.#run = null;
    this.#notice = `No word about the ${run.component ?? "running"} update for ${QUIET_MS / 60000} minutes.`;
    this.#refresh();
    this.#render();
  }

  #onResult(body) {
    const component = text(body.component, 40);
    const run = this.#run;
    if (run && (!component || !run.component || component === run.component)) {
      this.#finish(run.component ?? component, body, run);
    } else if (component) {
      this.#record(component, body, { action: body.dry_run ? "dry-run" : "update", progressSeen: true });
      this.#refresh();
    }
  }

  #onLog(body) {
    const run = this.#run;
    if (run && this.#logEndsRun(run, body)) {
      this.#finish(run.component, body, run);
    } else if (this.#checking && body.success === false) {
      this.#checking = false;
      this.#checkError = text(body.message);
    } else if (body.message !== undefined) {
      this.#notice = text(body.message);
    }
  }

  #logEndsRun(run, body) {
    if (run.legacy) return true; // the shipped remote ends an update with a `log`
    if (!run.progressSeen && body.success === false) return true; // an error reply: nothing was started
    return Boolean(run.component) && text(body.message).toLowerCase().includes(run.component);
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
    const refocus = this.#ui.activity === this.shadowRoot.activeElement;
    this.#record(component, body, run);
    this.#render(); // enable the buttons before one of them takes the focus back
    if (refocus) this.#rows.get(component)?.buttons[run.action === "dry-run" ? "dryRun" : run.action]?.focus();
    this.#refresh();
  }

  #record(component, body, run) {
    const kind = body.kind ?? classify(body, run);
    const success = body.success === true;
    const result = { kind, success, message: text(body.message), action: run.action, dryRun: body.dry_run === true };
    if (component) this.#results.set(component, result);
    const { label } = look(kind, result);
    this.#announcement = `${component ?? "Update"}: ${label}. ${result.message}`;
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
                                    message: `${run.component} now runs ${info.current} (seen after reconnecting)` }, run);
    } else if (Date.now() - run.since > POLL_FOR_MS) {
      this.#finish(run.component, { success: false, kind: "unknown",
                                    message: `No outcome arrived; ${run.component} reports ${info?.current ?? "no version"}. See dunebugger-units history on the device.` }, run);
    } else {
      this.#poll = setTimeout(() => this.check(), POLL_MS);
    }
  }

  // -- outgoing ------------------------------------------------------------------------------------------

  #post(message) {
    try {
      this.#send(message);
    } catch (error) {
      this.#notice = `Could not send ${message.subject}: ${text(error?.message ?? error)}`;
      if (message.subject === "updater.check_updates") this.#checking = false;
      else if (this.#run && !this.#run.external) this.#run = null;
    }
  }

  // -- DOM -----------------------------------------------------------------------------------------------

  #build() {
    if (this.#built) return;
    this.#built = true;
    const root = this.shadowRoot ?? this.attachShadow({ mode: "open" });
    const doc = this.ownerDocument;
    const style = el(doc, "style", STYLE);
    const section = el(doc, "section");
    section.setAttribute("aria-labelledby", "title");
    const header = section.appendChild(el(doc, "header"));
    const title = header.appendChild(el(doc, "h2", "Updates"));
    title.id = "title";
    const checkButton = header.appendChild(el(doc, "button", "Check for updates"));
    checkButton.className = "check";
    checkButton.addEventListener("click", () => this.check());
    const conn = section.appendChild(el(doc, "p"));
    conn.className = "line conn";
    conn.setAttribute("role", "status");
    const activity = section.appendChild(el(doc, "div"));
    activity.className = "activity";
    activity.setAttribute("role", "status");
    activity.setAttribute("aria-live", "polite");
    activity.tabIndex = -1; // takes the focus from a button that gets disabled when a run starts
    const activityText = activity.appendChild(el(doc, "p"));
    activityText.className = "activity-text";
    const busyText = activity.appendChild(el(doc, "p"));
    busyText.className = "busy-text";
    const progress = activity.appendChild(el(doc, "progress"));
    progress.max = 100;
    const notice = section.appendChild(el(doc, "p"));
    notice.className = "line notice";
    const rows = section.appendChild(el(doc, "ul"));
    rows.className = "rows";
    rows.setAttribute("aria-label", "Components");
    root.replaceChildren(style, section);
    this.#ui = { checkButton, conn, activity, activityText, busyText, progress, notice, rows };
  }

  #row(name) {
    let row = this.#rows.get(name);
    if (row) return row;
    const doc = this.ownerDocument;
    const li = el(doc, "li");
    li.className = "row";
    li.dataset.component = name;
    const headingId = `row-${name.replace(/[^a-z0-9_-]/gi, "_")}`;
    li.setAttribute("aria-labelledby", headingId);
    const top = li.appendChild(el(doc, "div"));
    top.className = "top";
    const heading = top.appendChild(el(doc, "h3", name));
    heading.id = headingId;
    const versions = top.appendChild(el(doc, "span"));
    versions.className = "versions";
    versions.setAttribute("aria-hidden", "true"); // read out as the words in `spoken`, not as an arrow
    const spoken = top.appendChild(el(doc, "span"));
    spoken.className = "sr";
    const badge = top.appendChild(el(doc, "span"));
    badge.className = "badge";
    const policy = top.appendChild(el(doc, "span"));
    policy.className = "policy";
    const result = li.appendChild(el(doc, "p"));
    result.className = "result";
    const notes = li.appendChild(el(doc, "details"));
    notes.className = "notes";
    const summary = notes.appendChild(el(doc, "summary"));
    const actions = li.appendChild(el(doc, "div"));
    actions.className = "actions";
    actions.setAttribute("role", "group");
    actions.setAttribute("aria-label", `Actions for ${name}`);
    const button = (label, action, cls) => {
      const b = actions.appendChild(el(doc, "button", label));
      b.type = "button";
      b.dataset.action = action;
      if (cls) b.className = cls;
      b.addEventListener("click", () => {
        const moveFocus = this.shadowRoot.activeElement === b;
        if (this.start(name, action) && moveFocus) this.#ui.activity.focus();
      });
      return b;
    };
    const buttons = { update: button("Update", "update", "primary"), dryRun: button("Dry run", "dry-run"),
                      rollback: button("Roll back", "rollback", "danger") };
    row = { li, versions, spoken, badge, policy, result, notes, summary, buttons, notesKey: null };
    this.#rows.set(name, row);
    return row;
  }

  #render() {
    if (!this.#built) return;
    const ui = this.#ui;
    const connected = Boolean(this.#send);
    const run = this.#run;
    ui.checkButton.disabled = !connected || this.#checking;
    ui.checkButton.textContent = this.#checking ? "Checking…" : "Check for updates";
    ui.conn.dataset.state = connected ? "up" : "lost";
    ui.conn.textContent = !connected
      ? (this.#everConnected ? "Connection to the device lost: reconnecting…" : "Connecting to the device…")
      : this.#checkError ? `Check failed: ${this.#checkError}` : this.#checking ? "Checking for updates…" : "";
    ui.notice.textContent = this.#notice;
    ui.notice.hidden = !this.#notice;
    this.#renderActivity(run, connected);
    const names = [...this.#components.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    const items = names.map((name) => this.#renderRow(name, connected).li);
    // Re-parenting would drop the keyboard focus: touch the list only when its order changes.
    if (items.some((item, i) => ui.rows.children[i] !== item) || ui.rows.children.length !== items.length) {
      ui.rows.replaceChildren(...items);
    }
  }

  #renderActivity(run, connected) {
    const ui = this.#ui;
    if (run) {
      const who = run.component ?? "a component";
      let line = `${VERBS[run.action]} ${who}`;
      if (run.phase) line += `: ${run.phase}`;
      if (run.percent !== null) line += ` — ${run.percent}%`;
      if (run.lost) line += connected ? " (reconnected: waiting for the outcome)" : " (connection lost: reconnecting)";
      ui.activityText.textContent = line;
      ui.busyText.textContent = `Update, Dry run and Roll back are disabled while the ${who} ${NOUNS[run.action]} runs.`;
      ui.progress.hidden = false;
      ui.progress.setAttribute("aria-label", `Progress of the ${who} ${NOUNS[run.action]}`);
      if (run.percent === null) ui.progress.removeAttribute("value");
      else ui.progress.value = run.percent;
    } else {
      ui.activityText.textContent = this.#announcement;
      ui.busyText.textContent = "";
      ui.progress.hidden = true;
    }
    ui.activity.hidden = !run && !this.#announcement;
  }

  #renderRow(name, connected) {
    const row = this.#row(name);
    const info = this.#components.get(name);
    const state = rowState(name, info, this.#components);
    const current = info.current ?? "unknown";
    const newer = info.latest && info.latest !== info.current;
    row.versions.textContent = newer ? `${current} → ${info.latest}` : current;
    row.spoken.textContent = newer ? `installed ${current}, latest ${info.latest}` : `installed ${current}`;
    row.badge.textContent = state.label;
    row.badge.dataset.state = state.state;
    row.policy.textContent = info.policy ? `policy: ${info.policy}` : "";
    this.#renderResult(row, this.#results.get(name));
    this.#renderNotes(row, info);
    const busy = Boolean(this.#run);
    const allowed = allowedActions(state, info, { busy, connected });
    const target = info.latest ? ` to ${info.latest}` : "";
    row.buttons.update.disabled = !allowed.update;
    row.buttons.update.setAttribute("aria-label", `Update ${name}${target}`);
    row.buttons.dryRun.disabled = !allowed.dryRun;
    row.buttons.dryRun.setAttribute("aria-label", `Dry run of the ${name} update${target}`);
    row.buttons.rollback.disabled = !allowed.rollback;
    row.buttons.rollback.setAttribute("aria-label", `Roll back ${name} to its previous version`);
    return row;
  }

  #renderResult(row, result) {
    row.result.hidden = !result;
    if (!result) return;
    const { icon, label, tone } = look(result.kind, result);
    row.result.dataset.kind = result.kind;
    row.result.dataset.tone = tone;
    const doc = this.ownerDocument;
    const mark = el(doc, "span", `${icon} `);
    mark.setAttribute("aria-hidden", "true");
    row.result.replaceChildren(mark, el(doc, "span", label), doc.createTextNode(result.message ? ` — ${result.message}` : ""));
    row.result.children[1].className = "label";
  }

  #renderNotes(row, info) {
    const source = info.notes;
    row.notes.hidden = !source && !info.releaseUrl;
    const key = [source, info.releaseUrl, info.latest, info.publishedAt].join("\u0000");
    if (row.notesKey === key) return; // unchanged: keep the nodes (and whether the notes are open)
    row.notesKey = key;
    const doc = this.ownerDocument;
    row.summary.textContent = `Release notes${info.latest ? ` of ${info.latest}` : ""}`;
    const body = renderMarkdown(source, doc);
    const meta = [];
    if (info.publishedAt) meta.push(doc.createTextNode(`Published ${info.publishedAt}. `));
    if (info.releaseUrl) {
      const a = el(doc, "a", "The release on GitHub");
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
