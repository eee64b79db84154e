// Browser tests of the dashboard: a real `gwang up` with real jobs, driven in headless Chromium.
//   node web/tests/e2e.mjs --gwang build/gwang --out build/web-e2e [--chromium /usr/bin/chromium]
// Each step saves a screenshot under --out; any console error or page error fails the run.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { arg, expect, until } from "./harness.mjs";

const gwang = arg("--gwang", "build/gwang");
const out = arg("--out", "build/web-e2e");
const browserPath = arg("--chromium", process.env.CHROMIUM ?? "/usr/bin/chromium");
mkdirSync(out, { recursive: true });
if (!existsSync(browserPath)) {
  console.log(`not ok - Chromium is not at ${browserPath} (scripts/test installs Debian's chromium)`);
  process.exit(1);
}

const data = mkdtempSync(join(tmpdir(), "gwang-web-"));
const server = spawn(gwang, ["up", "--data", data, "--listen", "127.0.0.1:0", "--user", "nobody", "--no-nvml",
  "--declare", "gpu:H100=4", "--cpus", "8", "--queue-order", "multifactor"], { stdio: ["ignore", "pipe", "pipe"] });
let serverLog = "";
server.stdout.on("data", (d) => (serverLog += d));
server.stderr.on("data", (d) => (serverLog += d));


let url = "";
await until("gwang up to write its URL", () => existsSync(join(data, "url")) && existsSync(join(data, "token")));
url = readFileSync(join(data, "url"), "utf8").trim();
const operatorToken = readFileSync(join(data, "token"), "utf8").trim();
const cli = (args, token = operatorToken) =>
  execFileSync(gwang, args, { env: { ...process.env, GWANG_URL: url, GWANG_TOKEN: token }, encoding: "utf8" });
const submit = (args, token) => /Submitted job (\d+)/.exec(cli(["submit", "--workdir", "/tmp", ...args], token))[1];
const show = (id) => JSON.parse(cli(["show", id, "--json"]));

// The books: two institutions' projects, a programme and a grant; a member of the second project.
cli(["admin", "institution", "add", "kaist", "--type", "university"]);
cli(["admin", "institution", "add", "gist", "--type", "research-institute"]);
cli(["admin", "project", "add", "llm", "--institution", "kaist"]);
cli(["admin", "project", "add-member", "llm", "nobody"]);
cli(["admin", "project", "add", "vision", "--institution", "gist"]);
cli(["admin", "project", "add-member", "vision", "daemon"]);
cli(["admin", "programme", "add", "voucher", "--when-exhausted", "refuse"]);
cli(["admin", "grant", "add", "llm", "--programme", "voucher", "--amount", "10", "--start", "2020-01-01", "--end", "2040-01-01"]);
const memberToken = /[0-9a-f]{64}/.exec(cli(["token", "create", "--user", "daemon"]))[0];

// Jobs: one that talks and runs until cancelled, one short (charged when it ends), one of the member's.
const chatty = submit(["--project", "llm", "--gpus", "2", "--name", "chatty", "--", "/bin/sh", "-c",
  "echo hello from gwang; i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done"]);
const short = submit(["--project", "llm", "--gpus", "1", "--name", "short", "--", "sleep", "1"]);
const theirs = submit(["--project", "vision", "--gpus", "1", "--name", "theirs", "--", "sleep", "300"], memberToken);
await until("the jobs to start", () => show(chatty).state === "RUNNING" && show(theirs).state === "RUNNING");
await until("the short job to end", () => show(short).state === "COMPLETED");

const browser = await chromium.launch({
  executablePath: browserPath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const problems = [];
const results = [];
async function page(name) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  const p = await context.newPage();
  p.on("console", (m) => {
    if (m.type() === "error") problems.push(`${name}: console error: ${m.text()}`);
  });
  p.on("pageerror", (e) => problems.push(`${name}: page error: ${e.message}`));
  return p;
}
let shot = 0;
async function step(p, name, f) {
  try {
    await f();
    results.push(`ok - ${name}`);
  } catch (e) {
    results.push(`not ok - ${name}: ${e.message.split("\n")[0]}`);
  }
  await p.screenshot({ path: join(out, `${String(++shot).padStart(2, "0")}-${name.replace(/[^a-z0-9]+/gi, "-")}.png`), fullPage: true });
}

try {
  const op = await page("operator");
  await step(op, "log in with a token", async () => {
    await op.goto(url + "/");
    await op.fill("#token", operatorToken);
    await op.click("button[type=submit]");
    await op.waitForSelector("#who");
    expect((await op.textContent("#who")).includes("nobody (operator)"), "the header names the operator");
  });

  await step(op, "a running job on the cluster map", async () => {
    await op.goto(url + "/#/cluster");
    await op.waitForFunction(() => document.querySelector(".card small")?.textContent?.includes("3 busy"));
    await op.click("#map", { position: { x: 6, y: 6 } });
    await op.waitForSelector(`#node-detail a[href="#/job/${chatty}"]`);
    expect(await op.isVisible(`#node-detail a[href="#/job/${theirs}"]`), "the member's job is on the node too");
  });

  await step(op, "open the job's log", async () => {
    await op.click(`#node-detail a[href="#/job/${chatty}"]`);
    await op.waitForFunction(() => document.querySelector("#log")?.textContent?.includes("hello from gwang"));
    // The tail is live: later lines arrive without reloading.
    await op.waitForFunction(() => /tick [3-9]/.test(document.querySelector("#log")?.textContent ?? ""), null, { timeout: 15000 });
    expect((await op.textContent("#job-state")) === "RUNNING", "the job shows RUNNING");
  });

  await step(op, "a terminal in the running job", async () => {
    await op.click("#terminal-open");
    await op.waitForSelector("#terminal .xterm-rows");
    // The shell's prompt, then what is typed runs on the job's node, on a terminal of 30 x 100.
    await op.waitForFunction(() =>
      [...document.querySelectorAll("#terminal .xterm-rows > div")].some((r) => r.textContent.trim().length > 0));
    await op.keyboard.type("stty size; echo in-$SLURM_JOB_ID-$((6*7))");
    await op.keyboard.press("Enter");
    await op.waitForFunction((id) =>
      [...document.querySelectorAll("#terminal .xterm-rows > div")].some((r) => r.textContent.trim() === `in-${id}-42`), chatty);
    const shown = await op.evaluate(() => [...document.querySelectorAll("#terminal .xterm-rows > div")].map((r) => r.textContent.trim()));
    expect(shown.includes("30 100"), `the task's terminal is the page's size (${shown.filter((r) => r).join(" | ")})`);
    await op.keyboard.type("exit");
    await op.keyboard.press("Enter");
    await op.waitForFunction(() => document.querySelector("#terminal")?.textContent?.includes("has closed"));
    await op.waitForSelector("#terminal-open");
  });

  await step(op, "cancel the job", async () => {
    await op.click("#cancel");
    await op.click("#cancel"); // confirm
    await op.waitForFunction(() => document.querySelector("#job-state")?.textContent === "CANCELLED", null, { timeout: 20000 });
    expect(show(chatty).state === "CANCELLED", "the controller holds it CANCELLED");
  });

  await step(op, "a grant burns down", async () => {
    await until("the cancelled job's charge", () => show(chatty).state === "CANCELLED");
    await op.goto(url + "/#/projects");
    await op.waitForSelector("#grant-1 .uplot");
    const before = Number(await op.getAttribute("#grant-1", "data-used"));
    expect(before > 0, `grant 1 shows use (${before})`);
    const more = submit(["--project", "llm", "--gpus", "2", "--name", "more", "--", "sleep", "2"]);
    await until("the next job to end", () => show(more).state === "COMPLETED");
    await op.reload();
    await op.waitForFunction((b) => Number(document.querySelector("#grant-1")?.getAttribute("data-used")) > b, before, { timeout: 15000 });
    const text = await op.textContent("#fairshare");
    expect(text.includes("llm") && text.includes("vision"), "fair-share standing lists both projects");
  });

  await step(op, "queue filters, reasons and expected starts", async () => {
    const waiting = submit(["--project", "llm", "--gpus", "4", "--name", "waiting", "--", "sleep", "5"]);
    await op.goto(url + "/#/queue");
    await op.waitForSelector(`tr[data-job="${waiting}"]`);
    await op.selectOption("#filter-state", "PENDING");
    await op.waitForFunction((id) => document.querySelectorAll("#queue tbody tr").length === 1 &&
      document.querySelector(`tr[data-job="${id}"]`), waiting);
    const row = await op.textContent(`tr[data-job="${waiting}"]`);
    const reason = await op.textContent(`tr[data-job="${waiting}"] td.reason`);
    expect(reason.length > 10, `the waiting job shows why it waits (${row})`);
    expect(/20\d\d-\d\d-\d\d \d\d:\d\d/.test(row), `the waiting job shows an expected start (${row})`);
    // Its page says what would start it sooner (3 of the 4 devices are free).
    await op.click(`tr[data-job="${waiting}"] a`);
    await op.waitForFunction(() => document.querySelector("#hints")?.textContent?.includes("with 3 accelerators per task instead of 4"));
    await op.goto(url + "/#/queue");
    await op.waitForSelector("#filter-state");
    await op.selectOption("#filter-state", "all");
    await op.fill("#filter-user", "daemon");
    await op.waitForFunction((id) => document.querySelectorAll("#queue tbody tr").length === 1 &&
      document.querySelector(`tr[data-job="${id}"]`), theirs);
    cli(["cancel", waiting]);
  });

  await step(op, "usage report with CSV", async () => {
    await op.goto(url + "/#/reports");
    await op.selectOption("#report-by", "project");
    await op.click("#report-run");
    await op.waitForFunction(() => document.querySelector("#report table")?.textContent?.includes("llm"));
    const [download] = await Promise.all([op.waitForEvent("download"), op.click("#report-csv")]);
    const csv = readFileSync(await download.path(), "utf8");
    expect(csv.startsWith("project,jobs,accelerator_hours,cpu_hours,charge\n") && csv.includes("\nllm,"), `CSV: ${csv}`);
  });

  const member = await page("member");
  await step(member, "a member sees their own work only", async () => {
    await member.goto(url + "/");
    await member.fill("#token", memberToken);
    await member.click("button[type=submit]");
    await member.waitForSelector("#who");
    expect((await member.textContent("#who")) === "daemon", "the header names the member");
    await member.goto(url + "/#/queue");
    await member.selectOption("#filter-state", "all");
    await member.waitForSelector(`tr[data-job="${theirs}"]`);
    expect((await member.$$("#queue tbody tr")).length === 1, "only the member's own job is listed");
    await member.goto(url + "/#/projects");
    await member.waitForFunction(() => document.querySelector("#grants")?.textContent?.includes("No grants"));
    expect(!(await member.isVisible("#utilisation .uplot")), "no centre utilisation for a member");
  });
} finally {
  await browser.close();
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));
  rmSync(data, { recursive: true, force: true });
}

for (const r of results) console.log(r);
for (const p of problems) console.log(`not ok - ${p}`);
const failed = results.filter((r) => r.startsWith("not ok")).length + problems.length;
console.log(`${results.length - failed + problems.length} of ${results.length} steps passed, ${problems.length} console errors; screenshots in ${out}`);
if (failed) {
  console.log("--- gwang up's output:\n" + serverLog);
  process.exit(1);
}
