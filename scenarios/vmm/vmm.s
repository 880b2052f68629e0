; vmm.s — the trap-and-emulate VMM (docs/vmm.md, the construction), written in the lab's assembly for the classic
; segment machine (size convention). It runs one guest whose guest-physical memory is
; [ADDR0, ADDR0 + VMSIZE) of its own memory, keeping the guest's virtual state in a table
; (vPSW, registers, virtual timer) and running the guest directly with a composed real PSW.
; Run under the TypeScript VMM it is the middle level of Theorem 2's recursion: the guest's
; instructions still run directly on the real machine, since the TypeScript VMM composes this
; VMM's B'/L' with its own.
;
;   entry    every trap of the guest (this VMM's MEM[0]): save the guest's registers, count the
;            instructions it retired directly (the run timer, see `resume`), vPSW.PC = MEM[1].PC
;   emulate  privileged instruction while the guest is in virtual supervisor mode: decode the
;            instruction at the guest's PC and apply it to the virtual state
;   reflect  every other trap: deliver it through the guest's own MEM[1]/MEM[0], in guest terms
;   resume   take a pending virtual timer, stop at the budget, compose the real PSW
;            (mode u, IE on, B' = ADDR0 + vB, L' = min(vL, VMSIZE - vB)), program the run
;            timer, load the guest's registers, lpsw
;
; The run timer: this VMM's (virtual) interval timer counts every instruction retired in its
; machine, its own included. `resume` programs T = P + K, where K instructions of its own retire
; on the timer before the guest starts (RUN_K after settimer, lpsw included, plus settimer itself
; if the machine counts it — measured once at boot), so the guest gets exactly P. At
; `entry` the count is read after one instruction (`st`): read = P - n - 1 for n guest
; instructions, or — when the timer expired and reloaded T at the guest's last instruction or
; at that `st` — T - 1 (n = P) or T (n = P - 1); hence n = P - 1 - read, plus T if negative.
; P is the guest's virtual-timer count when that expiry would be delivered, else the budget
; left (at most RUN_MAX), so the virtual timer fires at the same instruction as on bare hardware.
;
; Symbols given by the harness (src/vmm/nested.ts): ADDR0, VMSIZE, BUDGET, LOG, LOGCAP,
; REAL_MODE_S, REAL_MODE_U, NMODES, the causes C_*, the status bits ST_*, the low-memory
; offsets T_*, MEM1, the opcodes OP_*, HDR_ABS, HDR_RESERVED, ERR_USER, ERR_WRITE.
;
; The trap log (for the checker, never read by this VMM): one 128-byte record per trap
; delivered to the guest (double faults included), LOGCAP at most, at LOG:
;   +0 retired  +4 cause  +8 vaddr  +12 error  +16 detail  +20 flags (1 = double fault)
;   +24 timer reload  +28 count  +32 enabled  +36 pending  +40..+63 vPSW after the trap
;   (pc, status, base, limit, ptbr, extra)  +64..+127 r0..r15

        .equ END_HALTED, 1
        .equ END_DOUBLE, 2
        .equ END_BUDGET, 3
        .equ RUN_MAX,    0x40000000

        .org 0
        .psw pc=entry, mode=s, limit=0xffffffff          ; MEM[0]: every guest trap enters here

        .org 0x80
boot:   li   r0, 0                      ; calibrate: does settimer's own retirement count on
        li   r1, 1000                   ; the timer? set_self = 1 if so, else 0
        settimer r1
        gettimer r2
        sub  r2, r1, r2
        st   r2, set_self
        settimer r0
        jmp  resume

; ================================================================ entry
entry:  st   r1, V_REGS+4               ; 1st instruction after the trap
        gettimer r1                     ; 2nd: the run timer (see the header)
        st   r1, run_read
        st   r0, V_REGS+0
        st   r2, V_REGS+8
        st   r3, V_REGS+12
        st   r4, V_REGS+16
        st   r5, V_REGS+20
        st   r6, V_REGS+24
        st   r7, V_REGS+28
        st   r8, V_REGS+32
        st   r9, V_REGS+36
        st   r10, V_REGS+40
        st   r11, V_REGS+44
        st   r12, V_REGS+48
        st   r13, V_REGS+52
        st   r14, V_REGS+56
        st   r15, V_REGS+60
        li   r0, 0
        ld   r1, run_read               ; n = P - 1 - read, + T when the run timer expired
        ld   r2, run_p
        addi r2, r2, -1
        sub  r1, r2, r1
        bge  r1, r0, en_n
        ld   r2, run_t
        add  r1, r1, r2
en_n:   call retire
        ld   r1, MEM1+0                 ; vPSW.PC = PSW.PC
        st   r1, V_PSW+0
        ld   r1, T_CAUSE
        li   r2, C_TIMER
        beq  r1, r2, x_timer            ; the run timer: accounting only
        li   r2, C_PRIV
        bne  r1, r2, x_reflect
        ld   r2, V_PSW+4
        andi r2, r2, ST_MODE
        bne  r2, r0, x_reflect
        ld   r2, V_XEMULATE             ; privileged, virtual supervisor mode: emulate
        addi r2, r2, 1
        st   r2, V_XEMULATE
        jmp  emulate
x_timer: ld  r2, V_XTIMER
        addi r2, r2, 1
        st   r2, V_XTIMER
        jmp  resume
x_reflect: ld r2, V_XREFLECT            ; anything else: reflect, in guest terms
        addi r2, r2, 1
        st   r2, V_XREFLECT
        ld   r2, T_VADDR
        ld   r3, T_ERROR
        ld   r4, T_DETAIL
        call guest_error
        jmp  reflect

; retire: r1 (>= 0) guest instructions retired: count them, end trap entry if any, and advance
; the virtual timer by r1 as Machine.advanceTimer does (`advance`: the timer part alone).
; Clobbers r2, r3.
retire: beq  r1, r0, rt_done
        ld   r2, V_RETIRED
        add  r2, r2, r1
        st   r2, V_RETIRED
        st   r0, V_TRAPENTRY
advance: ld  r2, V_TEN
        beq  r2, r0, rt_done
        ld   r2, V_TCNT
        bltu r1, r2, rt_sub             ; n < count: no expiry
        sub  r2, r1, r2                 ; expired: count = reload - (n - count) % reload
        ld   r3, V_TREL
        remu r2, r2, r3
        sub  r2, r3, r2
        li   r3, 1
        st   r3, V_TPEND
        jmp  rt_store
rt_sub: sub  r2, r2, r1
rt_store: st r2, V_TCNT
rt_done: ret

; guest_error: r3 = the error code r3 of a trap of cause r1 with the user bit of the virtual
; mode instead of the real one (memory causes only). Clobbers r5.
guest_error:
        li   r5, C_BOUNDS
        beq  r1, r5, ge_mem
        li   r5, C_PAGE
        beq  r1, r5, ge_mem
        li   r5, C_ALIGN
        beq  r1, r5, ge_mem
        ret
ge_mem: andi r3, r3, ~ERR_USER
        ld   r5, V_PSW+4
        andi r5, r5, ST_MODE
        beq  r5, r0, ge_done
        ori  r3, r3, ERR_USER
ge_done: ret

; ================================================================ emulate
; The instruction at the guest's PC (its fetch just succeeded, so it lies in the guest's
; memory): r10 header, r11 immediate, r12 opcode, r13 rd, r9 rs.
emulate: ld  r1, V_PSW+0
        ld   r2, V_PSW+8
        add  r1, r1, r2
        addi r1, r1, ADDR0
        call load_word
        mov  r10, r2
        addi r1, r1, 4
        call load_word
        mov  r11, r2
        andi r12, r10, 0xff
        shri r13, r10, 8
        andi r13, r13, 15
        shri r9, r10, 12
        andi r9, r9, 15
        li   r2, HDR_RESERVED           ; in supervisor mode reserved bits make it illegal
        and  r2, r10, r2
        bne  r2, r0, em_illegal
        li   r2, OP_LPSW
        beq  r12, r2, em_lpsw
        li   r2, OP_SPSW
        beq  r12, r2, em_spsw
        li   r2, OP_HALT
        beq  r12, r2, em_halt
        li   r2, OP_SETTIMER
        beq  r12, r2, em_settimer
        li   r2, OP_GETTIMER
        beq  r12, r2, em_gettimer
        li   r2, OP_OUT
        beq  r12, r2, em_out
        li   r2, OP_SETPTBR
        beq  r12, r2, em_setptbr
        li   r2, OP_GETPTBR
        beq  r12, r2, em_getptbr
        li   r2, OP_INVLPG
        beq  r12, r2, em_next           ; no TLB on the segment machine
        li   r2, OP_TLBFLUSH
        beq  r12, r2, em_next
em_illegal:
        li   r1, C_ILLEGAL
        li   r2, 0
        li   r3, 0
        mov  r4, r12
        jmp  reflect

; lpsw: the 32-byte image at the operand address becomes the vPSW (illegal if its status is).
em_lpsw: call ea
        li   r3, 0                      ; a read
        call xlate_psw
        mov  r7, r1
        addi r1, r7, 4
        call load_word
        mov  r6, r2                     ; status
        li   r3, ST_UNDEF
        and  r3, r6, r3
        bne  r3, r0, em_illegal
        andi r3, r6, ST_MODE
        sltiu r3, r3, NMODES
        beq  r3, r0, em_illegal
        mov  r1, r7
        call load_word
        st   r2, V_PSW+0
        st   r6, V_PSW+4
        addi r1, r7, 8
        call load_word
        st   r2, V_PSW+8
        addi r1, r7, 12
        call load_word
        st   r2, V_PSW+12
        addi r1, r7, 16
        call load_word
        st   r2, V_PSW+16
        addi r1, r7, 20
        call load_word
        st   r2, V_PSW+20
        jmp  em_retired

; spsw: the vPSW (pc = the next instruction) to the 32 bytes at the operand address.
em_spsw: call ea
        li   r3, ERR_WRITE
        call xlate_psw
        ld   r2, V_PSW+0
        addi r2, r2, 8
        call store_word
        addi r1, r1, 4
        ld   r2, V_PSW+4
        call store_word
        addi r1, r1, 4
        ld   r2, V_PSW+8
        call store_word
        addi r1, r1, 4
        ld   r2, V_PSW+12
        call store_word
        addi r1, r1, 4
        ld   r2, V_PSW+16
        call store_word
        addi r1, r1, 4
        ld   r2, V_PSW+20
        call store_word
        addi r1, r1, 4
        li   r2, 0
        call store_word
        addi r1, r1, 4
        call store_word
        jmp  em_next

em_halt: ld  r1, V_PSW+0
        addi r1, r1, 8
        st   r1, V_PSW+0
        li   r1, END_HALTED
        st   r1, V_END
        jmp  em_retired

; settimer rs: reload = count = rs, enabled iff rs != 0, no tick pending; its own retirement
; counts on the new timer only if the machine's settimer does so (set_self, from boot).
em_settimer:
        shli r2, r9, 2
        ld   r1, V_REGS(r2)
        st   r1, V_TREL
        st   r1, V_TCNT
        sltu r2, r0, r1
        st   r2, V_TEN
        st   r0, V_TPEND
        ld   r1, V_PSW+0
        addi r1, r1, 8
        st   r1, V_PSW+0
        ld   r1, V_EMULATED
        addi r1, r1, 1
        st   r1, V_EMULATED
        ld   r1, V_RETIRED
        addi r1, r1, 1
        st   r1, V_RETIRED
        st   r0, V_TRAPENTRY
        ld   r1, set_self
        call advance
        jmp  resume

; gettimer rd: rd = count (0 when off).
em_gettimer:
        ld   r1, V_TEN
        beq  r1, r0, gt_set
        ld   r1, V_TCNT
gt_set: shli r2, r13, 2
        st   r1, V_REGS(r2)
        jmp  em_next

; out rs, port: the guest's console is this VMM's console.
em_out: shli r2, r9, 2
        ld   r1, V_REGS(r2)
        li   r2, 1
        beq  r11, r2, out_dec
        out  r1, 0
        jmp  em_next
out_dec: out r1, 1
        jmp  em_next

em_setptbr:
        shli r2, r9, 2
        ld   r1, V_REGS(r2)
        st   r1, V_PSW+16
        jmp  em_next

em_getptbr:
        ld   r1, V_PSW+16
        shli r2, r13, 2
        st   r1, V_REGS(r2)
        jmp  em_next

; the emulated instruction retires and execution continues after it
em_next: ld  r1, V_PSW+0
        addi r1, r1, 8
        st   r1, V_PSW+0
em_retired:
        ld   r1, V_EMULATED
        addi r1, r1, 1
        st   r1, V_EMULATED
        li   r1, 1
        call retire
        jmp  resume

; ea: r1 = the memory operand's guest-virtual address (imm, or regs[rs] + imm). Clobbers r2.
ea:     li   r2, HDR_ABS
        and  r2, r10, r2
        mov  r1, r11
        bne  r2, r0, ea_done
        shli r2, r9, 2
        ld   r2, V_REGS(r2)
        add  r1, r1, r2
ea_done: ret

; xlate_psw: checks the 8 words of a PSW image at guest-virtual r1 word by word, as the
; hardware does (alignment, va + 4 <= L, vB + va + 4 <= VMSIZE, nothing wrapping); r1 = the
; address of the image in this VMM's memory. A failing word is reflected as a bounds (or
; alignment) fault at its address with error code r3. Clobbers r2, r4..r8.
xlate_psw:
        andi r2, r1, 3
        bne  r2, r0, xp_align
        ld   r5, V_PSW+8
        ld   r6, V_PSW+12
        li   r7, 0
xp_loop: add r2, r1, r7
        li   r8, -5
        bltu r8, r2, xp_bounds          ; va + 4 passes 2^32
        addi r4, r2, 4
        bltu r6, r4, xp_bounds          ; va + 4 > L
        li   r8, VMSIZE - 4
        bltu r8, r2, xp_bounds          ; va + 4 > VMSIZE
        sub  r8, r8, r2
        bltu r8, r5, xp_bounds          ; vB + va + 4 > VMSIZE
        addi r7, r7, 4
        li   r8, 32
        bne  r7, r8, xp_loop
        add  r1, r1, r5
        addi r1, r1, ADDR0
        ret
xp_align: mov r2, r1
        li   r1, C_ALIGN
        li   r4, 0
        jmp  reflect
xp_bounds: li r1, C_BOUNDS
        li   r4, 0
        jmp  reflect

; load_word: r2 = the word at r1 (any alignment: a guest base need not be aligned). Clobbers r3.
load_word:
        ldb  r2, 0(r1)
        ldb  r3, 1(r1)
        shli r3, r3, 8
        or   r2, r2, r3
        ldb  r3, 2(r1)
        shli r3, r3, 16
        or   r2, r2, r3
        ldb  r3, 3(r1)
        shli r3, r3, 24
        or   r2, r2, r3
        ret

; store_word: the word r2 at r1 (any alignment). Clobbers r3.
store_word:
        stb  r2, 0(r1)
        shri r3, r2, 8
        stb  r3, 1(r1)
        shri r3, r2, 16
        stb  r3, 2(r1)
        shri r3, r2, 24
        stb  r3, 3(r1)
        ret

; ================================================================ reflect
; Delivers trap r1 (fault address r2, error r3, detail r4) to the guest as Machine.trap does:
; a fault before the handler retired anything, or a new PSW with an invalid status, is a double
; fault (the guest stops); else old vPSW (pc = vPSW.PC) to the guest's MEM[1], the trap record,
; and the vPSW from its MEM[0].
reflect: li  r5, C_SVC
        beq  r1, r5, rf_go
        li   r5, C_TIMER
        beq  r1, r5, rf_go
        ld   r5, V_TRAPENTRY
        bne  r5, r0, rf_double
rf_go:  ld   r6, ADDR0+4                ; the new PSW's status
        li   r5, ST_UNDEF
        and  r5, r6, r5
        bne  r5, r0, rf_double
        andi r5, r6, ST_MODE
        sltiu r5, r5, NMODES
        beq  r5, r0, rf_double
        ld   r5, V_PSW+0
        st   r5, ADDR0+MEM1+0
        ld   r5, V_PSW+4
        st   r5, ADDR0+MEM1+4
        ld   r5, V_PSW+8
        st   r5, ADDR0+MEM1+8
        ld   r5, V_PSW+12
        st   r5, ADDR0+MEM1+12
        ld   r5, V_PSW+16
        st   r5, ADDR0+MEM1+16
        ld   r5, V_PSW+20
        st   r5, ADDR0+MEM1+20
        st   r0, ADDR0+MEM1+24
        st   r0, ADDR0+MEM1+28
        st   r1, ADDR0+T_CAUSE
        st   r2, ADDR0+T_VADDR
        st   r3, ADDR0+T_ERROR
        st   r4, ADDR0+T_DETAIL
        ld   r5, ADDR0+0
        st   r5, V_PSW+0
        st   r6, V_PSW+4
        ld   r5, ADDR0+8
        st   r5, V_PSW+8
        ld   r5, ADDR0+12
        st   r5, V_PSW+12
        ld   r5, ADDR0+16
        st   r5, V_PSW+16
        ld   r5, ADDR0+20
        st   r5, V_PSW+20
        li   r5, 1
        st   r5, V_TRAPENTRY
        sltiu r5, r1, 16                ; trap counts by cause (0..15)
        beq  r5, r0, rf_log
        shli r5, r1, 2
        ld   r6, V_COUNTS(r5)
        addi r6, r6, 1
        st   r6, V_COUNTS(r5)
rf_log: li   r5, 0
        call log_trap
        jmp  resume
rf_double:
        li   r5, END_DOUBLE
        st   r5, V_END
        li   r5, 1
        call log_trap
        jmp  finish

; log_trap: the last-trap record, and a trap-log entry for trap r1 (r2 vaddr, r3 error,
; r4 detail, r5 flags) with the virtual state after it. Clobbers r6, r7.
log_trap:
        st   r1, V_LAST+0
        st   r2, V_LAST+4
        st   r3, V_LAST+8
        st   r4, V_LAST+12
        ld   r6, V_LOGN
        addi r7, r6, 1
        st   r7, V_LOGN
        li   r7, LOGCAP
        bgeu r6, r7, lg_done
        muli r6, r6, 128
        addi r6, r6, LOG
        ld   r7, V_RETIRED
        st   r7, 0(r6)
        st   r1, 4(r6)
        st   r2, 8(r6)
        st   r3, 12(r6)
        st   r4, 16(r6)
        st   r5, 20(r6)
        ld   r7, V_TREL
        st   r7, 24(r6)
        ld   r7, V_TCNT
        st   r7, 28(r6)
        ld   r7, V_TEN
        st   r7, 32(r6)
        ld   r7, V_TPEND
        st   r7, 36(r6)
        ld   r7, V_PSW+0
        st   r7, 40(r6)
        ld   r7, V_PSW+4
        st   r7, 44(r6)
        ld   r7, V_PSW+8
        st   r7, 48(r6)
        ld   r7, V_PSW+12
        st   r7, 52(r6)
        ld   r7, V_PSW+16
        st   r7, 56(r6)
        ld   r7, V_PSW+20
        st   r7, 60(r6)
        ld   r7, V_REGS+0
        st   r7, 64(r6)
        ld   r7, V_REGS+4
        st   r7, 68(r6)
        ld   r7, V_REGS+8
        st   r7, 72(r6)
        ld   r7, V_REGS+12
        st   r7, 76(r6)
        ld   r7, V_REGS+16
        st   r7, 80(r6)
        ld   r7, V_REGS+20
        st   r7, 84(r6)
        ld   r7, V_REGS+24
        st   r7, 88(r6)
        ld   r7, V_REGS+28
        st   r7, 92(r6)
        ld   r7, V_REGS+32
        st   r7, 96(r6)
        ld   r7, V_REGS+36
        st   r7, 100(r6)
        ld   r7, V_REGS+40
        st   r7, 104(r6)
        ld   r7, V_REGS+44
        st   r7, 108(r6)
        ld   r7, V_REGS+48
        st   r7, 112(r6)
        ld   r7, V_REGS+52
        st   r7, 116(r6)
        ld   r7, V_REGS+56
        st   r7, 120(r6)
        ld   r7, V_REGS+60
        st   r7, 124(r6)
lg_done: ret

; ================================================================ resume
resume: ld   r1, V_END
        bne  r1, r0, finish
        ld   r1, V_TPEND                ; a pending virtual timer is taken first, as at the
        beq  r1, r0, rs_budget          ; top of Machine.run
        ld   r1, V_PSW+4
        andi r1, r1, ST_IE
        beq  r1, r0, rs_budget
        st   r0, V_TPEND
        li   r1, C_TIMER
        li   r2, 0
        li   r3, 0
        li   r4, 0
        jmp  reflect
rs_budget:
        ld   r1, V_RETIRED
        li   r2, BUDGET
        bltu r1, r2, rs_compose
        li   r1, END_BUDGET
        st   r1, V_END
        jmp  finish
rs_compose:                             ; the real PSW
        ld   r1, V_PSW+0
        st   r1, R_PSW+0
        ld   r1, V_PSW+4                ; M' = the real mode of vM, IE on
        andi r2, r1, ST_MODE
        andi r1, r1, ~ST_MODE
        ori  r1, r1, ST_IE | REAL_MODE_U
        bne  r2, r0, rs_mode
        andi r1, r1, ~ST_MODE
        ori  r1, r1, REAL_MODE_S
rs_mode: st  r1, R_PSW+4
        ld   r1, V_PSW+8                ; B' = ADDR0 + vB, L' = min(vL, VMSIZE - vB);
        ld   r2, V_PSW+12               ; vB >= VMSIZE: B' = ADDR0, L' = 0
        li   r3, VMSIZE
        bltu r1, r3, rs_in
        li   r1, 0
        li   r2, 0
        jmp  rs_seg
rs_in:  sub  r3, r3, r1
        bltu r2, r3, rs_seg
        mov  r2, r3
rs_seg: addi r1, r1, ADDR0
        st   r1, R_PSW+8
        st   r2, R_PSW+12
        ld   r1, V_PSW+16
        st   r1, R_PSW+16
        ld   r1, V_PSW+20
        st   r1, R_PSW+20
        li   r1, BUDGET                 ; P = the budget left, at most RUN_MAX ...
        ld   r2, V_RETIRED
        sub  r1, r1, r2
        li   r2, RUN_MAX
        bltu r1, r2, rs_p1
        mov  r1, r2
rs_p1:  ld   r2, V_TEN                  ; ... or the virtual timer's count if it would fire
        beq  r2, r0, rs_p2
        ld   r2, V_TPEND
        bne  r2, r0, rs_p2
        ld   r2, V_PSW+4
        andi r2, r2, ST_IE
        beq  r2, r0, rs_p2
        ld   r2, V_TCNT
        bltu r1, r2, rs_p2
        mov  r1, r2
rs_p2:  st   r1, run_p
        addi r1, r1, RUN_K
        ld   r2, set_self
        add  r1, r1, r2
        st   r1, run_t
rs_timer: settimer r1
        ld   r0, V_REGS+0
        ld   r1, V_REGS+4
        ld   r2, V_REGS+8
        ld   r3, V_REGS+12
        ld   r4, V_REGS+16
        ld   r5, V_REGS+20
        ld   r6, V_REGS+24
        ld   r7, V_REGS+28
        ld   r8, V_REGS+32
        ld   r9, V_REGS+36
        ld   r10, V_REGS+40
        ld   r11, V_REGS+44
        ld   r12, V_REGS+48
        ld   r13, V_REGS+52
        ld   r14, V_REGS+56
        ld   r15, V_REGS+60
rs_lpsw: lpsw R_PSW
        .equ RUN_K, (rs_lpsw - rs_timer) / 8    ; instructions after settimer, lpsw included

finish: halt                            ; the guest stopped (V_END says why): so does the VMM

; ================================================================ state
        .align 4
V_PSW:      .space 32                   ; the guest's vPSW (initial one written by the harness)
V_REGS:     .space 64                   ; its registers
V_TREL:     .word 0                     ; its virtual timer: reload, count, enabled, pending
V_TCNT:     .word 0
V_TEN:      .word 0
V_TPEND:    .word 0
V_RETIRED:  .word 0                     ; guest instructions retired (direct + emulated)
V_EMULATED: .word 0                     ; of those, emulated here
V_XTIMER:   .word 0                     ; traps of the guest into this VMM: run timer,
V_XEMULATE: .word 0                     ;   emulated instructions,
V_XREFLECT: .word 0                     ;   reflected traps
V_TRAPENTRY: .word 0                    ; no guest instruction retired since the last trap
V_END:      .word 0                     ; 0 running, END_HALTED, END_DOUBLE, END_BUDGET
V_LOGN:     .word 0                     ; traps delivered or double-faulted (logged or not)
V_LAST:     .space 16                   ; the last one's cause, vaddr, error, detail
V_COUNTS:   .space 64                   ; traps delivered per cause (0..15)
R_PSW:      .space 32                   ; the composed real PSW
set_self:   .word 0                     ; 1 if settimer's retirement counts on the timer it sets
run_read:   .word 0
run_p:      .word 0
run_t:      .word 0
vmm_end:
