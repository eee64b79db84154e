// The controller's API, as the dashboard calls it: a bearer token kept in this browser, JSON in and
// out, and errors carrying the server's own message.

const TOKEN_KEY = "gwang.token";

export class ApiError extends Error {
  constructor(
    public readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function token(): string {
  return localStorage.getItem(TOKEN_KEY) ?? "";
}

export function setToken(value: string): void {
  localStorage.setItem(TOKEN_KEY, value);
}

export function clearToken(): void {
  localStorage.removeItem(TOKEN_KEY);
}

// Called when the server refuses the token: the app goes back to its login form.
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(f: () => void): void {
  onUnauthorized = f;
}

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.ok) return res;
  let message = `${method} ${path}: HTTP ${res.status}`;
  try {
    const j = (await res.json()) as { error?: string };
    if (j.error) message = j.error;
  } catch {
    // not JSON: keep the status line
  }
  if (res.status === 401) onUnauthorized();
  throw new ApiError(res.status, message);
}

export async function get<T>(path: string): Promise<T> {
  return (await (await call("GET", path)).json()) as T;
}

export async function post<T>(path: string, body: unknown = {}): Promise<T> {
  return (await (await call("POST", path, body)).json()) as T;
}

export interface LogChunk {
  text: string;
  next: number;
  state: string;
}

export async function logs(job: number, params: string): Promise<LogChunk> {
  const res = await call("GET", `/api/v1/jobs/${job}/logs?${params}`);
  return {
    text: await res.text(),
    next: Number(res.headers.get("X-Gwang-Next-Offset") ?? "0"),
    state: res.headers.get("X-Gwang-Job-State") ?? "",
  };
}

// --- what the API answers (docs/api/openapi.yaml)

export interface WhoAmI {
  user: string;
  operator: boolean;
  projects: string[];
  admin_of: string[];
  default_project: string;
}

// The wire types below are the schemas of docs/api/openapi.yaml (JobSummary, Job, Step); the
// suite's WireSchema tests hold every field here to the schema's name, type and optionality.
export type ReasonCode =
  | "None"
  | "Priority"
  | "Resources"
  | "Reserved"
  | "ReservedForJob"
  | "NodesUnavailable"
  | "Gang"
  | "QuotaReached"
  | "Preempting"
  | "JobHeldUser"
  | "JobHeldAdmin"
  | "Held"
  | "BeginTime"
  | "Dependency"
  | "DependencyNeverSatisfied"
  | "JobArrayTaskLimit";

export interface JobSummary {
  id: number;
  name: string;
  user: string;
  state: string;
  reason_code: ReasonCode;
  reason: string;
  submit_time: number;
  start_time: number | null;
  end_time: number | null;
  node: string;
  project: string;
  estimated_start?: number | null;
}

export interface JobPage {
  total: number;
  offset: number;
  jobs: JobSummary[];
}

export interface Job extends JobSummary {
  command: string[];
  workdir: string;
  cpus: number;
  mem: number;
  nodes: number;
  time_limit: number;
  exit_code: number;
  attempt: number;
  requeue: boolean;
  preemptible: boolean;
  devices: string[];
  gpus?: { count: number; models: string[] };
  gpu_share?: number;
  priority?: { total: number; age: number; fairshare: number; size: number; programme: number };
}

// [model index, milli-devices in use]
export type DeviceCell = [number, number];
// name, state, cpus, cpus_used, memory, memory_used, job ids, devices
export type NodeRow = [string, string, number, number, number, number, number[], DeviceCell[]];

export interface ModelSummary {
  model: string;
  devices: number;
  free: number;
  shared: number;
  busy: number;
  unavailable: number;
  in_use: number;
  stranded: Record<string, number>;
}

export interface ClusterMap {
  nodes: NodeRow[];
  models: string[];
  by_model: ModelSummary[];
  time: number;
}

export interface Grant {
  id: number;
  project: string;
  programme: string;
  amount: number;
  used: number;
  remaining: number;
  start: number;
  end: number;
  state: string;
  percent_used: number;
  audit: { time: number; who: string; what: string }[];
  burndown?: [number, number][];
}

export interface FairShareAccount {
  path: string[];
  level: string;
  usage: number;
  normalized_usage: number;
  effective_usage: number;
  normalized_shares: number;
  factor: number;
}

export interface UsageRow {
  key: string;
  jobs: number;
  accelerator_hours: number;
  cpu_hours: number;
  charge: number;
}

export interface UsageReport {
  from: number;
  to: number;
  by: string;
  rows: UsageRow[];
  total: { jobs: number; accelerator_hours: number; cpu_hours: number; charge: number };
}

export interface UtilisationCell {
  start: number;
  model: string;
  used_hours: number;
  capacity_hours: number;
  percent: number;
}

export interface UtilisationReport {
  from: number;
  to: number;
  step: number;
  cells: UtilisationCell[];
}

export interface StartHints {
  job: number;
  waiting: boolean;
  start_as_asked: number | null;
  hints: { change: string; value: number; model?: string; start: number; text: string }[];
}

export interface JobUsage {
  job: number;
  records: {
    time: number;
    from: number | null;
    task: number;
    model: string;
    accelerator_hours: number;
    cpu_hours: number;
    memory_gib_hours: number;
    charge: number;
    grant: number | null;
  }[];
  total: { accelerator_hours: Record<string, number>; cpu_hours: number; charge: number };
}
