/*
 * widget/type.h — upstream AIGes's spelling of <aiges/type.h>, so that wrapper sources written
 * against xfyun/aiges's headers compile unchanged.
 */
#ifndef AIGES_WIDGET_TYPE_H
#define AIGES_WIDGET_TYPE_H

#include "../aiges/type.h"

/* Upstream's include guard: a copy of upstream's own header included later is then skipped
 * instead of redefining everything. */
#ifndef __AIGES_TYPE_H__
#define __AIGES_TYPE_H__
#endif

#endif /* AIGES_WIDGET_TYPE_H */
