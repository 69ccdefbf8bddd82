import { useEffect, useRef } from 'react';

export interface SeriesPoint {
  readonly t: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * A canvas chart of a downsampled series (min–max band, mean line) with the expected range and
 * out-of-range buckets marked. Drawing cost depends on the bucket count, never on the raw
 * reading count. Signals `data-drawn` when painted, which the benchmark waits for.
 */
export function SeriesChart({ points, range, unit, label, height = 220 }: { points: readonly SeriesPoint[]; range?: { min: number; max: number } | undefined; unit: string; label: string; height?: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const anomalies = points.filter((p) => range && (p.max > range.max || p.min < range.min)).length;

  useEffect(() => {
    const el = canvas.current;
    if (!el) return;
    const width = el.clientWidth || 640;
    const ratio = window.devicePixelRatio || 1;
    el.width = width * ratio;
    el.height = height * ratio;
    const g = el.getContext('2d');
    if (!g) return;
    g.scale(ratio, ratio);
    g.fillStyle = '#ffffff';
    g.fillRect(0, 0, width, height);
    if (points.length === 0) {
      el.dataset['drawn'] = '0';
      return;
    }
    const pad = { l: 56, r: 8, t: 8, b: 22 };
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of points) {
      lo = Math.min(lo, p.min);
      hi = Math.max(hi, p.max);
    }
    if (range) {
      lo = Math.min(lo, range.min);
      hi = Math.max(hi, range.max);
    }
    if (hi === lo) hi = lo + 1;
    const t0 = points[0]!.t;
    const t1 = Math.max(points[points.length - 1]!.t, t0 + 1);
    const x = (t: number): number => pad.l + ((t - t0) / (t1 - t0)) * (width - pad.l - pad.r);
    const y = (v: number): number => pad.t + (1 - (v - lo) / (hi - lo)) * (height - pad.t - pad.b);

    g.strokeStyle = '#595959';
    g.fillStyle = '#1f1f1f';
    g.font = '11px sans-serif';
    g.beginPath();
    g.moveTo(pad.l, pad.t);
    g.lineTo(pad.l, height - pad.b);
    g.lineTo(width - pad.r, height - pad.b);
    g.stroke();
    g.fillText(`${hi.toPrecision(4)} ${unit}`, 2, pad.t + 10);
    g.fillText(`${lo.toPrecision(4)} ${unit}`, 2, height - pad.b);
    g.fillText(new Date(t0).toISOString().slice(11, 19), pad.l, height - 6);
    g.fillText(new Date(t1).toISOString().slice(11, 19), width - pad.r - 50, height - 6);

    if (range) {
      g.strokeStyle = '#8a5a00';
      g.setLineDash([4, 4]);
      for (const v of [range.min, range.max]) {
        g.beginPath();
        g.moveTo(pad.l, y(v));
        g.lineTo(width - pad.r, y(v));
        g.stroke();
      }
      g.setLineDash([]);
    }
    g.fillStyle = 'rgba(0, 90, 181, 0.18)';
    for (const p of points) g.fillRect(x(p.t) - 0.5, y(p.max), 1.5, Math.max(1, y(p.min) - y(p.max)));
    g.strokeStyle = '#005ab5';
    g.lineWidth = 1.5;
    g.beginPath();
    points.forEach((p, i) => (i === 0 ? g.moveTo(x(p.t), y(p.mean)) : g.lineTo(x(p.t), y(p.mean))));
    g.stroke();
    if (range) {
      g.fillStyle = '#b00020';
      for (const p of points) {
        if (p.max > range.max) g.fillRect(x(p.t) - 2, y(p.max) - 2, 4, 4);
        if (p.min < range.min) g.fillRect(x(p.t) - 2, y(p.min) - 2, 4, 4);
      }
    }
    el.dataset['drawn'] = String(points.length);
  }, [points, range, unit, height]);

  const last = points[points.length - 1];
  const summary = `${label}: ${points.length} points${last ? `, latest mean ${last.mean.toPrecision(4)} ${unit}` : ''}${range ? `, expected ${range.min}–${range.max} ${unit}` : ''}, ${anomalies} outside the expected range`;
  return (
    <figure className="chart">
      <canvas ref={canvas} role="img" aria-label={summary} style={{ width: '100%', height }} data-testid="series-chart" />
      <figcaption>
        {summary}
        {anomalies > 0 ? <span className="anomaly-flag"> — anomalies highlighted in red</span> : null}
      </figcaption>
    </figure>
  );
}
