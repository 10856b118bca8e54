#ifndef KLIPSIM_VERSION_H
#define KLIPSIM_VERSION_H
/* cffi:begin */
int klipsim_chelper_abi(void);
/* cffi:end */
#endif
