// The demo page's glue, shaped like the frontend's socket: `{subject, body, connectionId}` out; replies
// addressed to this connection or to `broadcast` in. It reconnects when the socket drops (the remote's own
// update recreates the remote), and tells the panel by setting `send` to null and back.
import "./dunebugger-updates.js";

const panel = document.getElementById("updates");
const log = document.getElementById("log");
const params = new URLSearchParams(location.search);
const url = params.get("ws") ?? `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
const connectionId = `demo-${Math.random().toString(36).slice(2, 10)}`;
const trace = []; // every message out and in, for a look in the console (and for the tests)
window.dunebuggerDemo = { connectionId, trace, connections: 0 };

function note(direction, message) {
  trace.push({ direction, message });
  const item = document.createElement("li");
  item.textContent = `${direction} ${JSON.stringify(message)}`;
  log.append(item);
  while (log.children.length > 200) log.firstElementChild.remove();
}

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
