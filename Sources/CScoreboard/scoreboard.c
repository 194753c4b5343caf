// Everything lives in include/scoreboard.h as static inline functions; SwiftPM needs one source file per C target.
#include "scoreboard.h"
