/**
 * The Markdown report: one table per kind of row (warm tmpfs, tiny trees, warm disk, cold disk),
 * with medians in seconds and the ratios of medians each kind calls for.
 */
import { GiB, KiB, MiB } from './trees.mjs';
import { MODES, labelOf } from './tools.mjs';

export function formatBytes(n) {
  if (n >= GiB) return `${(n / GiB).toFixed(2)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  return `${(n / KiB).toFixed(1)} KiB`;
}

const medianOf = (row, tool) => {
  const r = row.tools?.[tool];
  return r?.valid ? r.medianSeconds : undefined;
};

function ratioCell(row, a, b) {
  const x = medianOf(row, a);
  const y = medianOf(row, b);
  return x !== undefined && y !== undefined ? (x / y).toFixed(2) : '—';
}

function timeCell(row, tool) {
  const r = row.tools?.[tool];
  if (!r) return '—';
  return r.valid ? r.medianSeconds.toFixed(3) : 'INVALID';
}

/** A Markdown table with padded columns, so it reads well in a terminal and renders in a README. */
function markdownTable(header, rows, rightAligned) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (rightAligned[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (rightAligned[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** The table of one kind of row; `tools` are the tools that ran in it, in column order. */
export function modeTable(mode, rows, tools, opts) {
  const short = (t) => (t === 'baseline' ? 'baseline' : labelOf(t, opts));
  const ratios = MODES[mode].ratios.filter(([a, b]) => tools.includes(a) && tools.includes(b));
  const rss = mode !== 'tiny' && tools.includes('pcopy');
  const header = ['tree', 'files', 'bytes', 'runs', ...tools.map((t) => `${labelOf(t, opts)} (s)`), ...ratios.map(([a, b]) => `${short(a)} / ${short(b)}`)];
  if (rss) header.push('pcopy peak RSS (MiB)');
  const body = rows.map((row) => {
    if (row.error) return [row.tree, '—', '—', '—', ...tools.map(() => '—'), ...ratios.map(() => '—'), ...(rss ? ['—'] : [])];
    const cells = [row.tree, row.files.toLocaleString('en-US'), formatBytes(row.bytes), String(row.runs)];
    cells.push(...tools.map((t) => timeCell(row, t)), ...ratios.map(([a, b]) => ratioCell(row, a, b)));
    if (rss) cells.push(row.tools.pcopy ? row.tools.pcopy.peakRssMiB.toFixed(0) : '—');
    return cells;
  });
  return markdownTable(header, body, header.map((_, i) => i > 0));
}

/**
 * CPU seconds of each tool (user + system, summed over every process of a run; median): on two
 * vCPUs a copy cannot take less wall time than about its CPU time / 1.3 (their measured speed-up).
 */
export function cpuTable(rows, tools, opts) {
  const header = ['tree', ...tools.map((t) => `${labelOf(t, opts)} CPU (s)`)];
  const body = rows
    .filter((row) => !row.error)
    .map((row) => [row.tree, ...tools.map((t) => (row.tools?.[t]?.valid ? row.tools[t].medianCpuSeconds.toFixed(2) : '—'))]);
  return `CPU time, user + system of every process of a run (median):

${markdownTable(header, body, header.map((_, i) => i > 0))}`;
}

/** scale has 10× the files of small: a ratio near 10 means the time grows linearly with the file count. */
export function scaleRatios(rows) {
  const small = rows.find((r) => r.mode === 'tmpfs' && r.tree === 'small' && !r.error);
  const scale = rows.find((r) => r.mode === 'tmpfs' && r.tree === 'scale' && !r.error);
  if (!small || !scale) return undefined;
  const out = { files: scale.files / small.files };
  for (const tool of ['pcopy', 'cp']) {
    const a = medianOf(scale, tool);
    const b = medianOf(small, tool);
    if (a !== undefined && b !== undefined) out[tool] = a / b;
  }
  return out;
}
