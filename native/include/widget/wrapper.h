/*
 * widget/wrapper.h — upstream AIGes's spelling of <aiges/wrapper.h>, so that wrapper sources written
 * against xfyun/aiges's headers compile unchanged. As upstream declares it, wrapperCallback takes
 * `const void* usrTag` here, unless the wrapper defines AIGES_USRTAG_CHAR before including this
 * header (iflytek/awesome-wrapper's `const char*` spelling). Same ABI either way.
 */
#ifndef AIGES_WIDGET_WRAPPER_H
#define AIGES_WIDGET_WRAPPER_H

#if !defined(AIGES_USRTAG_CHAR) && !defined(AIGES_USRTAG_VOID)
#define AIGES_USRTAG_VOID
#endif

#include "../aiges/wrapper.h"

/* Upstream's include guard: a copy of upstream's own header included later is then skipped
 * instead of redefining everything. */
#ifndef __AIGES_WRAPPER_H__
#define __AIGES_WRAPPER_H__
#endif

#endif /* AIGES_WIDGET_WRAPPER_H */
