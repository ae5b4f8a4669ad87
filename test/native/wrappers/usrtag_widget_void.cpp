// Written against upstream xfyun/aiges's headers: "widget/wrapper.h", callback usrTag `const void*`.
#include "widget/wrapper.h"
typedef const void* UsrTag;
#include "usrtag_body.h"
