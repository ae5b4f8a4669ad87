// <aiges/wrapper.h> with the `const void*` callback spelling asked for by AIGES_USRTAG_VOID.
#define AIGES_USRTAG_VOID
#include <aiges/wrapper.h>
typedef const void* UsrTag;
#include "usrtag_body.h"
