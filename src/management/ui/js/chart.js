// A line chart over time (uPlot), fed one sample per 5 s poll, keeping the last 10 minutes. The
// numbers are also in the page's tables, so the canvas is decoration for screen readers.

import uPlot from '/vendor/uplot.esm.js';
import { h } from './dom.js';

const WINDOW = 120; // 10 min of 5 s polls
const COLOURS = ['#0b5cad', '#d9822b', '#2a9d4b', '#a4161a', '#7b4bb3', '#4aa3a3', '#8a8a2b', '#555'];

export class TimeChart {
  constructor(title, labels, { unit = '' } = {}) {
    this.data = [[], ...labels.map(() => [])];
    this.el = h('figure', { class: 'chart' }, h('figcaption', {}, title));
    const target = h('div', { 'aria-hidden': 'true' });
    this.el.append(target);
    this.plot = new uPlot({
      width: 520,
      height: 200,
      legend: { live: false },
      scales: { x: { time: true } },
      axes: [{}, { size: 60, values: (_u, vals) => vals.map((v) => `${v}${unit}`) }],
      series: [{}, ...labels.map((label, i) => ({ label, stroke: COLOURS[i % COLOURS.length], width: 2 }))],
    }, this.data, target);
  }

  /** One sample: values in label order, at now (seconds). */
  push(values) {
    this.data[0].push(Date.now() / 1000);
    values.forEach((v, i) => this.data[i + 1].push(Number.isFinite(v) ? v : null));
    if (this.data[0].length > WINDOW) for (const s of this.data) s.shift();
    this.plot.setData(this.data);
  }

  destroy() { this.plot.destroy(); }
}
