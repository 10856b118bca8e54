"""The discrete-event kernel (events.py): integer virtual time in ns,
events in (time, sequence) order, cancellation. Knows nothing of what
runs on it."""
