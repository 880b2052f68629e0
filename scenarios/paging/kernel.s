; A paging kernel: processes live in their own address spaces (their PSW carries their page
; table root, PTBR); every trap loads the kernel's PSW from MEM[0], with the kernel's table.
; It handles svc 1 (putc r1), svc 0 (exit) and the timer (round robin), saving and restoring
; each process's PSW and registers in the process table. It halts when every process is done.
; The scenario predefines the page-table names (kpt, pta, ptb) as their root addresses.

        .equ PSW_OLD,   0x20
        .equ T_CAUSE,   0x40
        .equ T_DETAIL,  0x4c
        .equ C_SVC,     5
        .equ C_TIMER,   6
        .equ QUANTUM,   200
        .equ NPROC,     2
        .equ ENTRY,     0x80            ; process-table entry: state, saved PSW, saved registers
        .equ P_STATE,   0               ;   1 ready, 2 exited
        .equ P_PSW,     32
        .equ P_REGS,    64

        .org 0
        .psw pc=trap, mode=s, pg=1, ptbr=kpt    ; MEM[0]: the kernel runs paged, in its own table

        .org 0x80
boot:   li   r0, 0
        li   r10, 0
        jmp  switch

; memcpy: copy r9 bytes (a multiple of 4) from r8 to r7. Clobbers r7, r8, r9, r11.
memcpy: beq  r9, r0, mc_done
        ld   r11, 0(r8)
        st   r11, 0(r7)
        addi r7, r7, 4
        addi r8, r8, 4
        addi r9, r9, -4
        jmp  memcpy
mc_done: ret

trap:   st   r0, scratch+0
        st   r1, scratch+4
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
        addi r7, r3, P_PSW              ; old PSW (its PTBR included) into the entry
        li   r8, PSW_OLD
        li   r9, 32
        call memcpy
        addi r7, r3, P_REGS
        li   r8, scratch
        li   r9, 64
        call memcpy
        ld   r1, T_CAUSE
        li   r2, C_TIMER
        beq  r1, r2, tick
        li   r2, C_SVC
        bne  r1, r2, exit               ; any fault ends the process
        ld   r1, T_DETAIL
        beq  r1, r0, exit               ; svc 0: exit
        ld   r1, P_REGS+4(r3)           ; svc 1: putc(r1)
        out  r1, 0
        jmp  resume

tick:   call next
        jmp  switch

exit:   li   r1, 2
        st   r1, P_STATE(r3)
        call next
        li   r1, -1
        beq  r10, r1, done
        jmp  switch

; next: r10 = the next ready process after `current`, or -1.
next:   ld   r4, current
        li   r5, NPROC
nx_1:   addi r4, r4, 1
        remu r4, r4, r5
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
        ld   r1, rearm
        beq  r1, r0, rs_go
        li   r1, QUANTUM
        settimer r1
        st   r0, rearm
rs_go:  ld   r0, scratch+0
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
        lpsw resume_psw                 ; user mode, in the process's own address space

done:   li   r1, 10
        out  r1, 0
        halt

        .org 0x1000                     ; kernel data
current:    .word 0
rearm:      .word 0
scratch:    .space 64
resume_psw: .space 32
ptable:                                 ; both processes start at 0x400000 in their own space
        .word 1
        .space 28
        .psw pc=0x400000, mode=u, ie=1, pg=1, ptbr=pta
        .space 64
        .word 1
        .space 28
        .psw pc=0x400000, mode=u, ie=1, pg=1, ptbr=ptb
        .space 64
