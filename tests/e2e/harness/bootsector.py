"""Boot sectors for firmware-only test guests, written as bytes (no assembler needed).

Each constant is 16-bit real-mode code that SeaBIOS loads at 0x7c00;
``write_image`` pads it into a 512-byte MBR at the start of a sparse disk.
"""

from __future__ import annotations

import struct
from pathlib import Path

SECTOR = 512

HALT = bytes([
    0xFA,        # cli
    0xF4,        # hlt
    0xEB, 0xFD,  # jmp back to hlt
])
# Interrupts on, halt until the next one, forever.
IDLE = bytes([
    0xFB,        # sti
    0xF4,        # hlt
    0xEB, 0xFD,  # jmp back to hlt
])
SPIN = bytes([0xEB, 0xFE])  # jmp $

# Arm the ib700 watchdog, then halt with interrupts off: nobody pets it.
# Writing n to port 0x443 starts it with a timeout of 30 - 2*n seconds.
WATCHDOG_TIMEOUT_CODE = 0x0E  # 2 seconds
WATCHDOG = bytes([
    0xB0, WATCHDOG_TIMEOUT_CODE,  # mov al, 0x0e
    0xBA, 0x43, 0x04,             # mov dx, 0x443
    0xEE,                         # out dx, al
]) + HALT

# Write one sector (the boot sector itself) to LBA 200 of the boot disk with
# int 13h AH=43h (EDD write), then halt. DL still holds the BIOS boot drive.
WRITE_LBA = 200
_DAP_AT = 0x7C00 + 32
_WRITE_ONCE = bytes([
    0x31, 0xC0,                            # xor ax, ax
    0x8E, 0xD8,                            # mov ds, ax
    0xBE, *struct.pack("<H", _DAP_AT),     # mov si, dap
    0xB4, 0x43,                            # mov ah, 0x43
    0xB0, 0x00,                            # mov al, 0 (no verify)
    0xCD, 0x13,                            # int 0x13
]) + HALT
# Disk address packet: size 16, one sector from 0000:7c00 to LBA 200.
DISK_WRITE = (_WRITE_ONCE + bytes(32 - len(_WRITE_ONCE))
              + struct.pack("<BBHHHQ", 0x10, 0, 1, 0x7C00, 0, WRITE_LBA))

# Write 64 sectors from 0x1000:0000 to LBA 1, 65, 129, ... with INT 13h AH=43h
# (extended write) for ever; the disk address packet is at 0x7c28:
#   cli; xor ax,ax; mov ds,ax; mov ss,ax; mov sp,0x7c00; sti; mov [0x7c27],dl
#   again: mov dl,[0x7c27]; mov si,0x7c28; mov ax,0x4300; int 0x13
#          add word [0x7c30],64; adc word [0x7c32],0; jmp again
#   drive: db 0;  dap: db 16,0; dw 64, 0x0000, 0x1000; dq 1
WRITER = bytes.fromhex(
    "fa31c08ed88ed0bc007cfb8816277c8a"
    "16277cbe287cb80043cd138306307c40"
    "8316327c00ebe8001000400000000010"
    "0100000000000000")


def boot_sector(code: bytes) -> bytes:
    """A 512-byte MBR: ``code`` at 0x7c00, zero padding, the 0x55AA signature."""
    if len(code) > SECTOR - 2:
        raise ValueError("boot code of %d bytes does not fit" % len(code))
    return code + bytes(SECTOR - 2 - len(code)) + b"\x55\xaa"


def write_image(path: Path, code: bytes, size: int = 16 * 1024 * 1024) -> None:
    """A sparse raw disk image of ``size`` bytes that boots ``code``."""
    with path.open("wb") as image:
        image.write(boot_sector(code))
        image.truncate(size)

# Tell the pvpanic device at ISA port 0x505 that the guest panicked (bit 0),
# then halt: QEMU reports GUEST_PANICKED, libvirt a crashed/panicked event.
PANIC = bytes([
    0xB0, 0x01,        # mov al, 1
    0xBA, 0x05, 0x05,  # mov dx, 0x505
    0xEE,              # out dx, al
]) + HALT
