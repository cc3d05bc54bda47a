// The PNG plot: a real PNG of the requested size, with each series drawn in its colour.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { plotSvg, writePlotPng } from './plot.ts';

const series = [
  {
    name: 'ours',
    color: '#ff0000',
    points: [
      { x: 10, y: 1.2 },
      { x: 100, y: 3 },
      { x: 1000, y: 14 },
    ],
  },
  {
    name: 'floor',
    color: '#0000ff',
    dashed: true,
    points: [
      { x: 10, y: 0.1 },
      { x: 1000, y: 2 },
    ],
  },
];
const options = { title: 'time against N', xLabel: 'N', yLabel: 's', logX: true, logY: true, width: 600, height: 400 };

describe('writePlotPng', () => {
  it('writes a PNG of the given size in which both series appear', () => {
    const dir = tempDir('pv-plot-');
    try {
      const file = join(dir, 'plot.png');
      writePlotPng(file, series, options);
      const png = readFileSync(file);
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect(png.readUInt32BE(16)).toBe(600); // IHDR width
      expect(png.readUInt32BE(20)).toBe(400); // IHDR height
      const pixels = new Resvg(plotSvg(series, options)).render().pixels; // RGBA
      let red = 0;
      let blue = 0;
      for (let i = 0; i < pixels.length; i += 4) {
        if (pixels[i]! > 200 && pixels[i + 1]! < 60 && pixels[i + 2]! < 60) red++;
        if (pixels[i]! < 60 && pixels[i + 1]! < 60 && pixels[i + 2]! > 200) blue++;
      }
      expect(red).toBeGreaterThan(100);
      expect(blue).toBeGreaterThan(100);
    } finally {
      removeDir(dir);
    }
  });

  it('puts log-scale ticks on powers of ten and escapes text', () => {
    const svg = plotSvg(series, { ...options, title: 'a < b & c' });
    expect(svg).toContain('a &lt; b &amp; c');
    for (const tick of ['>10<', '>100<', '>1,000<', '>0.1<']) expect(svg).toContain(tick);
    expect(() => plotSvg([{ name: 'empty', points: [] }], options)).toThrow(/no points/);
  });

  it('draws linear axes from 0, without markers and with a series width when asked', () => {
    const time = [{ name: 'depth', width: 9, points: [0, 1.3, 2.6].map((x, i) => ({ x, y: [0, 14, 3][i]! })) }];
    const svg = plotSvg(time, { title: 't', xLabel: 's', yLabel: 'n', markers: false, legendWidth: 300 });
    for (const tick of ['>0<', '>1<', '>2<', '>3<', '>5<', '>10<', '>15<']) expect(svg).toContain(tick);
    expect(svg).not.toContain('<circle');
    expect(svg).toContain('stroke-width="9"');
    expect(plotSvg(series, options)).toContain('<circle'); // markers stay the default
  });
});
