; Limited direct execution (the seed's protocol, OSTEP ch. 6 and 15):
;   boot:   install the trap vector, create two processes (allocate a base-and-bounds region
;           for each, copy its program image from "disk" into it), start the timer, and
;           return from trap into the first one;
;   trap:   save the interrupted process, then handle a system call (putc, exit), a timer
;           interrupt (switch to the next ready process) or a fault (kill the process);
;           switching restores the next process's registers and its PSW, base and bounds
;           included, from the process table;
;   exit:   reclaim the process's region; when no process is left, print a summary and halt.
;
; Kernel data lives at physical addresses (the kernel runs with base 0, limit = all memory).

        .equ PSW_NEW,   0x00            ; MEM[0]
        .equ PSW_OLD,   0x20            ; MEM[1]
        .equ T_CAUSE,   0x40
        .equ T_VADDR,   0x44
        .equ T_DETAIL,  0x4c
        .equ C_SVC,     5
        .equ C_TIMER,   6
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
        .equ ENTRY,     0x80            ; process-table entry:
        .equ P_STATE,   0               ;   0 unused, 1 ready, 2 exited
        .equ P_REGION,  4               ;   region index
        .equ P_PSW,     32              ;   saved PSW (32 bytes)
        .equ P_REGS,    64              ;   saved r0..r15 (64 bytes)
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

; memcpy: copy r9 bytes (a multiple of 4) from r8 to r7. Clobbers r7, r8, r9, r11.
memcpy: beq  r9, r0, mc_done
        ld   r11, 0(r8)
        st   r11, 0(r7)
        addi r7, r7, 4
        addi r8, r8, 4
        addi r9, r9, -4
        jmp  memcpy
mc_done: ret

; ---- every trap enters here: mode s, base 0, limit MEMSIZE, interrupts off ----
trap:   st   r0, scratch+0              ; save the interrupted registers (absolute stores)
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
        addi r7, r3, P_PSW              ; the old PSW from MEM[1] into the entry
        li   r8, PSW_OLD
        li   r9, 32
        call memcpy
        addi r7, r3, P_REGS             ; the registers into the entry
        li   r8, scratch
        li   r9, 64
        call memcpy
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
        jmp  exit

tick:   call next                       ; round robin
        jmp  switch

exit:   li   r1, 2                      ; the process is done: reclaim its region
        st   r1, P_STATE(r3)
        ld   r4, P_REGION(r3)
        shli r4, r4, 2
        st   r0, used(r4)
        call next
        li   r1, -1
        beq  r10, r1, shutdown
        jmp  switch

; next: r10 = the next ready process after `current` (round robin), or -1 if none.
next:   ld   r4, current
        li   r5, NPROC
nx_1:   addi r4, r4, 1
        remu r4, r4, r5                 ; 1.. NPROC steps, current last
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

; switch: start a new time slice for process r10.  resume: continue process r10.
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
        ld   r1, rearm                  ; a new slice starts now, so that the kernel's own
        beq  r1, r0, rs_go              ; instructions do not use it up
        li   r1, QUANTUM
        settimer r1
        st   r0, rearm
rs_go:  ld   r0, scratch+0              ; restore every register (absolute loads)
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
        lpsw resume_psw                 ; return from trap: user mode, its base and bounds

shutdown:
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

done_msg: .asciz "\nall processes done; free regions: "
        .align 4
current:    .word 0
rearm:      .word 0
used:       .space NREGION * 4
scratch:    .space 64
resume_psw: .space 32
ptable:     .space NPROC * ENTRY
