// 概览: today's tasks by hour and level, open vs overdue, and the
// supervision figures (按时办结率, 劝阻成功率) per county and station.

import { call, listAll } from './api.js';
import { h, num, day, dayBefore, hour, isOverdue, pct, LEVEL } from './fmt.js';
import { showError, clearError } from './ui.js';

// Same colours as the list: 高 red, 中 orange, 低 blue.
const COLOURS = { LEVEL_HIGH: '#d93026', LEVEL_MEDIUM: '#e8830c', LEVEL_LOW: '#1a73e8' };

let echartsLoading = null;
/** Loads the vendored ECharts on first use: the task list need not pay for 1 MB. */
function loadECharts() {
  if (window.echarts) return Promise.resolve(window.echarts);
  echartsLoading ??= new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = '/vendor/echarts.min.js';
    s.onload = () => resolve(window.echarts);
    s.onerror = () => {
      echartsLoading = null;
      reject(new Error('无法加载图表组件 /vendor/echarts.min.js'));
    };
    document.head.append(s);
  });
  return echartsLoading;
}

const kpi = (label, value, id) => h('div', { class: 'kpi', 'data-testid': id }, h('div', { class: 'kpi-v' }, value), h('div', { class: 'kpi-l' }, label));
const rate = (r) => (r === undefined || r === null ? null : Math.round(r * 1000) / 10);

export function show(root) {
  const today = day();
  const from = h('input', { type: 'date', value: dayBefore(today, 6), 'data-testid': 'overview-from' });
  const to = h('input', { type: 'date', value: today, 'data-testid': 'overview-to' });
  const kpis = h('div', { class: 'kpis' });
  const boxes = {
    hourly: h('div', { class: 'chart', 'data-testid': 'chart-hourly' }),
    state: h('div', { class: 'chart', 'data-testid': 'chart-state' }),
    counties: h('div', { class: 'chart', 'data-testid': 'chart-counties' }),
    stations: h('div', { class: 'chart', 'data-testid': 'chart-stations' }),
  };
  const charts = [];
  let alive = true;
  const f = h('form', { class: 'filters' }, h('label', {}, '督导起 ', from), h('label', {}, '止 ', to),
    h('button', { type: 'submit', 'data-testid': 'overview-refresh' }, '刷新'));
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    load();
  });
  root.replaceChildren(h('h2', {}, '概览'), f, kpis,
    h('div', { class: 'grid2' },
      h('section', {}, h('h3', {}, `今日（${today}）每小时派发任务`), boxes.hourly),
      h('section', {}, h('h3', {}, '今日任务办理状态'), boxes.state)),
    h('section', {}, h('h3', {}, '区县：按时办结率与劝阻成功率'), boxes.counties),
    h('section', {}, h('h3', {}, '派出所：按时办结率与劝阻成功率'), boxes.stations));
  const onResize = () => charts.forEach((c) => c.resize());
  window.addEventListener('resize', onResize);

  const chart = (echarts, el, option, height) => {
    if (height) el.style.height = `${height}px`;
    const c = echarts.getInstanceByDom(el) ?? echarts.init(el);
    if (!charts.includes(c)) charts.push(c);
    c.setOption(option, true);
  };

  function unitOption(units) {
    const names = units.map((u) => u.id ?? '—');
    return {
      tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null || v === undefined ? '—' : `${v}%`) },
      legend: { top: 0 },
      grid: { left: 110, right: 30, top: 30, bottom: 20 },
      xAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
      yAxis: { type: 'category', data: names, inverse: true },
      series: [
        { name: '按时办结率', type: 'bar', data: units.map((u) => rate(u.figures?.on_time_rate)), itemStyle: { color: '#1a73e8' } },
        { name: '劝阻成功率', type: 'bar', data: units.map((u) => rate(u.figures?.dissuasion_rate)), itemStyle: { color: '#188038' } },
      ],
    };
  }

  async function load() {
    clearError();
    kpis.replaceChildren(h('span', { class: 'muted' }, '加载中…'));
    try {
      const [echarts, list, sup] = await Promise.all([
        loadECharts(),
        listAll({ created_day: today }, 20000),
        call('Supervision', { from_day: from.value, to_day: to.value }),
      ]);
      if (!alive) return;
      const tasks = list.tasks;
      const now = Date.now();
      const per = Object.fromEntries(Object.keys(COLOURS).map((lv) => [lv, new Array(24).fill(0)]));
      let open = 0, overdue = 0, done = 0;
      for (const t of tasks) {
        if (per[t.level]) per[t.level][hour(t.created_at_ms)]++;
        if (t.status === 'TASK_STATUS_DONE') done++;
        else if (isOverdue(t, now)) overdue++;
        else open++;
      }
      const tot = sup.total ?? {};
      kpis.replaceChildren(
        kpi('今日任务', tasks.length + (list.truncated ? '+' : ''), 'kpi-today'),
        kpi('今日在办', open, 'kpi-open'),
        kpi('今日逾期', overdue, 'kpi-overdue'),
        kpi('督导期任务', num(tot.tasks), 'kpi-tasks'),
        kpi('督导期逾期未办', num(tot.overdue), 'kpi-sup-overdue'),
        kpi('按时办结率', pct(tot.on_time_rate), 'kpi-on-time'),
        kpi('劝阻成功率', pct(tot.dissuasion_rate), 'kpi-dissuasion'),
        kpi('已被骗', num(tot.defrauded), 'kpi-defrauded'));
      chart(echarts, boxes.hourly, {
        tooltip: { trigger: 'axis' },
        legend: { top: 0 },
        grid: { left: 40, right: 20, top: 30, bottom: 30 },
        xAxis: { type: 'category', data: [...Array(24).keys()].map((i) => `${i}时`) },
        yAxis: { type: 'value', minInterval: 1 },
        // Stacked high-first so the urgent share sits at the bottom of each bar.
        series: ['LEVEL_HIGH', 'LEVEL_MEDIUM', 'LEVEL_LOW'].map((lv) => ({
          name: LEVEL[lv], type: 'bar', stack: 'level', data: per[lv], itemStyle: { color: COLOURS[lv] },
        })),
      });
      chart(echarts, boxes.state, {
        tooltip: { trigger: 'item' },
        legend: { top: 0 },
        series: [{
          type: 'pie', radius: ['35%', '65%'], top: 20,
          label: { formatter: '{b}: {c}' },
          data: [
            { name: '在办（未逾期）', value: open, itemStyle: { color: '#1a73e8' } },
            { name: '已逾期', value: overdue, itemStyle: { color: '#d93026' } },
            { name: '已办结', value: done, itemStyle: { color: '#80868b' } },
          ],
        }],
      });
      const counties = sup.counties ?? [];
      const stations = sup.stations ?? [];
      chart(echarts, boxes.counties, unitOption(counties), 60 + Math.max(counties.length, 1) * 36);
      chart(echarts, boxes.stations, unitOption(stations), 60 + Math.max(stations.length, 1) * 36);
      onResize();
    } catch (e) {
      if (!alive) return;
      kpis.replaceChildren();
      showError(e);
    }
  }
  load();
  return () => {
    alive = false;
    window.removeEventListener('resize', onResize);
    charts.forEach((c) => c.dispose());
  };
}
