// ABI version of the C helpers, checked on import so a stale build is
// reported instead of misbehaving.
#include "version.h"

int klipsim_chelper_abi(void) { return 1; }
