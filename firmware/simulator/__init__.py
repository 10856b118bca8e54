"""klipsim.firmware.simulator"""
