; The bench guest's kernel: enter the bench loop (bench/loop.s, the loop of `npm run bench`) in
; user mode at base 0x8000, halt at its first trap (the loop's final svc).
        .org 0
        .psw pc=stop, mode=s, limit=0x10000
        .org 0x80
boot:   lpsw user_psw
stop:   halt
        .align 4
user_psw: .psw pc=0x80, mode=u, base=0x8000, limit=0x8000
