; The user-mode loop of `shadowlab bench` (src/bench/bench.ts; scenarios/vmm/bench-loop.yaml): 6 instructions per
; iteration (ALU, load, store, branch), r5 iterations, then svc 0.
        .org 0x80
start:  li   r1, 0
        li   r2, 0x1000
loop:   ld   r3, 0(r2)
        addi r3, r3, 3
        st   r3, 0(r2)
        addi r1, r1, 1
        xor  r4, r1, r3
        bne  r1, r5, loop
        svc  0
