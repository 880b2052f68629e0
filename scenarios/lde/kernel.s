; Limited direct execution (the seed's protocol, OSTEP ch. 6 and 15):
;   boot:   install the trap vector, create two processes (allocate a base-and-bounds region
;           for each, copy its program image from "disk" into it), start the timer, and
;           return from trap into the first one;
;   trap:   save the interrupted process (common/procs.s), then handle a system call (putc,
;           puts, exit), a timer interrupt (switch to the next ready process) or a fault (kill
;           the process); switching restores the next process's registers and its PSW, base
;           and bounds included, from the process table;
;   exit:   reclaim the process's region; when no process is left, print a summary and halt.
;
; Kernel data lives at physical addresses (the kernel runs with base 0, limit = all memory).

        .equ PSW_NEW,   0x00            ; MEM[0]
        .equ ST_USER,   0x101           ; status: mode u (1), interrupts enabled (bit 8)
        .equ MEMSIZE,   0x10000
        .equ QUANTUM,   1000            ; instructions per time slice
        .equ NPROC,     2
        .equ NREGION,   4
        .equ REGION0,   0x8000          ; regions at 0x8000, 0x9000, 0xA000, 0xB000
        .equ REGION_SZ, 0x1000
        .equ IMAGE_A,   0x4000          ; program images ("disk")
        .equ IMAGE_B,   0x4800
        .equ IMAGE_SZ,  0x400
        .equ P_REGION,  4               ; process-table entry: the region index
        .equ SYS_EXIT,  0
        .equ SYS_PUTC,  1
        .equ SYS_PUTS,  2

        .org 0x80
boot:   li   r0, 0
        li   r1, trap                   ; MEM[0] = (trap, mode s, base 0, limit MEMSIZE, IE off)
        st   r1, PSW_NEW+0
        st   r0, PSW_NEW+4
        st   r0, PSW_NEW+8
        li   r1, MEMSIZE
        st   r1, PSW_NEW+12
        st   r0, PSW_NEW+16
        st   r0, PSW_NEW+20
        li   r1, 0
        li   r2, IMAGE_A
        call create
        li   r1, 1
        li   r2, IMAGE_B
        call create
        li   r10, 0
        jmp  switch

; create: r1 = pid, r2 = physical address of its program image. Clobbers r3..r9, r11, r12.
create: mov  r12, lr
        muli r3, r1, ENTRY
        addi r3, r3, ptable             ; r3 = the process-table entry
        call alloc                      ; r4 = a free region
        st   r4, P_REGION(r3)
        muli r5, r4, REGION_SZ
        addi r5, r5, REGION0            ; r5 = its physical base
        mov  r7, r5                     ; load the program: copy the image into the region
        mov  r8, r2
        li   r9, IMAGE_SZ
        call memcpy
        st   r0, P_PSW+0(r3)            ; initial PSW: pc 0, user mode, IE, base/bounds = region
        li   r6, ST_USER
        st   r6, P_PSW+4(r3)
        st   r5, P_PSW+8(r3)
        li   r6, REGION_SZ
        st   r6, P_PSW+12(r3)
        li   r6, 1
        st   r6, P_STATE(r3)
        jr   r12

; alloc: r4 = index of a free region, marked used. Halts if none is free.
alloc:  li   r4, 0
al_1:   li   r6, NREGION
        beq  r4, r6, al_none
        shli r6, r4, 2
        ld   r11, used(r6)
        beq  r11, r0, al_got
        addi r4, r4, 1
        jmp  al_1
al_got: li   r11, 1
        st   r11, used(r6)
        ret
al_none: halt

; ---- a trap, once the interrupted process is saved: r3 = its entry ----
dispatch:
        ld   r1, T_CAUSE
        li   r2, C_SVC
        beq  r1, r2, syscall
        li   r2, C_TIMER
        beq  r1, r2, tick
        li   r1, '!'                    ; any other trap kills the process
        out  r1, 0
        jmp  exit

syscall: ld  r1, T_DETAIL               ; svc n: n is the call number
        li   r2, SYS_PUTC
        beq  r1, r2, putc
        li   r2, SYS_PUTS
        beq  r1, r2, puts
        li   r2, SYS_EXIT
        beq  r1, r2, exit
        jmp  resume                     ; unknown calls are ignored

putc:   ld   r1, P_REGS+4(r3)           ; the caller's r1
        out  r1, 0
        jmp  resume

; puts: print r2 bytes at the caller's virtual address r1. The kernel checks the buffer against
; the caller's bounds and relocates it by the caller's base, as the hardware would.
puts:   ld   r1, P_REGS+4(r3)
        ld   r2, P_REGS+8(r3)
        add  r4, r1, r2
        bltu r4, r1, badptr             ; wrapped around
        ld   r5, P_PSW+12(r3)           ; the caller's limit
        bltu r5, r4, badptr             ; va + len > L
        ld   r5, P_PSW+8(r3)            ; the caller's base
        add  r1, r1, r5
pu_1:   beq  r2, r0, resume
        ldb  r6, 0(r1)
        out  r6, 0
        addi r1, r1, 1
        addi r2, r2, -1
        jmp  pu_1
badptr: li   r1, '?'                    ; a bad pointer kills the caller
        out  r1, 0

exit:   ld   r4, P_REGION(r3)           ; the process is done: reclaim its region
        shli r4, r4, 2
        st   r0, used(r4)
        jmp  finish

alldone:
        li   r4, 0                      ; count the free regions
        li   r5, 0
        li   r6, NREGION
sd_1:   beq  r4, r6, sd_2
        shli r7, r4, 2
        ld   r7, used(r7)
        bne  r7, r0, sd_u
        addi r5, r5, 1
sd_u:   addi r4, r4, 1
        jmp  sd_1
sd_2:   li   r2, done_msg
sd_3:   ldb  r1, 0(r2)
        beq  r1, r0, sd_4
        out  r1, 0
        addi r2, r2, 1
        jmp  sd_3
sd_4:   out  r5, 1
        li   r1, 10
        out  r1, 0
        halt

        .include "../common/procs.s"

done_msg: .asciz "\nall processes done; free regions: "
        .align 4
used:       .space NREGION * 4
ptable:     .space NPROC * ENTRY
