// `.psw key=value, ...`: a 32-byte PSW image in the layout of arch.ts, built from named fields.
// Keys not given are 0 (mode 0 is the most privileged mode).

import {
  PSW_BASE,
  PSW_BYTES,
  PSW_LIMIT,
  PSW_PC,
  PSW_PROFILE,
  PSW_PTBR,
  PSW_STATUS,
  ST_FLAGS_MASK,
  ST_IE,
  ST_MODE_MASK,
  ST_NXE,
  ST_PG,
  ST_PROFILE_MASK,
  ST_SUM,
  ST_WP,
} from '../isa/arch.js';
import { didYouMean, SourceError, type Pos } from './errors.js';
import { parseExpression, TokenCursor, type Expr } from './expr.js';
import { checkRange, type OperandText } from './operands.js';
import type { AsmProfile } from './profile-view.js';
import { fixedStatement, wordBytes, type Evaluator, type Statement } from './statement.js';

export interface PswKey {
  readonly key: string;
  /** byte offset of its word in the image */
  readonly offset: number;
  /** its bits within the word */
  readonly mask: number;
  readonly summary: string;
  /** the values it takes, when narrower than its bits */
  readonly values?: string;
}

export const PSW_KEYS: readonly PswKey[] = [
  { key: 'pc', offset: PSW_PC, mask: 0xffffffff, summary: 'program counter' },
  { key: 'mode', offset: PSW_STATUS, mask: ST_MODE_MASK, summary: 'a mode name of the profile (`s`, `u`, ...) or its number', values: '0 .. modes - 1' },
  { key: 'ie', offset: PSW_STATUS, mask: ST_IE, summary: 'interrupts (timer) enabled' },
  { key: 'pg', offset: PSW_STATUS, mask: ST_PG, summary: 'paging on' },
  { key: 'wp', offset: PSW_STATUS, mask: ST_WP, summary: 'supervisor writes honour read-only pages' },
  { key: 'nxe', offset: PSW_STATUS, mask: ST_NXE, summary: 'no-execute bit enabled' },
  { key: 'sum', offset: PSW_STATUS, mask: ST_SUM, summary: 'supervisor may access user pages' },
  { key: 'profile', offset: PSW_STATUS, mask: ST_PROFILE_MASK, summary: "the profile's 8 status bits" },
  { key: 'flags', offset: PSW_STATUS, mask: ST_FLAGS_MASK, summary: 'condition flags NZCV' },
  { key: 'base', offset: PSW_BASE, mask: 0xffffffff, summary: 'segment base B' },
  { key: 'limit', offset: PSW_LIMIT, mask: 0xffffffff, summary: 'segment limit L' },
  { key: 'ptbr', offset: PSW_PTBR, mask: 0xffffffff, summary: 'page-table base (physical)' },
  { key: 'extra', offset: PSW_PROFILE, mask: 0xffffffff, summary: "the profile's PSW-resident word" },
];

const BY_KEY = new Map(PSW_KEYS.map((k) => [k.key, k]));

/** One `key=value` of a `.psw`: a mode name already turned into its number, or an expression. */
interface PswSetting {
  readonly key: PswKey;
  readonly value: number | Expr;
  readonly pos: Pos;
}

/** The `.psw` statement for `args` (each `key = value`). Throws SourceError on a bad key or value. */
export function pswStatement(args: readonly OperandText[], pos: Pos, view: AsmProfile): Statement {
  const settings: PswSetting[] = [];
  for (const a of args) {
    const s = parseSetting(a, view);
    const first = settings.find((x) => x.key === s.key);
    if (first) throw new SourceError(a.pos, `duplicate psw key '${s.key.key}'`);
    settings.push(s);
  }
  return fixedStatement(pos, PSW_BYTES, 4, (start, ev) => {
    const words = new Array<number>(PSW_BYTES / 4).fill(0);
    for (const s of settings) {
      if (typeof s.value !== 'number' && s.key.key === 'mode') checkModeName(s.value, ev, view);
      const v = typeof s.value === 'number' ? s.value : ev.value(s.value, start);
      words[s.key.offset / 4] |= fieldValue(s, v, view) << shiftOf(s.key.mask);
    }
    return wordBytes(words);
  });
}

function parseSetting(a: OperandText, view: AsmProfile): PswSetting {
  const c = new TokenCursor(a.tokens, a.endPos, a.endText);
  const name = c.next();
  if (name?.kind !== 'ident') throw new SourceError(a.pos, `psw key expected (${[...BY_KEY.keys()].join(', ')}), found '${a.text}'`);
  const key = BY_KEY.get(name.text.toLowerCase());
  if (!key) throw new SourceError(name.pos, `unknown psw key '${name.text}'${didYouMean(name.text, BY_KEY.keys())}`);
  if (!c.eat('=')) c.fail(`'=' after '${name.text}'`);
  const rest = c.rest();
  const pos = rest[0]?.pos ?? a.endPos;
  const mode = key.key === 'mode' && rest.length === 1 ? modeNumber(rest[0].text, view) : undefined;
  return { key, value: mode ?? parseExpression(rest, a.endPos, a.endText), pos };
}

/** The number of mode `name` in the profile (case-insensitive), or undefined. */
function modeNumber(name: string, view: AsmProfile): number | undefined {
  const i = view.profile.modes.findIndex((m) => m.toLowerCase() === name.toLowerCase());
  return i < 0 ? undefined : i;
}

/** A lone name for `mode=` that is neither a mode nor a symbol: say which modes there are. */
function checkModeName(e: Expr, ev: Evaluator, view: AsmProfile): void {
  if (e.kind === 'symbol' && !ev.defines(e.name)) {
    throw new SourceError(e.pos, `unknown mode '${e.name}' (profile ${view.profile.name} has ${modeList(view)})${didYouMean(e.name, view.profile.modes)}`);
  }
}

function modeList(view: AsmProfile): string {
  return view.profile.modes.map((m, i) => `${i} = ${m}`).join(', ');
}

/** `v` checked against the field's width (and for mode, the profile's modes). */
function fieldValue(s: PswSetting, v: number, view: AsmProfile): number {
  const max = s.key.mask >>> shiftOf(s.key.mask);
  if (max === 0xffffffff) return v;
  if (s.key.key !== 'mode') return checkRange(v, 0, max, `psw key '${s.key.key}'`, s.pos);
  if (v >= view.profile.modes.length) throw new SourceError(s.pos, `mode ${v | 0} is not a mode of profile ${view.profile.name} (${modeList(view)})`);
  return v;
}

/** Index of the lowest set bit of `mask`. */
export function shiftOf(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}
