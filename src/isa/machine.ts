// The Popek–Goldberg third-generation machine: S = (E, M, P, R) with a PSW, a trap that stores
// the old PSW in MEM[1] and loads the new one from MEM[0], base/bounds relocation and optional
// paging hardware. The step loop works on typed arrays and plain fields and allocates nothing
// per instruction; structured, frozen state exists only in snapshots (snapshot.ts).
//
// Over a store with a bus observer (mmu/bus.ts) the machine reads no frame itself: every access
// goes through its memory, which tells the bus, or through a translation window the bus approved
// for its whole range; the machine says what it is doing meanwhile (inside `run`: data, fetch,
// walk; trap entry).
//
// This file holds the step loop: run, fetch, decode, the instruction switch and the system
// opcodes. The machine is one class chain, a room per file: CpuState (state.ts: registers, PSW,
// physical words, timer) ← TranslatingCpu (translation.ts: translation, faults, windows) ←
// TrappingCpu (trap.ts: trap delivery, stopping, console) ← Machine. What other modules use of
// those files (MachineConfig, PSW images, TrapEvent, ...) is re-exported here: they import machine.ts.

import type { ProfileCpu } from './cpu.js';
import { Cause, HDR_ABS, HDR_RESERVED, INSTR_BYTES, ST_IE } from './arch.js';
import { LINK_REGISTER, Op } from './instructions.js';
import { OP_UNDEFINED } from './profile.js';
import { HALTED, readPsw, RUNNING, writePsw } from './state.js';
import { driveBus, TrappingCpu } from './trap.js';
import { CYCLE_DATA, CYCLE_FETCH, type BusObserver } from '../mmu/bus.js';
import { Access } from '../mmu/fault.js';

export type { Psw } from './cpu.js';
export { pagerSwitches, readPsw, writePsw, type MachineConfig, type MachineStatus } from './state.js';
export { isFaultCause, MAX_CONSOLE_CHARS, type TrapEvent } from './trap.js';

/** Why `run` returned. 'trap': a trap was delivered and `exitOnTrap` is set; 'step': single step done. */
export type RunExit = 'halted' | 'double-fault' | 'budget' | 'trap' | 'step';

export class Machine extends TrappingCpu implements ProfileCpu {
  private readonly opInfo: Int32Array = this.compiled.opInfo;
  /** retired instructions per opcode */
  readonly opCounts = new Float64Array(256);
  /** return from `run` after every delivered trap (the VMM's view of the real machine) */
  exitOnTrap = false;

  /**
   * Runs until `budget` more instructions have retired, the machine stops, or (with
   * `exitOnTrap`) a trap is delivered. With `single`, returns after one instruction or one
   * trap delivery. A pending timer trap is taken before the next fetch when IE is set.
   */
  run(budget: number, single = false): RunExit {
    const bus = this.store.bus;
    return bus === undefined ? this.runLoop(budget, single) : this.runOnBus(bus, budget, single);
  }

  /** `run` on an observed bus: the machine drives it (data cycles unless it says otherwise) until it returns. */
  private runOnBus(bus: BusObserver, budget: number, single: boolean): RunExit {
    const { cpu, cycle } = bus;
    driveBus(bus, this, CYCLE_DATA);
    try {
      return this.runLoop(budget, single);
    } finally {
      driveBus(bus, cpu, cycle);
    }
  }

  private runLoop(budget: number, single: boolean): RunExit {
    const stop = this.retired + budget;
    for (;;) {
      if (this.state !== RUNNING) return this.state === HALTED ? 'halted' : 'double-fault';
      if (this.timerPending && (this.status & ST_IE) !== 0) {
        this.timerPending = false;
        this.trap(Cause.Timer, 0, 0, 0, this.pc);
      } else {
        if (this.retired >= stop) return 'budget';
        const ok = single ? this.instruction() : this.runBlock(stop);
        this.expireTimer();
        if (ok) {
          if (single) return 'step';
          continue;
        }
      }
      // a trap was delivered, or the machine stopped
      if (this.state !== RUNNING) return this.state === HALTED ? 'halted' : 'double-fault';
      if (this.exitOnTrap) return this.fetchHandler() ? 'trap' : 'double-fault';
      if (single) return 'step';
    }
  }

  /**
   * Executes instructions until one traps or stops the machine (returns false), or the budget
   * or the timer's count runs out (returns true, for `run` to look at).
   */
  private runBlock(stop: number): boolean {
    this.blockLimit = this.timerEnabled ? Math.min(stop, this.timerDeadline) : stop;
    while (this.instruction()) {
      if (this.retired >= this.blockLimit) return true;
    }
    return false;
  }

  /**
   * With `exitOnTrap`, after a trap was delivered: the handler's first instruction is fetched in
   * the new PSW — the one step of the handler the machine does itself before software (the
   * TypeScript VMM) takes over — so a handler its own translation cannot reach double-faults here,
   * as it would at its first fetch. Returns false when it did.
   */
  private fetchHandler(): boolean {
    const bus = this.store.bus;
    if (bus !== undefined) bus.cycle = CYCLE_FETCH;
    const pc = this.pc;
    const pa = (pc & 7) !== 0 ? this.alignmentFault(pc, Access.Fetch) : this.translate(pc, INSTR_BYTES, Access.Fetch);
    if (pa >= 0) {
      this.load32(pa);
      this.load32(pa + 4);
    }
    if (bus !== undefined) bus.cycle = CYCLE_DATA;
    if (pa >= 0) return true;
    this.trap(this.faultCause(), this.fault.va, this.fault.error, 0, pc); // trapEntry is set: a double fault
    return false;
  }

  /** Convenience: exactly one instruction or one trap delivery. */
  step(): RunExit {
    return this.run(1, true);
  }

  /**
   * Fetches, decodes and executes the instruction at PC. Returns true when it retired with no
   * trap and the machine still runs; false when it trapped (delivered), was an svc, or halted.
   */
  private instruction(): boolean {
    const pc = this.pc;
    const fw = this.fetchWindow;
    let w0: number;
    let imm: number;
    if ((pc & 7) === 0 && fw.covers(pc, this.xlateGen, this.store.generation)) {
      const i = fw.wordIndex(pc);
      w0 = fw.frame[i];
      imm = fw.frame[i + 1];
    } else {
      const bus = this.store.bus;
      if (bus !== undefined) bus.cycle = CYCLE_FETCH;
      const fpa = (pc & 7) !== 0 ? this.alignmentFault(pc, Access.Fetch) : this.translate(pc, INSTR_BYTES, Access.Fetch);
      if (fpa < 0) {
        if (bus !== undefined) bus.cycle = CYCLE_DATA;
        this.trap(this.faultCause(), this.fault.va, this.fault.error, 0, pc);
        return false;
      }
      this.lastFetchPa = fpa;
      this.lastFetchVa = pc;
      w0 = this.lastFetchHeader = this.load32(fpa);
      imm = this.lastFetchImm = this.load32(fpa + 4);
      if (bus !== undefined) bus.cycle = CYCLE_DATA;
      this.openWindow(fw, pc, fpa, INSTR_BYTES, false);
    }
    const op = w0 & 0xff;
    this.nextPc = (pc + INSTR_BYTES) >>> 0;
    const cause = this.execute(w0, imm);
    if (cause !== 0) {
      this.faultTrap(cause, op, pc);
      return false;
    }
    this.opCounts[op]++;
    this.retired++;
    this.pc = this.nextPc;
    this.trapEntry = false;
    if (op === Op.Svc) {
      // the svc has retired: the timer counts it before its trap is delivered
      this.expireTimer();
      this.trap(Cause.Svc, 0, 0, imm, this.pc);
      return false;
    }
    if (op === Op.Halt) {
      this.state = HALTED;
      return false;
    }
    return true;
  }

  /**
   * Delivers the trap of cause `cause` raised by the instruction (opcode `op`) at `pc`: the
   * opcode as detail for privileged and illegal instructions; the fault's address and error
   * code for memory causes; 0 and 0 for any other cause (never a previous fault's record).
   */
  private faultTrap(cause: number, op: number, pc: number): void {
    if (cause === Cause.Illegal || cause === Cause.Privileged) this.trap(cause, 0, 0, op, pc);
    else if (this.compiled.causes.get(cause)?.memory) this.trap(cause, this.fault.va, this.fault.error, 0, pc);
    else this.trap(cause, 0, 0, 0, pc);
  }

  /**
   * Executes one decoded instruction (header `w0`, immediate `imm`) at PC. Returns 0 when it
   * retires (with `nextPc` set), or the trap cause (memory causes leave `fault` set).
   */
  private execute(w0: number, imm: number): number {
    const regs = this.regs;
    const op = w0 & 0xff;
    const rd = (w0 >>> 8) & 15;
    const rs = (w0 >>> 12) & 15;
    const rt = (w0 >>> 16) & 15;
    const info = this.opInfo[op];
    if ((info & this.modeBit) !== 0) return (info & OP_UNDEFINED) !== 0 ? Cause.Illegal : Cause.Privileged;
    if ((w0 & HDR_RESERVED) !== 0) return Cause.Illegal;
    switch (op) {
      case Op.Add: regs[rd] = regs[rs] + regs[rt]; return 0;
      case Op.Sub: regs[rd] = regs[rs] - regs[rt]; return 0;
      case Op.And: regs[rd] = regs[rs] & regs[rt]; return 0;
      case Op.Or: regs[rd] = regs[rs] | regs[rt]; return 0;
      case Op.Xor: regs[rd] = regs[rs] ^ regs[rt]; return 0;
      case Op.Shl: regs[rd] = regs[rs] << (regs[rt] & 31); return 0;
      case Op.Shr: regs[rd] = regs[rs] >>> (regs[rt] & 31); return 0;
      case Op.Sar: regs[rd] = regs[rs] >> (regs[rt] & 31); return 0;
      case Op.Mul: regs[rd] = Math.imul(regs[rs], regs[rt]); return 0;
      case Op.Divu: regs[rd] = regs[rt] === 0 ? -1 : (regs[rs] >>> 0) / (regs[rt] >>> 0); return 0;
      case Op.Remu: regs[rd] = regs[rt] === 0 ? regs[rs] : (regs[rs] >>> 0) % (regs[rt] >>> 0); return 0;
      case Op.Slt: regs[rd] = regs[rs] < regs[rt] ? 1 : 0; return 0;
      case Op.Sltu: regs[rd] = regs[rs] >>> 0 < regs[rt] >>> 0 ? 1 : 0; return 0;
      case Op.Addi: regs[rd] = regs[rs] + imm; return 0;
      case Op.Andi: regs[rd] = regs[rs] & imm; return 0;
      case Op.Ori: regs[rd] = regs[rs] | imm; return 0;
      case Op.Xori: regs[rd] = regs[rs] ^ imm; return 0;
      case Op.Shli: regs[rd] = regs[rs] << (imm & 31); return 0;
      case Op.Shri: regs[rd] = regs[rs] >>> (imm & 31); return 0;
      case Op.Sari: regs[rd] = regs[rs] >> (imm & 31); return 0;
      case Op.Muli: regs[rd] = Math.imul(regs[rs], imm); return 0;
      case Op.Slti: regs[rd] = regs[rs] < imm ? 1 : 0; return 0;
      case Op.Sltiu: regs[rd] = regs[rs] >>> 0 < imm >>> 0 ? 1 : 0; return 0;
      case Op.Li: regs[rd] = imm; return 0;
      case Op.Mov: regs[rd] = regs[rs]; return 0;
      case Op.Ld:
      case Op.Ldb:
      case Op.St:
      case Op.Stb:
        return this.loadStore(op, rd, this.effectiveAddress(w0, rs, imm));
      case Op.Beq: if (regs[rs] === regs[rt]) this.nextPc = imm >>> 0; return 0;
      case Op.Bne: if (regs[rs] !== regs[rt]) this.nextPc = imm >>> 0; return 0;
      case Op.Blt: if (regs[rs] < regs[rt]) this.nextPc = imm >>> 0; return 0;
      case Op.Bge: if (regs[rs] >= regs[rt]) this.nextPc = imm >>> 0; return 0;
      case Op.Bltu: if (regs[rs] >>> 0 < regs[rt] >>> 0) this.nextPc = imm >>> 0; return 0;
      case Op.Bgeu: if (regs[rs] >>> 0 >= regs[rt] >>> 0) this.nextPc = imm >>> 0; return 0;
      case Op.Jmp: this.nextPc = imm >>> 0; return 0;
      case Op.Jr: this.nextPc = regs[rs] >>> 0; return 0;
      case Op.Call: regs[LINK_REGISTER] = this.nextPc; this.nextPc = imm >>> 0; return 0;
      case Op.Callr: { const t = regs[rs] >>> 0; regs[LINK_REGISTER] = this.nextPc; this.nextPc = t; return 0; }
      case Op.Svc: case Op.Nop: case Op.Halt: return 0;
      default:
        if (op >= Op.Lpsw && op <= Op.Tlbflush) return this.systemOp(op, rd, rs, this.effectiveAddress(w0, rs, imm), imm);
        return this.compiled.exec[op]!(this, rd, rs, rt, imm);
    }
  }

  /** The memory operand's address: `imm` when the A bit is set, else rs + imm (mod 2^32). */
  effectiveAddress(w0: number, rs: number, imm: number): number {
    return (w0 & HDR_ABS) !== 0 ? imm >>> 0 : (this.regs[rs] + imm) >>> 0;
  }

  /** ld/ldb/st/stb at virtual address `va`. Returns 0 or a trap cause. */
  private loadStore(op: number, rd: number, va: number): number {
    const regs = this.regs;
    const gen = this.xlateGen;
    const storeGen = this.store.generation;
    switch (op) {
      case Op.Ld: {
        const w = this.readWindow;
        if ((va & 3) === 0 && w.covers(va, gen, storeGen)) {
          regs[rd] = w.frame[w.wordIndex(va)];
          return 0;
        }
        break;
      }
      case Op.St: {
        const w = this.writeWindow;
        if ((va & 3) === 0 && w.covers(va, gen, storeGen)) {
          w.frame[w.wordIndex(va)] = regs[rd];
          return 0;
        }
        break;
      }
    }
    return this.loadStoreSlow(op, rd, va);
  }

  /** loadStore through translation; opens the read or write window on success. */
  private loadStoreSlow(op: number, rd: number, va: number): number {
    const word = op === Op.Ld || op === Op.St;
    const access = op === Op.St || op === Op.Stb ? Access.Write : Access.Read;
    const pa = word && (va & 3) !== 0 ? this.alignmentFault(va, access) : this.translate(va, word ? 4 : 1, access);
    if (pa < 0) return this.faultCause();
    this.lastDataVa = va;
    this.lastDataPa = pa;
    this.lastDataAccess = access;
    if (!word) {
      if (op === Op.Ldb) this.regs[rd] = this.mem.read8(pa);
      else this.mem.write8(pa, this.regs[rd]);
      return 0;
    }
    const write = access === Access.Write;
    const w = write ? this.writeWindow : this.readWindow;
    if (this.store.bus === undefined) {
      // the window first, then the word through it: one frame lookup, not two
      this.openWindow(w, va, pa, 4, write);
      if (w.covers(va, this.xlateGen, this.store.generation)) {
        if (write) w.frame[w.wordIndex(va)] = this.regs[rd];
        else {
          this.regs[rd] = w.frame[w.wordIndex(va)];
          this.shareReadWindow(va, pa);
        }
        return 0;
      }
    }
    // on an observed bus the access is told to it first (then the window), as everywhere else
    if (write) this.store32(pa, this.regs[rd]);
    else this.regs[rd] = this.load32(pa);
    if (this.store.bus !== undefined) this.openWindow(w, va, pa, 4, write);
    return 0;
  }

  /** The system opcodes 0x60..0x6F (lpsw .. tlbflush). `ea` is the memory operand's address. */
  private systemOp(op: number, rd: number, rs: number, ea: number, imm: number): number {
    const regs = this.regs;
    switch (op) {
      case Op.Lpsw: {
        const pa = this.translatePsw(ea, Access.Read);
        if (pa === undefined) return this.faultCause();
        const p = readPsw((i) => this.load32(pa[i]));
        if (!this.validStatus(p.status)) return Cause.Illegal;
        this.loadPsw(p);
        this.nextPc = this.pc;
        return 0;
      }
      case Op.Spsw: {
        const pa = this.translatePsw(ea, Access.Write);
        if (pa === undefined) return this.faultCause();
        writePsw({ ...this.psw(), pc: this.nextPc }, (i, w) => this.store32(pa[i], w));
        return 0;
      }
      case Op.Settimer:
        // settimer's own retirement is not counted: after `settimer n` the count is n
        this.timerReload = regs[rs] >>> 0;
        this.timerDeadline = this.retired + 1 + this.timerReload;
        this.timerEnabled = this.timerReload !== 0;
        this.timerPending = false;
        if (this.timerEnabled && this.timerDeadline < this.blockLimit) this.blockLimit = this.timerDeadline;
        return 0;
      case Op.Gettimer:
        regs[rd] = this.timerEnabled ? this.timerCount : 0;
        return 0;
      case Op.Out:
        this.writeConsole(imm === 1 ? String(regs[rs]) : String.fromCharCode(regs[rs] & 0xff));
        return 0;
      case Op.Setptbr:
        this.setPtbr(regs[rs] >>> 0);
        return 0;
      case Op.Getptbr:
        regs[rd] = this.ptbr;
        return 0;
      case Op.Invlpg:
        this.pager?.invalidate(regs[rs] >>> 0);
        return 0;
      case Op.Tlbflush:
        this.pager?.flush();
        return 0;
      default:
        return Cause.Illegal;
    }
  }
}
