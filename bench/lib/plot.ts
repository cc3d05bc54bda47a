// Line plots as PNG files, without a browser: the chart is written as SVG and rasterised by resvg
// (@resvg/resvg-js, a prebuilt native module). Used for the fleet benchmark's time-against-N plot
// (log-log, a marker per point) and the metrics-over-time plot of bench/metrics-plot.ts (linear axes,
// `markers: false`, a wider legend); axes are linear unless logX/logY.
import { existsSync, writeFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';

export interface PlotSeries {
  name: string;
  points: Array<{ x: number; y: number }>;
  /** CSS colour; a palette colour by position when omitted. */
  color?: string;
  dashed?: boolean;
  /** Line width in pixels (default 2.5): a wide, translucent line shows a series another one covers. */
  width?: number;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  logY?: boolean;
  /** A dot on every point (default true); off for time series sampled densely. */
  markers?: boolean;
  width?: number;
  height?: number;
  /** Pixels right of the chart for the legend (default 230). */
  legendWidth?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
// resvg draws text only with a font it can find; these are tried before the system's fonts.
const FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
];

interface Scale {
  toPixel(v: number): number;
  ticks: number[];
}

function scale(values: number[], log: boolean, from: number, to: number): Scale {
  const positive = log ? values.filter((v) => v > 0) : values;
  let lo = Math.min(...positive);
  let hi = Math.max(...positive);
  let ticks: number[];
  if (log) {
    lo = 10 ** Math.floor(Math.log10(lo));
    hi = 10 ** Math.ceil(Math.log10(hi));
    if (lo === hi) hi = lo * 10;
    ticks = [];
    for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
  } else {
    lo = Math.min(0, lo);
    if (hi === lo) hi = lo + 1;
    const step = niceStep((hi - lo) / 5);
    hi = Math.ceil(hi / step) * step;
    ticks = [];
    for (let t = lo; t <= hi + step / 2; t += step) ticks.push(t);
  }
  const f = log ? Math.log10 : (v: number) => v;
  const a = f(lo);
  const b = f(hi);
  return { toPixel: (v) => from + ((f(v) - a) / (b - a)) * (to - from), ticks };
}

function niceStep(raw: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / magnitude;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude;
}

function label(v: number): string {
  if (v >= 1000) return v.toLocaleString('en-US');
  if (v >= 1) return String(Number(v.toPrecision(3)));
  return String(Number(v.toPrecision(2)));
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

/** The chart as an SVG document. */
export function plotSvg(series: PlotSeries[], options: PlotOptions): string {
  const width = options.width ?? 900;
  const height = options.height ?? 560;
  const legendWidth = options.legendWidth ?? 230;
  const left = 80;
  const top = 50;
  const right = width - legendWidth;
  const bottom = height - 60;
  const points = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)));
  if (!points.length) throw new Error('plot: no points');
  const xs = scale(
    points.map((p) => p.x),
    options.logX ?? false,
    left,
    right,
  );
  const ys = scale(
    points.map((p) => p.y),
    options.logY ?? false,
    bottom,
    top,
  );
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${(left + right) / 2}" y="28" text-anchor="middle" font-size="16">${escapeXml(options.title)}</text>`,
  ];
  for (const t of xs.ticks) {
    const x = xs.toPixel(t);
    out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${x}" y="${bottom + 18}" text-anchor="middle">${label(t)}</text>`);
  }
  for (const t of ys.ticks) {
    const y = ys.toPixel(t);
    out.push(`<line x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${left - 8}" y="${y + 4}" text-anchor="end">${label(t)}</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#333"/>`);
  out.push(
    `<text x="${(left + right) / 2}" y="${height - 18}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
  );
  out.push(
    `<text transform="translate(20 ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const stroke = s.width ?? 2.5;
    const pts = s.points
      .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!options.logY || p.y > 0))
      .sort((a, b) => a.x - b.x)
      .map((p) => [xs.toPixel(p.x), ys.toPixel(p.y)] as const);
    if (pts.length > 1)
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="${stroke}"${dash} points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`,
      );
    if (options.markers ?? true)
      for (const [x, y] of pts) out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="4" fill="${color}"/>`);
    const ly = top + 10 + i * 24;
    out.push(
      `<line x1="${right + 16}" y1="${ly}" x2="${right + 46}" y2="${ly}" stroke="${color}" stroke-width="${stroke}"${dash}/>`,
    );
    out.push(`<text x="${right + 54}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Writes the chart as a PNG file (and returns its bytes). */
export function writePlotPng(path: string, series: PlotSeries[], options: PlotOptions): Buffer {
  const svg = plotSvg(series, options);
  const fontFiles = FONT_FILES.filter((f) => existsSync(f));
  const png = new Resvg(svg, {
    font: { fontFiles, loadSystemFonts: fontFiles.length === 0, defaultFontFamily: 'DejaVu Sans' },
    background: 'white',
  })
    .render()
    .asPng();
  writeFileSync(path, png);
  return png;
}
