; A paging kernel: processes live in their own address spaces (their PSW carries their page
; table root, PTBR); every trap loads the kernel's PSW from MEM[0], with the kernel's table.
; It handles svc 1 (putc r1; so does any higher number), svc 0 (exit) and the timer (round
; robin), saving and restoring each process's PSW and registers in the process table
; (common/procs.s, through common/paged-kernel.s). It halts when every process is done. The
; scenario predefines the page-table names (kpt, pta, ptb) as their roots.

        .equ QUANTUM,   200
        .equ NPROC,     2

        .include "../common/paged-kernel.s"

svc_more: jmp putc

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
