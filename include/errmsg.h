/*
 * errmsg.h - the one way library modules report a failure: a message
 * formatted into the caller's buffer. Modules never print or exit; the
 * program's top level decides what to do with the message.
 */
#ifndef NLPC_ERRMSG_H
#define NLPC_ERRMSG_H

#include <stddef.h>

/* Format a message into err (nothing when err is NULL or errlen is 0) and
 * return -1, so that a failing path can end with `return err_set(...)`. */
int err_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
