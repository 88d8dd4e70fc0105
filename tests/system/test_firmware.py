"""The STM32F103 firmware image: it builds with the real core, fits its budget,
and its USB driver passes against the model of the chip's USB cell."""
import os
import re
import struct
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make(target):
    return subprocess.run(["make", "-s", target], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)


def test_firmware_builds_within_budget():
    res = make("firmware")
    assert res.returncode == 0, res.stdout
    m = re.search(r"flash (\d+) / 65536 bytes \(([\d.]+)%\), RAM (\d+) / 20480 bytes "
                  r"\(([\d.]+)%", res.stdout)
    assert m, res.stdout
    flash, ram = int(m.group(1)), int(m.group(3))
    assert 0 < flash <= 0.75 * 65536      # at least 25 % margin
    assert 0 < ram <= 0.75 * 20480
    with open(os.path.join(ROOT, "build", "firmware", "eqms-rating-device.bin"), "rb") as f:
        stack_top, reset = struct.unpack("<II", f.read(8))
    assert stack_top == 0x20005000                     # top of the 20 KB RAM
    assert 0x08000000 <= reset < 0x08010000 and reset & 1  # Thumb code in flash


def test_usb_driver_passes_against_the_peripheral_model():
    res = make("firmware-usbsim")
    assert res.returncode == 0, res.stdout
    assert "usbsim: all passed" in res.stdout
