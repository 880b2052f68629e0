; The process of ticks/kernel.s (virtual addresses; loaded at the base of its region): sums
; 1..299, triggers a bounds fault and a privileged instruction (both reported and skipped by
; the kernel), computes fib(25) iteratively, and exits.
        .org 0
        li   r0, 0
        li   r5, 0
        li   r4, 1
        li   r6, 300
sum:    add  r5, r5, r4
        addi r4, r4, 1
        bne  r4, r6, sum
        mov  r1, r5
        svc  1                          ; prints 44850
        li   r2, 0x5000
        ld   r3, 0(r2)                  ; beyond the limit: bounds fault, skipped
        halt                            ; privileged in user mode: skipped
        li   r1, 0                      ; fib(25) = 75025
        li   r2, 1
        li   r4, 25
fib:    add  r3, r1, r2
        mov  r1, r2
        mov  r2, r3
        addi r4, r4, -1
        bne  r4, r0, fib
        svc  1
        svc  0
