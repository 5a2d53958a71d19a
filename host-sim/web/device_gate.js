// A scenic-area gate lane on the page: the DWIN screen, the lane (locked or open, alarm, pass
// sensor), the day's counts, and the visitors' cards (first ones hold tickets, others pay).

import { REGIONS, el } from './dom.js';

function button(role, text, onClick) {
  const node = el('button', { type: 'button', 'data-role': role, textContent: text });
  node.addEventListener('click', onClick);
  return node;
}

function dl(node, rows) {
  node.replaceChildren(...rows.flatMap(([term, value, key]) =>
    [el('dt', {}, term), el('dd', { 'data-key': key }, String(value))]));
}

/** Mounts the gate `device` in `root`; returns its update and events handlers. */
export function mountDevice(root, device, api) {
  const { info } = device;
  const screen = el('div', { class: 'screen', 'data-page': 'boot' });
  for (const region of REGIONS) {
    screen.append(el('div', { class: `region ${region}`, 'data-region': region }));
  }
  const lane = el('div', { class: 'lane', 'data-role': 'lane', 'data-open': 'false' });
  const deck = el('div', { class: 'deck', 'data-role': 'deck' });
  const chips = new Map();
  for (const card of info.cards) {
    const chip = el('div', { class: 'card', 'data-card': String(card.id),
      title: `${card.name} ${card.persons > 0 ? `ticket for ${card.persons}` : 'walk-in'}` },
    el('span', { class: 'card-name' }, card.name),
    el('span', { class: 'card-pan' }, card.persons > 0 ? `门票 ${card.persons} 人` : '现场购票'));
    chip.addEventListener('click', () => void api.act('tap', { card: card.id }));
    chips.set(card.id, chip);
    deck.append(chip);
  }
  const sensor = button('sensor', 'stand in the sensor', () =>
    void api.act('sensor', { blocked: sensor.dataset.blocked !== 'true' }));
  const counts = el('dl', { class: 'counts' });
  const fault = el('p', { class: 'fault', hidden: true });
  root.append(
    el('h2', {}, `${info.terminalId} `, el('small', {}, `${info.siteId} · gate`)),
    el('div', { class: 'bezel' }, screen, lane),
    el('div', { class: 'side' },
      button('walk', 'walk through', () => void api.act('walk', {})),
      button('jump', 'jump the lane', () => void api.act('jump', {})), sensor,
      el('h3', {}, 'today'), counts),
    fault,
    el('h3', { class: 'deck-title' }, 'visitors\' cards'), deck);
  const view = { screen, lane, chips, sensor, counts, fault };
  return { update: (state) => update(view, state), events: () => undefined };
}

function update(view, state) {
  const { screen, lane, chips, sensor, counts, fault } = view;
  screen.dataset.page = state.screen.pageName;
  for (const region of REGIONS) {
    screen.querySelector(`[data-region="${region}"]`).textContent =
      state.screen.texts[region] ?? '';
  }
  lane.dataset.open = String(state.lane.open);
  lane.dataset.alarm = String(state.lane.alarm);
  lane.textContent = `${state.lane.open ? '▶ OPEN' : '■ locked'}`
    + `${state.lane.alarm ? ' · ALARM' : ''} · passages ${state.lane.passCount}`;
  sensor.dataset.blocked = String(state.lane.blocked);
  sensor.textContent = state.lane.blocked ? 'step out of the sensor' : 'stand in the sensor';
  for (const [id, chip] of chips) chip.dataset.onReader = String(state.onReader.includes(id));
  const c = state.counts ?? { entries: 0, ticketEntries: 0, paidEntries: 0, paidAdmissions: 0,
    tailgates: 0 };
  const last = state.lastTap;
  dl(counts, [['entries', c.entries, 'entries'], ['by ticket', c.ticketEntries, 'ticketEntries'],
    ['paid at the gate', c.paidEntries, 'paidEntries'], ['tailgaters', c.tailgates, 'tailgates'],
    ['last tap', last === null ? '—' : `${last.decision ?? last.result}`
      + `${last.reason === null ? '' : ` (${last.reason})`}`, 'lastTap'],
    ['lane', state.outOfService ?? 'in service', 'service']]);
  fault.hidden = state.fault === null;
  fault.textContent = state.fault === null ? '' : `gate stopped: ${state.fault}`;
}
