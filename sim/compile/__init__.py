"""Compile mode (batch.py): the host on a batch reactor, every MCU message
written to a stream, as Klipper's batch mode does."""
