"""klipsim.sim"""
