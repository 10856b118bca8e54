"""The micro-controllers.

- firmware_node.py  one firmware instance on its own clock, fed by the wire
- linux_process.py  a Linux-process MCU running on the host CPUs
  (linux_names.py: how it is recognised, without importing the simulator)
- thermal.py        the heaters' thermal plants (pin levels in, ADC out)
- world_inputs.py   endstop and ADC inputs the firmware reads
- profile_pick.py   which bundled MCU profile an [mcu] gets
"""
