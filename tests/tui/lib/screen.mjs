// screen.mjs - what the tests do with a captured screen: mask the few parts
// that legitimately change between runs, parse colours, find bars.

// Masks, nothing else:
//  - the title bar's query time "(12ms)" / "(850µs)" -> "(TIME)"
//  - the status line's numbers that depend on timing and on the machine:
//    the listener ports, spans/s, the store size -> "http :PORT", "N spans/s",
//    "SIZE"; the trace and span counts stay (the store must say the truth).
export function normalize(screen) {
	const lines = screen.split('\n');
	return lines.map((l, i) => {
		if (i === 0)
			l = maskQueryTime(l);
		if (i === lines.length - 1)
			l = maskStatus(l);
		return l;
	}).join('\n');
}

// "(568µs)   ? help" at the right end of the title; "? help" keeps its column.
export function maskQueryTime(l) {
	return l.replace(/\(\d[^\s)]*\)(\s+)\? help$/, (m, sp) => `(TIME)${' '.repeat(Math.max(1, m.length - 6 - 6))}? help`);
}

export function maskStatus(l) {
	const m = l
		.replace(/\b(http|grpc|zipkin|api) (FAILED )?:\d+/g, '$1 $2:PORT')
		.replace(/\b\d+ spans\/s/, 'N spans/s')
		.replace(/\b\d+(\.\d+)? ?([KMGT]i?)?B\b/g, 'SIZE');
	// A line cut at the screen's edge ('…', '~' in ASCII) is cut where the
	// masked numbers' lengths put the edge: keep it up to the last mask.
	if (/[…~]$/.test(l))
		return m.replace(/^(.*(?:SIZE|N spans\/s|:PORT))[^…~]*[…~]$/, '$1 …');
	return m;
}

// --- colours -------------------------------------------------------------------------

// capture-pane -e output -> rows of cells {ch, fg, bg, bold, dim, underline, reverse}.
// fg/bg: null (default), 0-255, or 'r,g,b'.
export function parseAnsiScreen(text) {
	const rows = [];
	const st = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, reverse: false };
	const reset = () => Object.assign(st, { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, reverse: false });
	for (const line of text.replace(/\n$/, '').split('\n')) {
		const cells = [];
		const re = /\x1b\[([0-9;:]*)m|\x1b[()][0-9A-Za-z]|([^\x1b])/gu;
		let m;
		while ((m = re.exec(line))) {
			if (m[2] !== undefined) {
				cells.push({ ch: m[2], ...st });
				continue;
			}
			if (m[1] === undefined) continue;
			const p = m[1] === '' ? [0] : m[1].split(/[;:]/).map(Number);
			for (let i = 0; i < p.length; i++) {
				const c = p[i];
				if (c === 0) reset();
				else if (c === 1) st.bold = true;
				else if (c === 2) st.dim = true;
				else if (c === 3) st.italic = true;
				else if (c === 4) st.underline = true;
				else if (c === 7) st.reverse = true;
				else if (c === 22) st.bold = st.dim = false;
				else if (c === 23) st.italic = false;
				else if (c === 24) st.underline = false;
				else if (c === 27) st.reverse = false;
				else if (c >= 30 && c <= 37) st.fg = c - 30;
				else if (c >= 90 && c <= 97) st.fg = c - 90 + 8;
				else if (c >= 40 && c <= 47) st.bg = c - 40;
				else if (c >= 100 && c <= 107) st.bg = c - 100 + 8;
				else if (c === 39) st.fg = null;
				else if (c === 49) st.bg = null;
				else if (c === 38 || c === 48) {
					let v;
					if (p[i + 1] === 5) { v = p[i + 2]; i += 2; } else if (p[i + 1] === 2) { v = `${p[i + 2]},${p[i + 3]},${p[i + 4]}`; i += 4; }
					if (c === 38) st.fg = v; else st.bg = v;
				}
			}
		}
		rows.push(cells);
	}
	return rows;
}

export const styleKey = (c) =>
	`fg=${c.fg} bg=${c.bg}${c.bold ? ' bold' : ''}${c.dim ? ' dim' : ''}${c.underline ? ' underline' : ''}${c.reverse ? ' reverse' : ''}`;

export const rowText = (cells) => cells.map((c) => c.ch).join('').replace(/\s+$/, '');

// Rows (indexes) whose cells are mostly in style `pred`.
export function rowsWhere(cells, pred, share = 0.6) {
	const out = [];
	cells.forEach((row, y) => {
		if (row.length && row.filter(pred).length >= row.length * share) out.push(y);
	});
	return out;
}

// --- bars ------------------------------------------------------------------------------

// The runs of `glyph` in a line: [{x, len}] (x in cells from the left; every
// character of the UI's screens is one cell wide).
export function runsOf(line, glyph = '█') {
	const chars = [...line];
	const runs = [];
	for (let x = 0; x < chars.length; x++) {
		if (chars[x] !== glyph) continue;
		const start = x;
		while (x + 1 < chars.length && chars[x + 1] === glyph) x++;
		runs.push({ x: start, len: x - start + 1 });
	}
	return runs;
}

// Where a span's bar belongs, computed here from the times (not from the UI's
// code): cell boundaries round(width * t / window), halves up; a bar gets at
// least one cell.
export function expectedBar(fromMs, toMs, windowFromMs, windowToMs, width) {
	const w = windowToMs - windowFromMs;
	const b = (t) => Math.floor((width * (Math.min(Math.max(t, windowFromMs), windowToMs) - windowFromMs)) / w + 0.5);
	const x = b(fromMs);
	const end = b(toMs);
	return end > x ? { x, len: end - x } : { x: Math.min(x, width - 1), len: 1 };
}
