// A hand-built SVG bar chart for `npm run bench:sessions` (no dependency): one or more panels of
// horizontal bars, one bar per variant, coloured by what the variant looks up per request.

export interface Bar {
  label: string;
  value: number;
  /** Text after the bar (the value, formatted, and anything else worth reading). */
  note: string;
  /** CSS colour of the bar. */
  color: string;
}

export interface Panel {
  title: string;
  bars: Bar[];
}

export interface Legend {
  label: string;
  color: string;
}

const xml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Renders the panels one under the other, with a title, a legend and a footnote. */
export function barChart(options: {
  title: string;
  subtitle: string;
  panels: Panel[];
  legend: Legend[];
  footnote: string;
}): string {
  const width = 860;
  const labelWidth = 290;
  const noteWidth = 190;
  const barMax = width - labelWidth - noteWidth - 30;
  const rowHeight = 26;
  const barHeight = 17;
  const out: string[] = [];
  let y = 28;
  out.push(
    `<text x="16" y="${y}" class="title">${xml(options.title)}</text>`,
    `<text x="16" y="${y + 20}" class="sub">${xml(options.subtitle)}</text>`,
  );
  y += 44;
  let lx = 16;
  for (const item of options.legend) {
    out.push(
      `<rect x="${lx}" y="${y - 10}" width="12" height="12" rx="2" fill="${item.color}"/>`,
      `<text x="${lx + 18}" y="${y}" class="small">${xml(item.label)}</text>`,
    );
    lx += 24 + item.label.length * 6.6;
  }
  y += 16;
  for (const panel of options.panels) {
    y += 22;
    out.push(`<text x="16" y="${y}" class="head">${xml(panel.title)}</text>`);
    y += 10;
    const max = Math.max(...panel.bars.map((b) => b.value), 1e-9);
    for (const bar of panel.bars) {
      const w = Math.max(1, (bar.value / max) * barMax);
      const top = y + (rowHeight - barHeight) / 2;
      out.push(
        `<text x="${labelWidth - 8}" y="${top + barHeight - 4}" class="label" text-anchor="end">${xml(bar.label)}</text>`,
        `<rect x="${labelWidth}" y="${top}" width="${w.toFixed(1)}" height="${barHeight}" rx="2" fill="${bar.color}"/>`,
        `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${top + barHeight - 4}" class="note">${xml(bar.note)}</text>`,
      );
      y += rowHeight;
    }
  }
  y += 18;
  const foot = wrap(options.footnote, 130);
  for (const line of foot) {
    out.push(`<text x="16" y="${y}" class="small">${xml(line)}</text>`);
    y += 15;
  }
  const height = y + 6;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${xml(options.title)}">`,
    '<style>',
    'text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:#1f2328}',
    '.title{font-size:17px;font-weight:600}.sub{font-size:12px;fill:#57606a}',
    '.head{font-size:13px;font-weight:600}.label{font-size:12px}.note{font-size:12px;fill:#24292f}',
    '.small{font-size:11px;fill:#57606a}',
    '</style>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}

function wrap(text: string, columns: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > columns) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
