#ifndef NOTES_CLIBPQ_SHIM_H
#define NOTES_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
