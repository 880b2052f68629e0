; The boot and trap dispatch of the paging kernels (paging/kernel.s, shadow/churn-kernel.s), with
; process switching (procs.s): the kernel runs paged in its own table (kpt); every trap loads its
; PSW from MEM[0]. svc 0 exits the process, svc 1 prints r1, a higher svc number goes to the
; including kernel's `svc_more` (r1 = the number, r3 = the caller's entry); the timer switches
; round robin; any other trap ends the process. The includer defines NPROC, QUANTUM, `ptable`
; and `svc_more`, and the page-table names kpt, pta, ... as their roots.

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
        li   r2, 1
        bne  r1, r2, svc_more
putc:   ld   r1, P_REGS+4(r3)           ; svc 1: putc(r1)
        out  r1, 0
        jmp  resume

alldone: li  r1, 10
        out  r1, 0
        halt

        .include "procs.s"
