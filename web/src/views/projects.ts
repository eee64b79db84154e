// Projects and programmes: each grant's burn-down (what is left after each charge, against the
// straight line to its end), usage against entitlement per project, and fair-share standing.
import uPlot from "uplot";

import { get, type FairShareAccount, type Grant } from "../api";
import type { Context } from "../main";
import { clear, h, num, poll, time } from "../dom";

const CHARTS = 12; // burn-down charts drawn at once; the rest on request

function burndown(el: HTMLElement, g: Grant, width: number): uPlot {
  const now = Math.floor(Date.now() / 1000);
  const points = g.burndown ?? [];
  // Remaining after each charge, from the grant's start; the ideal line runs from the amount at
  // the start to zero at the end.
  const xs: number[] = [g.start];
  const left: (number | null)[] = [g.amount];
  for (const [t, used] of points) {
    xs.push(Math.max(t, g.start));
    left.push(g.amount - used);
  }
  const last = Math.min(now, g.end);
  if (last > xs[xs.length - 1]!) {
    xs.push(last);
    left.push(g.amount - g.used);
  }
  const ideal = xs.map((t) => (g.amount * Math.max(0, g.end - t)) / Math.max(1, g.end - g.start));
  xs.push(g.end);
  left.push(null);
  ideal.push(0);
  return new uPlot(
    {
      width,
      height: 180,
      scales: { y: { range: [0, Math.max(g.amount, 1) * 1.05] } },
      axes: [
        { stroke: "#8b949e", grid: { stroke: "#21262d" } },
        { label: "hours left", size: 60, stroke: "#8b949e", grid: { stroke: "#21262d" } },
      ],
      series: [
        {},
        { label: "left", stroke: "#388bfd", width: 2, fill: "rgba(56,139,253,0.12)" },
        { label: "even pace", stroke: "#8b949e", dash: [6, 4] },
      ],
    },
    [xs, left, ideal],
    el,
  );
}

export const renderProjects = (root: HTMLElement, ctx: Context): (() => void) => {
  const status = h("div", { class: "status" });
  const entitlement = h("div", {});
  const grants = h("div", { class: "grants", id: "grants" });
  const fair = h("div", {});
  root.append(
    h("h2", {}, "Projects and programmes"),
    status,
    h("h3", {}, "Usage against entitlement"),
    entitlement,
    h("h3", {}, "Grants"),
    grants,
    h("h3", {}, "Fair-share standing"),
    fair,
  );
  const only = ctx.params.get("grant");
  let plots: uPlot[] = [];
  let shown = CHARTS;

  const refresh = async () => {
    const [gs, fs] = await Promise.all([
      get<{ grants: Grant[] }>("/api/v1/grants"),
      get<{ accounts: FairShareAccount[] }>("/api/v1/fairshare"),
    ]);
    const list = gs.grants.filter((g) => !only || String(g.id) === only);
    const details = await Promise.all(list.slice(0, shown).map((g) => get<Grant>(`/api/v1/grants/${g.id}`)));

    // Usage against entitlement: the grants in force now, by project.
    const byProject = new Map<string, { amount: number; used: number; programmes: Set<string> }>();
    for (const g of gs.grants) {
      if (g.state === "upcoming") continue;
      const p = byProject.get(g.project) ?? { amount: 0, used: 0, programmes: new Set<string>() };
      p.amount += g.amount;
      p.used += g.used;
      p.programmes.add(g.programme);
      byProject.set(g.project, p);
    }
    clear(entitlement);
    entitlement.append(
      byProject.size === 0
        ? h("p", {}, "No grants.")
        : h(
            "table",
            { class: "grid" },
            h("tr", {}, ...["project", "programmes", "granted (h)", "used (h)", "used"].map((c) => h("th", {}, c))),
            ...[...byProject].sort().map(([name, p]) => {
              const pct = p.amount > 0 ? (100 * p.used) / p.amount : 0;
              return h(
                "tr",
                {},
                h("td", {}, name),
                h("td", {}, [...p.programmes].join(", ")),
                h("td", {}, num(p.amount)),
                h("td", {}, num(p.used, 3)),
                h("td", {}, h("span", { class: "bar" }, h("i", { style: `width:${Math.min(100, pct)}%`, class: pct >= 100 ? "over" : pct >= 80 ? "warn" : "" })), ` ${num(pct)} %`),
              );
            }),
          ),
    );

    for (const p of plots) p.destroy();
    plots = [];
    clear(grants);
    if (list.length === 0) grants.append(h("p", {}, "No grants."));
    const width = Math.max(300, Math.min(520, root.clientWidth / 2 - 40));
    for (const g of details) {
      const chart = h("div", { class: "chart" });
      grants.append(
        h(
          "div",
          { class: "panel grant", id: `grant-${g.id}`, "data-used": g.used, "data-remaining": g.remaining },
          h("div", { class: "grant-title" }, h("b", {}, `Grant ${g.id}: ${g.project}`), ` · ${g.programme} · `, h("span", { class: `badge ${g.state}` }, g.state)),
          h("div", { class: "grant-figures" }, `${num(g.used, 3)} of ${num(g.amount)} h used (${num(g.percent_used)} %), ${num(g.remaining, 3)} h left; ${time(g.start)} to ${time(g.end)}`),
          chart,
        ),
      );
      plots.push(burndown(chart, g, width));
    }
    if (list.length > shown) {
      grants.append(h("button", { onclick: () => ((shown += CHARTS), void refresh()) }, `${list.length - shown} more grants`));
    }

    clear(fair);
    const rows = fs.accounts.filter((a) => a.level !== "institution" || ctx.who.operator || ctx.who.admin_of.includes(a.path[0]!));
    fair.append(
      rows.length === 0
        ? h("p", {}, "No fair-share accounts: the queue order is not multifactor, or no job has been submitted yet.")
        : h(
            "table",
            { class: "grid", id: "fairshare" },
            h("tr", {}, ...["account", "level", "shares (normalised)", "usage (decayed, h)", "effective usage", "factor"].map((c) => h("th", {}, c))),
            ...rows.map((a) =>
              h(
                "tr",
                {},
                h("td", { style: `padding-left:${a.path.length - 1}em` }, a.path[a.path.length - 1]),
                h("td", {}, a.level),
                h("td", {}, num(a.normalized_shares, 3)),
                h("td", {}, num(a.usage / 3600, 3)),
                h("td", {}, num(a.effective_usage, 3)),
                h("td", {}, h("span", { class: "bar" }, h("i", { style: `width:${100 * a.factor}%` })), ` ${num(a.factor, 3)}`),
              ),
            ),
          ),
    );
  };
  const stopPoll = poll(refresh, 10000, status);
  return () => {
    stopPoll();
    for (const p of plots) p.destroy();
  };
};
