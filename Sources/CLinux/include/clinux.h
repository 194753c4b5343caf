#ifndef NOTES_CLINUX_H
#define NOTES_CLINUX_H
// Linux interfaces Swift's Glibc module does not export.
#include <sys/epoll.h>
#endif
