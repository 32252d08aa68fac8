// The Jobs panel: live progress of the current job from the event stream, a throughput sample every half
// second, ETA, the job table and the failures with their reasons.

import { getJson, postJson, streamEvents, ApiError } from "./api.js";
import { RateChart, formatRate } from "./chart.js";

const TICK_MS = 500;
const FAILURES_EVERY = 10; // ticks: the failures table refreshes every 5 s while a job runs
const $ = (sel) => document.querySelector(sel);

export class JobsPanel {
  constructor(onUnauthorized) {
    this.onUnauthorized = onUnauthorized;
    this.jobs = new Map(); // id → the API's job dict
    this.current = null; // the id shown in the progress box
    this.chart = new RateChart($("#chart"));
    this.last = null; // {job, phase, done, t} at the previous tick
    this.recent = []; // the last few rates, for the ETA
    this.abort = null;
    $("#job-form").addEventListener("submit", (e) => this.submit(e));
    this.chart.draw();
  }

  async start() {
    this.stop();
    const jobs = await getJson("/jobs"); // also checks the key
    for (const j of jobs) this.jobs.set(j.job, j);
    this.pickCurrent();
    this.render();
    this.loadFailures();
    this.abort = new AbortController();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.listen(this.abort.signal);
  }

  stop() {
    this.abort?.abort();
    clearInterval(this.timer);
  }

  async listen(signal) {
    while (!signal.aborted) {
      try {
        await streamEvents((kind, data) => this.onEvent(kind, data), signal);
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return this.onUnauthorized(e.message);
        $("#state").textContent = "reconnecting…";
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }

  onEvent(kind, data) {
    if (kind === "hello") {
      $("#state").textContent = `service: ${data.state}`;
      for (const j of data.jobs) this.jobs.set(j.job, j);
      this.pickCurrent();
    } else if (kind === "state") {
      $("#state").textContent = `service: ${data.state}`;
    } else if (data.job) {
      this.jobs.set(data.job, { ...this.jobs.get(data.job), ...data });
      if (kind === "job_started") {
        this.current = data.job;
        $("#state").textContent = "service: indexing";
      }
      if (kind === "job_finished") {
        this.tick();
        this.loadFailures();
      }
    }
    this.render();
  }

  pickCurrent() {
    const all = [...this.jobs.values()];
    const running = all.find((j) => j.status === "running");
    this.current = (running ?? all.at(-1))?.job ?? null;
  }

  // One throughput sample: files done since the previous tick (a new phase counts from zero).
  tick() {
    const j = this.jobs.get(this.current);
    if (!j || (j.status !== "running" && this.last?.job !== j.job)) return;
    const now = performance.now();
    const prev = this.last;
    this.last = { job: j.job, phase: j.phase, done: j.done, t: now };
    if (!prev || prev.job !== j.job) {
      this.chart.reset();
      this.recent = [];
      return;
    }
    if (j.status !== "running" && prev.done === j.done && prev.phase === j.phase) return;
    const base = prev.phase === j.phase && j.done >= prev.done ? prev.done : 0;
    const rate = (j.done - base) / Math.max(1e-3, (now - prev.t) / 1000);
    this.recent = [...this.recent.slice(-5), rate];
    this.ticks = (this.ticks ?? 0) + 1;
    if (this.ticks % FAILURES_EVERY === 0) this.loadFailures();
    this.chart.add(now, rate);
    this.renderRate(j);
  }

  renderRate(j) {
    const avg = this.recent.length ? this.recent.reduce((a, b) => a + b, 0) / this.recent.length : 0;
    let eta = j.eta_seconds;
    if (j.total && avg > 0) eta = (j.total - j.done) / avg;
    const parts = [`${formatRate(avg)} files/s now`];
    if (j.rate) parts.push(`${formatRate(j.rate)} files/s on average`);
    if (j.status === "running" && eta != null) parts.push(`ETA ${formatSeconds(eta)}`);
    $("#rate-text").textContent = parts.join(" · ");
  }

  render() {
    const j = this.jobs.get(this.current);
    const text = $("#progress-text");
    const bar = $("#progress");
    if (j) {
      const of = j.total != null ? ` / ${j.total}` : "";
      const failed = j.failed ? `, ${j.failed} failed` : "";
      text.textContent = `${j.job} ${j.status} — ${j.phase || "waiting"}: ${j.done}${of} files${failed}`;
      text.dataset.done = j.done;
      text.dataset.status = j.status;
      bar.max = Math.max(1, j.total ?? 1);
      bar.value = j.total ? j.done : 0;
      if (j.error) text.textContent += ` — ${j.error}`;
    }
    const rows = [...this.jobs.values()].reverse().map((x) =>
      row([x.job, (x.roots ?? []).join(", "), x.status, x.phase, x.total != null ? `${x.done} / ${x.total}` : x.done,
        x.failed, x.rate ?? ""]),
    );
    $("#job-table tbody").replaceChildren(...rows);
  }

  async loadFailures() {
    try {
      const got = await getJson("/failures", { limit: 200 });
      $("#failure-count").textContent = `(${got.total})`;
      $("#failure-table tbody").replaceChildren(
        ...got.failures.map((f) => row([f.path, f.stage, f.reason, f.detail])),
      );
    } catch (e) {
      $("#failure-count").textContent = `(cannot load: ${e.message})`;
    }
  }

  async submit(event) {
    event.preventDefault();
    const err = $("#job-error");
    err.textContent = "";
    try {
      const job = await postJson("/jobs", { folder: $("#folder").value.trim() });
      this.jobs.set(job.job, job);
      if (![...this.jobs.values()].some((x) => x.status === "running")) this.current = job.job;
      this.render();
    } catch (e) {
      err.textContent = e.message;
    }
  }
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    td.textContent = String(c ?? "");
    tr.append(td);
  }
  return tr;
}

function formatSeconds(s) {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
