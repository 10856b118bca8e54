"""Names of Klipper's Linux-process MCU, apart from its model
(sim/mcus/linux_process.py) so that picking a profile (sim/mcus/profile_pick.py, on every
`klipsim compile`) does not import the simulator and numpy (issue 10:
start-up CPU)."""

LINUX_PROFILE = "linux"          # firmware profile of a Linux-process MCU
HOST_MCU_SERIAL = "/tmp/klipper_host_mcu"   # its pseudo-tty (Klipper docs/RPi_microcontroller.md)
