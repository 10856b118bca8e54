"""klipsim.gcode"""
