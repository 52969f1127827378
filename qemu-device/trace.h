#include "trace/trace-hw_misc_knpu.h"
