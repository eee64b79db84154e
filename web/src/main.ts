// gwang's dashboard: log in with an API token, then the cluster, the queue, the caller's sessions,
// a job, projects and programmes, and reports. What one sees follows the token's role, as in the API.
import "uplot/dist/uPlot.min.css";
import "./style.css";

import { clearToken, get, setToken, token, whenUnauthorized, type WhoAmI } from "./api";
import { clear, h, message, notice } from "./dom";
import { renderCluster } from "./views/cluster";
import { renderJob } from "./views/job";
import { renderProjects } from "./views/projects";
import { renderQueue } from "./views/queue";
import { renderReports } from "./views/reports";
import { renderSessions } from "./views/sessions";

export interface Context {
  who: WhoAmI;
  // Parameters after the route: #/queue?state=PENDING -> {state: "PENDING"}.
  params: URLSearchParams;
}

// A view draws into its element and returns what stops its timers.
export type View = (root: HTMLElement, ctx: Context, arg: string) => () => void;

const views: Record<string, { title: string; view: View; nav: boolean }> = {
  cluster: { title: "Cluster", view: renderCluster, nav: true },
  queue: { title: "Queue", view: renderQueue, nav: true },
  sessions: { title: "Sessions", view: renderSessions, nav: true },
  projects: { title: "Projects", view: renderProjects, nav: true },
  reports: { title: "Reports", view: renderReports, nav: true },
  job: { title: "Job", view: renderJob, nav: false },
};

const app = document.getElementById("app")!;
let stop: () => void = () => {};
let who: WhoAmI | null = null;

function login(error = ""): void {
  stop();
  stop = () => {};
  who = null;
  clear(app);
  const input = h("input", {
    id: "token",
    type: "password",
    autocomplete: "off",
    placeholder: "API token",
    size: 70,
  });
  const form = h(
    "form",
    { class: "login" },
    h("h1", {}, "gwang"),
    h("p", {}, "Log in with an API token (", h("code", {}, "gwang token create"), ", or the operator's token file)."),
    input,
    h("button", { type: "submit" }, "Log in"),
    error ? notice(error) : null,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    void start();
  });
  app.append(form);
  input.focus();
}

async function start(): Promise<void> {
  if (!token()) return login();
  try {
    who = await get<WhoAmI>("/api/v1/whoami");
  } catch (e) {
    clearToken();
    return login(message(e));
  }
  if (!location.hash.startsWith("#/")) location.hash = "#/cluster";
  route();
}

function route(): void {
  if (!who) return;
  stop();
  const [path, query] = location.hash.slice(2).split("?");
  const [name, arg] = (path ?? "").split("/");
  const entry = views[name ?? ""] ?? views.cluster!;
  clear(app);
  const nav = h(
    "nav",
    {},
    h("span", { class: "brand" }, "gwang"),
    ...Object.entries(views)
      .filter(([, v]) => v.nav)
      .map(([k, v]) => h("a", { href: `#/${k}`, class: k === name ? "active" : "" }, v.title)),
    h("span", { class: "spacer" }),
    h("span", { class: "who", id: "who" }, `${who.user}${who.operator ? " (operator)" : ""}`),
    h(
      "button",
      {
        class: "link",
        id: "logout",
        onclick: () => {
          clearToken();
          login();
        },
      },
      "Log out",
    ),
  );
  const main = h("main", {});
  app.append(nav, main);
  document.title = `gwang: ${entry.title}`;
  try {
    stop = entry.view(main, { who, params: new URLSearchParams(query ?? "") }, arg ?? "");
  } catch (e) {
    main.append(notice(message(e)));
    stop = () => {};
  }
}

whenUnauthorized(() => {
  clearToken();
  login("The token was refused: it is unknown or revoked.");
});
window.addEventListener("hashchange", route);
void start();
