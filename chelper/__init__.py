"""klipsim.chelper"""
