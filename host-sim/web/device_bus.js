// A bus validator on the page: DWIN screen, status LEDs, reader with cards, journal and taps.

import { REGIONS, el } from './dom.js';

/**
 * What the DGUS project's page backgrounds look like (the real panel's pictures live on its SD
 * card; these stand in for them). Keyed by the page name the display emulator reports.
 */
const PAGE_STYLES = {
  boot: 'boot', idle: 'idle', processing: 'busy', approved: 'ok', admitted: 'ok',
  declined: 'refused', denyList: 'refused', tryAgain: 'again', multipleCards: 'again',
  alreadyPaid: 'info', outOfService: 'off',
};

function yuan(minor) {
  return minor === null || minor === undefined ? '—' : `¥${(minor / 100).toFixed(2)}`;
}

/** The card chips: click taps, drag to the reader holds, the small button pulls early. */
function cardChip(card, api) {
  const chip = el('div', { class: 'card', draggable: true, 'data-card': String(card.id),
    title: `${card.name} ${card.panMasked}` },
  el('span', { class: 'card-name' }, card.name),
  el('span', { class: 'card-pan' }, card.panMasked),
  el('span', { class: 'card-balance' }, ''));
  const pull = el('button', { type: 'button', class: 'pull', textContent: 'pull early',
    title: 'tap, then take the card away after the 3rd command (a torn tap)' });
  pull.addEventListener('click', (e) => {
    e.stopPropagation();
    void api.act('pull', { card: card.id });
  });
  chip.append(pull);
  chip.addEventListener('click', () => {
    const verb = chip.dataset.onReader === 'true' ? 'remove' : 'tap';
    void api.act(verb, { card: card.id });
  });
  chip.addEventListener('dragstart', (e) => {
    e.dataTransfer.setData('text/x-shuaka-card', String(card.id));
    e.dataTransfer.effectAllowed = 'move';
  });
  return chip;
}

function dropTarget(node, onCard) {
  node.addEventListener('dragover', (e) => {
    if (!e.dataTransfer.types.includes('text/x-shuaka-card')) return;
    e.preventDefault();
    node.classList.add('drop');
  });
  node.addEventListener('dragleave', () => node.classList.remove('drop'));
  node.addEventListener('drop', (e) => {
    e.preventDefault();
    node.classList.remove('drop');
    const id = Number(e.dataTransfer.getData('text/x-shuaka-card'));
    if (Number.isInteger(id)) onCard(id);
  });
}

function buildScreen() {
  const screen = el('div', { class: 'screen', 'data-page': 'boot' });
  for (const region of REGIONS) screen.append(el('div', { class: `region ${region}`,
    'data-region': region }));
  return screen;
}

function buildPanels() {
  return {
    money: el('dl', { class: 'money' }),
    journal: el('dl', { class: 'journal' }),
    taps: el('ol', { class: 'taps' }),
  };
}

function dl(node, rows) {
  node.replaceChildren(...rows.flatMap(([term, value, key]) =>
    [el('dt', {}, term), el('dd', { 'data-key': key }, String(value))]));
}

/** Mounts the bus validator `device` in `root`; returns its update and events handlers. */
export function mountDevice(root, device, api) {
  const { info } = device;
  const screen = buildScreen();
  const leds = { green: el('span', { class: 'led green', 'data-lit': 'false' }),
    red: el('span', { class: 'led red', 'data-lit': 'false' }) };
  const reader = el('div', { class: 'reader', 'data-role': 'reader' },
    el('span', { class: 'reader-mark' }, '((•)) 刷卡区'));
  const deck = el('div', { class: 'deck', 'data-role': 'deck' });
  const chips = new Map();
  for (const card of info.cards) {
    const chip = cardChip(card, api);
    chips.set(card.id, chip);
    deck.append(chip);
  }
  dropTarget(reader, (id) => void api.act('hold', { card: id }));
  dropTarget(deck, (id) => void api.act('remove', { card: id }));
  const panels = buildPanels();
  const fault = el('p', { class: 'fault', hidden: true });
  const linkButton = el('button', { type: 'button', class: 'link', 'data-role': 'link' });
  linkButton.addEventListener('click', () =>
    void api.act('link', { online: linkButton.dataset.online !== 'true' }));
  root.append(
    el('h2', {}, `${info.terminalId} `, el('small', {}, `line ${info.lineId} · bus`)),
    el('div', { class: 'bezel' }, screen, el('div', { class: 'leds' }, leds.green, leds.red),
      reader),
    fault,
    el('div', { class: 'side' }, el('h3', {}, 'fare and balance'), panels.money,
      el('h3', {}, 'journal and upload backlog'), panels.journal, linkButton,
      el('h3', {}, 'taps'), panels.taps),
    el('h3', { class: 'deck-title' }, 'cards of the population'), deck);
  const view = { screen, leds, reader, deck, chips, panels, fault, linkButton };
  return { update: (state) => update(view, state), events: () => undefined };
}

function update(view, state) {
  const { screen, leds, reader, deck, chips, panels, fault, linkButton } = view;
  screen.dataset.page = state.screen.pageName;
  screen.dataset.style = PAGE_STYLES[state.screen.pageName] ?? 'boot';
  for (const region of REGIONS) {
    screen.querySelector(`[data-region="${region}"]`).textContent =
      state.screen.texts[region] ?? '';
  }
  leds.green.dataset.lit = String(state.leds.green);
  leds.red.dataset.lit = String(state.leds.red);
  for (const [id, chip] of chips) {
    const onReader = state.field.includes(id);
    chip.dataset.onReader = String(onReader);
    if (onReader && chip.parentNode !== reader) reader.append(chip);
    if (!onReader && chip.parentNode !== deck) deck.append(chip);
    chip.querySelector('.card-balance').textContent =
      state.balances[id] === null ? '' : `e-cash ${yuan(state.balances[id])}`;
  }
  const last = state.lastTap;
  dl(panels.money, [['fare', yuan(state.fareMinor), 'fare'],
    ['last tap', last === null ? '—' : last.result, 'result'],
    ['charged', yuan(last?.amountMinor), 'amount'],
    ['balance', yuan(last?.balanceMinor), 'balance']]);
  const j = state.journal;
  const up = state.upload;
  dl(panels.journal, [['records', j.records, 'records'],
    ['upload backlog', `${j.backlog} clearing record${j.backlog === 1 ? '' : 's'} not `
      + 'acknowledged', 'backlog'],
    ['acknowledged', `through seq ${j.ackThroughSeq}`, 'ack'],
    ['at the depot', `${up.atDepot} records`, 'atDepot'],
    ['contacts', `${up.contacts} (${up.contactsFailed} failed)`, 'contacts'],
    ['last error', up.lastError ?? '—', 'lastError'],
    ['uncertain', j.uncertain, 'uncertain'], ['size', `${j.sizeBytes} bytes`, 'size']]);
  linkButton.dataset.online = String(up.online);
  linkButton.textContent = up.online ? 'depot link: up (click to cut)'
    : 'depot link: CUT (click to restore)';
  panels.taps.replaceChildren(...state.recentTaps.map((t) => el('li', {},
    `${t.result} ${t.panMasked ?? ''} ${yuan(t.amountMinor)} `
      + (t.journalSeqs.length === 0 ? '(nothing journalled)'
        : `(journal seq ${t.journalSeqs.join(', ')})`))));
  fault.hidden = state.fault === null;
  fault.textContent = state.fault === null ? '' : `validator stopped: ${state.fault}`;
}
