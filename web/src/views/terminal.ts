// A terminal in the browser into a running job its user owns, as `gwang attach` gives one: a step
// of one task on the job's first node, sharing what the job holds, on a terminal of this one's
// size (xterm.js), relayed through the controller's WebSocket. The account's login shell, or sh
// where it has none.
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";

import { post, token } from "../api";

const LOGIN_SHELL =
  's=$(getent passwd "$(id -un)" | cut -d: -f7); case "$s" in ""|*nologin|*false) s=/bin/sh;; esac; exec "$s" -l';

export interface TerminalSession {
  close: () => void;
}

// Opens it in `into`; `ended` is called once with why, when the terminal closes.
export async function openTerminal(into: HTMLElement, job: number, ended: (why: string) => void): Promise<TerminalSession> {
  const term = new Terminal({ rows: 30, cols: 100, fontSize: 13, cursorBlink: true, scrollback: 5000 });
  term.open(into);
  const step = await post<{ id: number }>(`/api/v1/jobs/${job}/steps`, {
    command: ["/bin/sh", "-c", LOGIN_SHELL],
    name: "terminal",
    ntasks: 1,
    nodes: 1,
    overlap: true,
    pty: { rows: term.rows, cols: term.cols },
    env: { TERM: "xterm-256color" },
  });
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  // A browser's WebSocket sends no Authorization header: the token goes as a subprotocol.
  const ws = new WebSocket(`${scheme}://${location.host}/api/v1/jobs/${job}/steps/${step.id}/terminal`, [
    "gwang",
    `gwang.bearer.${token()}`,
  ]);
  ws.binaryType = "arraybuffer";
  const encoder = new TextEncoder();
  let done = false;
  const finish = (why: string) => {
    if (done) return;
    done = true;
    term.write(`\r\n\x1b[2m[${why}]\x1b[0m\r\n`);
    ended(why);
  };
  ws.onmessage = (e: MessageEvent) => {
    if (e.data instanceof ArrayBuffer) term.write(new Uint8Array(e.data));
  };
  ws.onclose = () => finish(`the terminal of step ${job}.${step.id} has closed`);
  ws.onerror = () => finish("the terminal could not be reached");
  term.onData((d) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(encoder.encode(d));
  });
  term.onResize(({ rows, cols }) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ rows, cols }));
  });
  term.focus();
  return {
    close: () => {
      ws.close();
      term.dispose();
    },
  };
}
