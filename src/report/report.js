/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktstr report: renders the data ktstr embedded in this file
 * (<script id="ktstr-data" type="application/json">) into tables and SVG
 * plots. No network access, no libraries; all text goes through
 * textContent, never innerHTML.
 */
'use strict';
(function () {
	var SVGNS = 'http://www.w3.org/2000/svg';
	var COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b',
		      '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
	var VCOLOR = { pass: '#3aa757', fail: '#d33', skip: '#aaa', inconclusive: '#e0a800' };
	var D = JSON.parse(document.getElementById('ktstr-data').textContent);

	function el(tag, attrs, kids) {
		var e = document.createElement(tag);
		var k;
		for (k in attrs || {})
			e.setAttribute(k, attrs[k]);
		(kids || []).forEach(function (c) {
			e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
		});
		return e;
	}
	function svg(tag, attrs, text) {
		var e = document.createElementNS(SVGNS, tag);
		var k;
		for (k in attrs || {})
			e.setAttribute(k, attrs[k]);
		if (text !== undefined)
			e.textContent = text;
		return e;
	}
	function fmtMs(ms) {
		if (ms === null || ms === undefined)
			return '-';
		return ms >= 10000 ? (ms / 1000).toFixed(1) + ' s' : ms + ' ms';
	}
	function fmtNum(v) {
		if (v === null || v === undefined)
			return '-';
		return Math.abs(v) >= 100 || v === Math.round(v) ? String(Math.round(v)) : v.toFixed(2);
	}
	function badge(v) {
		return el('span', { 'class': 'badge v-' + v }, [v.toUpperCase()]);
	}
	function testLabel(t) {
		return t.name + ' [' + t.topology + ' ' + t.scheduler +
			(t.flags.length ? ' ' + t.flags.join(',') : '') + ']';
	}
	function plotSvg(kind, w, h, title) {
		var s = svg('svg', { 'class': 'plot', 'data-plot': kind, width: w, height: h,
				     viewBox: '0 0 ' + w + ' ' + h, role: 'img' });
		s.appendChild(svg('title', {}, title));
		return s;
	}
	function figure(s, caption) {
		return el('figure', {}, [el('figcaption', {}, [caption]), s]);
	}
	/* x axis with ticks at 0..max. */
	function xAxis(s, x0, x1, y, max, unit) {
		var i, v, x;
		s.appendChild(svg('line', { 'class': 'axis', x1: x0, x2: x1, y1: y, y2: y }));
		for (i = 0; i <= 4; i++) {
			v = max * i / 4;
			x = x0 + (x1 - x0) * i / 4;
			s.appendChild(svg('line', { 'class': 'grid', x1: x, x2: x, y1: 0, y2: y }));
			s.appendChild(svg('text', { x: x, y: y + 13, 'text-anchor': 'middle' },
					  fmtNum(v) + unit));
		}
	}
	/* A time axis in ms, or in s from 10 s up. */
	function msAxis(s, x0, x1, y, maxMs) {
		if (maxMs >= 10000)
			xAxis(s, x0, x1, y, maxMs / 1000, ' s');
		else
			xAxis(s, x0, x1, y, maxMs, ' ms');
	}
	function runName(i) {
		return D.runs[i] ? D.runs[i].label : 'run ' + i;
	}
	function byRun(i) {
		return D.tests.filter(function (t) { return t.run === i; });
	}
	function counts(tests) {
		var c = { pass: 0, fail: 0, skip: 0, inconclusive: 0, wall: 0 };
		tests.forEach(function (t) {
			c[t.verdict]++;
			c.wall += t.duration_ms || 0;
		});
		return c;
	}

	function summary(root) {
		var cards = el('div', { 'class': 'cards', id: 'summary-cards' });
		D.runs.forEach(function (r, i) {
			var c = counts(byRun(i));
			cards.appendChild(el('div', { 'class': 'card', 'data-run': i }, [
				el('h3', {}, [r.label]),
				el('div', { 'class': 'meta' }, [r.dir]),
				el('div', {}, [
					el('span', { 'class': 'num' }, [String(byRun(i).length)]), 'tests: ',
					c.pass + ' passed, ' + c.fail + ' failed, ' + c.skip + ' skipped, ' +
					c.inconclusive + ' inconclusive']),
				el('div', {}, ['kernel ' + (r.kernel || 'unknown') + ', commit ' +
					       (r.project_commit || 'unknown') + ', ' + (r.first || '') +
					       (r.last && r.last !== r.first ? ' .. ' + r.last : '')]),
				el('div', {}, ['total test wall time ' + fmtMs(c.wall)])
			]));
		});
		root.appendChild(cards);
		if (D.errors.length) {
			root.appendChild(el('h3', {}, ['Unreadable sidecars (' + D.errors.length + ')']));
			root.appendChild(el('ul', { id: 'sidecar-errors' }, D.errors.map(function (e) {
				return el('li', {}, [e.path + ': ' + e.error]);
			})));
		}
	}

	function testsTable(root) {
		var filter = el('input', { type: 'search', id: 'test-filter', placeholder: 'filter tests' });
		var vsel = el('select', { id: 'verdict-filter' }, ['all', 'pass', 'fail', 'skip',
			'inconclusive'].map(function (v) { return el('option', { value: v }, [v]); }));
		var cols = [['run', 'run'], ['test', 'name'], ['topology', 'topology'],
			    ['scheduler', 'scheduler'], ['work type', 'work_type'], ['flags', null],
			    ['verdict', 'verdict'], ['wall time', 'duration_ms']];
		var tbody = el('tbody');
		var head = el('tr', {}, cols.map(function (c) {
			return el('th', { 'class': 'sortable' + (c[1] === 'duration_ms' ? ' num' : '') },
				  [c[0]]);
		}));
		var table = el('table', { id: 'tests-table' }, [el('thead', {}, [head]), tbody]);
		var rows = D.tests.map(function (t, i) {
			var name = el('td', {}, [t.name]);
			if (t.verdict === 'fail' || t.verdict === 'inconclusive')
				name = el('td', {}, [el('a', { href: '#failure-' + i }, [t.name])]);
			return { t: t, tr: el('tr', { 'class': 'test-row v-row-' + t.verdict,
						      'data-verdict': t.verdict }, [
				el('td', {}, [runName(t.run)]), name, el('td', {}, [t.topology]),
				el('td', {}, [t.scheduler]), el('td', {}, [t.work_type]),
				el('td', {}, [t.flags.join(',')]), el('td', {}, [badge(t.verdict)]),
				el('td', { 'class': 'num' }, [fmtMs(t.duration_ms)])]) };
		});
		function apply() {
			var q = filter.value.toLowerCase(), v = vsel.value;
			rows.forEach(function (r) {
				var show = (v === 'all' || r.t.verdict === v) &&
					(!q || testLabel(r.t).toLowerCase().indexOf(q) >= 0);
				r.tr.style.display = show ? '' : 'none';
			});
		}
		rows.forEach(function (r) { tbody.appendChild(r.tr); });
		Array.prototype.forEach.call(head.children, function (th, ci) {
			th.addEventListener('click', function () {
				var key = cols[ci][1], dir = th.getAttribute('data-dir') === 'asc' ? -1 : 1;
				if (!key)
					return;
				th.setAttribute('data-dir', dir > 0 ? 'asc' : 'desc');
				rows.sort(function (a, b) {
					var x = a.t[key], y = b.t[key];
					if (x === y)
						return 0;
					if (x === null || x === undefined)
						return 1;
					if (y === null || y === undefined)
						return -1;
					return (x < y ? -1 : 1) * dir;
				});
				rows.forEach(function (r) { tbody.appendChild(r.tr); });
			});
		});
		filter.addEventListener('input', apply);
		vsel.addEventListener('change', apply);
		root.appendChild(el('div', { 'class': 'controls' }, [filter, vsel]));
		root.appendChild(table);
	}

	function failures(root) {
		var n = 0;
		D.tests.forEach(function (t, i) {
			var sec, k;
			if (t.verdict !== 'fail' && t.verdict !== 'inconclusive')
				return;
			n++;
			sec = el('section', { 'class': 'failure ' + t.verdict, id: 'failure-' + i }, [
				el('h3', {}, [badge(t.verdict), ' ', testLabel(t), ' (' + runName(t.run) + ')'])]);
			if (t.failure) {
				sec.appendChild(el('div', { 'class': 'failure-kind' }, [
					el('strong', {}, [t.failure.kind || 'failure']),
					t.failure.phase ? ' (phase: ' + t.failure.phase +
						(t.failure.stage ? ', stage: ' + t.failure.stage : '') + ')' : '']));
				if (t.failure.message)
					sec.appendChild(el('pre', {}, [t.failure.message]));
			}
			if (t.scheduler_exit) {
				sec.appendChild(el('div', { 'class': 'sched-exit' }, [
					el('strong', {}, ['scheduler exit: ']),
					[t.scheduler_exit.kind, t.scheduler_exit.reason].filter(Boolean).join(': ')]));
				if (t.scheduler_exit.message)
					sec.appendChild(el('pre', {}, [t.scheduler_exit.message]));
			}
			if (t.failure_dump)
				sec.appendChild(el('div', {}, [el('strong', {}, ['failure dump: ']), t.failure_dump]));
			if (!t.details.length && !t.failure)
				sec.appendChild(el('p', { 'class': 'empty' }, ['no details recorded']));
			t.details.forEach(function (d) {
				sec.appendChild(el('div', {}, [el('strong', {}, [d.kind])]));
				sec.appendChild(el('pre', {}, [d.message]));
			});
			for (k in t.extra) {
				sec.appendChild(el('div', {}, [el('strong', {}, [k + ': ']),
					typeof t.extra[k] === 'string' ? t.extra[k] : JSON.stringify(t.extra[k])]));
			}
			if (t.monitor)
				sec.appendChild(el('div', {}, [el('strong', {}, ['monitor: ']),
							       JSON.stringify(t.monitor)]));
			if (t.absent && Object.keys(t.absent).length)
				sec.appendChild(el('details', { 'class': 'absent' }, [
					el('summary', {}, [Object.keys(t.absent).length +
							   ' fields not recorded, and why']),
					el('table', {}, Object.keys(t.absent).map(function (k) {
						return el('tr', {}, [el('th', {}, [k]), el('td', {}, [t.absent[k]])]);
					}))]));
			root.appendChild(sec);
		});
		if (!n)
			root.appendChild(el('p', { 'class': 'empty' }, ['no failed or inconclusive tests']));
	}

	/* One horizontal bar per test, coloured by verdict. */
	function wallPlot(root) {
		var wrap = el('div', { 'class': 'plots' });
		D.runs.forEach(function (r, ri) {
			var ts = byRun(ri).filter(function (t) { return t.duration_ms !== null; });
			var max = 1, lw = 0, row = 16, x0, w = 760, s, h;
			if (!ts.length)
				return;
			ts.forEach(function (t) {
				max = Math.max(max, t.duration_ms);
				lw = Math.max(lw, testLabel(t).length);
			});
			x0 = Math.min(360, 12 + lw * 6);
			h = ts.length * row + 24;
			s = plotSvg('walltime', w, h, 'wall time per test, ' + r.label);
			msAxis(s, x0, w - 20, h - 18, max);
			ts.forEach(function (t, i) {
				var y = i * row + 2, bw = (w - 20 - x0) * t.duration_ms / max;
				var bar = svg('rect', { x: x0, y: y, width: Math.max(1, bw), height: row - 4,
							fill: VCOLOR[t.verdict], 'class': 'bar' });
				bar.appendChild(svg('title', {}, testLabel(t) + ': ' + fmtMs(t.duration_ms) +
						    ' (' + t.verdict + ')'));
				s.appendChild(svg('text', { x: x0 - 4, y: y + row - 6, 'text-anchor': 'end' },
						  testLabel(t).slice(0, Math.floor((x0 - 8) / 6))));
				s.appendChild(bar);
			});
			wrap.appendChild(figure(s, 'Wall time per test, ' + r.label +
						' (bar colour: verdict)'));
		});
		if (!wrap.children.length)
			wrap.appendChild(el('p', { 'class': 'empty' }, ['no test recorded a wall time']));
		root.appendChild(wrap);
	}

	/* Per cgroup: min..max off-CPU % across its workers, the mean as a dot. */
	function offcpuPlots(root) {
		var wrap = el('div', { 'class': 'plots' });
		D.tests.forEach(function (t) {
			var row = 18, x0 = 70, w = 360, h, s;
			if (!t.cgroups.length)
				return;
			h = t.cgroups.length * row + 26;
			s = plotSvg('offcpu', w, h, 'off-CPU % per cgroup, ' + testLabel(t));
			xAxis(s, x0, w - 14, h - 18, 100, '%');
			t.cgroups.forEach(function (c, i) {
				var y = i * row + 4, sx = function (v) { return x0 + (w - 14 - x0) * v / 100; };
				var g = svg('g', { 'class': 'cgroup' });
				g.appendChild(svg('title', {}, c.name + ': ' + c.workers + ' workers, off-CPU min ' +
						  fmtNum(c.min) + '% mean ' + fmtNum(c.avg) + '% max ' +
						  fmtNum(c.max) + '%'));
				g.appendChild(svg('text', { x: x0 - 4, y: y + 11, 'text-anchor': 'end' }, c.name));
				g.appendChild(svg('rect', { x: sx(c.min), y: y + 3, height: row - 8,
							    width: Math.max(2, sx(c.max) - sx(c.min)),
							    fill: COLORS[i % COLORS.length], opacity: 0.45 }));
				g.appendChild(svg('circle', { cx: sx(c.avg), cy: y + 7, r: 4,
							      fill: COLORS[i % COLORS.length] }));
				s.appendChild(g);
			});
			wrap.appendChild(figure(s, testLabel(t) + ', ' + runName(t.run)));
		});
		if (!wrap.children.length)
			wrap.appendChild(el('p', { 'class': 'empty' }, ['no test recorded cgroup statistics']));
		root.appendChild(wrap);
	}

	/* Mean per key over tests that passed (or, lacking those, over all). */
	function pool(ri) {
		var m = {};
		byRun(ri).forEach(function (t) {
			(m[t.key] = m[t.key] || []).push(t);
		});
		return m;
	}
	function mean(ts, f) {
		var n = 0, s = 0;
		ts.forEach(function (t) {
			var v = f(t);
			if (v !== null && v !== undefined) {
				s += v;
				n++;
			}
		});
		return n ? s / n : null;
	}
	function worst(ts) {
		var order = ['fail', 'inconclusive', 'pass', 'skip'], i;
		for (i = 0; i < order.length; i++)
			if (ts.some(function (t) { return t.verdict === order[i]; }))
				return order[i];
		return 'skip';
	}

	/* Run 0 is the base; every later run is compared with it. */
	function compare(root) {
		var ri;
		if (D.runs.length < 2) {
			root.appendChild(el('p', { 'class': 'empty' },
					    ['one run given: pass two or more run directories to compare them']));
			return;
		}
		for (ri = 1; ri < D.runs.length; ri++)
			compareOne(root, 0, ri);
	}
	function compareOne(root, ai, bi) {
		var A = pool(ai), B = pool(bi), pairs = [], k, tbody = el('tbody'), s, w = 760, row = 18;
		var x0, max = 1, lw = 0, h, onlyA = 0, onlyB = 0;
		for (k in B) {
			if (!A[k]) {
				onlyB++;
				continue;
			}
			pairs.push({ key: k, a: A[k], b: B[k],
				     wa: mean(A[k], function (t) { return t.duration_ms; }),
				     wb: mean(B[k], function (t) { return t.duration_ms; }) });
		}
		for (k in A)
			if (!B[k])
				onlyA++;
		pairs.sort(function (p, q) { return p.key < q.key ? -1 : 1; });
		root.appendChild(el('h3', {}, [runName(ai) + ' \u2192 ' + runName(bi)]));
		root.appendChild(el('p', {}, [pairs.length + ' paired tests, ' + onlyA + ' only in ' +
			runName(ai) + ', ' + onlyB + ' only in ' + runName(bi)]));
		pairs.forEach(function (p) {
			var d = p.wa && p.wb !== null ? (p.wb - p.wa) / p.wa * 100 : null;
			var va = worst(p.a), vb = worst(p.b), cls = '';
			var metrics = [];
			if (d !== null && Math.abs(d) >= 10)
				cls = d > 0 ? 'regression' : 'improvement';
			Object.keys(p.b[0].metrics).forEach(function (m) {
				var a = mean(p.a, function (t) { return t.metrics[m]; });
				var b = mean(p.b, function (t) { return t.metrics[m]; });
				if (a !== null && b !== null && a !== b)
					metrics.push(m + ' ' + fmtNum(a) + '\u2192' + fmtNum(b));
			});
			tbody.appendChild(el('tr', { 'class': 'compare-row' }, [
				el('td', {}, [testLabel(p.b[0])]), el('td', {}, [badge(va), ' \u2192 ', badge(vb)]),
				el('td', { 'class': 'num' }, [fmtMs(p.wa === null ? null : Math.round(p.wa))]),
				el('td', { 'class': 'num' }, [fmtMs(p.wb === null ? null : Math.round(p.wb))]),
				el('td', { 'class': 'num ' + cls }, [d === null ? '-' : (d > 0 ? '+' : '') +
								      d.toFixed(1) + '%']),
				el('td', {}, [metrics.join('; ')])]));
			max = Math.max(max, p.wa || 0, p.wb || 0);
			lw = Math.max(lw, testLabel(p.b[0]).length);
		});
		root.appendChild(el('table', { 'class': 'compare-table' }, [el('thead', {}, [el('tr', {},
			['test', 'verdict', 'wall ' + runName(ai), 'wall ' + runName(bi), '\u0394 wall',
			 'metrics that changed'].map(function (c) { return el('th', {}, [c]); }))]), tbody]));
		if (!pairs.length)
			return;
		/* Dumbbell plot: base (hollow) to candidate (filled), red when slower by 10%+. */
		x0 = Math.min(360, 12 + lw * 6);
		h = pairs.length * row + 24;
		s = plotSvg('compare', w, h, 'wall time, ' + runName(ai) + ' vs ' + runName(bi));
		msAxis(s, x0, w - 20, h - 18, max);
		pairs.forEach(function (p, i) {
			var y = i * row + 9, sx = function (v) { return x0 + (w - 20 - x0) * v / max; };
			var col = '#555', g = svg('g', { 'class': 'pair' });
			if (p.wa === null || p.wb === null)
				return;
			if ((p.wb - p.wa) / p.wa >= 0.1)
				col = '#d33';
			else if ((p.wa - p.wb) / p.wa >= 0.1)
				col = '#3aa757';
			g.appendChild(svg('title', {}, testLabel(p.b[0]) + ': ' + fmtMs(Math.round(p.wa)) +
					  ' \u2192 ' + fmtMs(Math.round(p.wb))));
			g.appendChild(svg('text', { x: x0 - 4, y: y + 4, 'text-anchor': 'end' },
					  testLabel(p.b[0]).slice(0, Math.floor((x0 - 8) / 6))));
			g.appendChild(svg('line', { x1: sx(p.wa), x2: sx(p.wb), y1: y, y2: y, stroke: col,
						    'stroke-width': 2 }));
			g.appendChild(svg('circle', { cx: sx(p.wa), cy: y, r: 4, fill: '#fff', stroke: col }));
			g.appendChild(svg('circle', { cx: sx(p.wb), cy: y, r: 4, fill: col }));
			s.appendChild(g);
		});
		root.appendChild(figure(s, 'Wall time per paired test: hollow = ' + runName(ai) +
					', filled = ' + runName(bi)));
	}

	/* Per-CPU lines of one monitor field over time. */
	function timelinePlot(t, field) {
		var tl = t.timeline, w = 520, h = 170, x0 = 40, y0 = 10, y1 = h - 34;
		var tmax = Math.max(1, tl.t[tl.t.length - 1] - tl.t[0]), vmax = 1, s;
		tl.fields[field].forEach(function (cpu) {
			cpu.forEach(function (v) {
				if (v !== null)
					vmax = Math.max(vmax, v);
			});
		});
		s = plotSvg('timeline', w, h, field + ' per CPU over time, ' + testLabel(t));
		s.setAttribute('data-field', field);
		msAxis(s, x0, w - 10, y1, tmax);
		s.appendChild(svg('line', { 'class': 'axis', x1: x0, x2: x0, y1: y0, y2: y1 }));
		s.appendChild(svg('text', { x: x0 - 4, y: y0 + 8, 'text-anchor': 'end' }, fmtNum(vmax)));
		s.appendChild(svg('text', { x: x0 - 4, y: y1, 'text-anchor': 'end' }, '0'));
		tl.fields[field].forEach(function (cpu, ci) {
			var pts = [];
			cpu.forEach(function (v, i) {
				if (v === null)
					return;
				pts.push((x0 + (w - 10 - x0) * (tl.t[i] - tl.t[0]) / tmax).toFixed(1) + ',' +
					 (y1 - (y1 - y0) * v / vmax).toFixed(1));
			});
			var line = svg('polyline', { points: pts.join(' '), fill: 'none',
						     stroke: COLORS[ci % COLORS.length], 'stroke-width': 1.5,
						     'class': 'cpu-line' });
			line.appendChild(svg('title', {}, 'cpu' + ci));
			s.appendChild(line);
			s.appendChild(svg('text', { x: x0 + 6 + ci * 44, y: h - 4,
						    fill: COLORS[ci % COLORS.length] }, 'cpu' + ci));
		});
		return s;
	}
	function timelines(root) {
		var n = 0;
		D.tests.forEach(function (t) {
			var fields, sel, box;
			if (!t.timeline || !t.timeline.t.length)
				return;
			fields = Object.keys(t.timeline.fields);
			if (!fields.length)
				return;
			n++;
			box = el('div', { 'class': 'timeline-box' });
			sel = el('select', { 'class': 'timeline-field' }, fields.map(function (f) {
				return el('option', { value: f }, [f]);
			}));
			if (fields.indexOf('nr_running') >= 0)
				sel.value = 'nr_running';
			box.appendChild(timelinePlot(t, sel.value));
			sel.addEventListener('change', function () {
				box.replaceChild(timelinePlot(t, sel.value), box.firstChild);
			});
			root.appendChild(el('figure', {}, [el('figcaption', {}, [testLabel(t) + ', ' +
				runName(t.run) + ' (' + t.timeline.t.length + ' monitor samples) ', sel]), box]));
		});
		if (!n)
			root.appendChild(el('p', { 'class': 'empty' },
					    ['no sidecar carries monitor samples']));
	}

	function hosts(root) {
		D.runs.forEach(function (r) {
			var keys = Object.keys(r.host).sort();
			root.appendChild(el('h3', {}, ['Host of ' + r.label]));
			if (!keys.length) {
				root.appendChild(el('p', { 'class': 'empty' }, ['no host context recorded']));
				return;
			}
			root.appendChild(el('details', {}, [el('summary', {}, [keys.length + ' keys']),
				el('table', { 'class': 'host-table' }, keys.map(function (k) {
					return el('tr', {}, [el('th', {}, [k]), el('td', {}, [r.host[k]])]);
				}))]));
			if (r.host_diff) {
				root.appendChild(el('p', {}, ['Differences from ' + runName(0) + ' (' +
					r.host_diff.length + '):']));
				root.appendChild(el('table', { 'class': 'host-diff' }, [el('tr', {},
					['key', runName(0), r.label].map(function (c) { return el('th', {}, [c]); }))]
					.concat(r.host_diff.map(function (d) {
						return el('tr', { 'class': d.volatile ? 'volatile' : 'config' }, [
							el('td', {}, [d.key + (d.volatile ? ' (load)' : '')]),
							el('td', {}, [d.a === null ? '(absent)' : d.a]),
							el('td', {}, [d.b === null ? '(absent)' : d.b])]);
					}))));
			}
		});
	}

	function section(id, title, fill) {
		var s = el('section', { id: id }, [el('h2', {}, [title])]);
		fill(s);
		document.getElementById('report').appendChild(s);
	}

	document.title = 'ktstr report: ' + D.runs.map(function (r) { return r.label; }).join(', ');
	document.getElementById('generated').textContent = 'generated ' + D.generated_at +
		' by ktstr ' + D.ktstr_version + ' from ' + D.runs.length + ' run(s), ' +
		D.tests.length + ' test result(s)';
	section('summary', 'Summary', summary);
	section('tests', 'Tests', testsTable);
	section('failures', 'Failure reports', failures);
	section('walltime', 'Wall time', wallPlot);
	section('offcpu', 'Off-CPU time per cgroup', offcpuPlots);
	section('compare', 'Compare', compare);
	section('timelines', 'Per-CPU timelines (monitor samples)', timelines);
	section('host', 'Host context', hosts);
	document.body.setAttribute('data-rendered', String(D.tests.length));
})();
