// SwiftPM needs one source file per C target; everything is in include/clinux.h.
#include "clinux.h"
