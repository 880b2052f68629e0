; Process switching, shared by the bundled kernels (.include it). A process-table entry is
; ENTRY bytes: P_STATE (0 unused, 1 ready, 2 exited), 28 bytes the kernel may use, the saved PSW
; at P_PSW, the saved registers at P_REGS.
;
; The including kernel defines NPROC, QUANTUM, `ptable` (NPROC entries), `dispatch` (where a
; trap continues once the interrupted process is saved: r0 = 0, r10 = its number, r3 = its
; entry) and `alldone` (where `finish` goes when no process is left). It gets:
;   trap      the trap entry: point MEM[0]'s PC at it
;   tick      round robin: switch to the next ready process
;   finish    mark the current process exited, switch to the next one (or go to alldone)
;   switch    start a new time slice for process r10;  resume: continue process r10
;   next      r10 = the next ready process after `current`, or -1
;   memcpy    copy r9 bytes (a multiple of 4) from r8 to r7; clobbers r7, r8, r9, r11

        .equ PSW_OLD,   0x20            ; MEM[1]
        .equ T_CAUSE,   0x40
        .equ T_VADDR,   0x44
        .equ T_DETAIL,  0x4c
        .equ C_SVC,     5
        .equ C_TIMER,   6
        .equ ENTRY,     0x80
        .equ P_STATE,   0
        .equ P_PSW,     32
        .equ P_REGS,    64

trap:   st   r0, scratch+0              ; save the interrupted registers (absolute stores need
        st   r1, scratch+4              ; no register)
        st   r2, scratch+8
        st   r3, scratch+12
        st   r4, scratch+16
        st   r5, scratch+20
        st   r6, scratch+24
        st   r7, scratch+28
        st   r8, scratch+32
        st   r9, scratch+36
        st   r10, scratch+40
        st   r11, scratch+44
        st   r12, scratch+48
        st   r13, scratch+52
        st   r14, scratch+56
        st   r15, scratch+60
        li   r0, 0
        ld   r10, current
        muli r3, r10, ENTRY
        addi r3, r3, ptable
        addi r7, r3, P_PSW              ; the old PSW from MEM[1] into the entry
        li   r8, PSW_OLD
        li   r9, 32
        call memcpy
        addi r7, r3, P_REGS             ; the registers into the entry
        li   r8, scratch
        li   r9, 64
        call memcpy
        jmp  dispatch

tick:   call next
        jmp  switch

finish: li   r1, 2
        st   r1, P_STATE(r3)
        call next
        li   r1, -1
        beq  r10, r1, alldone
        jmp  switch

next:   ld   r4, current
        li   r5, NPROC
nx_1:   addi r4, r4, 1
        remu r4, r4, r5                 ; 1..NPROC steps, the current process last
        muli r6, r4, ENTRY
        addi r6, r6, ptable
        ld   r6, P_STATE(r6)
        li   r11, 1
        beq  r6, r11, nx_got
        ld   r6, current
        bne  r4, r6, nx_1
        li   r10, -1
        ret
nx_got: mov  r10, r4
        ret

switch: li   r1, 1
        st   r1, rearm
resume: st   r10, current
        muli r3, r10, ENTRY
        addi r3, r3, ptable
        li   r7, resume_psw
        addi r8, r3, P_PSW
        li   r9, 32
        call memcpy
        li   r7, scratch
        addi r8, r3, P_REGS
        li   r9, 64
        call memcpy
        ld   r1, rearm                  ; a new slice starts now, so that the kernel's own
        beq  r1, r0, rs_go              ; instructions do not use it up
        li   r1, QUANTUM
        settimer r1
        st   r0, rearm
rs_go:  ld   r0, scratch+0              ; restore every register (absolute loads)
        ld   r1, scratch+4
        ld   r2, scratch+8
        ld   r3, scratch+12
        ld   r4, scratch+16
        ld   r5, scratch+20
        ld   r6, scratch+24
        ld   r7, scratch+28
        ld   r8, scratch+32
        ld   r9, scratch+36
        ld   r10, scratch+40
        ld   r11, scratch+44
        ld   r12, scratch+48
        ld   r13, scratch+52
        ld   r14, scratch+56
        ld   r15, scratch+60
        lpsw resume_psw                 ; return from trap: the process's PSW, in user mode

memcpy: beq  r9, r0, mc_done
        ld   r11, 0(r8)
        st   r11, 0(r7)
        addi r7, r7, 4
        addi r8, r8, 4
        addi r9, r9, -4
        jmp  memcpy
mc_done: ret

        .align 4
current:    .word 0
rearm:      .word 0
scratch:    .space 64
resume_psw: .space 32
