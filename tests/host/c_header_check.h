/* Functions of c_header_check.c, called from the C++ tests. */
#ifndef C_HEADER_CHECK_H
#define C_HEADER_CHECK_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

int c_header_status_is_success(int status);
size_t c_header_argument_size(void);

#ifdef __cplusplus
}
#endif

#endif
