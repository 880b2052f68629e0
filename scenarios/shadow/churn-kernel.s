; The churn kernel (scenarios/shadow/churn.yaml): three processes, each in its own page table,
; share one code page; each touches its eight heap pages, then asks with svc 2 for a fresh heap
; (exec-like): the kernel rewrites the eight page-table entries of the caller's heap to the other
; set of eight frames and switches to the next process — whose PSW load is the invalidation
; before the entries are used. svc 1 prints r1, svc 0 exits, the timer switches round robin
; (common/paged-kernel.s).

        .equ QUANTUM,   300
        .equ NPROC,     3
        .equ HEAP_PDE,  4               ; the directory entry of 0x400000 (index 1)
        .equ HEAP_PTE,  8               ; the entry of 0x402000 in that table (index 2)
        .equ HEAP_PAGES, 8
        .equ OTHER_SET, 0x8000          ; the other set of frames: 8 pages further

        .include "../common/paged-kernel.s"

svc_more:                               ; svc 2 (any higher number): a fresh heap
fresh:  ld   r4, P_PSW+16(r3)           ; the caller's page-table root (identity-mapped here)
        ld   r4, HEAP_PDE(r4)
        andi r4, r4, 0xfffff000         ; its second-level table
        addi r4, r4, HEAP_PTE
        li   r5, HEAP_PAGES
fr_1:   ld   r1, 0(r4)
        xori r1, r1, OTHER_SET          ; the other frame of this page
        st   r1, 0(r4)
        addi r4, r4, 4
        addi r5, r5, -1
        bne  r5, r0, fr_1
        jmp  tick                       ; the next process: its PSW load invalidates

        .org 0x1000                     ; the process table: all start at 0x400000, each in
ptable:                                 ; its own address space
        .word 1
        .space 28
        .psw pc=0x400000, mode=u, ie=1, pg=1, ptbr=pta
        .space 64
        .word 1
        .space 28
        .psw pc=0x400000, mode=u, ie=1, pg=1, ptbr=ptb
        .space 64
        .word 1
        .space 28
        .psw pc=0x400000, mode=u, ie=1, pg=1, ptbr=ptc
        .space 64
