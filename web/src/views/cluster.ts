// The cluster: devices by model and state, fragmentation, every node and device as a map coloured
// by use, and (for operators) utilisation per model over time.
import uPlot from "uplot";

import { get, type ClusterMap, type NodeRow, type UtilisationReport } from "../api";
import type { Context } from "../main";
import { bytes, clear, h, num, poll } from "../dom";

export const COLOURS: Record<string, string> = {
  free: "#3fb950",
  shared: "#d29922",
  busy: "#388bfd",
  drained: "#8b949e",
  down: "#f85149",
  unknown: "#484f58",
  cpu: "#a371f7",
};

// What a device shows as: its node's state first, then how much of it is in use.
export function deviceState(nodeState: string, milli: number): string {
  if (nodeState !== "up") return nodeState === "drained" ? "drained" : nodeState === "down" ? "down" : "unknown";
  return milli <= 0 ? "free" : milli >= 1000 ? "busy" : "shared";
}

interface Layout {
  cell: number; // side of one device's square, in CSS pixels
  cols: number; // device squares across in one node's block
  blockW: number;
  blockH: number;
  perRow: number;
}

function layout(nodes: NodeRow[], width: number): Layout {
  const maxDevices = Math.max(1, ...nodes.map((n) => n[7].length));
  const cols = Math.min(maxDevices, 4);
  const rows = Math.ceil(maxDevices / cols);
  // The largest squares (up to 16 px) that fit all nodes in about 640 px of height.
  let cell = 16;
  for (; cell > 2; cell--) {
    const blockW = cols * cell + 4;
    const blockH = rows * cell + 4;
    const perRow = Math.max(1, Math.floor(width / blockW));
    if (Math.ceil(nodes.length / perRow) * blockH <= 640) break;
  }
  const blockW = cols * cell + 4;
  const blockH = rows * cell + 4;
  return { cell, cols, blockW, blockH, perRow: Math.max(1, Math.floor(width / blockW)) };
}

export const renderCluster = (root: HTMLElement, ctx: Context): (() => void) => {
  const status = h("div", { class: "status" });
  const summary = h("div", { class: "cards" });
  const frag = h("div", {});
  const canvas = h("canvas", { id: "map", class: "map" });
  const tip = h("div", { class: "tip", hidden: true });
  const detail = h("div", { id: "node-detail", class: "panel" }, "Click a node for its jobs.");
  const find = h("input", { id: "find-node", placeholder: "find a node", size: 16 });
  const chart = h("div", { id: "utilisation" });
  const chartStatus = h("div", { class: "status" });
  const legend = h(
    "div",
    { class: "legend" },
    ...["free", "shared", "busy", "drained", "down", "unknown"].map((s) =>
      h("span", {}, h("i", { style: `background:${COLOURS[s]}` }), s),
    ),
    h("span", {}, h("i", { style: `background:${COLOURS.cpu}` }), "CPU-only node in use"),
  );
  root.append(
    h("h2", {}, "Cluster"),
    status,
    summary,
    h("h3", {}, "Fragmentation"),
    frag,
    h("h3", {}, "Nodes and devices ", find),
    legend,
    h("div", { class: "map-wrap" }, canvas, tip),
    detail,
    ctx.who.operator ? h("h3", {}, "Utilisation per model (hourly, last 48 hours)") : "",
    chartStatus,
    chart,
  );

  let data: ClusterMap | null = null;
  let lay: Layout | null = null;
  let selected = "";

  const draw = () => {
    if (!data) return;
    const width = Math.max(320, root.clientWidth - 8);
    lay = layout(data.nodes, width);
    const rows = Math.ceil(data.nodes.length / lay.perRow);
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.floor(width * ratio);
    canvas.height = Math.floor(Math.max(1, rows * lay.blockH) * ratio);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${rows * lay.blockH}px`;
    const g = canvas.getContext("2d")!;
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, rows * lay.blockH);
    const needle = find.value.trim();
    data.nodes.forEach((n, i) => {
      const x = (i % lay!.perRow) * lay!.blockW;
      const y = Math.floor(i / lay!.perRow) * lay!.blockH;
      const devices = n[7];
      if (n[0] === selected || (needle && n[0].includes(needle))) {
        g.fillStyle = "#f0f6fc";
        g.fillRect(x, y, lay!.blockW - 1, lay!.blockH - 1);
      }
      if (devices.length === 0) {
        // A node without accelerators: one square, by its CPUs' use.
        g.fillStyle = COLOURS[n[1] !== "up" ? deviceState(n[1], 0) : n[3] > 0 ? "cpu" : "free"]!;
        g.fillRect(x + 2, y + 2, lay!.cell - 1, lay!.cell - 1);
        return;
      }
      devices.forEach(([, milli], d) => {
        g.fillStyle = COLOURS[deviceState(n[1], milli)]!;
        g.fillRect(
          x + 2 + (d % lay!.cols) * lay!.cell,
          y + 2 + Math.floor(d / lay!.cols) * lay!.cell,
          lay!.cell - 1,
          lay!.cell - 1,
        );
      });
    });
  };

  const nodeAt = (ev: MouseEvent): NodeRow | null => {
    if (!data || !lay) return null;
    const r = canvas.getBoundingClientRect();
    const col = Math.floor((ev.clientX - r.left) / lay.blockW);
    const row = Math.floor((ev.clientY - r.top) / lay.blockH);
    if (col < 0 || col >= lay.perRow) return null;
    return data.nodes[row * lay.perRow + col] ?? null;
  };

  const describe = (n: NodeRow) => {
    const models = new Map<string, number>();
    for (const [m] of n[7]) models.set(data!.models[m]!, (models.get(data!.models[m]!) ?? 0) + 1);
    const devices = [...models].map(([m, c]) => `${c}x ${m}`).join(", ") || "no accelerators";
    return `${n[0]} (${n[1]}): CPUs ${n[3]}/${n[2]}, memory ${bytes(n[5])}/${bytes(n[4])}, ${devices}, ${n[6].length} job(s)`;
  };

  canvas.addEventListener("mousemove", (ev) => {
    const n = nodeAt(ev);
    tip.hidden = !n;
    if (!n) return;
    tip.textContent = describe(n);
    tip.style.left = `${ev.offsetX + 12}px`;
    tip.style.top = `${ev.offsetY + 12}px`;
  });
  canvas.addEventListener("mouseleave", () => (tip.hidden = true));
  const showNode = (n: NodeRow) => {
    selected = n[0];
    clear(detail);
    detail.append(
      h("div", { class: "node-title" }, describe(n)),
      h(
        "div",
        { class: "devices" },
        ...n[7].map(([m, milli], d) =>
          h(
            "span",
            { class: "device", style: `border-color:${COLOURS[deviceState(n[1], milli)]}` },
            `${data!.models[m]}-${d}: ${milli > 0 ? `${milli / 10}% in use` : "free"}`,
          ),
        ),
      ),
      n[6].length
        ? h("div", {}, "Jobs: ", ...n[6].map((id) => h("a", { href: `#/job/${id}`, class: "job-link" }, `${id} `)))
        : h("div", {}, "No jobs."),
    );
    draw();
  };
  canvas.addEventListener("click", (ev) => {
    const n = nodeAt(ev);
    if (n) showNode(n);
  });
  find.addEventListener("input", () => {
    const needle = find.value.trim();
    const n = needle ? data?.nodes.find((r) => r[0] === needle) : undefined;
    if (n) showNode(n);
    else draw();
  });

  const refresh = async () => {
    data = await get<ClusterMap>("/api/v1/cluster");
    const up = data.nodes.filter((n) => n[1] === "up").length;
    clear(summary);
    summary.append(
      h("div", { class: "card" }, h("b", {}, `${up} / ${data.nodes.length}`), "nodes up"),
      ...data.by_model.map((m) =>
        h(
          "div",
          { class: "card" },
          h("b", {}, `${num((100 * m.in_use) / Math.max(1, m.devices))} %`),
          `${m.model} in use`,
          h("small", {}, `${m.busy} busy, ${m.shared} shared, ${m.free} free, ${m.unavailable} unavailable of ${m.devices}`),
        ),
      ),
    );
    clear(frag);
    frag.append(
      data.by_model.length === 0
        ? h("p", {}, "No accelerators registered.")
        : h(
            "table",
            { class: "grid" },
            h(
              "tr",
              {},
              h("th", {}, "model"),
              h("th", {}, "free"),
              h("th", {}, "stranded for 2-GPU jobs"),
              h("th", {}, "for 4-GPU jobs"),
              h("th", {}, "for 8-GPU jobs"),
            ),
            ...data.by_model.map((m) =>
              h(
                "tr",
                {},
                h("td", {}, m.model),
                h("td", {}, m.free),
                ...["2", "4", "8"].map((k) => {
                  const s = m.stranded[k] ?? 0;
                  return h("td", {}, `${s}${m.free ? ` (${num((100 * s) / m.free, 0)} %)` : ""}`);
                }),
              ),
            ),
          ),
      h("p", { class: "hint" }, "Free GPUs stranded for k-GPU jobs: on each node, those left over once its free GPUs are counted in groups of k."),
    );
    draw();
  };

  let plot: uPlot | null = null;
  const utilisation = async () => {
    if (!ctx.who.operator) return;
    const to = Math.floor(Date.now() / 1000 / 3600) * 3600 + 3600;
    const r = await get<UtilisationReport>(`/api/v1/reports/utilisation?step=1h&from=${to - 48 * 3600}&to=${to}`);
    const models = [...new Set(r.cells.map((c) => c.model))].sort();
    const starts = [...new Set(r.cells.map((c) => c.start))].sort((a, b) => a - b);
    const series = models.map((m) => starts.map((s) => r.cells.find((c) => c.model === m && c.start === s)?.percent ?? 0));
    const palette = ["#388bfd", "#3fb950", "#d29922", "#a371f7", "#f85149", "#db61a2"];
    plot?.destroy();
    clear(chart);
    if (models.length === 0) {
      chart.append(h("p", {}, "No accelerators registered."));
      return;
    }
    plot = new uPlot(
      {
        width: Math.max(320, Math.min(1100, root.clientWidth - 16)),
        height: 220,
        scales: { y: { range: [0, 100] } },
        axes: [
          { stroke: "#8b949e", grid: { stroke: "#21262d" } },
          { label: "% in use", size: 60, stroke: "#8b949e", grid: { stroke: "#21262d" } },
        ],
        series: [{}, ...models.map((m, i) => ({ label: m, stroke: palette[i % palette.length], width: 2 }))],
      },
      [starts, ...series],
      chart,
    );
  };

  const stopMap = poll(refresh, 5000, status);
  const stopChart = poll(utilisation, 60000, chartStatus);
  const resize = () => draw();
  window.addEventListener("resize", resize);
  return () => {
    stopMap();
    stopChart();
    plot?.destroy();
    window.removeEventListener("resize", resize);
  };
};
