// The caller's sessions: a form that starts one (an app, its resources, its idle timeout), and each
// session with its state, whether its service answers, its time left and idle time, a button that
// opens it (its service through the proxy in a new tab, or a terminal session's terminal) and one
// that stops it.
import { get, post } from "../api";
import type { Context } from "../main";
import { clear, duration, h, message, notice, poll } from "../dom";

interface Session {
  id: number;
  name: string;
  app: string;
  state: string;
  url: string;
  ready: boolean;
  idle_timeout: number;
  time_left?: number;
  idle?: number;
  reason?: string;
}

const APPS: [string, string][] = [
  ["jupyter", "Jupyter Notebook"],
  ["tensorboard", "TensorBoard"],
  ["vscode", "VS Code (code-server)"],
  ["terminal", "A terminal"],
  ["custom", "My own service, on port…"],
];

export const renderSessions = (root: HTMLElement, _ctx: Context): (() => void) => {
  const app = h("select", { id: "session-app" }, ...APPS.map(([v, label]) => h("option", { value: v }, label)));
  const port = h("input", { id: "session-port", type: "number", min: 1024, max: 65535, placeholder: "port", size: 6 });
  const command = h("input", { id: "session-command", placeholder: "its command (custom) or arguments", size: 40 });
  const cpus = h("input", { id: "session-cpus", type: "number", min: 1, value: 1, size: 4 });
  const mem = h("input", { id: "session-mem", value: "4G", size: 6 });
  const gpus = h("input", { id: "session-gpus", placeholder: "GPUs: 1 or 1:H100", size: 12 });
  const time = h("input", { id: "session-time", placeholder: "time (default: the longest)", size: 18 });
  const idle = h("input", { id: "session-idle", placeholder: "idle timeout (default 1h)", size: 18 });
  const said = h("div", { class: "status" });
  const showPort = () => (port.style.display = app.value === "custom" ? "" : "none");
  app.addEventListener("change", showPort);
  showPort();
  const form = h(
    "form",
    { class: "filters", id: "session-start" },
    app,
    port,
    command,
    h("label", {}, "CPUs ", cpus),
    h("label", {}, "memory ", mem),
    gpus,
    time,
    idle,
    h("button", { type: "submit" }, "Start"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void (async () => {
      clear(said);
      const session: Record<string, unknown> = { app: app.value };
      if (app.value === "custom") session.port = Number(port.value);
      if (idle.value.trim()) session.idle_timeout = idle.value.trim();
      const body: Record<string, unknown> = { session, cpus: Number(cpus.value), mem: mem.value.trim() };
      const words = command.value.trim().split(/\s+/).filter((w) => w);
      if (words.length) body.command = words;
      if (gpus.value.trim()) body.gpus = gpus.value.trim();
      if (time.value.trim()) body.time = time.value.trim();
      try {
        const job = await post<{ id: number }>("/api/v1/jobs", body);
        said.append(notice(`Session ${job.id} submitted: it opens here once its service answers.`, "info"));
        await refresh();
      } catch (err) {
        said.append(notice(message(err)));
      }
    })();
  });

  const body = h("tbody", {});
  const table = h(
    "table",
    { class: "grid", id: "sessions" },
    h("thead", {}, h("tr", {}, ...["session", "app", "state", "time left", "idle", "", ""].map((c) => h("th", {}, c)))),
    body,
  );
  const status = h("div", { class: "status" });
  root.append(h("h2", {}, "Sessions"), form, said, status, table);

  const open = async (s: Session) => {
    if (s.app === "terminal") {
      location.hash = `#/job/${s.id}?terminal=1`;
      return;
    }
    // A tab opened now (a click's), then sent to the session by its one-use link.
    const tab = window.open("about:blank", "_blank");
    try {
      const login = await post<{ open: string }>(`/api/v1/sessions/${s.id}/login`);
      if (tab) tab.location.href = login.open;
      else location.href = login.open;
    } catch (err) {
      tab?.close();
      status.append(notice(message(err)));
    }
  };
  const stop = async (s: Session) => {
    try {
      await post(`/api/v1/jobs/${s.id}/cancel`);
      await refresh();
    } catch (err) {
      status.append(notice(message(err)));
    }
  };

  const refresh = async () => {
    const r = await get<{ sessions: Session[] }>("/api/v1/sessions?all=1");
    clear(body);
    for (const s of r.sessions.sort((a, b) => b.id - a.id)) {
      const live = s.state === "RUNNING" || s.state === "PENDING";
      const shown = s.state === "RUNNING" && !s.ready ? "starting" : s.state;
      body.append(
        h(
          "tr",
          { "data-session": s.id, class: `state-${s.state.toLowerCase()}` },
          h("td", {}, h("a", { href: `#/job/${s.id}` }, s.id)),
          h("td", {}, s.app),
          h("td", { title: s.reason ?? "" }, h("span", { class: `badge ${s.state.toLowerCase()}` }, shown), live ? "" : ` ${s.reason ?? ""}`),
          h("td", {}, s.time_left === undefined ? "" : duration(s.time_left)),
          h("td", {}, s.idle === undefined ? "" : `${duration(s.idle)} of ${duration(s.idle_timeout)}`),
          h("td", {}, s.state === "RUNNING" && s.ready ? h("button", { class: "open", onclick: () => void open(s) }, "Open") : ""),
          h("td", {}, live ? h("button", { class: "stop", onclick: () => void stop(s) }, "Stop") : ""),
        ),
      );
    }
    if (!r.sessions.length) body.append(h("tr", {}, h("td", { colspan: 7 }, "No sessions yet.")));
  };
  return poll(refresh, 2000, status);
};
