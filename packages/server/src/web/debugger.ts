/// <reference lib="dom" />
// The /debugger page: decode a pasted JWT and verify it with a secret, a PEM or a JWK, all in the
// page. It makes no request of any kind; its CSP (connect-src 'none') makes sure of it.

import { byId, formatDate, h, relative, renderJson, renderTokenParts, say } from './dom.ts';
import { type DecodedToken, decodeToken } from './inspect/decode.ts';
import type { KeyFormat } from './inspect/keys.ts';
import { humanDuration, TIME_CLAIM_NAMES, timeClaims, validity } from './inspect/times.ts';
import { verifyToken } from './inspect/verify.ts';

/** The tutorial's sample token (seed 002): HS256 over {"name":"Odin"}, secret "theodinproject". */
const EXAMPLE =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiT2RpbiJ9.FtLFoA9kG8B_gvKz0nEzx4uDYAlsgWhxTGEUfinYcf8';

const tokenInput = byId('token', HTMLTextAreaElement);
const keyInput = byId('key', HTMLTextAreaElement);
const formatInput = byId('key-format', HTMLSelectElement);
const tokenError = byId('token-error');
const parts = byId('parts');
const tokenView = byId('token-view');
const decoded = byId('decoded');
const headerJson = byId('header-json');
const payloadJson = byId('payload-json');
const notes = byId('notes');
const expiry = byId('expiry');
const times = byId('times');
const signatureInfo = byId('signature-info');
const verdict = byId('verdict');
const verdictTitle = byId('verdict-title');
const verdictDetail = byId('verdict-detail');
const warnings = byId('warnings');

let current: DecodedToken | null = null;
/** Bumped on every change: a verification that finishes after a newer one started is dropped. */
let generation = 0;
let clock: ReturnType<typeof setInterval> | undefined;
let pending: ReturnType<typeof setTimeout> | undefined;

/** Verifies once typing pauses, so that the live verdict is not re-announced at each key. */
function verifySoon(): void {
  generation++; // a verification still running is for an older input: its result is dropped
  if (pending !== undefined) clearTimeout(pending);
  pending = setTimeout(() => {
    pending = undefined;
    void verify();
  }, 200);
}

function showToken(): void {
  const result = decodeToken(tokenInput.value);
  current = null;
  if (!result.ok) {
    const empty = tokenInput.value.trim() === '';
    say(tokenError, empty ? '' : result.error, 'error');
    tokenInput.setAttribute('aria-invalid', empty ? 'false' : 'true');
    parts.hidden = true;
    decoded.hidden = true;
    stopClock();
    verifySoon();
    return;
  }
  const token = result.token;
  current = token;
  say(tokenError, '');
  tokenInput.setAttribute('aria-invalid', 'false');
  renderTokenParts(token.segments, tokenView);
  parts.hidden = false;
  decoded.hidden = false;
  renderJson(token.header, headerJson);
  if (token.payloadIsJson) renderJson(token.payload, payloadJson);
  else payloadJson.textContent = String(token.payload);
  notes.textContent = token.notes.join(' ');
  const alg = typeof token.header.alg === 'string' ? token.header.alg : '(none given)';
  signatureInfo.textContent = `${token.signature.length} bytes, algorithm ${alg}.`;
  showTimes();
  startClock();
  verifySoon();
}

function showTimes(): void {
  if (!current) return;
  const now = Date.now();
  const { facts, invalid } = timeClaims(current.payload);
  times.replaceChildren(
    ...facts.flatMap((fact) => [
      h('dt', '', h('code', '', fact.claim), ` (${TIME_CLAIM_NAMES[fact.claim]})`),
      h('dd', '', formatDate(fact.date), h('span', 'hint', ` ${relative(fact.date, now)}`)),
    ]),
    ...invalid.flatMap((claim) => [
      h('dt', '', h('code', '', claim)),
      h('dd', 'error', 'not a number of seconds (NumericDate): a verifier refuses the token'),
    ]),
  );
  const state = validity(current.payload, now);
  switch (state.state) {
    case 'expired':
      setBadge('bad', `Expired ${humanDuration(state.agoMs)} ago.`);
      break;
    case 'not-yet-valid':
      setBadge('warn', `Not valid yet: usable in ${humanDuration(state.inMs)}.`);
      break;
    case 'no-exp':
      setBadge(
        'warn',
        'No expiry (exp): once issued, valid for ever unless the verifier limits its age.',
      );
      break;
    case 'valid':
      setBadge('good', `Not expired: expires in ${humanDuration(state.expiresInMs)}.`);
      break;
  }
}

function setBadge(kind: 'good' | 'bad' | 'warn', message: string): void {
  expiry.dataset.kind = kind;
  expiry.textContent = message;
}

function startClock(): void {
  stopClock();
  clock = setInterval(showTimes, 1000);
}

function stopClock(): void {
  if (clock !== undefined) clearInterval(clock);
  clock = undefined;
}

async function verify(): Promise<void> {
  const mine = ++generation;
  const token = current;
  if (!token) {
    showVerdict('idle', 'Paste a token, then a key to verify it.', '', []);
    return;
  }
  const keyText = keyInput.value;
  if (keyText.trim() === '') {
    showVerdict('idle', 'Enter a key to verify the signature.', '', []);
    return;
  }
  const result = await verifyToken(token, keyText, formatInput.value as KeyFormat);
  if (mine !== generation) return;
  const mark = result.status === 'verified' ? '✔' : result.status === 'invalid' ? '✘' : '!';
  showVerdict(result.status, `${mark} ${result.title}`, result.detail, result.warnings);
}

function showVerdict(kind: string, title: string, detail: string, list: string[]): void {
  verdict.dataset.kind = kind;
  verdictTitle.textContent = title;
  verdictDetail.textContent = detail;
  warnings.replaceChildren(...list.map((warning) => h('li', '', warning)));
}

tokenInput.addEventListener('input', showToken);
keyInput.addEventListener('input', verifySoon);
formatInput.addEventListener('change', verifySoon);
byId('example', HTMLButtonElement).addEventListener('click', () => {
  tokenInput.value = EXAMPLE;
  showToken();
  tokenInput.focus();
});

// A token already in the field (the browser restored the form) is shown at once.
if (tokenInput.value) showToken();
document.documentElement.dataset.ready = 'true';
