/* regulars.h compiles as C89 (and, in header_c99.c, as C99) with MinGW, for hosts that use it
 * from C; built with -pedantic-errors. */
#include "regulars/regulars.h"

int regulars_header_is_c(void) { return REGULARS_VERSION_NUM > 0 && sizeof(regulars_status) > 0; }
