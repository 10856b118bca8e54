"""cffi builder for the simulated MCU firmware (placeholder until the
firmware lands; owned by the firmware work)."""
from cffi import FFI

ffibuilder = FFI()
ffibuilder.cdef("int klipsim_fw_abi(void);")
ffibuilder.set_source("klipsim.firmware.simulator._fwsim",
                      "int klipsim_fw_abi(void) { return 0; }")
