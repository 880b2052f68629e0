; A second guest kernel, different from LDE's: one user process, preempted by the timer (the
; kernel counts the ticks), with system calls that print numbers and faults that the kernel
; reports and skips instead of killing the process:
;   svc 1   print the caller's r1 in decimal, then a space
;   svc 0   exit: print the tick count and what `gettimer` reads, store the kernel's own PSW
;           with `spsw`, halt
;   bounds  print "B<fault address>/<error code> " and skip the faulting instruction
;   privileged instruction   print "P<opcode> " and skip it
;   anything else            print "?<cause>" and halt
; The kernel saves only the registers it uses (r1..r3) and returns with `lpsw` of MEM[1].

        .equ MEM1,      0x20
        .equ T_CAUSE,   0x40
        .equ T_VADDR,   0x44
        .equ T_ERROR,   0x48
        .equ T_DETAIL,  0x4c
        .equ C_PRIV,    1
        .equ C_BOUNDS,  3
        .equ C_SVC,     5
        .equ C_TIMER,   6
        .equ MEMSIZE,   0x4000
        .equ QUANTUM,   97              ; a prime, so ticks land all over the user program
        .equ USER,      0x2000          ; the process's region
        .equ USER_SZ,   0x1000

        .org 0
        .psw pc=trap, mode=s, base=0, limit=MEMSIZE

        .org 0x80
boot:   li   r1, QUANTUM
        settimer r1
        lpsw user_psw                   ; into the process: user mode, interrupts on

trap:   st   r1, save1
        st   r2, save2
        st   r3, save3
        ld   r1, T_CAUSE
        li   r2, C_TIMER
        beq  r1, r2, tick
        li   r2, C_SVC
        beq  r1, r2, syscall
        li   r2, C_BOUNDS
        beq  r1, r2, bounds
        li   r2, C_PRIV
        beq  r1, r2, priv
        li   r2, '?'
        out  r2, 0
        out  r1, 1
        halt

tick:   ld   r1, ticks
        addi r1, r1, 1
        st   r1, ticks
        jmp  back

syscall: ld  r1, T_DETAIL
        li   r2, 0
        beq  r1, r2, exit
        ld   r1, save1                  ; svc 1: print the caller's r1
        out  r1, 1
        call space
        jmp  back

bounds: li   r1, 'B'
        out  r1, 0
        ld   r1, T_VADDR
        out  r1, 1
        li   r1, '/'
        out  r1, 0
        ld   r1, T_ERROR
        out  r1, 1
        call space
        jmp  skip

priv:   li   r1, 'P'
        out  r1, 0
        ld   r1, T_DETAIL
        out  r1, 1
        call space

skip:   ld   r1, MEM1+0                 ; resume after the faulting instruction
        addi r1, r1, 8
        st   r1, MEM1+0
back:   ld   r1, save1
        ld   r2, save2
        ld   r3, save3
        lpsw MEM1

exit:   ld   r1, ticks
        out  r1, 1
        call space
        gettimer r1
        out  r1, 1
        li   r1, 10
        out  r1, 0
        spsw kpsw
        halt

space:  li   r1, ' '
        out  r1, 0
        ret

        .align 4
ticks:  .word 0
save1:  .word 0
save2:  .word 0
save3:  .word 0
kpsw:   .space 32
user_psw: .psw pc=0, mode=u, ie=1, base=USER, limit=USER_SZ
