; A paging kernel: processes live in their own address spaces (their PSW carries their page
; table root, PTBR); every trap loads the kernel's PSW from MEM[0], with the kernel's table.
; It handles svc 1 (putc r1), svc 0 (exit) and the timer (round robin), saving and restoring
; each process's PSW and registers in the process table (common/procs.s). It halts when every
; process is done. The scenario predefines the page-table names (kpt, pta, ptb) as their roots.

        .equ QUANTUM,   200
        .equ NPROC,     2

        .org 0
        .psw pc=trap, mode=s, pg=1, ptbr=kpt    ; MEM[0]: the kernel runs paged, in its own table

        .org 0x80
boot:   li   r0, 0
        li   r10, 0
        jmp  switch

dispatch:                               ; r3 = the interrupted process's entry
        ld   r1, T_CAUSE
        li   r2, C_TIMER
        beq  r1, r2, tick
        li   r2, C_SVC
        bne  r1, r2, finish             ; any fault ends the process
        ld   r1, T_DETAIL
        beq  r1, r0, finish             ; svc 0: exit
        ld   r1, P_REGS+4(r3)           ; svc 1: putc(r1)
        out  r1, 0
        jmp  resume

alldone: li  r1, 10
        out  r1, 0
        halt

        .include "../common/procs.s"

        .org 0x1000                     ; the process table: both start at 0x400000, each in
ptable:                                 ; its own address space
        .word 1
        .space 28
        .psw pc=0x400000, mode=u, ie=1, pg=1, ptbr=pta
        .space 64
        .word 1
        .space 28
        .psw pc=0x400000, mode=u, ie=1, pg=1, ptbr=ptb
        .space 64
