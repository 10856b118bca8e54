"""klipsim.examples"""
