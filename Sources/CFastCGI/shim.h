#ifndef NOTES_CFASTCGI_SHIM_H
#define NOTES_CFASTCGI_SHIM_H
#include <fcgiapp.h>
#endif
