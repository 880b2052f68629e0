; A user program: prints its 5-byte message three times, spinning in between so that the timer
; preempts it, then exits. Addresses are virtual: the kernel loads it at the base of a region.
; The scenario loads this one image twice and writes a different message into each copy.
        .equ SYS_EXIT, 0
        .equ SYS_PUTS, 2
        .org 0
        li   r0, 0
        li   r5, 3                  ; three rounds
again:  li   r1, msg                ; puts(msg, 5): one system call per message
        li   r2, 5
        svc  SYS_PUTS
        li   r4, 600
spin:   addi r4, r4, -1
        bne  r4, r0, spin
        addi r5, r5, -1
        bne  r5, r0, again
        svc  SYS_EXIT
        .org 0x100
msg:    .space 8                    ; the message, written by the scenario
