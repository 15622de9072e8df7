// libcpuid's public header; pkg-config puts /usr/include/libcpuid on the include path.
#include <libcpuid.h>
