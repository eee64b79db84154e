// The dashboard under a large cluster, measured in headless Chromium:
//   node bench/dashboard.mjs --url URL --token TOKEN [--chromium /usr/bin/chromium] [--shots DIR]
// against a controller that holds the cluster (bench/dashboard.sh sets one up: 6,250 nodes of
// 8 GPUs and 106,250 jobs). Prints one JSON object: load times of the cluster map and the queue,
// paging and filtering, hover and click on the map, and the page's JavaScript heap.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(new URL("../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const url = arg("--url");
const token = arg("--token");
const shots = arg("--shots", "");
if (!url || !token) {
  console.error("usage: node bench/dashboard.mjs --url URL --token TOKEN [--chromium PATH] [--shots DIR]");
  process.exit(2);
}
if (shots) mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: arg("--chromium", "/usr/bin/chromium"),
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
const errors = [];
page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
page.on("pageerror", (e) => errors.push(e.message));
const cdp = await page.context().newCDPSession(page);
await cdp.send("Performance.enable");
const heap = async () => {
  const { metrics } = await cdp.send("Performance.getMetrics");
  return Math.round(metrics.find((m) => m.name === "JSHeapUsedSize").value / 2 ** 20);
};
const ms = (t0) => Math.round(performance.now() - t0);
const result = {};

await page.goto(url + "/");
await page.fill("#token", token);
let t0 = performance.now();
await page.click("button[type=submit]");
// The cluster page: the map drawn with every node, and the summary cards.
await page.waitForFunction(() => {
  const c = document.querySelector("#map");
  return c && c.height > 100 && document.querySelector(".card");
}, null, { timeout: 60000 });
result.cluster_first_draw_ms = ms(t0);
result.cluster_json = await page.evaluate(() => {
  const e = performance.getEntriesByType("resource").find((r) => r.name.includes("/api/v1/cluster"));
  return e ? { bytes: e.transferSize || e.encodedBodySize, fetch_ms: Math.round(e.duration) } : null;
});
result.nodes_on_map = await page.evaluate(async () => {
  const r = await fetch("/api/v1/cluster", { headers: { Authorization: `Bearer ${localStorage.getItem("gwang.token")}` } });
  return (await r.json()).nodes.length;
});
if (shots) await page.screenshot({ path: join(shots, "cluster.png") });

// Hover: 200 mouse moves across the map, each updating the tooltip.
const box = await page.locator("#map").boundingBox();
t0 = performance.now();
for (let i = 0; i < 200; i++) {
  await page.mouse.move(box.x + ((i * 37) % box.width), box.y + ((i * 53) % box.height));
}
result.hover_ms_per_move = +((performance.now() - t0) / 200).toFixed(2);
// Click a node: its panel; then a search for a node by name, which redraws the map.
t0 = performance.now();
await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
await page.waitForFunction(() => document.querySelector("#node-detail .node-title"));
result.click_node_ms = ms(t0);
t0 = performance.now();
const redraws = await page.evaluate(() => {
  const input = document.querySelector("#find-node");
  const t = performance.now();
  for (let i = 0; i < 20; i++) {
    input.value = `sim${String(i * 311).padStart(5, "0")}`;
    input.dispatchEvent(new Event("input"));
  }
  return (performance.now() - t) / 20;
});
result.map_redraw_ms = +redraws.toFixed(1);
result.cluster_heap_mib = await heap();

// The queue: the newest 100 of 106,250 jobs with expected starts, then older pages and a filter.
t0 = performance.now();
await page.goto(url + "/#/queue");
await page.waitForFunction(() => document.querySelectorAll("#queue tbody tr[data-job]").length === 100, null, { timeout: 60000 });
result.queue_first_page_ms = ms(t0);
result.queue_total = await page.textContent("#queue-count");
const firstId = async () => page.getAttribute("#queue tbody tr[data-job]", "data-job");
let before = await firstId();
t0 = performance.now();
await page.click("text=older");
await page.waitForFunction((b) => document.querySelector("#queue tbody tr[data-job]")?.getAttribute("data-job") !== b, before);
result.queue_next_page_ms = ms(t0);
before = await firstId();
t0 = performance.now();
await page.selectOption("#filter-state", "RUNNING");
await page.waitForFunction((b) => {
  const r = document.querySelector("#queue tbody tr[data-job]");
  return r && r.getAttribute("data-job") !== b && r.classList.contains("state-running");
}, before, { timeout: 60000 });
result.queue_filter_running_ms = ms(t0);
result.queue_heap_mib = await heap();
if (shots) await page.screenshot({ path: join(shots, "queue.png") });
result.console_errors = errors;
await browser.close();
console.log(JSON.stringify(result, null, 2));
