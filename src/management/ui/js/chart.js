// A line chart over time (uPlot), fed one sample per 5 s poll, keeping the last 10 minutes. The
// numbers are also in the page's tables, so the canvas is decoration for screen readers.

import uPlot from '/vendor/uplot.esm.js';
import { h } from './dom.js';

const WINDOW = 120; // 10 min of 5 s polls
const SPAN_S = 600;
const COLOURS = ['#0b5cad', '#d9822b', '#2a9d4b', '#a4161a', '#7b4bb3', '#4aa3a3', '#8a8a2b', '#555'];

/** Samples by chart key, kept while the tab lives: leaving a page and coming back keeps its history. */
const HISTORY = new Map();
const MAX_KEYS = 50;

export class TimeChart {
  constructor(title, labels, { unit = '', key = title } = {}) {
    this.data = HISTORY.get(key) ?? [[], ...labels.map(() => [])];
    HISTORY.delete(key);
    HISTORY.set(key, this.data);
    if (HISTORY.size > MAX_KEYS) HISTORY.delete(HISTORY.keys().next().value);
    this.el = h('figure', { class: 'chart' }, h('figcaption', {}, title));
    const target = h('div', { 'aria-hidden': 'true' });
    this.el.append(target);
    this.plot = new uPlot({
      width: 520,
      height: 200,
      legend: { live: false },
      // Always the last 10 minutes, so one sample does not stretch the axis over years; y from 0.
      scales: {
        x: { time: true, range: (_u, _min, max) => [max - SPAN_S, max] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
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
