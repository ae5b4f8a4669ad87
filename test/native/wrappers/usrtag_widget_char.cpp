// "widget/wrapper.h" with the `const char*` callback spelling (iflytek/awesome-wrapper's) asked for
// by AIGES_USRTAG_CHAR.
#define AIGES_USRTAG_CHAR
#include "widget/wrapper.h"
typedef const char* UsrTag;
#include "usrtag_body.h"
