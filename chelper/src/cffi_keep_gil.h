#ifndef KLIPSIM_CFFI_KEEP_GIL_H
#define KLIPSIM_CFFI_KEEP_GIL_H
/* Included only into the cffi-generated wrapper modules (build_chelper.py,
 * firmware/simulator/build_firmware.py), after cffi's own header and before
 * the wrappers it writes.
 *
 * cffi wraps every C call in Py_BEGIN/END_ALLOW_THREADS and saves/restores
 * errno around it; each extern "Python" callback then takes the GIL back.
 * klipsim runs one Python thread per process (sweeps fan out to processes)
 * and its C calls are short and never wait for another Python thread, so
 * releasing the GIL buys nothing and costs a mutex round trip per call
 * (~470 instructions: PyEval_SaveThread/RestoreThread and the errno copies;
 * a simulate run makes ~2.8 M calls and ~0.7 M callbacks). Here the calls
 * keep the GIL, and a callback finds it held (PyGILState_Ensure's cheap
 * path). Nothing in klipsim reads ffi.errno. */
#ifdef Py_BEGIN_ALLOW_THREADS
#undef Py_BEGIN_ALLOW_THREADS
#define Py_BEGIN_ALLOW_THREADS {
#undef Py_END_ALLOW_THREADS
#define Py_END_ALLOW_THREADS }
#undef _cffi_restore_errno
#define _cffi_restore_errno() ((void)0)
#undef _cffi_save_errno
#define _cffi_save_errno() ((void)0)
#endif
#endif
