/* The public WSK headers and dpwsk's own (dpwsk.h), included together as a client includes
 * them, for the strict-C11 syntax checks of tests/unit/wsk/meson.build (gcc and clang). */
#include "wsk.h"
#include "dpwsk.h"

int dpw_public_headers_compiled;
