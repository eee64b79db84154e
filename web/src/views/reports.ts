// Reports: usage by programme, institution, sector, project, user or model over a period (what
// `gwang report usage` prints), and for operators utilisation per model; tables, bars and CSV.
import { get, type UsageReport, type UtilisationReport } from "../api";
import type { Context } from "../main";
import { clear, downloadCsv, h, message, notice, num, time } from "../dom";

const BY = ["programme", "institution", "institution-type", "sector", "project", "user", "model"];

const day = (t: number) => new Date(t * 1000).toISOString().slice(0, 10);

export const renderReports = (root: HTMLElement, ctx: Context): (() => void) => {
  const now = Math.floor(Date.now() / 1000);
  const by = h("select", { id: "report-by" }, ...BY.map((b) => h("option", { value: b }, b)));
  const from = h("input", { id: "report-from", type: "date", value: day(now - 30 * 86400) });
  const to = h("input", { id: "report-to", type: "date", value: day(now + 86400) });
  const run = h("button", { id: "report-run" }, "Show");
  const csv = h("button", { id: "report-csv", disabled: true }, "Download CSV");
  const out = h("div", { id: "report" });
  const util = h("div", { id: "utilisation-report" });
  root.append(
    h("h2", {}, "Reports"),
    h("h3", {}, "Usage"),
    h("div", { class: "filters" }, "by ", by, " from ", from, " to ", to, run, csv),
    out,
    ctx.who.operator ? h("h3", {}, "Utilisation per model, by day") : "",
    util,
  );
  let rows: (string | number)[][] = [];

  const usage = async () => {
    clear(out);
    try {
      const r = await get<UsageReport>(`/api/v1/reports/usage?by=${by.value}&from=${from.value}&to=${to.value}`);
      const top = Math.max(1e-9, ...r.rows.map((x) => x.charge));
      rows = r.rows.map((x) => [x.key, x.jobs, x.accelerator_hours, x.cpu_hours, x.charge]);
      csv.disabled = false;
      out.append(
        h("p", {}, `${time(r.from)} to ${time(r.to)}: ${r.total.jobs} jobs, ${num(r.total.accelerator_hours, 2)} accelerator-hours, ${num(r.total.cpu_hours, 2)} CPU-hours, ${num(r.total.charge, 2)} normalised hours charged.`),
        h(
          "table",
          { class: "grid" },
          h("tr", {}, ...[r.by, "jobs", "accelerator h", "CPU h", "charge (h)", ""].map((c) => h("th", {}, c))),
          ...r.rows.map((x) =>
            h(
              "tr",
              {},
              h("td", {}, x.key),
              h("td", {}, x.jobs),
              h("td", {}, num(x.accelerator_hours, 2)),
              h("td", {}, num(x.cpu_hours, 2)),
              h("td", {}, num(x.charge, 2)),
              h("td", { class: "wide" }, h("span", { class: "bar long" }, h("i", { style: `width:${(100 * x.charge) / top}%` }))),
            ),
          ),
        ),
      );
    } catch (e) {
      csv.disabled = true;
      out.append(notice(message(e)));
    }
  };

  const utilisation = async () => {
    if (!ctx.who.operator) return;
    clear(util);
    try {
      const r = await get<UtilisationReport>(`/api/v1/reports/utilisation?step=1d&from=${from.value}&to=${to.value}`);
      const models = [...new Set(r.cells.map((c) => c.model))].sort();
      const starts = [...new Set(r.cells.map((c) => c.start))].sort((a, b) => a - b);
      const cell = (m: string, s: number) => r.cells.find((c) => c.model === m && c.start === s);
      const table = starts.map((s) => [day(s), ...models.map((m) => cell(m, s)?.percent ?? 0)]);
      util.append(
        models.length === 0
          ? h("p", {}, "No accelerators registered.")
          : h(
              "table",
              { class: "grid" },
              h("tr", {}, h("th", {}, "day"), ...models.map((m) => h("th", {}, `${m} %`))),
              ...table.map((r) => h("tr", {}, ...r.map((v, i) => h("td", {}, i === 0 ? v : num(Number(v)))))),
            ),
        h("button", { id: "utilisation-csv", onclick: () => downloadCsv("utilisation.csv", ["day", ...models.map((m) => `${m}_percent`)], table) }, "Download CSV"),
      );
    } catch (e) {
      util.append(notice(message(e)));
    }
  };

  run.addEventListener("click", () => {
    void usage();
    void utilisation();
  });
  csv.addEventListener("click", () =>
    downloadCsv(`usage-by-${by.value}-${from.value}-${to.value}.csv`, [by.value, "jobs", "accelerator_hours", "cpu_hours", "charge"], rows),
  );
  void usage();
  void utilisation();
  return () => {};
};
