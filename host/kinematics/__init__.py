"""klipsim.host.kinematics"""
