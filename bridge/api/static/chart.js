// A throughput line chart on a <canvas>: files/s against seconds, the y axis scaled to the highest sample.

export const LINE = "#2563eb";

export class RateChart {
  constructor(canvas, windowSeconds = 180) {
    this.canvas = canvas;
    this.window = windowSeconds;
    this.samples = []; // [seconds since the first sample, files/s]
    this.t0 = null;
  }

  reset() {
    this.samples = [];
    this.t0 = null;
    this.draw();
  }

  add(timeMs, rate) {
    if (this.t0 === null) this.t0 = timeMs;
    this.samples.push([(timeMs - this.t0) / 1000, rate]);
    const start = this.samples.at(-1)[0] - this.window;
    while (this.samples.length > 2 && this.samples[0][0] < start) this.samples.shift();
    this.draw();
  }

  draw() {
    const c = this.canvas;
    const g = c.getContext("2d");
    const style = getComputedStyle(c);
    const pad = { left: 44, right: 10, top: 10, bottom: 24 };
    const w = c.width - pad.left - pad.right;
    const h = c.height - pad.top - pad.bottom;
    g.clearRect(0, 0, c.width, c.height);
    g.font = "11px system-ui, sans-serif";
    g.fillStyle = style.color;
    g.strokeStyle = "rgba(128,128,128,0.35)";
    g.lineWidth = 1;

    const pts = this.samples;
    const t1 = pts.length ? Math.max(pts.at(-1)[0], 10) : 10;
    const tmin = pts.length ? pts[0][0] : 0;
    const top = niceCeiling(Math.max(1, ...pts.map((p) => p[1])));
    const x = (t) => pad.left + ((t - tmin) / Math.max(1e-9, t1 - tmin)) * w;
    const y = (r) => pad.top + h - (r / top) * h;

    for (let i = 0; i <= 4; i++) {
      const r = (top * i) / 4;
      g.beginPath();
      g.moveTo(pad.left, y(r) + 0.5);
      g.lineTo(pad.left + w, y(r) + 0.5);
      g.stroke();
      g.textAlign = "right";
      g.fillText(formatRate(r), pad.left - 4, y(r) + 4);
    }
    g.textAlign = "left";
    g.fillText(`${Math.round(tmin)} s`, pad.left, c.height - 6);
    g.textAlign = "right";
    g.fillText(`${Math.round(t1)} s`, pad.left + w, c.height - 6);
    g.textAlign = "center";
    if (!pts.length) {
      g.fillText("waiting for a running job", pad.left + w / 2, pad.top + h / 2);
      return;
    }
    g.strokeStyle = LINE;
    g.lineWidth = 2;
    g.beginPath();
    pts.forEach(([t, r], i) => (i ? g.lineTo(x(t), y(r)) : g.moveTo(x(t), y(r))));
    if (pts.length === 1) g.lineTo(x(pts[0][0]) + 3, y(pts[0][1]));
    g.stroke();
  }
}

function niceCeiling(v) {
  const step = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * step >= v) return m * step;
  return 10 * step;
}

export function formatRate(r) {
  return r >= 10 ? r.toFixed(0) : r.toFixed(1);
}
