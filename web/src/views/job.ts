// One job: its request, how it went (state history), its devices, a live tail of its output, its
// usage and charge, a cancel button for those allowed to, and a terminal in it for its owner.
import { get, logs, post, type Job, type JobUsage, type StartHints } from "../api";
import type { Context } from "../main";
import { bytes, clear, duration, h, message, notice, num, poll, time } from "../dom";
import type { TerminalSession } from "./terminal";

const TAIL = 64 * 1024; // bytes of output shown at first
const KEEP = 512 * 1024; // most output kept in the page

export const renderJob = (root: HTMLElement, ctx: Context, arg: string): (() => void) => {
  const id = Number(arg);
  if (!Number.isInteger(id) || id <= 0) {
    root.append(notice(`'${arg}' is not a job id`));
    return () => {};
  }
  const status = h("div", { class: "status" });
  const head = h("div", {});
  const spec = h("div", { class: "panel" });
  const history = h("div", { class: "panel" });
  const usage = h("div", { class: "panel", id: "job-usage" });
  const stream = h("select", { id: "log-stream" }, h("option", { value: "stdout" }, "stdout"), h("option", { value: "stderr" }, "stderr"));
  const rank = h("input", { id: "log-rank", type: "number", min: 0, value: 0, size: 4 });
  const log = h("pre", { id: "log", class: "log" });
  const actions = h("div", { class: "actions" });
  const sooner = h("div", { id: "hints" });
  const console_ = h("div", { id: "terminal" });
  root.append(
    status,
    head,
    actions,
    console_,
    sooner,
    h("div", { class: "columns" }, spec, history),
    h("h3", {}, "Output ", stream, " rank ", rank),
    log,
    h("h3", {}, "Usage and charge"),
    usage,
  );

  let job: Job | null = null;
  let next = -1; // the log's next byte; -1: not read yet
  let confirming = false;
  let terminal: TerminalSession | null = null;
  let wantTerminal = ctx.params.get("terminal") === "1";
  const openIn = async (j: Job) => {
    clear(console_);
    try {
      // xterm.js is loaded when a terminal is first opened, not with every page.
      const { openTerminal } = await import("./terminal");
      terminal = await openTerminal(console_, j.id, () => {
        terminal = null;
        draw(j);
      });
    } catch (e) {
      console_.append(notice(message(e)));
    }
    draw(j);
  };

  const row = (k: string, v: unknown) => h("tr", {}, h("th", {}, k), h("td", {}, v === undefined || v === null ? "" : String(v)));

  const draw = (j: Job) => {
    clear(head);
    head.append(
      h("h2", {}, `Job ${j.id}: ${j.name} `, h("span", { class: `badge ${j.state.toLowerCase()}`, id: "job-state" }, j.state)),
      j.reason ? h("p", { class: "reason", id: "job-reason" }, j.reason) : "",
    );
    clear(spec);
    const gpus = j.gpus ? `${j.gpus.count}${j.gpus.models.length ? ` (${j.gpus.models.join(" or ")})` : ""}` : j.gpu_share ? `a ${j.gpu_share} share` : "none";
    spec.append(
      h("h3", {}, "Request"),
      h(
        "table",
        { class: "kv" },
        row("command", j.command.join(" ")),
        row("user", j.user),
        row("project", j.project || "(none)"),
        row("nodes", j.nodes),
        row("CPUs per task", j.cpus),
        row("memory per task", bytes(j.mem)),
        row("GPUs per task", gpus),
        row("time limit", duration(j.time_limit)),
        row("working directory", j.workdir),
        row("preemptible", j.preemptible ? "yes" : "no"),
        row("requeue after node failure", j.requeue ? "yes" : "no"),
      ),
    );
    clear(history);
    const now = Date.now() / 1000;
    history.append(
      h("h3", {}, "History"),
      h(
        "table",
        { class: "kv" },
        row("submitted", time(j.submit_time)),
        row("started", j.start_time !== null ? time(j.start_time) : "not yet"),
        row("ended", j.end_time !== null ? time(j.end_time) : ""),
        row("waited", duration((j.start_time ?? now) - j.submit_time)),
        row("ran", j.start_time !== null ? duration((j.end_time ?? now) - j.start_time) : ""),
        row("attempts", j.attempt + 1),
        row("exit code", j.end_time !== null ? j.exit_code : ""),
        row("node(s)", j.node),
        row("devices", j.devices.join(", ")),
        j.priority
          ? row(
              "priority",
              `${num(j.priority.total, 0)} = age ${num(j.priority.age, 0)} + fair share ${num(j.priority.fairshare, 0)} + size ${num(j.priority.size, 0)} + programme ${num(j.priority.programme, 0)}`,
            )
          : null,
      ),
    );
    rank.max = String(Math.max(0, j.nodes - 1));
    clear(actions);
    if (j.state === "PENDING" || j.state === "RUNNING") {
      const cancel = h("button", { id: "cancel", class: confirming ? "danger" : "" }, confirming ? "Confirm: cancel this job" : "Cancel job");
      cancel.addEventListener("click", async () => {
        if (!confirming) {
          confirming = true;
          draw(j);
          return;
        }
        try {
          job = await post<Job>(`/api/v1/jobs/${j.id}/cancel`);
          confirming = false;
          draw(job);
        } catch (e) {
          actions.append(notice(message(e)));
        }
      });
      actions.append(cancel);
      if (confirming) actions.append(h("button", { onclick: () => ((confirming = false), draw(j)) }, "Keep it"));
    }
    // A shell in it, for its owner (its steps run as its owner).
    if (j.state === "RUNNING" && j.user === ctx.who.user && !terminal) {
      actions.append(h("button", { id: "terminal-open", onclick: () => void openIn(j) }, "Open a terminal in it"));
      // Come to open one (a terminal session's address, #/job/ID?terminal=1): opened at once.
      if (wantTerminal) {
        wantTerminal = false;
        void openIn(j);
      }
    }
  };

  const readLog = async () => {
    if (!job || job.start_time === null) {
      log.textContent = "(no output: the job has not started)";
      return;
    }
    const params = `stream=${stream.value}&rank=${rank.value || 0}`;
    if (next < 0) {
      const c = await logs(id, `${params}&tail=${TAIL}`);
      log.textContent = c.text;
      next = c.next;
    } else {
      const c = await logs(id, `${params}&offset=${next}`);
      if (c.text) {
        const text = (log.textContent ?? "") + c.text;
        log.textContent = text.length > KEEP ? text.slice(text.length - KEEP) : text;
      }
      next = c.next;
    }
    if (!log.textContent) log.textContent = "(no output yet)";
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    if (atBottom) log.scrollTop = log.scrollHeight;
  };

  const readUsage = async () => {
    const u = await get<JobUsage>(`/api/v1/jobs/${id}/usage`);
    clear(usage);
    const accel = Object.entries(u.total.accelerator_hours)
      .map(([m, hrs]) => `${num(hrs, 3)} h of ${m}`)
      .join(", ");
    usage.append(
      h("p", {}, `Charged ${num(u.total.charge, 3)} normalised hours: ${accel || "no accelerator time"}, ${num(u.total.cpu_hours, 3)} CPU-hours.`),
      u.records.length
        ? h(
            "table",
            { class: "grid" },
            h("tr", {}, ...["charged at", "interval from", "rank", "model", "accelerator h", "CPU h", "memory GiB·h", "charge", "grant"].map((c) => h("th", {}, c))),
            ...u.records.map((r) =>
              h(
                "tr",
                {},
                h("td", {}, time(r.time)),
                h("td", {}, time(r.from)),
                h("td", {}, r.task),
                h("td", {}, r.model || "CPU"),
                h("td", {}, num(r.accelerator_hours, 4)),
                h("td", {}, num(r.cpu_hours, 4)),
                h("td", {}, num(r.memory_gib_hours, 3)),
                h("td", {}, num(r.charge, 4)),
                h("td", {}, r.grant === null ? "none" : h("a", { href: `#/projects?grant=${r.grant}` }, r.grant)),
              ),
            ),
          )
        : h("p", {}, "Nothing charged yet (running jobs are charged every few minutes and when they end)."),
    );
  };

  // For a waiting job: what would start it sooner.
  const readHints = async (j: Job) => {
    clear(sooner);
    if (j.state !== "PENDING") return;
    const hints = await get<StartHints>(`/api/v1/jobs/${j.id}/hints`);
    if (!hints.waiting || hints.hints.length === 0) return;
    sooner.append(
      h(
        "div",
        { class: "panel" },
        h("b", {}, "What would start it sooner"),
        ` (as asked, it could start at ${hints.start_as_asked === null ? "no time yet: it fits no node that is up" : time(hints.start_as_asked)}, leaving aside the jobs queued before it):`,
        h("ul", {}, ...hints.hints.map((x) => h("li", {}, `${x.text}: at ${time(x.start)}`))),
        h("p", { class: "hint" }, "Submit it again with the change to use it."),
      ),
    );
  };

  let last = "";
  const refresh = async () => {
    job = await get<Job>(`/api/v1/jobs/${id}`);
    await readHints(job);
    const key = JSON.stringify(job);
    if (key !== last) {
      last = key;
      draw(job);
      await readUsage();
    }
    await readLog();
  };
  const stopPoll = poll(refresh, 2000, status);
  const reread = () => {
    next = -1;
    void readLog().catch((e) => status.append(notice(message(e))));
  };
  stream.addEventListener("change", reread);
  rank.addEventListener("change", reread);
  return () => {
    stopPoll();
    terminal?.close();
  };
};
