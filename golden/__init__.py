"""klipsim.golden"""
