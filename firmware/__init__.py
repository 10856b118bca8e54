"""klipsim.firmware"""
