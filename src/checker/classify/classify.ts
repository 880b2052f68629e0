// The Popek–Goldberg classes of every instruction of a profile, derived by executing it
// (the Popek–Goldberg definitions as docs/classify.md states them): privileged, control-sensitive, behaviour-sensitive under each transformation φ the
// VMM applies (relocation: location-sensitive; deprivileging: mode-sensitive; control
// substitution), user-sensitive, innocuous — each sensitive verdict with a witness, each other
// one as "no witness in N states" — and Theorems 1 and 3's preconditions from them. On the
// segment machine (no paging hardware, so no TLB and no page tables), or with `paging` on a
// machine whose states have paging on: page tables, PTBR and a filled TLB (paging.ts), the
// relocation permuting frames.
//
// Per state S (a snapshot restored onto a Machine, one instruction executed with step()):
//   privileged       in the user mode (the profile's last) every S that raises no memory trap
//                    and no illegal-instruction trap raises a privilege trap (privileged-
//                    instruction or a profile's own non-memory cause); in mode 0 none does
//   control          S and i(S) differ in R (compare.ts: resourceControl, a dropped TLB entry;
//                    fills never count), i raising no trap
//   behaviour        i(φ(S)) ≠ φ(i(S)) compared whole, i raising no trap in S nor in φ(S)
//   user-sensitive   control-sensitive at an S in user mode, or behaviour-sensitive with S and
//                    φ(S) both in user mode (so deprivileging never qualifies)

import type { InstructionDef } from '../../isa/instructions.js';
import { Cause } from '../../isa/arch.js';
import { isFaultCause, Machine } from '../../isa/machine.js';
import type { Profile } from '../../isa/profile.js';
import { checkpoint, restore, type MachineSnapshot } from '../../isa/snapshot.js';
import { disassemble } from '../../asm/disassembler.js';
import { controlDifferences, stateDifferences, type Difference, type StateNames } from './compare.js';
import { exhaustiveBounds, exhaustiveSamples, machineConfig, randomSample, type ExhaustiveBounds, type Sample } from './states.js';
import { applyPhi, describePhi, phiClass, substitutions, type Phi, type PhiClass } from './transforms.js';
import { ALL_MOVES, PAGING_TLB, pagingGeometry, type FrameMoves } from './paging.js';
import type { Geometry } from '../../paging/index.js';

export { DEFAULT_GEOMETRY } from './paging.js';

export const DEFAULT_STATES = 100;
export const MAX_STATES = 100_000;
export const DEFAULT_SEED = 1974;

export interface ClassifyOptions {
  readonly seed?: number;
  /** random states per instruction (ignored with `exhaustive`) */
  readonly states?: number;
  /** every state of the tiny configuration (exhaustiveBounds) instead of random ones (with `paging`, that configuration paged) */
  readonly exhaustive?: boolean;
  /** a preset geometry's name: states with paging on over it (page tables, PTBR, TLB entries) */
  readonly paging?: string;
  /** replacements for the whole-state and R comparisons (tests pass broken ones to watch verdicts turn) */
  readonly comparisons?: Comparisons;
  /** what the paging relocation rewrites (tests leave a part out to watch verdicts turn) */
  readonly moves?: FrameMoves;
}

export interface Comparisons {
  readonly state: typeof stateDifferences;
  readonly control: typeof controlDifferences;
}

const COMPARISONS: Comparisons = { state: stateDifferences, control: controlDifferences };

/** What a witness shows: a change of R, or a transformation the instruction does not commute with. */
export type WitnessClass = 'control' | PhiClass;

/** A state S showing one class, with everything needed to see it again. */
export interface Witness {
  readonly class: WitnessClass;
  /** the sample's index: with the same profile, seed and mode, replayWitness regenerates S */
  readonly sample: number;
  /** the instruction with its operands */
  readonly instruction: string;
  readonly mode: string;
  /** S, compact: PC, status word, segment, the registers the operands name, control registers, banked copies */
  readonly state: CompactState;
  readonly phi?: Phi;
  /** φ in words, with the values the VMM installs */
  readonly phiText?: string;
  /** control: R(S) (a) against R(i(S)) (b); behaviour: φ(i(S)) (a) against i(φ(S)) (b) */
  readonly differences: readonly Difference[];
}

export interface CompactState {
  readonly pc: number;
  readonly status: number;
  readonly base: number;
  readonly limit: number;
  readonly registers: Readonly<Record<string, number>>;
  readonly control?: Readonly<Record<string, number>>;
  readonly banks?: Readonly<Record<string, number>>;
}

/** How many states counted as evidence for each check (an unwitnessed verdict is "no witness in N states"). */
export interface Evidence {
  /** states generated */
  readonly states: number;
  /** user-mode states that raised neither a memory nor an illegal-instruction trap, and how many of them raised a privilege trap */
  readonly userStates: number;
  readonly userPrivilegeTraps: number;
  /** states in which the instruction raised no trap (control-sensitivity's evidence) */
  readonly untrapped: number;
  /** (S, φ(S)) pairs with no trap on either side, per class */
  readonly location: number;
  readonly mode: number;
  readonly substitution: number;
}

export interface InstructionClass {
  readonly name: string;
  readonly privileged: boolean;
  readonly controlSensitive: boolean;
  readonly behaviorSensitive: boolean;
  readonly modeSensitive: boolean;
  readonly locationSensitive: boolean;
  readonly substitutionSensitive: boolean;
  readonly userSensitive: boolean;
  readonly sensitive: boolean;
  readonly innocuous: boolean;
  /** the witness of the strongest verdict: user-sensitivity's, else the first sensitivity's; null when innocuous */
  readonly witness: Witness | null;
  readonly witnesses: {
    readonly control: Witness | null;
    readonly location: Witness | null;
    readonly mode: Witness | null;
    readonly substitution: Witness | null;
    /** user-sensitivity's: a behaviour witness with S and φ(S) in the user mode, else a control one in the user mode */
    readonly user: Witness | null;
  };
  /** the classes that showed user-sensitivity: 'control' (in the user mode), 'location', 'substitution' */
  readonly userSensitiveVia: readonly WitnessClass[];
  /** a state that refutes "privileged": the instruction ran in the user mode without a privilege trap, or trapped so in mode 0 */
  readonly notPrivileged: { readonly sample: number; readonly mode: string; readonly why: string } | null;
  readonly evidence: Evidence;
}

export interface Precondition {
  readonly precondition: boolean;
  readonly violators: readonly string[];
}

export interface Classification {
  readonly profile: string;
  readonly modes: readonly string[];
  readonly seed: number;
  /** states per instruction (random mode), or the largest count enumerated (exhaustive) */
  readonly states: number;
  readonly translation: 'segment' | 'paging';
  /** paging: the geometry's name and the TLB's size; null on the segment machine */
  readonly paging: { readonly geometry: string; readonly tlbEntries: number; readonly tlbWays: number } | null;
  readonly exhaustive: ExhaustiveBounds | null;
  /** the transformations tried, in words */
  readonly transformations: readonly string[];
  readonly instructions: readonly InstructionClass[];
  readonly theorems: { readonly t1: Precondition; readonly t3: Precondition };
}

/** One execution of the instruction at S's pc: the state after, and the trap it raised (undefined: none). */
interface Execution {
  readonly after: MachineSnapshot;
  readonly cause: number | undefined;
  readonly retired: boolean;
  /** the instruction words fetched (a twin must execute the same instruction) */
  readonly header: number;
  readonly imm: number;
}

/** Executes one instruction on a machine restored from `s` (step(): one instruction or one trap); with `geometry`, paging hardware over it. */
export function executeOnce(p: Profile, s: MachineSnapshot, geometry?: Geometry): Execution {
  const m: Machine = restore(s, machineConfig(p, s.memory.size, geometry));
  m.tracing = true;
  m.step();
  const trapped = m.lastTrap !== s.lastTrap || m.machineStatus === 'double-fault';
  return { after: checkpoint(m), cause: trapped ? (m.lastTrap?.cause ?? Cause.Illegal) : undefined, retired: m.retired > s.retired, header: m.lastFetchHeader, imm: m.lastFetchImm };
}

/** Names of the parts of a state of `p`. */
export function stateNames(p: Profile): StateNames {
  const resource = p.controlRegisters.map((c) => !('program' in c && c.program === true));
  return { modes: p.modes, control: p.controlRegisters.map((c) => c.name), resource, banked: p.bankedRegisters };
}

/** Whether `cause` is a privilege trap of `p`: privileged-instruction, or a non-memory cause of the profile's own (x86's #GP, say). */
function isPrivilegeCause(p: Profile, cause: number): boolean {
  return cause === Cause.Privileged || p.causes.some((c) => c.code === cause && !c.memory);
}

function isMemoryCause(p: Profile, cause: number): boolean {
  return [Cause.Bounds, Cause.PageFault, Cause.Alignment, Cause.Stage2].includes(cause) || p.causes.some((c) => c.code === cause && c.memory);
}

/** The transformations tried on sample `sample`: relocation by its delta (under paging, its frame permutation), deprivileging, each control substitution. */
function transformations(p: Profile, sample: Sample): Phi[] {
  const relocation: Phi = { kind: 'relocation', delta: sample.delta, ...(sample.frames ? { frames: sample.frames } : {}) };
  return [relocation, { kind: 'deprivileging' }, ...substitutions(p)];
}

/** S compact, for a witness of `d`. */
function compact(p: Profile, d: InstructionDef, s: MachineSnapshot, header: number): CompactState {
  const fields: Record<string, number> = { rd: (header >>> 8) & 15, rs: (header >>> 12) & 15, rt: (header >>> 16) & 15 };
  const registers: Record<string, number> = {};
  for (const k of ['rd', 'rs', 'rt'] as const) if (d.operands.includes(k) || (k === 'rs' && d.operands.includes('mem') && (header & (1 << 20)) === 0)) registers[`r${fields[k]}`] = s.regs[fields[k]];
  const out: CompactState = { pc: s.psw.pc, status: s.psw.status >>> 0, base: s.psw.base, limit: s.psw.limit, registers };
  const names = stateNames(p);
  const control = Object.fromEntries(s.control.map((v, i) => [names.control[i], v]));
  const n = names.banked.length;
  const banks = Object.fromEntries(s.banks.map((v, i) => [`${names.modes[Math.floor(i / n)]}.r${names.banked[i % n]}`, v]));
  return { ...out, ...(s.control.length ? { control } : {}), ...(s.banks.length ? { banks } : {}) };
}

/** Accumulates the verdicts of one instruction over its samples. */
class Tally {
  states = 0;
  userStates = 0;
  userPrivilegeTraps = 0;
  untrapped = 0;
  /** states in which the instruction faulted (a trap other than one after it retired, as svc's) */
  faulted = 0;
  evidence: Record<PhiClass, number> = { location: 0, mode: 0, substitution: 0 };
  control: Witness | null = null;
  user: Partial<Record<WitnessClass, Witness>> = {};
  byClass: Record<PhiClass, Witness | null> = { location: null, mode: null, substitution: null };
  notPrivileged: InstructionClass['notPrivileged'] = null;

  constructor(
    readonly p: Profile,
    readonly d: InstructionDef,
    readonly names: StateNames,
    readonly compare: Comparisons,
    readonly geometry: Geometry | undefined,
    readonly moves: FrameMoves,
  ) {}

  /** Runs sample `x` and its transformed twins and records what they show. */
  add(x: Sample): void {
    const { p, d, geometry, moves } = this;
    const s = x.state;
    const mode = s.psw.status & 0xf;
    const user = p.modes.length - 1;
    const run = executeOnce(p, s, geometry);
    this.states++;
    this.privilege(x, mode, run);
    if (run.cause !== undefined) {
      if (isFaultCause(run.cause)) this.faulted++;
      return;
    }
    this.untrapped++;
    const witness = (cls: WitnessClass, differences: Difference[], phi?: Phi): Witness => ({
      class: cls,
      sample: x.index,
      instruction: disassemble(x.header, x.imm, p),
      mode: p.modes[mode],
      state: compact(p, d, s, x.header),
      ...(phi ? { phi, phiText: describePhi(p, phi, mode) } : {}),
      differences,
    });
    if (!this.control || (mode === user && !this.user.control)) {
      const diff = this.compare.control(s, run.after, this.names);
      if (diff.length) {
        const w = witness('control', diff);
        this.control ??= w;
        if (mode === user) this.user.control ??= w;
      }
    }
    for (const phi of transformations(p, x)) {
      const cls = phiClass(phi);
      const twinState = applyPhi(p, phi, s, 'size', geometry, moves);
      if (!twinState) continue;
      const twin = executeOnce(p, twinState, geometry);
      if (twin.cause !== undefined || twin.header !== run.header || twin.imm !== run.imm) continue;
      this.evidence[cls]++;
      const bothUser = mode === user && (twinState.psw.status & 0xf) === user;
      if (this.byClass[cls] && (!bothUser || this.user[cls])) continue;
      const expected = applyPhi(p, phi, run.after, 'size', geometry, moves) ?? run.after;
      const diff = this.compare.state(expected, twin.after, this.names, twinState);
      if (!diff.length) continue;
      const w = witness(cls, diff, phi);
      this.byClass[cls] ??= w;
      if (bothUser) this.user[cls] ??= w;
    }
  }

  /** Privileged: user-mode states must raise a privilege trap (memory and illegal traps aside), mode-0 states never. */
  private privilege(x: Sample, mode: number, run: Execution): void {
    const p = this.p;
    const refute = (why: string) => (this.notPrivileged ??= { sample: x.index, mode: p.modes[mode], why });
    if (mode === p.modes.length - 1) {
      if (run.retired) {
        this.userStates++;
        refute('retired in the user mode');
      } else if (run.cause !== undefined && !isMemoryCause(p, run.cause) && run.cause !== Cause.Illegal) {
        this.userStates++;
        if (isPrivilegeCause(p, run.cause)) this.userPrivilegeTraps++;
        else refute(`trapped with cause ${run.cause} in the user mode`);
      }
    } else if (mode === 0 && run.cause !== undefined && isPrivilegeCause(p, run.cause)) {
      refute('a privilege trap in the most privileged mode');
    }
  }

  result(): InstructionClass {
    const { control, user, byClass } = this;
    const privileged = this.notPrivileged === null && this.userPrivilegeTraps > 0;
    const behaviorSensitive = byClass.location !== null || byClass.mode !== null || byClass.substitution !== null;
    const sensitive = control !== null || behaviorSensitive;
    const via = (['location', 'substitution', 'control'] as const).filter((k) => user[k]);
    const userWitness = via.length ? user[via[0]]! : null;
    return {
      name: this.d.mnemonic,
      privileged,
      controlSensitive: control !== null,
      behaviorSensitive,
      modeSensitive: byClass.mode !== null,
      locationSensitive: byClass.location !== null,
      substitutionSensitive: byClass.substitution !== null,
      userSensitive: userWitness !== null,
      sensitive,
      innocuous: !sensitive,
      witness: userWitness ?? control ?? byClass.location ?? byClass.mode ?? byClass.substitution,
      witnesses: { control, location: byClass.location, mode: byClass.mode, substitution: byClass.substitution, user: userWitness },
      userSensitiveVia: via,
      notPrivileged: privileged ? null : (this.notPrivileged ?? { sample: -1, mode: this.p.modes[this.p.modes.length - 1], why: 'no privilege trap seen in the user mode' }),
      evidence: {
        states: this.states,
        userStates: this.userStates,
        userPrivilegeTraps: this.userPrivilegeTraps,
        untrapped: this.untrapped,
        ...this.evidence,
      },
    };
  }
}

/** The samples of `d`: `states` random ones from `seed`, or the exhaustive enumeration. */
function samplesOf(p: Profile, d: InstructionDef, o: Resolved): Iterable<Sample> {
  if (o.exhaustive) return exhaustiveSamples(p, d, o.geometry);
  return (function* () {
    for (let i = 0; i < o.states; i++) yield randomSample(p, d, o.seed, i, o.geometry);
  })();
}

type Resolved = Required<Omit<ClassifyOptions, 'paging'>> & Pick<ClassifyOptions, 'paging'> & { readonly geometry: Geometry | undefined };

function resolved(o: ClassifyOptions): Resolved {
  const comparisons = o.comparisons ?? COMPARISONS;
  const states = o.states ?? DEFAULT_STATES;
  if (!Number.isInteger(states) || states < 1 || states > MAX_STATES) throw new RangeError(`classify: states ${states} is not a whole number from 1 to ${MAX_STATES}`);
  const seed = o.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`classify: seed ${seed} is not an integer`);
  const geometry = o.paging === undefined ? undefined : pagingGeometry(o.paging);
  return { seed, states, exhaustive: o.exhaustive ?? false, comparisons, moves: o.moves ?? ALL_MOVES, geometry, ...(o.paging === undefined ? {} : { paging: o.paging }) };
}

/** Classifies instruction `d` of `p` by executing it (see the header). */
export function classifyInstruction(p: Profile, d: InstructionDef, options: ClassifyOptions = {}): InstructionClass {
  const o = resolved(options);
  const tally = new Tally(p, d, stateNames(p), o.comparisons, o.geometry, o.moves);
  for (const x of samplesOf(p, d, o)) tally.add(x);
  if (!o.exhaustive) extend(p, d, o, tally);
  return tally.result();
}

/** Random mode: the most states an instruction gets, as a multiple of `states` (see extend). */
export const EXTEND_LIMIT = 20;
/** Random mode: the share of its states in which an instruction must run without a fault before extend stops. */
const RAN_SHARE = 8;

/**
 * An instruction that faulted in all but fewer than 1 in RAN_SHARE of its `states` random states
 * (x86's far returns need a valid selector on the stack) gets more of the same sequence, up to
 * EXTEND_LIMIT × states in all (and never past MAX_STATES), until that many ran: every check
 * needs states in which it ran.
 * A trap that follows a retired instruction (svc) is no fault, so a system call is never extended.
 */
function extend(p: Profile, d: InstructionDef, o: Resolved, tally: Tally): void {
  const want = Math.ceil(o.states / RAN_SHARE);
  const limit = Math.min(o.states * EXTEND_LIMIT, MAX_STATES);
  for (let i = o.states; i < limit && tally.states - tally.faulted < want; i++) tally.add(randomSample(p, d, o.seed, i, o.geometry));
}

/**
 * Every instruction of `p` classified, and Theorems 1 and 3's preconditions (sensitive ⊆
 * privileged; user-sensitive ⊆ privileged) with the instructions that break them. The same
 * profile, seed and options give the same result. Throws RangeError for options out of range.
 */
export function classify(p: Profile, options: ClassifyOptions = {}): Classification {
  const o = resolved(options);
  const instructions = p.instructions.map((d) => classifyInstruction(p, d, o));
  const precondition = (violators: string[]): Precondition => ({ precondition: violators.length === 0, violators });
  const bounds = o.exhaustive ? exhaustiveBounds(p, o.geometry) : null;
  return {
    profile: p.name,
    modes: p.modes,
    seed: o.seed,
    states: o.exhaustive ? Math.max(...instructions.map((c) => c.evidence.states)) : o.states,
    translation: o.geometry ? 'paging' : 'segment',
    paging: o.geometry ? { geometry: o.geometry.name, tlbEntries: PAGING_TLB.entries, tlbWays: PAGING_TLB.ways } : null,
    exhaustive: bounds,
    transformations: [relocationText(p, o.geometry), describePhi(p, { kind: 'deprivileging' }), ...substitutions(p).map((phi) => describePhi(p, phi))],
    instructions,
    theorems: {
      t1: precondition(instructions.filter((c) => c.sensitive && !c.privileged).map((c) => c.name)),
      t3: precondition(instructions.filter((c) => c.userSensitive && !c.privileged).map((c) => c.name)),
    },
  };
}

/** The relocation in words, for the header: per state, a delta or a frame permutation. */
function relocationText(p: Profile, geometry: Geometry | undefined): string {
  if (geometry) return 'relocation: the same virtual image in other frames (guest frames permuted into a larger real memory, per state; page tables, PTBR and TLB entries rewritten to match)';
  return describePhi(p, { kind: 'relocation', delta: 0 }).replace(' + 0x0', ' + delta (a frame multiple, per state)');
}

/** The sample a witness names, generated again (the same profile and options as the classification). */
export function witnessSample(p: Profile, name: string, w: Pick<Witness, 'sample'>, options: ClassifyOptions = {}): Sample {
  const o = resolved(options);
  const d = p.instructions.find((x) => x.mnemonic === name);
  if (!d) throw new RangeError(`witnessSample: profile ${p.name} has no instruction '${name}'`);
  if (!o.exhaustive) return randomSample(p, d, o.seed, w.sample, o.geometry);
  for (const x of exhaustiveSamples(p, d, o.geometry)) if (x.index === w.sample) return x;
  throw new RangeError(`witnessSample: the exhaustive enumeration of '${name}' has no sample ${w.sample}`);
}

/**
 * Replays a witness: S generated again, i executed on S (and, for a behaviour witness, on φ(S)),
 * and the differences observed now — equal to the witness's when it holds.
 */
export function replayWitness(p: Profile, name: string, w: Witness, options: ClassifyOptions = {}): Difference[] {
  const g = resolved(options).geometry;
  const s = witnessSample(p, name, w, options).state;
  const run = executeOnce(p, s, g);
  if (run.cause !== undefined) return [];
  if (!w.phi) return controlDifferences(s, run.after, stateNames(p));
  const twinState = applyPhi(p, w.phi, s, 'size', g);
  if (!twinState) return [];
  const twin = executeOnce(p, twinState, g);
  if (twin.cause !== undefined) return [];
  return stateDifferences(applyPhi(p, w.phi, run.after, 'size', g) ?? run.after, twin.after, stateNames(p), twinState);
}
