; A syscall-heavy guest's kernel: every svc 1 of the process returns at once (lpsw MEM[1]);
; svc 0 halts. Each system call costs the VMM two exits: the svc (reflected) and the kernel's
; lpsw (emulated).
        .org 0
        .psw pc=trap, mode=s, limit=0x10000
        .org 0x80
boot:   lpsw user_psw
trap:   ld   r6, 0x4c
        beq  r6, r0, stop
        lpsw 0x20
stop:   halt
        .align 4
user_psw: .psw pc=0, mode=u, base=0x8000, limit=0x8000
