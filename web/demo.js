// The demo page's glue, shaped like the frontend's socket: `{subject, body, connectionId}` out; replies
// addressed to this connection or to `broadcast` in. It reconnects when the socket drops (the remote's own
// update recreates the remote), and tells the panel by setting `send` to null and back. Beside the panel, the
// events it fires; above it, the dark theme and Italian one click away (also ?theme=dark&lang=it).
import "./dunebugger-updates.js";

const panel = document.getElementById("updates");
const log = document.getElementById("log");
const events = document.getElementById("events");
const params = new URLSearchParams(location.search);
const url = params.get("ws") ?? `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
const connectionId = `demo-${Math.random().toString(36).slice(2, 10)}`;
const trace = []; // every message out and in, for a look in the console (and for the tests)
const fired = []; // every event the panel fired: {type, detail}
window.dunebuggerDemo = { connectionId, trace, events: fired, connections: 0 };

function note(direction, message) {
  trace.push({ direction, message });
  const item = document.createElement("li");
  item.textContent = `${direction} ${JSON.stringify(message)}`;
  log.append(item);
  while (log.children.length > 200) log.firstElementChild.remove();
}

// -- the panel's events, as a page would listen to them ---------------------------------------------------

const EVENTS = ["dunebugger-update-started", "dunebugger-update-progress", "dunebugger-update-finished",
                "dunebugger-check-finished"];

function summary(type, detail) {
  switch (type) {
    case "dunebugger-update-started":
      return `${detail.action} ${detail.component} ${detail.from ?? "?"} → ${detail.to ?? "?"}${detail.external ? " (started elsewhere)" : ""}`;
    case "dunebugger-update-progress":
      return `${detail.component}: ${detail.phase}${detail.percent === null ? "" : ` ${detail.percent}%`}`;
    case "dunebugger-update-finished":
      return `${detail.component} ${detail.action}: ${detail.outcome} (${detail.kind}) ${detail.message}`;
    default:
      return detail.error ? `failed: ${detail.error}`
        : Object.entries(detail.components).map(([name, c]) => `${name} ${c.state}`).join(", ");
  }
}

for (const type of EVENTS) {
  // on document: the events bubble out of the shadow root (composed)
  document.addEventListener(type, (event) => {
    fired.push({ type, detail: event.detail, bubbles: event.bubbles, composed: event.composed });
    document.getElementById("no-events").hidden = true;
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "type";
    name.textContent = type.replace(/^dunebugger-/, "");
    item.append(name, document.createTextNode(` ${summary(type, event.detail)}`));
    events.prepend(item);
    while (events.children.length > 100) events.lastElementChild.remove();
  });
}

// -- dark theme and Italian, one click each -----------------------------------------------------------------

const darkButton = document.getElementById("dark");
const italianButton = document.getElementById("italian");
const systemDark = matchMedia("(prefers-color-scheme: dark)");

function setTheme(theme) {
  // explicit on both the page and the panel; without one, both follow prefers-color-scheme
  if (theme) {
    document.documentElement.dataset.theme = theme;
    panel.setAttribute("theme", theme);
  }
  const dark = (document.documentElement.dataset.theme ?? (systemDark.matches ? "dark" : "light")) === "dark";
  darkButton.setAttribute("aria-pressed", String(dark));
}

function setLanguage(lang) {
  document.documentElement.lang = lang; // the panel follows the document's lang (it has none of its own)
  italianButton.setAttribute("aria-pressed", String(lang === "it"));
  italianButton.textContent = lang === "it" ? "English" : "Italiano";
  document.getElementById("events-title").textContent = lang === "it" ? "Eventi dal pannello" : "Events from the panel";
  document.getElementById("no-events").textContent = lang === "it" ? "Ancora nessuno: controlla, aggiorna o torna indietro."
    : "None yet: check, update or roll back.";
  darkButton.textContent = lang === "it" ? "Tema scuro" : "Dark theme";
}

darkButton.addEventListener("click", () => setTheme(darkButton.getAttribute("aria-pressed") === "true" ? "light" : "dark"));
italianButton.addEventListener("click", () => setLanguage(document.documentElement.lang === "it" ? "en" : "it"));
systemDark.addEventListener("change", () => setTheme(null));
setTheme(["light", "dark"].includes(params.get("theme")) ? params.get("theme") : null);
setLanguage(params.get("lang") === "it" ? "it" : "en");

// -- the socket -----------------------------------------------------------------------------------------

let delay = 250;
function connect() {
  const ws = new WebSocket(url);
  ws.addEventListener("open", () => {
    delay = 250;
    window.dunebuggerDemo.connections += 1;
    panel.send = (message) => {
      const envelope = { ...message, connectionId };
      note("→", envelope);
      ws.send(JSON.stringify(envelope));
    };
  });
  ws.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message?.destination && message.destination !== connectionId && message.destination !== "broadcast") return;
    note("←", message);
    panel.receive(message);
  });
  ws.addEventListener("close", () => {
    panel.send = null;
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 4000);
  });
}
connect();
