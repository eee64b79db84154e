// The queue: running and waiting jobs (or ended ones), filtered by state, project and user, a page
// at a time, newest first; each waiting job with its reason and expected start.
import { get, type JobPage } from "../api";
import type { Context } from "../main";
import { clear, duration, h, poll, time } from "../dom";

const PAGE = 100;
const STATES: [string, string][] = [
  ["", "running and waiting"],
  ["RUNNING", "running"],
  ["PENDING", "waiting"],
  ["COMPLETED,FAILED,CANCELLED,TIMEOUT,OUT_OF_MEMORY,NODE_FAIL,DEADLINE", "ended"],
  ["all", "all"],
];

export const renderQueue = (root: HTMLElement, ctx: Context): (() => void) => {
  const state = h(
    "select",
    { id: "filter-state" },
    ...STATES.map(([v, label]) => h("option", { value: v, selected: v === (ctx.params.get("state") ?? "") }, label)),
  );
  const project = h("select", { id: "filter-project" }, h("option", { value: "" }, "any project"));
  const user = h("input", { id: "filter-user", placeholder: "user", size: 12, value: ctx.params.get("user") ?? "" });
  const status = h("div", { class: "status" });
  const pager = h("div", { class: "pager" });
  const body = h("tbody", {});
  const table = h(
    "table",
    { class: "grid", id: "queue" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...["job", "name", "user", "project", "state", "time", "node", "reason", "expected start"].map((c) =>
          h("th", {}, c),
        ),
      ),
    ),
    body,
  );
  root.append(h("h2", {}, "Queue"), h("div", { class: "filters" }, state, project, user), status, pager, table);

  let offset = 0;
  const mine = [...new Set([...ctx.who.projects])].sort();
  const refreshProjects = async () => {
    let names = mine;
    try {
      const r = await get<{ projects: { name: string }[] }>("/api/v1/projects");
      names = r.projects.map((p) => p.name).sort();
    } catch {
      // the caller's own projects, from whoami, are enough to filter by
    }
    for (const n of names) project.append(h("option", { value: n }, n));
    const wanted = ctx.params.get("project");
    if (wanted) project.value = wanted;
  };

  const refresh = async () => {
    const q = new URLSearchParams({ view: "summary", order: "desc", limit: String(PAGE), offset: String(offset), start: "1" });
    if (state.value === "all") q.set("all", "1");
    else if (state.value) q.set("state", state.value);
    if (project.value) q.set("project", project.value);
    if (user.value.trim()) q.set("user", user.value.trim());
    const page = await get<JobPage>(`/api/v1/jobs?${q}`);
    const now = Date.now() / 1000;
    clear(body);
    for (const j of page.jobs) {
      const ran = j.start_time !== null ? (j.end_time ?? now) - j.start_time : null;
      body.append(
        h(
          "tr",
          { class: `state-${j.state.toLowerCase()}`, "data-job": j.id },
          h("td", {}, h("a", { href: `#/job/${j.id}` }, j.id)),
          h("td", {}, j.name),
          h("td", {}, j.user),
          h("td", {}, j.project),
          h("td", {}, h("span", { class: `badge ${j.state.toLowerCase()}` }, j.state)),
          h("td", {}, ran === null ? "" : duration(ran)),
          h("td", {}, j.node),
          h("td", { class: "reason" }, j.reason),
          h("td", {}, j.state === "PENDING" ? time(j.estimated_start) || "not planned" : ""),
        ),
      );
    }
    if (page.jobs.length === 0) body.append(h("tr", {}, h("td", { colspan: 9 }, "No jobs match.")));
    clear(pager);
    const last = Math.min(page.total, offset + page.jobs.length);
    pager.append(
      h("span", { id: "queue-count" }, page.total ? `${offset + 1}–${last} of ${page.total}` : "0 jobs"),
      h("button", { disabled: offset === 0, onclick: () => move(-PAGE) }, "newer"),
      h("button", { disabled: last >= page.total, onclick: () => move(PAGE) }, "older"),
    );
  };
  let stopPoll = poll(refresh, 5000, status);
  const restart = () => {
    stopPoll();
    stopPoll = poll(refresh, 5000, status);
  };
  const move = (by: number) => {
    offset = Math.max(0, offset + by);
    restart();
  };
  const refilter = () => {
    offset = 0;
    restart();
  };
  state.addEventListener("change", refilter);
  project.addEventListener("change", refilter);
  let typing = 0;
  user.addEventListener("input", () => {
    window.clearTimeout(typing);
    typing = window.setTimeout(refilter, 300);
  });
  void refreshProjects().then(() => {
    if (ctx.params.get("project")) refilter();
  });
  return () => {
    stopPoll();
    window.clearTimeout(typing);
  };
};
