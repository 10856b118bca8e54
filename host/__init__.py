"""klipsim.host"""
