"""The discrete-event kernel (events.py, its heap in C beside the
scheduler's core): integer virtual time in ns, events in (time,
priority, sequence) order, cancellation; pyevents.py is its Python
reference model. Knows nothing of what runs on it."""
