"""The responses the serial queue's native program reads in C
(chelper/src/serialq_resp.c), and the inbox they reach the serialhdl
thread through.

Contract: `NativeResponses(dictionary, byte_ns)` holds the C side: which
response ids the program may take (`response_params`: every response
but trsync_state, which SerialQueue._decode's fast reader must see at
the wake) and the payloads it took. `take(which)` gives them (decoded in
C, serialq_resp_read) as SerialQueue._decode would have at their wake:
`which` 0 those the program's commits handed on, 1 those of a wake
whose commit was handed to Python; each as (name, args), a clock reply
paired with its query's send time carrying sent_ns and received_ns.

`ResponseInbox(items, source)` stands in for the serialhdl thread's
inbox (items: a deque of (name, args) that on_response appends to):
before any append or read it first appends source.take(0), the
responses the native program handed on since, so the inbox holds every
response in the order the serial queue handed them on, whichever side
read them.
"""
from ...chelper._chelper import ffi, lib
from ...chelper.blockcodec import _args_builder
from ...chelper.msgformat import BUFFER, UNSIGNED

PYTHON_READ = frozenset(("trsync_state",))   # SerialQueue._decode acts on these


def response_params(dictionary):
    """The table of serialq_resp_new: (lowest response id, for each id
    from it its parameter count (-1: the native program hands a payload
    carrying it to Python), for each its byte-string parameters as bits,
    for each its unsigned integer parameters as bits)."""
    table = dictionary.by_id["response"]
    base = min(table, default=0)
    params = [-1] * (max(table, default=-1) + 1 - base)
    buffers = [0] * len(params)
    unsigneds = [0] * len(params)
    for msgid, mf in table.items():
        if mf.name not in PYTHON_READ and len(mf.kinds) <= 32:
            params[msgid - base] = len(mf.kinds)
            buffers[msgid - base] = _bits(mf.kinds, BUFFER)
            unsigneds[msgid - base] = _bits(mf.kinds, UNSIGNED)
    return base, params, buffers, unsigneds


def _bits(kinds, kind):
    return sum(1 << i for i, k in enumerate(kinds) if k == kind)


class NativeResponses:
    def __init__(self, dictionary, byte_ns):
        base, params, buffers, unsigneds = response_params(dictionary)
        table = dictionary.by_id["response"]
        self._specs = [(table[base + i].name, _args_builder(table[base + i]))
                       if n >= 0 else None for i, n in enumerate(params)]
        clocks = [i for i, mf in table.items() if mf.name == "clock"]
        clock_id = clocks[0] if clocks else base - 1      # (base - 1: no such id)
        self.c = ffi.gc(lib.serialq_resp_new(ffi.new("int8_t[]", params or [-1]),
                                             ffi.new("uint32_t[]", buffers or [0]),
                                             ffi.new("uint32_t[]", unsigneds or [0]),
                                             len(params), base, clock_id, byte_ns),
                        lib.serialq_resp_free)

    def take(self, which):
        out = lib.serialq_resp_read(self.c, which)
        n = out.n
        if not n:
            return ()           # (nothing to clear)
        responses = []
        append = responses.append
        specs = self._specs
        data = ffi.unpack(ffi.cast("char *", out.data), out.ends[n - 1])
        values = ffi.unpack(out.values, out.nvalues)
        pos = 0
        for i in range(n):
            sent_ns = out.sent_ns[i]
            count = values[pos]
            pos += 1
            for _ in range(count):
                name, build = specs[values[pos]]
                args, pos = build(values, pos + 1, data)
                if name == "clock" and sent_ns:
                    args = dict(args, sent_ns=sent_ns, received_ns=out.received_ns[i])
                append((name, args))
        lib.serialq_resp_clear(self.c, which)
        return responses


class ResponseInbox:
    """A deque-like inbox (append, iteration, clear, len) that first
    takes in the responses the native program handed on (`source`, a
    NativeResponses)."""
    __slots__ = ("_items", "_source", "_c")

    def __init__(self, items, source):
        self._items = items
        self._source = source
        self._c = source.c

    def _catch_up(self):
        if _handed(self._c):
            self._items.extend(self._source.take(0))

    def append(self, item):
        self._catch_up()
        self._items.append(item)

    def __iter__(self):
        self._catch_up()
        return iter(self._items)

    def __len__(self):
        self._catch_up()
        return len(self._items)

    def clear(self):
        self._catch_up()
        self._items.clear()


_handed = lib.serialq_resp_handed
