// Sessions through the controller's proxy, in headless Chromium: Debian's Jupyter Notebook started
// as a session by `gwang session start`, opened by the link it prints, a cell run over the kernel's
// WebSocket; another user's token is told there is no such session; the session, left alone,
// ends by itself, its processes with it. All of it over HTTPS (`gwang up --tls`): the browser and
// this script trust that controller's certificate alone.
//   node web/tests/sessions.mjs --gwang build/gwang --out build/session-e2e [--chromium /usr/bin/chromium]
import { execFileSync, spawn } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { arg, expect, until } from "./harness.mjs";

const gwang = arg("--gwang", "build/gwang");
const out = arg("--out", "build/session-e2e");
const browserPath = arg("--chromium", process.env.CHROMIUM ?? "/usr/bin/chromium");
mkdirSync(out, { recursive: true });
for (const [what, path] of [["Chromium", browserPath], ["Jupyter Notebook", "/usr/bin/jupyter-notebook"]]) {
  if (!existsSync(path)) {
    console.log(`not ok - ${what} is not at ${path} (scripts/test installs Debian's chromium and jupyter-notebook)`);
    process.exit(1);
  }
}

const data = mkdtempSync(join(tmpdir(), "gwang-sessions-"));
const work = join(data, "work");
mkdirSync(work);
chmodSync(data, 0o755);
chmodSync(work, 0o777);  // the session runs as nobody
const server = spawn(gwang, ["up", "--data", join(data, "state"), "--listen", "127.0.0.1:0", "--user", "nobody",
  "--no-nvml", "--tls"], { stdio: ["ignore", "pipe", "pipe"] });
let serverLog = "";
server.stdout.on("data", (d) => (serverLog += d));
server.stderr.on("data", (d) => (serverLog += d));


const state = join(data, "state");
await until("gwang up to write its URL", () => existsSync(join(state, "url")) && existsSync(join(state, "token")));
const url = readFileSync(join(state, "url"), "utf8").trim();
const token = readFileSync(join(state, "token"), "utf8").trim();
const ca = readFileSync(join(state, "ca.pem"), "utf8");
// GET `address` trusting the controller's certificate alone: its status.
const get = (address, headers = {}) => new Promise((resolve, reject) => {
  httpsRequest(address, { ca, headers }, (r) => {
    r.resume();
    resolve({ status: r.statusCode });
  }).on("error", reject).end();
});
// Chromium trusts that certificate's key, and no other that is not in its store.
const pin = createHash("sha256").update(new X509Certificate(ca).publicKey.export({ type: "spki", format: "der" }))
  .digest("base64");
const cli = (args, as = token) =>
  execFileSync(gwang, args, { env: { ...process.env, GWANG_URL: url, GWANG_TOKEN: as, GWANG_CA: join(state, "ca.pem") }, encoding: "utf8" });
const otherToken = /[0-9a-f]{64}/.exec(cli(["token", "create", "--user", "daemon"]))[0];

const results = [];
const browser = await chromium.launch({
  executablePath: browserPath,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", `--ignore-certificate-errors-spki-list=${pin}`],
});
let shot = 0;
async function step(p, name, f) {
  try {
    await f();
    results.push(`ok - ${name}`);
  } catch (e) {
    results.push(`not ok - ${name}: ${e.message.split("\n")[0]}`);
  }
  if (p) await p.screenshot({ path: join(out, `${String(++shot).padStart(2, "0")}-${name.replace(/[^a-z0-9]+/gi, "-")}.png`) });
}

let id = "";
try {
  const started = Date.now();
  const said = cli(["session", "start", "--app", "jupyter", "--idle-timeout", "15s", "--workdir", work, "--mem", "2G"]);
  id = /session (\d+) \(jupyter\) is ready/.exec(said)?.[1];
  const link = /^\s+(https:\S+gwang_ticket=\S+)$/m.exec(said)?.[1];
  results.push(`${id && link ? "ok" : "not ok"} - gwang session start says where the notebook is (${Date.now() - started} ms)`);
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const p = await context.newPage();
  await step(p, "the link opens the notebook server through the proxy", async () => {
    await p.goto(link);
    expect(new URL(p.url()).pathname.startsWith(`/s/${id}/tree`), `landed on ${p.url()}`);
    expect(!p.url().includes("gwang_ticket"), "the ticket is not left in the address");
    await p.waitForSelector("#notebook_list");
    const again = await get(link);
    expect(again.status === 401, `the link works once (again: ${again.status})`);
    const login = (await context.cookies()).find((c) => c.name.startsWith("gwang_session_"));
    expect(login?.secure && login?.httpOnly && login?.path === `/s/${id}/`,
      `the login cookie is Secure, HttpOnly, for its session alone: ${JSON.stringify(login)}`);
  });
  await step(p, "a cell runs on the kernel: print(6*7) gives 42", async () => {
    // From the notebook's own page: the browser's connection, its login cookie.
    const made = await p.evaluate(async (address) => {
      const r = await fetch(address, { method: "POST", body: JSON.stringify({ type: "notebook" }),
        headers: { "Content-Type": "application/json" } });
      return { status: r.status, body: r.ok ? await r.json() : null };
    }, `${url}/s/${id}/api/contents`);
    expect(made.body, `a notebook made (${made.status})`);
    const name = made.body.path;
    await p.goto(`${url}/s/${id}/notebooks/${name}`);
    await p.waitForSelector("#kernel_indicator_icon.kernel_idle_icon", { timeout: 60000 });
    await p.click(".cell .CodeMirror");
    await p.keyboard.type("print(6*7)");
    await p.keyboard.press("Shift+Enter");
    await p.waitForFunction(() => [...document.querySelectorAll(".output_subarea pre")].some((e) => e.textContent.trim() === "42"),
      null, { timeout: 30000 });
  });
  await step(p, "the dashboard lists the session and opens it in a new tab", async () => {
    const d = await context.newPage();
    await d.goto(url);
    await d.fill("#token", token);
    await d.click("button[type=submit]");
    await d.waitForSelector("#who");
    await d.goto(`${url}/#/sessions`);
    await d.waitForSelector(`tr[data-session="${id}"] button.open`);
    const row = await d.textContent(`tr[data-session="${id}"]`);
    expect(row.includes("jupyter") && row.includes("RUNNING"), `the row says what it is: ${row}`);
    const [tab] = await Promise.all([context.waitForEvent("page"), d.click(`tr[data-session="${id}"] button.open`)]);
    await tab.waitForURL(new RegExp(`/s/${id}/tree`), { timeout: 20000 });
    await tab.waitForSelector("#notebook_list");
    await tab.close();
    await d.close();
  });
  await step(p, "another user's token finds no such session", async () => {
    for (const path of [`/s/${id}/tree`, `/s/${id}/api/kernels`]) {
      const r = await get(url + path, { Authorization: `Bearer ${otherToken}` });
      expect(r.status === 404, `${path}: ${r.status}`);
    }
    const none = await get(`${url}/s/${id}/tree`);
    expect(none.status === 401, `no login: ${none.status}`);
  });
  await context.close();
  await step(null, "the session left alone ends by itself, and its processes with it", async () => {
    const ended = await until("the idle session to end", () => {
      const s = JSON.parse(cli(["session", "list", "--all", "--json"])).sessions.find((x) => String(x.id) === id);
      return s && s.state !== "RUNNING" ? s : null;
    }, 60000);
    expect(ended.state === "CANCELLED" && /idle/.test(ended.reason ?? ""), `ended ${ended.state}: ${ended.reason}`);
    const after = await get(`${url}/s/${id}/tree`, { Authorization: `Bearer ${token}` });
    expect(after.status === 410, `the proxy says it has ended (${after.status})`);
    await until("no process of the session left", () => {
      try {
        execFileSync("pgrep", ["-u", "nobody", "-f", "[j]upyter"]);
        return false;
      } catch {
        return true;
      }
    }, 15000);
  });
} finally {
  await browser.close();
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));
  rmSync(data, { recursive: true, force: true });
}

for (const r of results) console.log(r);
const failed = results.filter((r) => r.startsWith("not ok")).length;
console.log(`${results.length - failed} of ${results.length} steps passed; screenshots in ${out}`);
if (failed) {
  console.log("--- gwang up's output:\n" + serverLog);
  process.exit(1);
}
