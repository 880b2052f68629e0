; The syscall-heavy process: r5 iterations of a few ALU instructions and a system call.
        .org 0
        li   r1, 0
loop:   addi r1, r1, 1
        xor  r4, r1, r5
        svc  1
        bne  r1, r5, loop
        svc  0
